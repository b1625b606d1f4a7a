"""verify --wasm: a built canister's python_source run as the template's init runs it, on host or in WASI.

Whoever built the canister (basilisk-trace canister, or python -m basilisk), its python_source
holds the program and every module it ships; the guest (guest/canister_init.py) runs it in one
namespace under ic-basilisk's runtime layer, then calls the exported methods by name.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from basilisk_trace.base.launch import (
    ChildResultError,
    ChildRun,
    ChildStartError,
    ChildTimeout,
    StartedChild,
    run_child,
    start_child,
)
from basilisk_trace.bundler.check.cost import cost_from_marks
from basilisk_trace.bundler.check.verify import (
    GUEST_SCRIPTS,
    Failure,
    VerifyError,
    VerifyResult,
    runtime_layer_json,
)
from basilisk_trace.bundler.check.wasi_python import PINNED
from basilisk_trace.bundler.write.code_objects import CodeItem, CompiledCode

ENTRY = "python_source"  # what the failures of the program's own top level are attributed to
_ROOTS = ("/lib/site-packages/",)  # where basilisk-trace's bootstrap says the bundled modules are
_PROGRAM = "python_source.py"  # the init check's python_source, in its run directory
_LAYER_MISSING = ("ic-basilisk is not installed here, and a canister's python_source runs only under its runtime "
                  "layer; pip install ic-basilisk")


def verify_canister_on_host(source: str, methods: Sequence[tuple[str, str]], *, python: str | None = None,
                            timeout: float = 60.0, sources: tuple[bytes, str | None] = (b"", None)) -> VerifyResult:
    """Run the python_source in a child `python -I -S` (contained), then call `methods`.

    Another interpreter (`python`) runs our canister's sources (`sources`: the bundle and the loader's
    source its custom sections carry) instead of its code objects, which are this one's."""
    layer = runtime_layer_json(preamble=True)
    if layer is None:
        raise VerifyError(_LAYER_MISSING)
    if python is not None:
        source = _retargeted(source, sources, None, "--python")
    run = _run_on_host(source, methods, layer, python=python, timeout=timeout)
    if run.result is None:
        raise VerifyError(f"the canister's init crashed the interpreter (exit {run.returncode}): "
                          f"{' / '.join(run.stderr_tail) or 'no output'}")
    return replace(result_from_canister(run.result, methods), containment=run.containment.describe())


