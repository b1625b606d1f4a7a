"""How a command is made: its shared options built from Settings, and the one error handler."""

from __future__ import annotations

import functools
import inspect
import sys
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from basilisk_trace.base.errors import BasiliskTraceError

if TYPE_CHECKING:
    # Loaded when a command is built: --help and --version list commands without them.
    from basilisk_trace.bundler.settings import Settings

# The shared options each kind of command takes (names of Settings fields).
DRY_RUN = ("exercise", "timeout", "python")
PLAN = (*DRY_RUN, "target", "runtime_modules", "include", "exclude", "bundle_stdlib")
BUILD = (*PLAN, "max_size", "compression")
BUNDLE = (*BUILD, "wheelhouse", "index_url", "progress")

Debug = Annotated[bool, typer.Option("--debug", help="Show Python tracebacks of the tool's own errors.")]


@dataclass(frozen=True)
class Given:
    """The shared options as typed on the command line (None: not given), resolved per entry."""

    values: dict[str, Any]

    def settings(self, entry: Path | None) -> Settings:
        """These values over [tool.basilisk-trace] of the pyproject.toml nearest to `entry`."""
        from basilisk_trace.bundler.settings import resolve

        return resolve(self.values, entry)


def register(app: typer.Typer, name: str, func: Callable[..., int | None], shared: tuple[str, ...],
             cls: type[Any] | None = None) -> None:
    """Add `func(given, **own)` to `app` as command `name`, with the shared options and --debug.

    `func` returns an exit code (None for 0); a BasiliskTraceError becomes one line on stderr
    and its exit code (3 when the program itself failed), in this one place.
    """
    own = inspect.signature(func, eval_str=True)
    params = [p for p in own.parameters.values() if p.name != "given"]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_option(n))
               for n in shared]
    params.append(inspect.Parameter("debug", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=Debug))

    def command(**kwargs: Any) -> None:
        debug = kwargs.pop("debug")
        given = Given({n: kwargs.pop(n) for n in shared})
        code = guarded(debug, lambda: func(given, **kwargs))
        if code:
            raise typer.Exit(code)

    command.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = func.__doc__
    command.__name__ = func.__name__
    app.command(name, cls=cls)(command)


def guarded(debug: bool, action: Callable[[], int | None]) -> int:
    """Run a command body: the tool's errors become one line each on stderr and an exit code."""
    try:
        return action() or 0
    except BasiliskTraceError as exc:
        if debug:
            traceback.print_exc()
        for line in str(exc).splitlines() or [type(exc).__name__]:
            typer.echo(f"basilisk-trace: error: {line}", err=True)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        from basilisk_trace.base import launch

        launch.cancel()  # Ctrl-C in a thread pool: the other jobs stop too
        typer.echo("basilisk-trace: interrupted", err=True)
        return exc.exit_code if isinstance(exc, launch.Interrupted) else 130


def install_handlers() -> None:
    """Ctrl-C, SIGTERM and SIGHUP kill every child at once; no output is written after them.

    Also: one line on stderr when a program is run without the sandbox.
    """
    from basilisk_trace.base import launch

    launch.on_fallback(lambda text: typer.echo(f"basilisk-trace: note: {text}", err=True))
    launch.stop_on_signals()


def warn(message: str) -> None:
    typer.echo(f"basilisk-trace: warning: {message}", err=True)


def write_text(destination: str, text: str, inputs: tuple[str, ...] = ()) -> None:
    """`text` to a file (atomically, never over one of `inputs`) or, for "-", to stdout."""
    from basilisk_trace.bundler.write.atomic import write_atomic

    if destination == "-":
        sys.stdout.write(text)
    else:
        write_atomic(destination, text.encode("utf-8"), inputs=inputs)


JsonOut = Annotated[str | None, typer.Option("--json", help="Write the JSON report to FILE, or - for stdout.")]


@functools.cache
def _settings_hints() -> dict[str, Any]:
    """Settings' field types, evaluated once: every shared option asks (about 1 ms each time)."""
    from basilisk_trace.bundler.settings import Settings

    return typing.get_type_hints(Settings)


def _option(name: str) -> Any:
    """The typer annotation of a shared option, from its Settings field."""
    from basilisk_trace.bundler.settings import option_field

    spec = option_field(name)
    hint = _settings_hints()[name]
    flag = spec.metadata["flag"]
    if typing.get_origin(hint) is tuple:
        kind: Any = list[str]
    else:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        kind = args[0] if args else hint
    # A flag pair (--x/--no-x) has no default to show: unset means "from pyproject.toml".
    return Annotated[kind | None, typer.Option(flag, help=spec.metadata["help"], show_default="/" not in flag)]
