"""The canister command: a drop-in for `python -m basilisk NAME ENTRY` with the traced bundle as python_source."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from basilisk_trace.bundler.cli._command import Given
from basilisk_trace.bundler.cli.trace_commands import print_problems


def canister_command(
    given: Given,
    name: Annotated[str, typer.Argument(help="The canister's name: the Wasm goes to .basilisk/NAME/NAME.wasm.", show_default=False)],
    entry: Annotated[Path, typer.Argument(help="The canister's entry file, as given to python -m basilisk.", show_default=False)],
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Show ic-basilisk's own build output (also BASILISK_VERBOSE=true).")] = False,
) -> int:
    """Build NAME's Wasm and Candid like python -m basilisk NAME ENTRY, with the traced bundle.

    Reads CANISTER_CANDID_PATH and BASILISK_TEMPLATE_WASM as python -m basilisk does;
    ic-basilisk (a supported version) must be installed.
    """
    from basilisk_trace.bundler.pipeline import PlanError, make_canister

    # The template runs on the basilisk target whatever pyproject.toml says for other commands.
    request = dataclasses.replace(given.settings(entry).request(), target="basilisk")
    loud = verbose or os.environ.get("BASILISK_VERBOSE") == "true"
    try:
        plan, zip_bytes, built = make_canister(request, name, str(entry), verbose=loud)
    except PlanError as exc:
        print_problems(exc.plan)
        raise
    print_problems(plan)
    if loud:
        typer.echo(built.log, nl=False)
    files = sum(1 for f in plan.files if f.reason != "entry")
    typer.echo(f"built canister {name}: {built.wasm} ({built.wasm_size} bytes, {len(built.methods)} methods), "
               f"Candid {built.candid}; python_source {built.python_source_size} bytes: {entry} and a bundle "
               f"of {files} files ({len(zip_bytes)} bytes); template {built.template}")
    _remember(request, plan, built, entry)
    return 0


def _remember(request: Any, plan: Any, built: Any, entry: Path) -> None:
    """What a rebuild with nothing changed must find as it was: the bundled files, the template (and
    ic-basilisk's cached one it would prefer), the sources its build read, and every output."""
    from basilisk_trace.bundler.cli.replay_record import remember
    from basilisk_trace.bundler.write.ic_basilisk import ic_basilisk_version
    from basilisk_trace.bundler.write.ic_basilisk_methods import read_by_build

    read, folders = read_by_build(str(entry))
    cached_template = Path.home() / ".config" / "basilisk" / ic_basilisk_version() / "cpython_canister_template.wasm"
    outputs = [built.wasm, built.candid, *sorted(built.python_source.iterdir())]
    bundled = [f.source for f in plan.files if f.source]
    remember(request, outputs=outputs, sources=[*bundled, built.template, cached_template, *read],
             folders=[built.python_source, *folders, *sorted({Path(s).parent for s in bundled})])
