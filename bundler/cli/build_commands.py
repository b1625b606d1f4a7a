"""The commands that make canister artefacts: build (a bundle injected into a Wasm template) and bootstrap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from basilisk_trace.bundler.cli._command import Given, warn
from basilisk_trace.bundler.cli.trace_commands import OptionalEntry, print_problems


def build_command(
    given: Given,
    entry: OptionalEntry = None,
    template: Annotated[Path | None, typer.Option("--template", help="Canister template .wasm to inject the bundle into; it is only read.")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the Wasm, or the Python source with --format basilisk-source.")] = Path("canister.wasm"),
    trace: Annotated[bool, typer.Option("--trace", help="Run ENTRY in a dry run to find its imports (default: static scan only).")] = False,
    slot: Annotated[str, typer.Option("--slot", help="Placeholder slot: the template exports SLOT_passive_data_size and init_SLOT_passive_data.")] = "python_bundle",
    add_exports: Annotated[bool, typer.Option("--add-exports", help="Add the two placeholder exports when the template has neither.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="wasm (default), or basilisk-source: one Python source for ic-basilisk's python_source.")] = "wasm",
) -> int:
    """Bundle ENTRY and inject it into a canister Wasm template as passive data."""
    from basilisk_trace.bundler.pipeline import PlanError, build

    request = given.settings(entry).request()
    if request.dry_run.exercise and not trace:
        warn("--exercise needs --trace; the static scan calls nothing")
    try:
        result = build(request, template, output, slot=slot, add_exports=add_exports, fmt=fmt, run_dry_run=trace)
    except PlanError as exc:
        print_problems(exc.plan)
        raise
    print_problems(result.plan)
    typer.echo(result.summary(), nl=False)
    return 0


def bootstrap_command(
    given: Given,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the bootstrap source here (default: stdout).")] = None,
) -> int:
    """Print the runtime bootstrap a canister template runs at init to unpack the bundle."""
    from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_SOURCE
    from basilisk_trace.bundler.write.atomic import write_atomic

    if output is None:
        typer.echo(BOOTSTRAP_SOURCE, nl=False)
    else:
        write_atomic(output, BOOTSTRAP_SOURCE.encode("utf-8"))
    return 0
