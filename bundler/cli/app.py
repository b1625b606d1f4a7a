"""`basilisk-trace` and the `basilisk` plugins: the console entry points.

A command run again with nothing changed is answered by replay.py before typer loads;
everything else goes to the typer app (typer_app.py).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not loaded before a replay
if TYPE_CHECKING:
    from typing import Any

__all__ = ["basilisk_bundle", "basilisk_canister", "basilisk_trace", "basilisk_verify", "basilisk_why", "main"]


def __getattr__(name: str) -> Any:
    """COMMANDS and make_app, from the typer app, loaded when asked for."""
    if name in ("COMMANDS", "make_app"):
        from basilisk_trace.bundler.cli import typer_app

        return getattr(typer_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_REPLAYED = ("trace", "bundle", "canister")  # replay.COMMANDS, without loading it for the others


def _run(args: list[str], prog: str, *, plugin: bool) -> None:
    if args and args[0] in _REPLAYED:
        from basilisk_trace.bundler.cli import replay

        if replay.replay(args, prog):
            return
    if args[:1] == ["canister"]:
        import threading

        _start_early(args)
        threading.Thread(target=_warm, daemon=True).start()
    from basilisk_trace.bundler.cli import _command, replay_record
    from basilisk_trace.bundler.cli.typer_app import make_app

    _command.install_handlers()
    replay_record.start(args, prog)
    code: object = 1
    try:
        # ic-basilisk's CLI calls a plugin's handler with no arguments and leaves them in sys.argv.
        if plugin:
            make_app(args)(args=args, prog_name=prog)
        else:
            make_app(args)(prog_name=prog)
        code = 0
    except SystemExit as exc:
        code = exc.code
        raise
    finally:
        replay_record.finish(code)


def _start_early(args: list[str]) -> None:
    """`canister NAME ENTRY`: ic-basilisk's method extraction, its longest step on a large canister,
    needs nothing else of the command line, so it starts now, in a process of its own, while the
    command line library loads (the command finds it by ENTRY)."""
    if len(args) >= 3 and not args[1].startswith("-") and not args[2].startswith("-") and args[2].endswith(".py"):
        from pathlib import Path

        from basilisk_trace.bundler.write.ic_basilisk_methods import start_early

        start_early(str(Path(args[2])))  # as the command receives it


def _warm() -> None:
    """What every dry run asks first, asked while the command line library loads: where this
    interpreter imports from, and whether the sandbox starts. The dry run then finds the answers."""
    import contextlib

    from basilisk_trace.base.sandbox import containment
    from basilisk_trace.tracer._interpreter import interpreter

    with contextlib.suppress(Exception):  # the dry run asks again, and says what is wrong
        interpreter(sys.executable)
        containment()


def main() -> None:
    """Console entry point of `basilisk-trace`."""
    _run(sys.argv[1:], "basilisk-trace", plugin=False)


def _plugin(command: str) -> None:
    _run([command, *sys.argv[2:]], "basilisk", plugin=True)


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
