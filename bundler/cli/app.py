"""`basilisk-trace` and the `basilisk` plugins: the typer app, its commands, and --version."""

from __future__ import annotations

import importlib
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


def make_app() -> typer.Typer:
    """The typer app with every command registered."""
    app = typer.Typer(name="basilisk-trace", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False)
    app.callback()(_root)
    for name, (module, function, shared) in COMMANDS.items():
        func = getattr(importlib.import_module(f"basilisk_trace.bundler.cli.{module}"), function)
        _command.register(app, name, func, shared)
    return app


def main() -> None:
    """Console entry point of `basilisk-trace`."""
    _command.install_handlers()
    make_app()(prog_name="basilisk-trace")


def _plugin(command: str) -> None:
    # ic-basilisk's CLI calls the handler with no arguments and leaves them in sys.argv.
    _command.install_handlers()
    make_app()(args=[command, *sys.argv[2:]], prog_name="basilisk")


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
