"""The typer app: its commands, built for the one invoked, and --version."""

from __future__ import annotations

import importlib
import inspect
from typing import Annotated

import typer

from basilisk_trace.bundler.cli import _command

# name -> (module under bundler/cli, function, the shared options it takes)
COMMANDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "trace": ("trace_commands", "trace_command", _command.DRY_RUN),
    "bundle": ("trace_commands", "bundle_command", _command.BUNDLE),
    "build": ("build_commands", "build_command", _command.BUILD),
    "bootstrap": ("build_commands", "bootstrap_command", ()),
    "why": ("inspect_commands", "why_command", _command.PLAN),
    "verify": ("inspect_commands", "verify_command", _command.PLAN),
    "canister": ("canister_command", "canister_command", tuple(n for n in _command.BUILD if n != "target")),
    "component": ("component_command", "component_command", (*_command.DRY_RUN, "include", "exclude")),
}


def _version(value: bool) -> None:
    if value:
        from basilisk_trace.bundler.cli.app import version_line

        typer.echo(version_line())
        raise typer.Exit()


def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.", callback=_version,
                                          is_eager=True)] = False,
) -> None:
    """Trace a canister's imports on host CPython and bundle exactly what it needs."""


def make_app(args: list[str]) -> typer.Typer:
    """The app for one call: the command named in `args` alone, or one-line stand-ins of all.

    typer turns every registered command's signature into parameters on every call, and
    coerces each through pydantic: only the invoked command is built, with the lean classes
    (bundler/cli/lean.py). Without a known command (--help, --version, a typo) each command is
    listed from its docstring with no parameters to build.
    """
    from basilisk_trace.bundler.cli.lean import LeanCommand, LeanGroup

    app = typer.Typer(name="basilisk-trace", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, rich_markup_mode=None, cls=LeanGroup)
    app.callback()(_root)
    name = next((a for a in args if not a.startswith("-")), None)
    for command, (module, function, shared) in COMMANDS.items():
        if name in COMMANDS and command != name:
            continue
        func = getattr(importlib.import_module(f"basilisk_trace.bundler.cli.{module}"), function)
        if command == name:
            _command.register(app, command, func, shared, cls=LeanCommand)
        else:
            app.command(command, help=inspect.getdoc(func))(_stand_in)
    return app


def _stand_in() -> None:
    """A command listed in --help: the real one is built when it is invoked."""
