"""The command line: parse options, call the core, print; errors become one line and an exit code."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer

import tracer
from tracer import report as trace_report
from tracer.errors import BasiliskTraceError

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

Entry = Annotated[Path, typer.Argument(help="The canister's entry file (main.py).", show_default=False)]
Exercise = Annotated[bool, typer.Option("--exercise", help="Call every canister method once after the import.")]
Timeout = Annotated[float, typer.Option("--timeout", help="Seconds the dry run may take.", min=0.1)]
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


@app.command("trace")
def trace_command(
    entry: Entry,
    exercise: Exercise = False,
    timeout: Timeout = 60.0,
    python: Python = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the JSON report to FILE, or - for stdout.")] = None,
    stdlib: Annotated[bool, typer.Option("--stdlib", help="List standard-library modules too.")] = False,
    debug: Debug = False,
) -> None:
    """Trace ENTRY in a dry run and report every module it loads, and why."""

    def body() -> int:
        options = tracer.DryRunOptions(exercise=exercise, timeout=timeout, python=python)
        result = tracer.trace(entry, options)
        if json_out is not None:
            _write_text(json_out, trace_report.to_json(result))
        if json_out != "-":
            typer.echo(trace_report.render_text(result, show_stdlib=stdlib), nl=False)
        if not result.ok:
            typer.echo(f"basilisk-trace: error: {entry} failed during the dry run ({result.outcome}); "
                       "see the traceback above", err=True)
            return EXIT_PROGRAM_FAILED
        return 0

    code = _guarded(debug, body)
    if code:
        raise typer.Exit(code)


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
