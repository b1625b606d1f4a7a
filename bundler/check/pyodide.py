"""Run Python in Pyodide (a real Wasm CPython) under node, offline: verify a bundle, or inject one into pyodide.asm.wasm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.launch import RESULT_LIMIT, ChildStartError, ChildTimeout, run_contained
from basilisk_trace.base.read import UntrustedFileError, read_untrusted
from basilisk_trace.bundler.check.verify import (
    VerifyError,
    VerifyResult,
    result_from_raw,
    runtime_layer_json,
    stage_guest,
)
from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_ARCNAME, BOOTSTRAP_SOURCE
from basilisk_trace.bundler.write.atomic import write_atomic
from basilisk_trace.bundler.write.wasm import inject_passive_data

__all__ = [
    "GUEST_ROOT",
    "GuestRun",
    "Pyodide",
    "PyodideError",
    "PyodideNotFound",
    "runtime_files",
    "verify_in_pyodide",
]

_PROJECT = Path(__file__).resolve().parents[2]  # the checkout, where `npm install` puts node_modules
WASM_NAME = "pyodide.asm.wasm"
# Where our files live inside Pyodide's in-memory filesystem; not under /lib, which Pyodide owns.
GUEST_ROOT = "/basilisk"
_GUEST_BUNDLE = "/basilisk/site-packages"
# Loading Pyodide takes seconds before the program's own time starts.
_LOAD_GRACE = 60.0
_MIN_NODE = 18
_INSTALL = ("install it with `npm install` in the basilisk-trace checkout (package.json pins pyodide "
            "0.28.3; `./dev setup` does it), or set BASILISK_TRACE_PYODIDE to a directory holding pyodide.mjs")

# The node side: load Pyodide from a local directory, copy files in, run code, report `result`.
_HARNESS = r"""
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [index, requestPath, replyPath] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestPath, "utf8"));
const output = [];
const reply = { stage: "load", result: null, error: null, output };
try {
  const { loadPyodide } = await import(pathToFileURL(index + "/pyodide.mjs").href);
  const keep = (line) => { output.push(line); };
  const pyodide = await loadPyodide({ indexURL: index + "/", stdout: keep, stderr: keep });
  reply.stage = "files";
  for (const [guest, host] of request.files) {
    pyodide.FS.mkdirTree(guest.slice(0, guest.lastIndexOf("/")) || "/");
    pyodide.FS.writeFile(guest, readFileSync(host));
  }
  reply.stage = "run";
  pyodide.runPython(request.code);
  const value = pyodide.globals.get("result");
  reply.result = typeof value === "string" ? value : null;
  reply.stage = "done";
} catch (err) {
  reply.error = String((err && err.message) || err);
}
writeFileSync(replyPath, JSON.stringify(reply));
process.exit(0);
"""


class PyodideError(BasiliskTraceError):
    """Pyodide could not be prepared or did not run the code to the end."""


class PyodideNotFound(PyodideError):
    """node or the Pyodide package is not installed."""


@dataclass(frozen=True)
class GuestRun:
    """What one run inside Pyodide left: the `result` string the code set, and what it printed."""

    result: str
    output: str


@dataclass(frozen=True)
class Pyodide:
    """A node executable and a directory holding the Pyodide npm package's files."""

    node: str
    index: Path

    @classmethod
    def locate(cls, index: Path | None = None) -> Pyodide:
        """node from PATH, Pyodide from `index`, $BASILISK_TRACE_PYODIDE or the checkout's node_modules."""
        return cls(_find_node(), _find_index(index))

    @property
    def version(self) -> str:
        """The npm package's version, e.g. 0.28.3."""
        try:
            return str(json.loads((self.index / "package.json").read_text(encoding="utf-8"))["version"])
        except (OSError, ValueError, KeyError):
            return "unknown"

    def with_bundle(self, zip_bytes: bytes, directory: Path, *, slot: str = "python_bundle") -> Pyodide:
        """A copy of this Pyodide in `directory` whose pyodide.asm.wasm carries the bundle as passive data."""
        directory.mkdir(parents=True, exist_ok=True)
        for source in sorted(self.index.iterdir()):
            if source.is_file() and source.name != WASM_NAME:
                shutil.copyfile(source, directory / source.name)
        wasm = self.index / WASM_NAME
        patched = inject_passive_data(wasm.read_bytes(), zip_bytes, slot=slot, add_exports=True,
                                      template_name=str(wasm))
        write_atomic(directory / WASM_NAME, patched)
        return Pyodide(self.node, directory)

    def run(self, code: str, files: Mapping[str, bytes], *, timeout: float) -> GuestRun:
        """Run `code` in a fresh Pyodide with `files` (guest path -> bytes); it must set `result` to a str."""
        with tempfile.TemporaryDirectory(prefix="basilisk-pyodide-") as tmp:
            request = {"code": code, "files": _stage(files, Path(tmp))}
            Path(tmp, "request.json").write_text(json.dumps(request), encoding="utf-8")
            Path(tmp, "harness.mjs").write_text(_HARNESS, encoding="utf-8")
            reply = self._node(Path(tmp), timeout)
        if reply.get("error") is not None:
            stage = str(reply.get("stage"))
            raise PyodideError(f"Pyodide failed while {_STAGES.get(stage, stage)}: {_tail(str(reply['error']))}")
        if not isinstance(reply.get("result"), str):
            raise PyodideError("the code run in Pyodide set no `result` string")
        output = reply.get("output", [])
        lines = [str(line) for line in output] if isinstance(output, list) else []
        return GuestRun(reply["result"], "\n".join(lines))

    def _node(self, tmp: Path, timeout: float) -> dict[str, Any]:
        # Pyodide is no wall: `import js` reaches node's fs and child_process. node runs contained,
        # and of its folder it may write only the reply, read back as untrusted.
        command = [self.node, str(tmp / "harness.mjs"), str(self.index), str(tmp / "request.json"),
                   str(tmp / _REPLY)]
        (tmp / _REPLY).touch(mode=0o600)
        try:
            returncode, stderr, _ = run_contained(command, cwd=tmp, run_dir=tmp, timeout=timeout + _LOAD_GRACE,
                                                  visible=[self.index, Path(self.index).resolve()], env=_node_env(),
                                                  outputs=[tmp / _REPLY])
        except ChildTimeout:
            raise PyodideError(f"Pyodide did not finish within {timeout:.0f}s; raise --timeout") from None
        except ChildStartError as exc:
            raise PyodideNotFound(f"cannot start {self.node}: {exc.reason}; install Node.js "
                                  f"{_MIN_NODE} or later") from None
        data = _reply(tmp)
        if not data:
            text = stderr.decode("utf-8", "replace")
            # An invalid pyodide.asm.wasm aborts inside loadPyodide, whose promise then never settles.
            raise PyodideError(f"node exited {returncode} before Pyodide replied (is {self.index / WASM_NAME} "
                               f"a valid Pyodide build?): {_tail(text) or 'no output'}")
        try:
            reply = json.loads(data)
        except (ValueError, RecursionError):
            reply = None
        if not isinstance(reply, dict):
            raise PyodideError("Pyodide's reply is not a JSON object: the program may have rewritten it")
        return reply


