"""The component command: componentize-py's build (`componentize-py -d WIT -w WORLD componentize APP -o OUT`)
with everything the app needs at call time imported at build time, and its data files in memory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from basilisk_trace.bundler.cli._command import Given, warn


def component_command(
    given: Given,
    args: Annotated[list[str], typer.Argument(metavar="APP", help="APP: the app's module (as componentize-py takes it, e.g. app for app.py); "
                                              "`componentize APP` is taken too.", show_default=False)],
    wit: Annotated[Path, typer.Option("-d", "--wit-path", help="The WIT file or folder of the world.", show_default=False)],
    world: Annotated[str, typer.Option("-w", "--world", help="The world the component targets.", show_default=False)],
    output: Annotated[Path, typer.Option("-o", "--output", help="Where to write the component.")] = Path("index.wasm"),
    python_path: Annotated[list[Path] | None, typer.Option("-p", "--python-path", help="A folder of the app's modules "
                                                            "(repeatable; default: the working directory).")] = None,
    stub_wasi: Annotated[bool, typer.Option("--stub-wasi", help="As componentize-py's: a component that imports no WASI.")] = False,
) -> int:
    """Build a WebAssembly component with componentize-py, with every module and file the app needs at call time."""
    from basilisk_trace.bundler.hosts.componentize_py.component import (
        ComponentRequest,
        build_component,
    )

    app = _app(args)
    paths = tuple(python_path or (Path.cwd(),))
    settings = given.settings(paths[0] / f"{app}.py")
    request = ComponentRequest(wit=wit, world=world, app=app, output=output, paths=paths,
                               exercise=settings.exercise, include=settings.include, exclude=settings.exclude,
                               timeout=settings.timeout, python=settings.python, stub_wasi=stub_wasi)
    built = build_component(request)
    for line in built.warnings:
        warn(line)
    for line in built.notes:
        typer.echo(f"basilisk-trace: note: {line}", err=True)
    typer.echo(f"built {built.output} ({built.size} bytes, sha256 {built.sha256}) with componentize-py in "
               f"{built.seconds:.1f}s: {built.modules} modules and {built.data_files} data files on its python "
               f"path, {built.imported} modules imported at build time (python path sha256 {built.folder_sha256})")
    return 0


def _app(args: list[str]) -> str:
    from basilisk_trace.base.errors import BasiliskTraceError

    words = args[1:] if args[:1] == ["componentize"] else args
    if len(words) != 1:
        raise BasiliskTraceError("name one APP module: basilisk-trace component -d WIT -w WORLD APP -o OUT.wasm "
                                 "(the arguments of componentize-py -d WIT -w WORLD componentize APP -o OUT.wasm)")
    return words[0]
