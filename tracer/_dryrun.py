"""Run the dry run in a child interpreter and read back its trace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tracer import _cache
from tracer.errors import DryRunError, EntryError
from tracer.model import ModuleRecord, Trace

_RUNNER = Path(__file__).with_name("_runner.py")
# Variables the child keeps; everything else is scrubbed from its environment.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV",
              "PYTHONPATH", "SYSTEMROOT")
_GRACE = 15.0


@dataclass(frozen=True)
class DryRunOptions:
    """How to run the program: which interpreter, what to call, how long to wait."""

    exercise: bool = False
    timeout: float = 60.0
    python: str | None = None
    project_root: Path | None = None
    block_natives: bool = True
    stub_runtime: bool = False  # use our basilisk stand-in even when ic-basilisk is installed
    cache_dir: Path | None = None  # default: the user's cache directory; see default_cache_dir()
    use_cache: bool = True
    static_only: bool = False  # run nothing: the static pass alone, from the entry file


def check_entry(entry: Path) -> tuple[Path, str]:
    """The entry's absolute path and module name, or an error saying what is wrong."""
    if not entry.exists():
        raise EntryError(f"entry file {entry} does not exist; pass the path to your canister's main.py")
    if entry.is_dir():
        raise EntryError(f"entry {entry} is a directory; pass the canister's entry file, e.g. {entry / 'main.py'}")
    if entry.suffix != ".py":
        raise EntryError(f"entry {entry} is not a .py file; pass the canister's Python entry file")
    name = entry.stem
    if not name.isidentifier():
        raise EntryError(f"entry {entry}: {name!r} is not a valid module name; rename the file")
    try:
        with entry.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise EntryError(f"cannot read entry {entry}: {exc.strerror}") from None
    return entry.resolve(), name


def default_cache_dir() -> Path:
    """Where the dry run keeps what it can reuse: $XDG_CACHE_HOME or ~/.cache, /basilisk-trace."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "basilisk-trace")


def passed_names() -> list[str]:
    """The names (never the values) of the caller's variables the child sees."""
    return sorted(k for k in PASSED_ENV if k in os.environ)


def scrubbed_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    return env


def run_dry_run(entry: Path, options: DryRunOptions) -> Trace:
    """Trace `entry` in a child process; the program's own failures are in the trace."""
    path, module = check_entry(entry)
    root = (options.project_root or path.parent).resolve()
    config: dict[str, Any] = {
        "entry": str(path),
        "entry_module": module,
        "project_root": str(root),
        "exercise": options.exercise,
        "timeout": options.timeout,
        "block_natives": options.block_natives,
        "stub_runtime": options.stub_runtime,
        "static_only": options.static_only,
        "cache_dir": str(options.cache_dir or default_cache_dir()) if options.use_cache else None,
    }
    python = options.python or sys.executable
    env = scrubbed_env()
    cache_dir = Path(config["cache_dir"]) if config["cache_dir"] else None
    key = _cache.cache_key({k: v for k, v in config.items() if k != "timeout"}, python, env)
    raw = _cache.load(cache_dir, key) if cache_dir else None
    if raw is not None:
        raw["cached"] = True
    else:
        raw = _run_until_all_natives_seen(entry, config, root, python, env, options.timeout)
        if cache_dir and raw["outcome"] == "ok":
            _cache.store(cache_dir, key, raw)
    raw["environment"] = passed_names()
    return build_trace(raw)


_MAX_NATIVE_RUNS = 8


def _run_until_all_natives_seen(entry: Path, config: dict[str, Any], root: Path, python: str,
                                env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Dry-run again while a required native stops the program, letting the ones found load.

    The first blocked native that is not optional ends the import; the user wants every native
    package listed at once, so the next run lets it load and goes on to find the next.
    """
    allowed: list[str] = []
    first: dict[str, Any] | None = None
    for _ in range(_MAX_NATIVE_RUNS):
        raw = _run_child(entry, {**config, "allow_natives": allowed}, root, python, env, timeout)
        first = first or raw
        found = [m["name"] for m in raw["modules"]
                 if m.get("blocked") and not m.get("optional") and m["name"] not in allowed]
        if raw["outcome"] == "ok" or not found:
            break
        allowed += found
    if allowed and first is not None and first is not raw:
        # On the target the program stops at the first one: that failure is the outcome.
        raw.update(outcome=first["outcome"], traceback=first["traceback"], exit_code=first["exit_code"])
        raw["events"].append({"kind": "native", "module": None, "detail": (
            f"dry run repeated with {', '.join(allowed)} allowed to load, to find every native module")})
    return raw


def _run_child(entry: Path, config: dict[str, Any], root: Path, python: str, env: dict[str, str],
               timeout: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="basilisk-trace-") as tmp:
        config_path = Path(tmp, "config.json")
        out_path = Path(tmp, "trace.json")
        config_path.write_text(json.dumps(config), encoding="utf-8")
        command = [python, "-B", str(_RUNNER), str(config_path), str(out_path)]
        try:
            done = subprocess.run(command, cwd=root, env=env, capture_output=True,
                                  timeout=timeout + _GRACE, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise DryRunError(f"the dry run of {entry} did not stop within {timeout:.0f}s "
                              "and was killed; raise --timeout or find the loop at import time") from None
        except OSError as exc:
            raise DryRunError(f"cannot start the interpreter {python}: {exc.strerror}; "
                              "check --python") from None
        if not out_path.exists():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            raise DryRunError(f"the dry run of {entry} crashed (exit {done.returncode}) before writing "
                              f"a trace: {' / '.join(tail) or 'no output'}")
        raw: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    return raw


def build_trace(raw: dict[str, Any]) -> Trace:
    """A Trace from the child's raw records: sorted, with import chains."""
    trace = Trace.from_dict(raw)
    records = {m.name: m for m in trace.modules}
    chained = tuple(
        replace(m, chain=chain_of(m.name, records, trace.entry_module))
        for m in sorted(records.values(), key=lambda m: m.name)
    )
    files = tuple(sorted(trace.files, key=lambda f: f.path))
    return replace(trace, modules=chained, files=files, _index={})


def chain_of(name: str, records: dict[str, ModuleRecord], entry: str) -> tuple[str, ...]:
    """entry -> ... -> name, following each module's first importer."""
    chain = [name]
    seen = {name}
    current = records.get(name)
    while current is not None and current.importer and current.importer not in seen:
        chain.append(current.importer)
        seen.add(current.importer)
        current = records.get(current.importer)
    if chain[-1] != entry:
        chain.append(entry)
    return tuple(reversed(chain))
