"""The command line: parse options, call the core, print; errors become one line and an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

import tracer
from tracer import report as trace_report
from tracer.errors import BasiliskTraceError

if TYPE_CHECKING:
    from bundler.pipeline import Request
    from bundler.plan import BundlePlan
    from bundler.profiles import Profile

app = typer.Typer(
    name="basilisk-trace",
    help="Trace a canister's imports on host CPython and bundle exactly what it needs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EXIT_PROGRAM_FAILED = 3


@app.callback()
def _root() -> None:
    """Trace a canister's imports on host CPython and bundle exactly what it needs."""
T = TypeVar("T")

Python = Annotated[str | None, typer.Option("--python", help="Interpreter of the environment to trace (default: this one).")]
Debug = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks of the tool's own errors.")]


def _guarded(debug: bool, action: Callable[[], T]) -> T:
    """Run a command body; the tool's errors become one line on stderr and a non-zero exit."""
    try:
        return action()
    except BasiliskTraceError as exc:
        if debug:
            traceback.print_exc()
        typer.echo(f"basilisk-trace: error: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("basilisk-trace: interrupted", err=True)
        raise typer.Exit(130) from None


def _write_text(destination: str, text: str) -> None:
    from bundler._atomic import write_atomic

    if destination == "-":
        sys.stdout.write(text)
    else:
        write_atomic(destination, text.encode("utf-8"))


Target = Annotated[str | None, typer.Option("--target", help="Target profile: basilisk, cpython-wasi, pyodide, wasix.")]
RuntimeModules = Annotated[Path | None, typer.Option("--runtime-modules", help="JSON file of the modules a deployed runtime provides.")]
Include = Annotated[list[str] | None, typer.Option("--include", help="Also bundle modules matching PATTERN (repeatable).")]
Exclude = Annotated[list[str] | None, typer.Option("--exclude", help="Leave out modules matching PATTERN (repeatable).")]
BundleStdlib = Annotated[bool | None, typer.Option("--bundle-stdlib/--no-bundle-stdlib", help="Ship host stdlib sources the target lacks.", show_default=False)]
MaxSize = Annotated[int | None, typer.Option("--max-size", help="Fail when the bundle is larger than BYTES.", min=1)]
Compression = Annotated[str | None, typer.Option("--compression", help="stored (default; no zlib needed) or deflated.")]
ExerciseOpt = Annotated[bool | None, typer.Option("--exercise/--no-exercise", help="Call every canister method once after the import.", show_default=False)]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="Seconds the dry run may take (default 60).", min=0.1)]
ProgressOpt = Annotated[bool | None, typer.Option("--progress/--no-progress", help="Show progress for slow steps (default: when stderr is a terminal).", show_default=False)]
OptionalEntry = Annotated[Path | None, typer.Argument(help="The canister's entry file (default: entry in pyproject.toml).", show_default=False)]


def _request(entry: Path | None, **values: Any) -> Request:
    from bundler.config import find_pyproject, load_config
    from bundler.pipeline import merge

    config = load_config(find_pyproject(entry if entry is not None else Path.cwd()))
    values["include"] = tuple(values.get("include") or ())
    values["exclude"] = tuple(values.get("exclude") or ())
    return merge(config, entry=entry, **values)


def _print_problems(plan: BundlePlan) -> None:
    for problem in plan.warnings:
        typer.echo(f"basilisk-trace: warning: {problem.message}", err=True)


@app.command("trace")
def trace_command(
    entry: OptionalEntry = None,
    exercise: ExerciseOpt = None,
    timeout: TimeoutOpt = None,
    python: Python = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON report to FILE, or - for stdout.")] = None,
    stdlib: Annotated[bool, typer.Option("--stdlib", help="List standard-library modules too.")] = False,
    debug: Debug = False,
) -> None:
    """Trace ENTRY in a dry run and report every module it loads, and why."""

    def body() -> int:
        request = _request(entry, exercise=exercise, timeout=timeout, python=python, target=None,
                           runtime_modules=None, bundle_stdlib=None, max_size=None, compression=None)
        result = tracer.trace(request.entry, request.dry_run)
        if json_out is not None:
            _write_text(json_out, trace_report.to_json(result))
        if json_out != "-":
            typer.echo(trace_report.render_text(result, show_stdlib=stdlib), nl=False)
        if not result.ok:
            typer.echo(f"basilisk-trace: error: {request.entry} failed during the dry run ({result.outcome}); "
                       "see the traceback above", err=True)
            return EXIT_PROGRAM_FAILED
        return 0

    code = _guarded(debug, body)
    if code:
        raise typer.Exit(code)


@app.command("bundle")
def bundle_command(
    entries: Annotated[list[Path] | None, typer.Argument(help="Entry files (default: pyproject.toml's entry, or every Python canister in dfx.json/icp.yaml).", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="The bundle ZIP; a directory when there are several canisters.")] = None,
    exercise: ExerciseOpt = None,
    timeout: TimeoutOpt = None,
    python: Python = None,
    target: Target = None,
    runtime_modules: RuntimeModules = None,
    include: Include = None,
    exclude: Exclude = None,
    bundle_stdlib: BundleStdlib = None,
    max_size: MaxSize = None,
    compression: Compression = None,
    wheelhouse: Annotated[Path | None, typer.Option("--wheelhouse", help="wasix: a directory of wasm32-wasix wheels.")] = None,
    index_url: Annotated[str | None, typer.Option("--index-url", help="wasix: a PEP 503 index of wasm32-wasix wheels.")] = None,
    progress_opt: ProgressOpt = None,
    debug: Debug = False,
) -> None:
    """Trace each entry, plan its bundle for the target and write a deterministic ZIP."""
    from bundler.projects import find_canisters

    def body() -> int:
        options = dict(exercise=exercise, timeout=timeout, python=python, target=target,
                       runtime_modules=runtime_modules, include=include, exclude=exclude,
                       bundle_stdlib=bundle_stdlib, max_size=max_size, compression=compression,
                       wheelhouse=wheelhouse, index_url=index_url)
        jobs = [(_canister_name(e), e) for e in entries or ()]
        if not jobs and _request_or_none(None, options) is None:
            jobs = [(c.name, c.entry) for c in find_canisters(Path.cwd())]
        if len(jobs) <= 1:
            entry = jobs[0][1] if jobs else None
            _bundle_one(_request(entry, **options), output or Path("bundle.zip"), progress_opt)
            return 0
        return _bundle_many(jobs, output or Path("bundles"), options, progress_opt)

    code = _guarded(debug, body)
    if code:
        raise typer.Exit(code)