class InitCheck:
    """The run that tells which bundled modules a python_source of ours runs at init, started early.

    Its interpreter starts, and loads the runtime layer, while the caller is still making the
    python_source (the layer does not depend on it); `modules` then hands it over and reads the
    answer. The run is the one the template's init makes, on this interpreter, contained: the
    python_source, rendered with sources only, compiles each module where it runs, and the loader
    lists those. Leaving the `with` stops a run that was never asked.
    """

    def __init__(self) -> None:
        self._child: StartedChild | None = None
        layer = runtime_layer_json(preamble=True)
        if layer is None:
            return
        config = {"program": _PROGRAM, "wait": True, "runtime_layer": layer, "calls": [], "exercise": []}
        with contextlib.suppress(ChildStartError):
            self._child = start_child("canister_init", config, scripts=GUEST_SCRIPTS, python=sys.executable,
                                      flags=("-I", "-S", "-B"), cwd=None, tail=3, waits=True)

    def modules(self, source: str, *, timeout: float = 60.0) -> list[str] | None:
        """The modules `source` (sources only) runs at init; None when that cannot be told: no runtime
        layer, the init failed, or its answer is no list of names."""
        child, self._child = self._child, None
        if child is None:
            return None
        with child:
            (child.run_dir / _PROGRAM).write_text(source, encoding="utf-8")
            try:
                run = child.finish(timeout)
            except (ChildTimeout, ChildResultError):
                return None
        compiled = run.result.get("compiled") if run.result is not None and run.result["failure"] is None else None
        if not isinstance(compiled, list) or not all(isinstance(name, str) for name in compiled):
            return None
        return compiled

    def close(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def __enter__(self) -> InitCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_on_host(source: str, methods: Sequence[tuple[str, str]], layer: dict[str, Any], *, python: str | None,
                 timeout: float) -> ChildRun:
    with tempfile.TemporaryDirectory(prefix="basilisk-verify-") as tmp:
        program = Path(tmp, "python_source.py")
        program.write_text(source, encoding="utf-8")
        config = {"program": str(program), "runtime_layer": layer, "calls": [],
                  "exercise": [list(method) for method in methods]}
        try:
            return run_child("canister_init", config, scripts=GUEST_SCRIPTS, python=python or sys.executable,
                             flags=("-I", "-S", "-B"), cwd=Path(tmp), timeout=timeout, visible=[Path(tmp)], tail=3)
        except ChildTimeout:
            raise VerifyError(f"the canister's init did not finish within {timeout:.0f}s; raise --timeout") from None
        except ChildStartError as exc:
            raise VerifyError(f"cannot start {python or sys.executable}: {exc.reason}; check --python") from None


def verify_canister_in_wasi(source: str, methods: Sequence[tuple[str, str]], *, cache_dir: Path,
                            timeout: float = 60.0, sources: tuple[bytes, str | None] = (b"", None)) -> VerifyResult:
    """Run the python_source in the pinned WASI CPython, metered, then call `methods`."""
    from basilisk_trace.bundler.check.wasi import compile_in_wasi, run_python_source_in_wasi
    from basilisk_trace.bundler.write.canister_source import code_python

    if runtime_layer_json(preamble=True) is None:
        raise VerifyError(_LAYER_MISSING)
    made_for = code_python(source)
    if made_for is not None and made_for != PINNED.python.rpartition(".")[0]:
        # Measured as it runs where the magic numbers match: the same sources (the bundle's, from the
        # custom section), compiled by this CPython before the run (not counted).
        source = _retargeted(source, sources, lambda items: compile_in_wasi(items, cache_dir=cache_dir,
                                                                            timeout=timeout), "--runtime wasi")
    raw = run_python_source_in_wasi(source, [], cache_dir=cache_dir, timeout=timeout, exercise=methods)
    result = result_from_canister(raw, methods)
    cost = cost_from_marks(raw.get("marks", []), raw.get("fuel", []), methods)
    if cost is not None and made_for is not None:
        cost = replace(cost, code_for=made_for)
    return replace(result, containment="wasmtime: one preopened directory, no network, no host processes", cost=cost)


def _retargeted(source: str, sources: tuple[bytes, str | None],
                compile_for: Callable[[list[CodeItem]], CompiledCode] | None, where: str) -> str:
    """`source` with code objects from `compile_for`, or with its sources (None), where it is ours."""
    from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_SOURCE
    from basilisk_trace.bundler.write.canister_source import BUNDLE_SECTION, code_python, rewrite

    made_for = code_python(source)
    if made_for is None:
        return source  # sources only, or python -m basilisk's
    bundle, bootstrap = sources
    if not bundle:
        raise VerifyError(f"the canister runs code objects for CPython {made_for} and its Wasm has no custom section "
                          f"{BUNDLE_SECTION} with their sources (stripped by a tool that shrank the Wasm?); verify "
                          f"the Wasm basilisk-trace canister wrote, or without {where}")
    try:
        return rewrite(source, bundle, bootstrap or BOOTSTRAP_SOURCE, compile_for) or source
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        raise VerifyError(f"the canister's custom section {BUNDLE_SECTION} is not a bundle ZIP ({exc}); rebuild "
                          "it with basilisk-trace canister") from None


def result_from_canister(raw: dict[str, Any], methods: Sequence[tuple[str, str]]) -> VerifyResult:
    """A VerifyResult from what guest/canister_init.py wrote."""
    failures = []
    if raw["failure"]:
        failures.append(_failure("import", raw["failure"]))
    for method in raw["methods"]:
        if method["failure"]:
            failures.append(_failure(method["name"], method["failure"]))
    return VerifyResult(ENTRY, tuple(failures), len(raw["methods"]), ())


def _failure(where: str, raw: dict[str, Any]) -> Failure:
    return Failure(where, raw["error"], _module(raw), raw["stub"] is not None, module_of_frames(raw["frames"]),
                   raw["traceback"])


def _module(raw: dict[str, Any]) -> str | None:
    """The module that failed: the most specific import the program asked for that needed it."""
    if raw["stub"]:
        return str(raw["stub"])
    missing = raw["missing"]
    if not missing:
        return None
    asked = [name for name in raw.get("requested", ()) if name == missing[0] or name.startswith(missing[0] + ".")]
    return max(asked, key=len) if asked else str(missing[0])


def module_of_frames(frames: Sequence[str]) -> str | None:
    """The module whose code ran last: python -m basilisk compiles each as `a/b.py`, our bootstrap as
    `/lib/site-packages/a/b.py`; the python_source itself is the entry."""
    for filename in reversed(frames):
        if filename == ENTRY:
            return ENTRY
        for root in _ROOTS:
            if filename.startswith(root):
                filename = filename[len(root):]
                break
        else:
            if filename.startswith(("/", "<")) or not filename.endswith(".py"):
                continue  # the stdlib, the runtime layer, the guest's own scripts
        parts = filename[:-3].split("/")
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            return ".".join(parts)
    return None
