"""verify: run a bundle alone, as the target will, and explain every failure with its fix."""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.launch import (
    ChildResultError,
    ChildStartError,
    ChildTimeout,
    guest_scripts,
    run_child,
)
from basilisk_trace.bundler.check.cost import Cost
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME, check_arcname
from basilisk_trace.bundler.plan.model import BundlePlan, PlannedFile
from basilisk_trace.bundler.plan.profile import Profile
from basilisk_trace.tracer import CHILD_SCRIPTS, RUNTIME_DIR, STUB_RUNTIME
from basilisk_trace.tracer._judge import temp_dir_failure
from basilisk_trace.tracer._layer import installed_layer

# verify's guest scripts (isolated, canister_init), then the tracer's exerciser and runtime stand-ins.
GUEST_DIR = Path(__file__).resolve().with_name("guest")
GUEST_SCRIPTS = (GUEST_DIR, *CHILD_SCRIPTS)


def stage_guest(root: str) -> tuple[dict[str, bytes], list[str], str]:
    """verify's scripts as files of a guest under `root`: {guest path: bytes}, the loader's search
    folders (the loader is `<first>/_load.py`), and the folder of the runtime stand-ins."""
    files, dirs = guest_scripts(GUEST_SCRIPTS, root)
    runtime = dirs[1 + GUEST_SCRIPTS.index(RUNTIME_DIR)]
    return files, dirs, f"{runtime}/{STUB_RUNTIME.relative_to(RUNTIME_DIR).as_posix()}"


class VerifyError(BasiliskTraceError):
    """The isolated run could not be started or did not report."""


@dataclass(frozen=True)
class Failure:
    """One way the bundle failed in isolation, and what the program was doing."""

    where: str  # "import" or the method's name
    error: str
    module: str | None  # the module that was missing or an empty stub
    stub: bool
    importer: str | None
    traceback: str


    @property
    def caused_by_bundle(self) -> bool:
        """A missing module, an empty stub or a missing file: what bundling decides."""
        return self.where == "import" or self.module is not None or self.error.startswith(
            ("FileNotFoundError", "ModuleNotFoundError", "ImportError"))


@dataclass(frozen=True)
class VerifyResult:
    entry_module: str
    failures: tuple[Failure, ...]
    methods: int
    stubbed: tuple[str, ...]
    containment: str = ""  # what contained the run: the bubblewrap sandbox, or the audit hooks alone
    cost: Cost | None = None  # instructions of the init and of each call, where the runtime meters them

    @property
    def ok(self) -> bool:
        return not self.bundle_failures

    @property
    def bundle_failures(self) -> tuple[Failure, ...]:
        return tuple(f for f in self.failures if f.caused_by_bundle)

    @property
    def method_errors(self) -> tuple[Failure, ...]:
        """Methods that raised for reasons of their own (bad synthesised arguments, logic)."""
        return tuple(f for f in self.failures if not f.caused_by_bundle)


def provided_view(profile: Profile) -> list[str] | None:
    """The stdlib modules the target provides, or None when it ships the full stdlib."""
    if profile.stdlib == "full":
        return None
    return sorted(profile.provided)


def absent_from_bundle(plan: BundlePlan, data: bytes) -> tuple[PlannedFile, ...]:
    """The modules a fresh plan puts in the bundle that this bundle lacks, each with its chain."""
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
    return tuple(f for f in plan.files if f.module and f.source and f.arcname not in names)


def runtime_layer_json(preamble: bool = True) -> dict[str, Any] | None:
    """The installed ic-basilisk's runtime layer for the child, or None for the stand-in.

    The preamble (stub modules for failed imports, its own stdlib replacements) comes along
    only for a target that runs it: the basilisk runtime (profile.stubs_missing_stdlib).
    """
    layer = installed_layer()
    return layer.to_json(preamble=preamble) if layer is not None else None


