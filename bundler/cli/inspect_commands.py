"""The commands that explain and check a bundle: why and verify."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from basilisk_trace.bundler.cli.app import (
    BundleStdlib,
    Debug,
    Exclude,
    ExerciseOpt,
    Include,
    OptionalEntry,
    Python,
    RuntimeModules,
    Target,
    TimeoutOpt,
    _guarded,
    _print_problems,
    _request,
    app,
)
from basilisk_trace.tracer.errors import BasiliskTraceError

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request
    from basilisk_trace.bundler.plan.profiles import Profile


@app.command("why")
def why_command(
    names: Annotated[list[str] | None, typer.Argument(help="MODULE [ENTRY]; or ENTRY with --error/--log; or MODULE... with --bundle.", show_default=False)] = None,
    error: Annotated[str | None, typer.Option("--error", help="An error text from the canister, e.g. \"ModuleNotFoundError: No module named 'x'\".")] = None,
    log: Annotated[Path | None, typer.Option("--log", help="A log file to search for missing or stubbed modules.")] = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="Answer from this bundle's manifest, without tracing.")] = None,
    exercise: ExerciseOpt = None,
    timeout: TimeoutOpt = None,
    python: Python = None,
    target: Target = None,
    runtime_modules: RuntimeModules = None,
    include: Include = None,
    exclude: Exclude = None,
    bundle_stdlib: BundleStdlib = None,
    debug: Debug = False,
) -> None:
    """Explain why a module is in or out of the bundle, with its import chain and the fix."""
    from basilisk_trace.bundler.report.plan import explain_from_manifest

    def body() -> None:
        args = list(names or [])
        if bundle is not None and error is None and log is None:
            from basilisk_trace.bundler.check.bundle_reader import read_bundle

            if not args:
                raise BasiliskTraceError("name the module to look up: basilisk-trace why --bundle bundle.zip MODULE")
            manifest = read_bundle(bundle)
            for module in args:
                typer.echo(explain_from_manifest(manifest, module), nl=False)
            return
        modules, entry = _why_targets(args, error, log)
        request = _request(entry, exercise=exercise, timeout=timeout, python=python, target=target,
                           runtime_modules=runtime_modules, include=include, exclude=exclude,
                           bundle_stdlib=bundle_stdlib, max_size=None, compression=None)
        explainer = _explainer(request)
        for module in modules:
            typer.echo(explainer(module), nl=False)

    _guarded(debug, body)


def _why_targets(args: list[str], error: str | None, log: Path | None) -> tuple[list[str], Path | None]:
    """(modules to explain, entry) from the positional arguments and any error text."""
    from basilisk_trace.bundler.check.canister_log import modules_in

    if error is None and log is None:
        if not args:
            raise BasiliskTraceError("name the module to explain: basilisk-trace why MODULE [ENTRY]")
        return [args[0]], Path(args[1]) if len(args) > 1 else None
    text = error or ""
    if log is not None:
        try:
            text += "\n" + log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise BasiliskTraceError(f"cannot read log {log}: {exc.strerror}") from None
    mentions = modules_in(text)
    if not mentions:
        raise BasiliskTraceError("no missing or stubbed module found in the error text; expected e.g. "
                                 "\"No module named 'x'\" or \"module 'x' has no attribute 'y'\"")
    return [m.module for m in mentions], Path(args[0]) if args else None


def _explainer(request: Request) -> Callable[[str], str]:
    """A function module -> explanation, against one fresh trace and plan."""
    from basilisk_trace.bundler.pipeline import make_plan
    from basilisk_trace.bundler.report.plan import explain
    from basilisk_trace.tracer._include import IncludeError, resolve_includes

    trace, plan = make_plan(request)

    def explain_module(module: str) -> str:
        try:
            installed = bool(resolve_includes(trace, (module,)))
        except IncludeError:
            installed = False
        stdlib = module.partition(".")[0] in sys.stdlib_module_names
        return explain(plan, module, installed=installed, stdlib=stdlib)

    return explain_module


@app.command("verify")
def verify_command(
    entry: OptionalEntry = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="Verify this bundle instead of building one.")] = None,
    runtime: Annotated[str, typer.Option("--runtime", help="host (CPython -I -S) or pyodide (real Wasm CPython under node).")] = "host",
    exercise: ExerciseOpt = None,
    timeout: TimeoutOpt = None,
    python: Python = None,
    target: Target = None,
    runtime_modules: RuntimeModules = None,
    include: Include = None,
    exclude: Exclude = None,
    bundle_stdlib: BundleStdlib = None,
    debug: Debug = False,
) -> None:
    """Run the bundle in isolation, as the target will, and explain every failure."""
    from basilisk_trace.bundler.check.verify import verify_zip
    from basilisk_trace.bundler.report.plan import explain_from_manifest, render_verify
    from basilisk_trace.bundler.write.archive import bundle_sha256

    def body() -> int:
        if runtime not in ("host", "pyodide"):
            raise BasiliskTraceError(f"unknown --runtime {runtime!r}; use host or pyodide")
        request = _request(entry if bundle is None else (entry or Path("main.py")), exercise=exercise,
                           timeout=timeout, python=python, target=target, runtime_modules=runtime_modules,
                           include=include, exclude=exclude, bundle_stdlib=bundle_stdlib, max_size=None,
                           compression=None)
        if bundle is not None:
            data, entry_module, profile, explain_module = _from_bundle(bundle, request, explain_from_manifest)
        else:
            data, entry_module, profile, explain_module = _fresh_bundle(request)
        if runtime == "pyodide":
            from basilisk_trace.bundler.check.pyodide import verify_in_pyodide

            result = verify_in_pyodide(data, entry_module, exercise=request.plan.exercise,
                                       timeout=request.dry_run.timeout)
        else:
            result = verify_zip(data, entry_module, profile, exercise=request.plan.exercise,
                                python=python, timeout=request.dry_run.timeout)
        if not result.ok:
            typer.echo(render_verify(result, explain_module), nl=False, err=True)
            return 1
        for failure in result.method_errors:
            typer.echo(f"basilisk-trace: note: {failure.where} raised {failure.error} (not an import "
                       "problem; check that it raises on the host too)", err=True)
        view = f"target {profile.name}" if runtime == "host" else "Pyodide's own stdlib"
        typer.echo(f"verify: ok: {entry_module} imported from the bundle alone on {runtime} "
                   f"({view}), {result.methods} methods called, "
                   f"sha256 {bundle_sha256(data)}")
        return 0

    code = _guarded(debug, body)
    if code:
        raise typer.Exit(code)


def _from_bundle(path: Path, request: Request,
                 explain_from_manifest: Callable[[Any, str], str]) -> tuple[bytes, str, Profile, Callable[[str], str]]:
    from basilisk_trace.bundler.check.bundle_reader import read_bundle
    from basilisk_trace.bundler.plan.profiles import load_profile

    manifest = read_bundle(path, verify=True)
    entry_module = manifest.extra.get("entry_module")
    if not isinstance(entry_module, str):
        raise BasiliskTraceError(f"{path} has no entry_module in its manifest; rebuild it with basilisk-trace bundle")
    target = request.target if request.target else manifest.extra.get("target", "basilisk")
    profile = load_profile(str(manifest.extra.get("target", target)), request.runtime_modules)
    return path.read_bytes(), entry_module, profile, lambda m: explain_from_manifest(manifest, m)


def _fresh_bundle(request: Request) -> tuple[bytes, str, Profile, Callable[[str], str]]:
    from basilisk_trace.bundler.pipeline import PlanError, make_bundle
    from basilisk_trace.bundler.plan.profiles import load_profile
    from basilisk_trace.bundler.report.plan import explain

    try:
        trace, plan, data = make_bundle(request)
    except PlanError as exc:
        _print_problems(exc.plan)
        raise
    profile = load_profile(request.target, request.runtime_modules)

    def explain_module(module: str) -> str:
        stdlib = module.partition(".")[0] in sys.stdlib_module_names
        return explain(plan, module, installed=True, stdlib=stdlib)

    return data, trace.entry_module, profile, explain_module
