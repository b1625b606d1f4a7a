"""A dry run started before its command asks for it: the command line library then loads while its child runs.

`trace ENTRY` and `bundle ENTRY -o OUT` start theirs before typer loads (bundler/cli/app.py;
`canister NAME ENTRY` starts its whole bundle so, bundler/pipeline/canister.py); the command,
asking with an equal entry and options in the same working folder, takes that run's trace
instead of making its own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace.tracer import _dryrun

if TYPE_CHECKING:
    from basilisk_trace.tracer._dryrun import DryRunOptions
    from basilisk_trace.tracer.model import Trace


class _Early:
    """A dry run started before its command asked for it: its trace, or what it raised, once it ends.
    (Not a concurrent.futures.Future: that module loads logging, before the child could start.)"""

    def __init__(self) -> None:
        import threading

        self.ended = threading.Event()
        self.trace: Trace | None = None
        self.error: BaseException | None = None

    def result(self) -> Trace:
        self.ended.wait()
        if self.error is not None:
            raise self.error
        assert self.trace is not None
        return self.trace


_EARLY: dict[tuple[str, str, DryRunOptions], _Early] = {}


def start_early(entry: Path, options: DryRunOptions) -> None:
    """Start _dryrun.run_dry_run(entry, options) in a thread and return once its child has started (or it
    ended without one): a command that starts it before loading its command line library then
    loads that library while the child runs. `take_early`, asked with an equal entry and options
    in the same working folder, finds it; one never asked for is killed with the tool's children at exit."""
    import threading

    from basilisk_trace.base.processes import children_started, until_a_child_started

    before, early = children_started(), _Early()

    def run() -> None:
        try:
            early.trace = _dryrun.run_dry_run(entry, options)
        except BaseException as exc:  # noqa: BLE001 - raised where the command asks for the trace
            early.error = exc
        early.ended.set()

    _EARLY[(os.getcwd(), str(entry), options)] = early
    threading.Thread(target=run, daemon=True).start()
    until_a_child_started(early.ended.is_set, before)


def take_early(entry: Path, options: DryRunOptions) -> Trace | None:
    """The trace of the dry run start_early started for this entry and options, once it ends; None without one."""
    early = _EARLY.pop((os.getcwd(), str(entry), options), None)
    return early.result() if early is not None else None