def _canister_name(entry: Path) -> str:
    return entry.resolve().parent.name if entry.stem == "main" else entry.stem


def _request_or_none(entry: Path | None, options: dict[str, Any]) -> Request | None:
    from tracer.errors import EntryError

    try:
        return _request(entry, **options)
    except EntryError:
        return None


def _bundle_one(request: Request, output: Path, show: bool | None) -> str:
    from bundler._atomic import write_atomic
    from bundler._progress import progress
    from bundler.archive import bundle_sha256
    from bundler.pipeline import PlanError, make_bundle
    from bundler.report import render_summary

    try:
        with progress(f"tracing and bundling {request.entry}", enabled=show):
            _, plan, data = make_bundle(request)
    except PlanError as exc:
        _print_problems(exc.plan)
        raise
    _print_problems(plan)
    write_atomic(output, data)
    summary = render_summary(plan, bundle_sha256(data), str(output))
    typer.echo(summary, nl=False)
    return summary


def _bundle_many(jobs: list[tuple[str, Path]], directory: Path, options: dict[str, Any],
                 show: bool | None) -> int:
    """Several canisters at once, in parallel on the machine's cores; each output is atomic."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from bundler._atomic import OutputError

    if not directory.is_dir():
        raise OutputError(f"{directory} is not a directory; with several canisters, -o names the "
                          "directory that receives <canister>.zip")
    names = [name for name, _ in jobs]
    if len(set(names)) != len(names):
        raise BasiliskTraceError(f"two canisters would both write {directory}/<name>.zip: "
                                 f"{', '.join(sorted(n for n in names if names.count(n) > 1))}; rename an entry")

    def one(job: tuple[str, Path]) -> str | None:
        name, entry = job
        try:
            _bundle_one(_request(entry, **options), directory / f"{name}.zip", show)
            return None
        except BasiliskTraceError as exc:
            return f"{name} ({entry}): {exc}"

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        failures = [f for f in pool.map(one, jobs) if f]
    for failure in failures:
        typer.echo(f"basilisk-trace: error: {failure}", err=True)
    return 1 if failures else 0


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
    from bundler.report import explain_from_manifest

    def body() -> None:
        args = list(names or [])
        if bundle is not None and error is None and log is None:
            from bundler.manifest import read_bundle

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
    from bundler.errors_text import modules_in

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
    from bundler._include import IncludeError, resolve_includes
    from bundler.pipeline import make_plan
    from bundler.report import explain

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
    from bundler.archive import bundle_sha256
    from bundler.report import explain_from_manifest, render_verify
    from bundler.verify import verify_zip

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
            from bundler.pyodide import verify_in_pyodide

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
        typer.echo(f"verify: ok: {entry_module} imported from the bundle alone on {runtime} "
                   f"(target {profile.name}), {result.methods} methods called, "
                   f"sha256 {bundle_sha256(data)}")
        return 0

    code = _guarded(debug, body)
    if code:
        raise typer.Exit(code)


def _from_bundle(path: Path, request: Request,
                 explain_from_manifest: Callable[[Any, str], str]) -> tuple[bytes, str, Profile, Callable[[str], str]]:
    from bundler.manifest import read_bundle
    from bundler.profiles import load_profile

    manifest = read_bundle(path, verify=True)
    entry_module = manifest.extra.get("entry_module")
    if not isinstance(entry_module, str):
        raise BasiliskTraceError(f"{path} has no entry_module in its manifest; rebuild it with basilisk-trace bundle")
    target = request.target if request.target else manifest.extra.get("target", "basilisk")
    profile = load_profile(str(manifest.extra.get("target", target)), request.runtime_modules)
    return path.read_bytes(), entry_module, profile, lambda m: explain_from_manifest(manifest, m)


def _fresh_bundle(request: Request) -> tuple[bytes, str, Profile, Callable[[str], str]]:
    from bundler.pipeline import PlanError, make_bundle
    from bundler.profiles import load_profile
    from bundler.report import explain

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


def main() -> None:
    """Console entry point of `basilisk-trace`."""
    app(prog_name="basilisk-trace")


def _plugin(command: str) -> None:
    # ic-basilisk's CLI calls the handler with no arguments and leaves them in sys.argv.
    app(args=[command, *sys.argv[2:]], prog_name="basilisk")


def basilisk_trace() -> None:
    """basilisk trace — trace a canister's imports in a dry run (basilisk-trace)."""
    _plugin("trace")


def basilisk_bundle() -> None:
    """basilisk bundle — bundle exactly the modules a canister needs (basilisk-trace)."""
    _plugin("bundle")


def basilisk_verify() -> None:
    """basilisk verify — run a bundle in isolation before deploying it (basilisk-trace)."""
    _plugin("verify")