def _reply(tmp: Path) -> bytes | None:
    held = os.open(tmp, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        return read_untrusted(_REPLY, RESULT_LIMIT, dir_fd=held)
    except UntrustedFileError as exc:
        raise PyodideError(f"Pyodide's reply is {exc.reason}, not a file: the program replaced it") from None
    finally:
        os.close(held)


_REPLY = "reply.json"
_STAGES = {"load": "loading (is pyodide.asm.wasm valid?)", "files": "copying files in", "run": "running the code"}


def _stage(files: Mapping[str, bytes], tmp: Path) -> list[list[str]]:
    """Write each guest file to the host temporary directory; the harness copies it in."""
    pairs = []
    for number, (guest, data) in enumerate(sorted(files.items())):
        if not guest.startswith("/"):
            raise PyodideError(f"guest path {guest!r} must be absolute")
        host = tmp / f"file-{number}"
        host.write_bytes(data)
        pairs.append([guest, str(host)])
    return pairs


def _node_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {k: v for k, v in os.environ.items() if k in keep}


def _tail(text: str, lines: int = 6) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise PyodideNotFound(f"node not found on PATH; install Node.js {_MIN_NODE} or later "
                              "(e.g. apt-get install nodejs), then run `npm install` in the basilisk-trace checkout")
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        major = int(version.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.TimeoutExpired):
        raise PyodideNotFound(f"{node} --version did not answer; reinstall Node.js {_MIN_NODE} or later") from None
    if major < _MIN_NODE:
        raise PyodideNotFound(f"{node} is Node.js {version.strip()}; Pyodide needs {_MIN_NODE} or later")
    return node


def _find_index(index: Path | None) -> Path:
    from_env = os.environ.get("BASILISK_TRACE_PYODIDE")
    candidates = [index] if index is not None else [
        *([Path(from_env)] if from_env else []),
        Path.cwd() / "node_modules" / "pyodide",
        _PROJECT / "node_modules" / "pyodide",
    ]
    for candidate in candidates:
        if (candidate / "pyodide.mjs").is_file() and (candidate / WASM_NAME).is_file():
            return candidate.resolve()
    looked = ", ".join(str(c) for c in candidates)
    raise PyodideNotFound(f"Pyodide not found (looked in {looked}); {_INSTALL}")


def runtime_files(root: str = GUEST_ROOT) -> dict[str, bytes]:
    """The bootstrap and verify's child scripts and runtime stand-ins, as guest files.

    They keep the loader's search folders (`<root>/scripts/N`), so it finds them as on the host.
    """
    files = {f"{root}/{BOOTSTRAP_ARCNAME}": BOOTSTRAP_SOURCE.encode("utf-8")}
    files.update(stage_guest(root)[0])
    return files


# Installs the bundle with the bootstrap (as a canister would), then runs the isolated child on it.
_VERIFY = """
import json, sys, traceback
ROOT, TARGET = {root!r}, {target!r}
boot = {{"__name__": "_basilisk_bootstrap"}}
exec(compile(open(ROOT + "/{bootstrap}").read(), "{bootstrap}", "exec"), boot)
try:
    boot["install"](open(ROOT + "/bundle.zip", "rb").read(), TARGET)
except Exception as exc:
    text = "".join(traceback.format_exception(exc))
    failure = {{"error": f"{{type(exc).__name__}}: {{exc}}", "traceback": text, "missing": [],
               "stub": None, "frames": []}}
    result = json.dumps({{"outcome": "exception", "failure": failure, "methods": [], "stubbed": []}})
else:
    dirs = {dirs!r}
    loader = dirs[0] + "/_load.py"
    sys.argv = [loader, json.dumps(dirs), "isolated", ROOT + "/verify.json", ROOT + "/result.json"]
    exec(compile(open(loader).read(), loader, "exec"), {{"__name__": "__main__", "__file__": loader}})
    result = open(ROOT + "/result.json").read()
"""


def verify_in_pyodide(zip_bytes: bytes, entry_module: str, *, exercise: bool, timeout: float = 60.0,
                      index: Path | None = None) -> VerifyResult:
    """Install the bundle in Pyodide with the bootstrap, import the entry, and call its methods if asked.

    Pyodide's own stdlib is the target's view, so nothing is stubbed; `basilisk` and
    `_basilisk_ic` come from ic-basilisk's shim, as in `verify` (its stdlib preamble is
    the basilisk runtime's, not Pyodide's).
    """
    pyodide = Pyodide.locate(index)
    _, dirs, runtime_dir = stage_guest(GUEST_ROOT)
    config = {"bundle_dir": _GUEST_BUNDLE, "entry_module": entry_module, "provided": None,
              "runtime_dir": runtime_dir, "runtime_layer": runtime_layer_json(preamble=False),
              "exercise": exercise}
    files = runtime_files()
    files[f"{GUEST_ROOT}/bundle.zip"] = bytes(zip_bytes)
    files[f"{GUEST_ROOT}/verify.json"] = json.dumps(config).encode("utf-8")
    code = _VERIFY.format(root=GUEST_ROOT, target=_GUEST_BUNDLE, bootstrap=BOOTSTRAP_ARCNAME, dirs=dirs)
    try:
        run = pyodide.run(code, files, timeout=timeout)
    except PyodideNotFound:
        raise
    except PyodideError as exc:
        raise VerifyError(str(exc)) from None
    return result_from_raw(json.loads(run.result), entry_module, Path(_GUEST_BUNDLE))
