"""`basilisk-trace` and the `basilisk` plugins: the typer app, its commands, and --version."""

from __future__ import annotations

import importlib
import inspect
import sys
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
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"basilisk-trace {version('basilisk-trace')}")
        except PackageNotFoundError:
            typer.echo("basilisk-trace (not installed: run pip install -e . in the checkout)")
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


def main() -> None:
    """Console entry point of `basilisk-trace`."""
    _command.install_handlers()
    make_app(sys.argv[1:])(prog_name="basilisk-trace")


def _plugin(command: str) -> None:
    # ic-basilisk's CLI calls the handler with no arguments and leaves them in sys.argv.
    _command.install_handlers()
    args = [command, *sys.argv[2:]]
    make_app(args)(args=args, prog_name="basilisk")


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


def basilisk_canister() -> None:
    """basilisk canister — python -m basilisk NAME ENTRY with a traced bundle (basilisk-trace)."""
    _plugin("canister")
