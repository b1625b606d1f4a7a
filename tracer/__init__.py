"""basilisk-trace's tracer: run a canister's entry on host CPython and record what it loads."""

from __future__ import annotations

from pathlib import Path

from tracer._dryrun import DryRunOptions, build_trace, run_dry_run
from tracer.errors import BasiliskTraceError, DryRunError, EntryError
from tracer.model import SCHEMA, Event, FileRecord, MethodRecord, ModuleRecord, Trace

__all__ = [
    "SCHEMA",
    "BasiliskTraceError",
    "DryRunError",
    "DryRunOptions",
    "EntryError",
    "Event",
    "FileRecord",
    "MethodRecord",
    "ModuleRecord",
    "Trace",
    "build_trace",
    "trace",
]


def trace(entry: str | Path, options: DryRunOptions | None = None) -> Trace:
    """Dry-run `entry` in a child interpreter and return everything it loaded, and why."""
    return run_dry_run(Path(entry), options or DryRunOptions())
