"""The build command: a bundle injected into a canister Wasm template."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from basilisk_trace.bundler.cli.app import (
    BundleStdlib,
    Compression,
    Debug,
    Exclude,
    ExerciseOpt,
    Include,
    MaxSize,
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


@app.command("build")
def build_command(
    entry: OptionalEntry = None,
    template: Annotated[Path | None, typer.Option("--template", help="Canister template .wasm to inject the bundle into; it is only read.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the Wasm, or the Python source with --format basilisk-source.")] = Path("canister.wasm"),
    trace: Annotated[bool, typer.Option("--trace", help="Run ENTRY in a dry run to find its imports (default: static scan only).")] = False,
    slot: Annotated[str, typer.Option("--slot", help="Placeholder slot: the template exports SLOT_passive_data_size and init_SLOT_passive_data.")] = "python_bundle",
    add_exports: Annotated[bool, typer.Option("--add-exports", help="Add the two placeholder exports when the template has neither.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="wasm (default), or basilisk-source: one Python source for ic-basilisk's python_source.")] = "wasm",
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
    debug: Debug = False,
) -> None:
    """Bundle ENTRY and inject it into a canister Wasm template as passive data."""
    from basilisk_trace.bundler.build import build
    from basilisk_trace.bundler.pipeline import PlanError

    def body() -> None:
        request = _request(entry, exercise=exercise, timeout=timeout, python=python, target=target,
                           runtime_modules=runtime_modules, include=include, exclude=exclude,
                           bundle_stdlib=bundle_stdlib, max_size=max_size, compression=compression)
        if request.dry_run.exercise and not trace:
            typer.echo("basilisk-trace: warning: --exercise needs --trace; the static scan calls nothing", err=True)
        try:
            result = build(request, template, output, slot=slot, add_exports=add_exports, fmt=fmt, trace=trace)
        except PlanError as exc:
            _print_problems(exc.plan)
            raise
        _print_problems(result.plan)
        typer.echo(result.summary(), nl=False)

    _guarded(debug, body)


@app.command("bootstrap")
def bootstrap_command(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the bootstrap source here (default: stdout).")] = None,
    debug: Debug = False,
) -> None:
    """Print the runtime bootstrap a canister template runs at init to unpack the bundle."""
    from basilisk_trace.bundler.write.atomic import write_atomic
    from basilisk_trace.bundler.write.bootstrap import BOOTSTRAP_SOURCE

    def body() -> None:
        if output is None:
            typer.echo(BOOTSTRAP_SOURCE, nl=False)
        else:
            write_atomic(output, BOOTSTRAP_SOURCE.encode("utf-8"))

    _guarded(debug, body)
