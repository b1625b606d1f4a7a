"""basilisk-trace's tracer: run a canister's entry on host CPython and record what it loads."""

from __future__ import annotations

from pathlib import Path

from basilisk_trace.tracer._dryrun import DryRunOptions, build_trace, protected_dirs, run_dry_run
from basilisk_trace.tracer._include import IncludeError, resolve_includes
from basilisk_trace.tracer._launch import (
    STUB_RUNTIME,
    ChildStartError,
    ChildTimeout,
    Interrupted,
    cancel,
    check_cancelled,
    child_files,
    on_fallback,
    passed_names,
    run_child,
    run_contained,
    scrubbed_env,
)
from basilisk_trace.tracer._sandbox import Containment, containment
from basilisk_trace.tracer.errors import BasiliskTraceError, DryRunError, EntryError
from basilisk_trace.tracer.model import SCHEMA, Event, FileRecord, MethodRecord, ModuleRecord, Trace

__all__ = [
    "STUB_RUNTIME",
    "ChildStartError",
    "ChildTimeout",
    "Interrupted",
    "cancel",
    "check_cancelled",
    "child_files",
    "on_fallback",
    "containment",
    "Containment",
    "passed_names",
    "run_child",
    "run_contained",
    "scrubbed_env",
    "SCHEMA",
    "BasiliskTraceError",
    "DryRunError",
    "DryRunOptions",
    "EntryError",
    "IncludeError",
    "Event",
    "FileRecord",
    "MethodRecord",
    "ModuleRecord",
    "Trace",
    "build_trace",
    "protected_dirs",
    "resolve_includes",
    "trace",
]


def trace(entry: str | Path, options: DryRunOptions | None = None) -> Trace:
    """Dry-run `entry` in a child interpreter and return everything it loaded, and why."""
    return run_dry_run(Path(entry), options or DryRunOptions())
