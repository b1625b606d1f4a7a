"""verify's runtime for components: the built component in wasmtime (WASI preview 2), every export called.

The component is run as it is: built by `basilisk-trace component` or by componentize-py
alone. Each export is called with arguments made from its WIT types (with --exercise, also
with each other case of its enums, variants and options, an empty list, ...); a call that
traps is a failure, explained from the Python traceback the guest printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace.bundler.check.runtime import Program, RunOptions, Runtime

if TYPE_CHECKING:
    from basilisk_trace.bundler.check.verify import Failure, VerifyResult
    from basilisk_trace.bundler.hosts.componentize_py.instance import Export, Outcome, Session
    from basilisk_trace.bundler.plan.profile import Profile

CONTAINMENT = "wasmtime: a WebAssembly component with WASI preview 2, no preopened directories, no network"


@dataclass(frozen=True)
class ComponentRuntime:
    """wasmtime, from PyPI, running a component with WASI preview 2."""

    name: str = "component"

    def describe(self) -> str:
        from basilisk_trace.bundler.hosts.componentize_py.tools import wasmtime_version

        return f"wasmtime {wasmtime_version()} (WASI preview 2)"

    def view(self, profile: Profile) -> str:
        return "the component's own snapshot"

    def run(self, program: Program, options: RunOptions) -> VerifyResult:
        from basilisk_trace.tracer import default_cache_dir

        if program.artifact is None:
            raise ValueError("the component runtime runs a built component (Program.artifact)")
        cache = options.cache_dir or default_cache_dir()
        return run_component(program.artifact, exercise=options.exercise, timeout=options.timeout,
                             cache_dir=cache / "component")


IN_COMPONENT: Runtime = ComponentRuntime()


def run_component(path: Path, *, exercise: bool, timeout: float, cache_dir: Path) -> VerifyResult:
    """Call every export of the component at `path`; each failed call is a Failure."""
    from basilisk_trace.bundler.check.verify import VerifyResult
    from basilisk_trace.bundler.hosts.componentize_py.instance import Session

    failures: list[Failure] = []
    calls = 0
    with Session(path, cache_dir, timeout) as session:
        for export in session.exports:
            made, failed = _call_export(session, export, exercise)
            calls += made
            failures.extend(failed)
    return VerifyResult(path.name, tuple(failures), calls, (), CONTAINMENT)


def _call_export(session: Session, export: Export, exercise: bool) -> tuple[int, list[Failure]]:
    from basilisk_trace.bundler.hosts.componentize_py.values import Unbuildable, calls

    try:
        argument_lists = calls(list(export.params), exercise)
    except Unbuildable as exc:
        return 0, [_refused(export, f"not called: a parameter takes {exc}, which verify cannot make")]
    failures = []
    for args in argument_lists:
        outcome = session.call(export, args)
        failure = _failure(export, args, outcome)
        if failure is not None:
            failures.append(failure)
            if failure.caused_by_bundle:
                break  # the same missing module again for each other argument: once is enough
    return len(argument_lists), failures


def _failure(export: Export, args: list[object], outcome: Outcome) -> Failure | None:
    from basilisk_trace.bundler.check.verify import Failure
    from basilisk_trace.bundler.hosts.componentize_py.failures import guest_error

    if outcome.refused is not None:
        return _refused(export, f"wasmtime-py refused the arguments: {outcome.refused}")
    if outcome.trap is None:
        return None
    error = guest_error(outcome.stderr, outcome.trap)
    where = f"{export.name}({', '.join(_short(a) for a in args)})"
    importer = error.importer.module if error.importer else None
    return Failure(where, error.error, error.module, False, importer, error.traceback or outcome.stderr[-2000:])


def _refused(export: Export, why: str) -> Failure:
    from basilisk_trace.bundler.check.verify import Failure

    return Failure(export.name, why, None, False, None, "")


def _short(value: object) -> str:
    from basilisk_trace.bundler.hosts.componentize_py.values import plain

    text = repr(plain(value))
    return text if len(text) <= 40 else text[:37] + "..."
