"""`basilisk-trace` and the `basilisk` plugins: the console entry points.

A command run again with nothing changed is answered by replay.py before typer loads;
everything else goes to the typer app (typer_app.py).
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not loaded before a replay
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = ["basilisk_bundle", "basilisk_canister", "basilisk_trace", "basilisk_verify", "basilisk_why", "main"]


def __getattr__(name: str) -> Any:
    """COMMANDS and make_app, from the typer app, loaded when asked for."""
    if name in ("COMMANDS", "make_app"):
        from basilisk_trace.bundler.cli import typer_app

        return getattr(typer_app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_REPLAYED = ("trace", "bundle", "canister")  # replay.COMMANDS, without loading it for the others


def version_line() -> str:
    """What --version prints."""
    from basilisk_trace.base.dist import NotInstalled, distribution_version

    try:
        return f"basilisk-trace {distribution_version('basilisk-trace')}"
    except NotInstalled:
        return "basilisk-trace (not installed: run pip install -e . in the checkout)"


def _run(args: list[str], prog: str, *, plugin: bool) -> None:
    if args == ["--version"] and not plugin:  # answered before the command line library loads
        sys.stdout.write(version_line() + "\n")
        return
    if args and args[0] in _REPLAYED:
        from basilisk_trace.bundler.cli import replay

        if replay.replay(args, prog):
            return
    try:
        _command_line(args, prog, plugin=plugin)
    except KeyboardInterrupt as exc:  # before the command's own handling, or after it (Interrupted: a signal)
        sys.stderr.write("basilisk-trace: interrupted\n")
        raise SystemExit(getattr(exc, "exit_code", 130)) from None


def _command_line(args: list[str], prog: str, *, plugin: bool) -> None:
    if args[:1] and args[0] in _REPLAYED:
        from basilisk_trace.base.processes import stop_on_signals

        stop_on_signals()  # before any child starts: a signal from here on stops them and leaves nothing
        _ask_ahead(args)
        if args[0] == "canister":
            _start_early(args)
        else:
            _trace_early(args)
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


_EARLY_FLAGS = {"--exercise": True, "--no-exercise": False, "-v": None, "--verbose": None}


def _start_early(args: list[str]) -> None:
    """`canister NAME ENTRY`: what needs nothing else of the command line starts now: ic-basilisk's
    method extraction (its longest step on a large canister), in a process of its own, and, for NAME
    ENTRY with no options but these flags, the dry run, whose child then runs while the command
    line library loads. The command finds them by ENTRY and by its request (one that differs makes its own)."""
    if len(args) < 3 or args[1].startswith("-") or args[2].startswith("-") or not args[2].endswith(".py"):
        return
    from pathlib import Path

    from basilisk_trace.bundler.write.ic_basilisk_methods import start_early

    entry = Path(args[2])  # as the command receives it
    start_early(str(entry))
    if all(flag in _EARLY_FLAGS for flag in args[3:]):
        _bundle_early(args[1], entry, [_EARLY_FLAGS[flag] for flag in args[3:]])


def _trace_early(args: list[str]) -> None:
    """`trace ENTRY` and `bundle ENTRY -o OUT`, with no options but --exercise/--no-exercise (and bundle's --target):
    the dry run starts now, and its child runs while the command line library loads; the command
    takes its trace (tracer._early.take_early), or makes its own when it asks another question."""
    given: dict[str, object] = {}
    entry = output = None
    rest = iter(args[1:])
    for arg in rest:
        if arg in ("--exercise", "--no-exercise"):
            given["exercise"] = arg == "--exercise"
        elif arg == "--target" and args[0] == "bundle":
            given["target"] = next(rest, None)
        elif arg in ("-o", "--output") and args[0] == "bundle":
            output = next(rest, None)
        elif entry is None and arg.endswith(".py") and not arg.startswith("-"):
            entry = arg
        else:
            return
    if entry is None or None in given.values() or (args[0] == "bundle" and output is None):
        return
    import contextlib
    from pathlib import Path

    from basilisk_trace.bundler.pipeline.bundle import host_dry_run
    from basilisk_trace.bundler.settings import resolve
    from basilisk_trace.bundler.write.atomic import check_output
    from basilisk_trace.tracer._early import start_early

    with contextlib.suppress(Exception):  # the command meets it again, and says what is wrong
        request = resolve(given, Path(entry)).request()
        if output is not None:
            check_output(Path(output), request.inputs())  # nothing runs for a command that would be refused
        start_early(request.entry, host_dry_run(request)[1])


def _bundle_early(name: str, entry: Path, flags: list[bool | None]) -> None:
    import contextlib
    import dataclasses

    from basilisk_trace.bundler.pipeline.canister import start_early
    from basilisk_trace.bundler.settings import resolve

    exercise = [flag for flag in flags if flag is not None]
    with contextlib.suppress(Exception):  # the command meets it again, and says what is wrong
        request = resolve({"exercise": exercise[-1]} if exercise else {}, entry).request()
        start_early(dataclasses.replace(request, target="basilisk"), name)


def _ask_ahead(args: list[str]) -> None:
    """What every dry run asks first, started before the command line library loads: whether the
    sandbox starts, and where the interpreter imports from (unless --python names another). The
    dry run then takes the answers (base/ahead.py); an option that changes a question asks anew."""
    from basilisk_trace.base.sandbox import probe_ahead
    from basilisk_trace.tracer._interpreter import ask_ahead

    probe_ahead()
    if not any(arg == "--python" or arg.startswith("--python=") for arg in args):
        ask_ahead(sys.executable)


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