def verify_zip(data: bytes, entry_module: str, profile: Profile, *, exercise: bool,
               python: str | None = None, timeout: float = 60.0,
               runtime_dir: Path | None = None, protected: tuple[Path, ...] = ()) -> VerifyResult:
    """Extract the bundle into a fresh directory and import its entry in a child `python -I -S`.

    `protected`: directories the program may not change (the project the bundle came from).
    """
    with tempfile.TemporaryDirectory(prefix="basilisk-verify-") as tmp:
        bundle_dir = Path(tmp, "site-packages")
        extract_bundle(data, bundle_dir)
        config = {
            "bundle_dir": str(bundle_dir),
            "entry_module": entry_module,
            "provided": provided_view(profile),
            "runtime_dir": str(runtime_dir or STUB_RUNTIME),
            "runtime_layer": runtime_layer_json(profile.stubs_missing_stdlib),
            "exercise": exercise,
            "protected": [str(p) for p in protected],
        }
        raw, contained = _run(config, Path(tmp), python or sys.executable, timeout)
    return replace(result_from_raw(raw, entry_module, bundle_dir), containment=contained)


def extract_bundle(data: bytes, target: Path) -> None:
    import io

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise VerifyError("the bundle is not a valid ZIP file; build it again with basilisk-trace bundle") from None
    with archive:
        for info in archive.infolist():
            check_arcname(info.filename)
            if info.filename == MANIFEST_NAME:
                continue
            path = target / info.filename
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(archive.read(info))
            except OSError as exc:
                raise VerifyError(f"cannot unpack {info.filename!r} from the bundle: {exc.strerror or exc}; "
                                  "rebuild it with basilisk-trace bundle") from None


def _run(config: dict[str, Any], tmp: Path, python: str, timeout: float) -> tuple[dict[str, Any], str]:
    try:
        run = run_child("isolated", config, scripts=GUEST_SCRIPTS, python=python, flags=("-I", "-S", "-B"), cwd=tmp,
                        timeout=timeout, tail=3)
    except ChildTimeout:
        raise VerifyError(f"the isolated run did not finish within {timeout:.0f}s; raise --timeout") from None
    except ChildStartError as exc:
        raise VerifyError(f"cannot start {python}: {exc.reason}; check --python") from None
    except ChildResultError as exc:
        raise VerifyError(f"the isolated run left its {exc.name} as {exc.reason}: the program (or a package it "
                          "imports) replaced it; nothing it reported is used") from None
    except (OSError, ValueError) as exc:
        raise VerifyError(temp_dir_failure(exc)) from None
    if run.result is None:
        raise VerifyError(f"the isolated run crashed (exit {run.returncode}): "
                          f"{' / '.join(run.stderr_tail) or 'no output'}")
    return run.result, run.containment.describe()


def result_from_raw(raw: dict[str, Any], entry_module: str, bundle_dir: Path) -> VerifyResult:
    """A VerifyResult from what the isolated runner wrote, wherever it ran (host or Pyodide).

    The program runs beside that file and could rewrite it: anything but the shape the runner
    writes is one line, never a traceback.
    """
    try:
        failures = []
        if raw["failure"]:
            failures.append(_failure("import", raw["failure"], bundle_dir))
        for method in raw["methods"]:
            if method["failure"]:
                failures.append(_failure(_text(method["name"]), method["failure"], bundle_dir))
        stubbed = raw["stubbed"]
        if not isinstance(stubbed, list) or not all(isinstance(s, str) for s in stubbed):
            raise TypeError("stubbed")
        return VerifyResult(entry_module, tuple(failures), len(raw["methods"]), tuple(stubbed))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise VerifyError("the isolated run handed back a result the tool cannot use: the program (or a package "
                          "it imports) rewrote it; find the code that writes into the folder on its command line") from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


def _failure(where: str, raw: dict[str, Any], bundle_dir: Path) -> Failure:
    for key in ("error", "traceback"):
        _text(raw[key])
    if raw["stub"] is not None:
        _text(raw["stub"])
    if not all(isinstance(m, str) for m in raw["missing"]) or not all(isinstance(f, str) for f in raw["frames"]):
        raise TypeError("missing")
    module = raw["stub"] or (raw["missing"][0] if raw["missing"] else None)
    return Failure(where, raw["error"], module, raw["stub"] is not None,
                   _importer(raw["frames"], bundle_dir), raw["traceback"])


def _importer(frames: list[str], bundle_dir: Path) -> str | None:
    """The bundled module whose code was running last: the one that imported or used it."""
    root = os.path.realpath(bundle_dir) + os.sep
    for filename in reversed(frames):
        real = os.path.realpath(filename)
        if real.startswith(root):
            parts = real[len(root):].removesuffix(".py").split(os.sep)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join(parts)
    return None
