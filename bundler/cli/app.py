"""The command line: parse options, call the core, print; errors become one line and an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from basilisk_trace.bundler.cli.lean import LeanGroup
from basilisk_trace.tracer.errors import BasiliskTraceError

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request
    from basilisk_trace.bundler.plan.model import BundlePlan

app = typer.Typer(
    name="basilisk-trace",
    help="Trace a canister's imports on host CPython and bundle exactly what it needs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help and usage errors: rich's formatting costs more than the rest of --help.
    rich_markup_mode=None,
    cls=LeanGroup,
)

EXIT_PROGRAM_FAILED = 3


def _show_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"basilisk-trace {version('basilisk-trace')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_show_version,
                                          help="Show the version and exit.")] = False,
) -> None:
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
        for line in str(exc).splitlines() or [type(exc).__name__]:
            typer.echo(f"basilisk-trace: error: {line}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("basilisk-trace: interrupted", err=True)
        raise typer.Exit(130) from None


def _write_text(destination: str, text: str) -> None:
    from basilisk_trace.bundler.write.atomic import write_atomic

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
    from basilisk_trace.bundler.cli.settings import find_pyproject, load_config
    from basilisk_trace.bundler.pipeline import merge

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
        from basilisk_trace import tracer
        from basilisk_trace.bundler.report import trace as trace_report

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

    def body() -> int:
        options = dict(exercise=exercise, timeout=timeout, python=python, target=target,
                       runtime_modules=runtime_modules, include=include, exclude=exclude,
                       bundle_stdlib=bundle_stdlib, max_size=max_size, compression=compression,
                       wheelhouse=wheelhouse, index_url=index_url)
        jobs = [(_canister_name(e), e) for e in entries or ()]
        if not jobs and _request_or_none(None, options) is None:
            from basilisk_trace.bundler.cli.canisters import find_canisters

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
    from basilisk_trace.tracer.errors import EntryError

    try:
        return _request(entry, **options)
    except EntryError:
        return None


def _bundle_one(request: Request, output: Path, show: bool | None) -> str:
    from basilisk_trace.bundler.cli.progress import progress
    from basilisk_trace.bundler.pipeline import PlanError, write_bundle

    try:
        with progress(f"tracing and bundling {request.entry}", enabled=show):
            written = write_bundle(request, output)
    except PlanError as exc:
        _print_problems(exc.plan)
        raise
    for warning in written.warnings:
        typer.echo(f"basilisk-trace: warning: {warning}", err=True)
    typer.echo(written.summary, nl=False)
    return written.summary


def _bundle_many(jobs: list[tuple[str, Path]], directory: Path, options: dict[str, Any],
                 show: bool | None) -> int:
    """Several canisters at once, in parallel on the machine's cores; each output is atomic."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from basilisk_trace.bundler.write.atomic import OutputError

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


# Each command and the module that defines it (and registers it on `app`). Only the invoked
# command's module is imported and only its parameters are built: typer would otherwise turn
# the signature of every command into click parameters on every call.
COMMANDS = {
    "trace": "app",
    "bundle": "app",
    "why": "inspect_commands",
    "verify": "inspect_commands",
    "build": "build_commands",
    "bootstrap": "build_commands",
}


def command_app(args: list[str]) -> typer.Typer:
    """The app for one call: the command named in `args` alone, or one-line stand-ins of all.

    Without a known command (--help, --version, a typo) each command is listed from its
    docstring with no parameters to build.
    """
    import copy
    import importlib

    from typer.core import TyperCommand

    from basilisk_trace.bundler.cli.lean import LeanCommand

    name = next((a for a in args if not a.startswith("-")), None)
    modules = {COMMANDS[name]} if name in COMMANDS else set(COMMANDS.values())
    for module in sorted(modules):
        importlib.import_module(f"{__package__}.{module}")
    built = copy.copy(app)
    chosen = [info for info in app.registered_commands if info.name == name]
    if chosen:
        # typer's own command class becomes the lean one; a custom class is kept.
        lean = LeanCommand if chosen[0].cls in (None, TyperCommand) else chosen[0].cls
        built.registered_commands = [_changed(chosen[0], cls=lean)]
    else:
        built.registered_commands = [_stand_in(info) for info in app.registered_commands]
    return built


def _stand_in(info: Any) -> Any:
    """A command with the help of `info` and no parameters: enough to be listed."""
    import inspect

    def listed() -> None:
        """A stand-in: the real command is built when it is invoked."""

    return _changed(info, callback=listed, help=info.help or inspect.getdoc(info.callback))


def _changed(info: Any, **changes: Any) -> Any:
    import copy

    changed = copy.copy(info)
    for name, value in changes.items():
        setattr(changed, name, value)
    return changed


def main() -> None:
    """Console entry point of `basilisk-trace`."""
    command_app(sys.argv[1:])(prog_name="basilisk-trace")


def _plugin(command: str) -> None:
    # ic-basilisk's CLI calls the handler with no arguments and leaves them in sys.argv.
    args = [command, *sys.argv[2:]]
    command_app(args)(args=args, prog_name="basilisk")


def basilisk_trace() -> None:
    """basilisk trace — trace a canister's imports in a dry run (basilisk-trace)."""
    _plugin("trace")


def basilisk_bundle() -> None:
    """basilisk bundle — bundle exactly the modules a canister needs (basilisk-trace)."""
    _plugin("bundle")


def basilisk_why() -> None:
    """basilisk why — explain why a module is in or out of the bundle (basilisk-trace)."""
    _plugin("why")


def basilisk_verify() -> None:
    """basilisk verify — run a bundle in isolation before deploying it (basilisk-trace)."""
    _plugin("verify")
