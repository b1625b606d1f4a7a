"""basilisk-trace's tracer: run a canister's entry on host CPython and record what it loads."""

from __future__ import annotations

import importlib

# Neither typing nor pathlib is loaded here: replay.py answers a repeated command with this little.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from basilisk_trace.base.errors import BasiliskTraceError, DryRunError, EntryError
    from basilisk_trace.tracer._cache import (
        read_entry,
        saved_fingerprint,
        still_valid,
        write_private,
    )
    from basilisk_trace.tracer._dryrun import (
        CHILD_SCRIPTS,
        RUNTIME_DIR,
        STUB_RUNTIME,
        DryRunOptions,
        Layer,
        build_trace,
        cache_entry,
        default_cache_dir,
        protected_dirs,
    )
    from basilisk_trace.tracer._include import IncludeError, resolve_includes
    from basilisk_trace.tracer.model import (
        SCHEMA,
        ComputedImport,
        Event,
        FileRecord,
        MethodRecord,
        ModuleRecord,
        Trace,
    )

# Loaded on first use: every command imports the error classes, and a command that answers
# without tracing (--help, why --bundle) should not pay for the dry run's machinery.
_EXPORTS = {
    "SCHEMA": "model",
    "ComputedImport": "model",
    "BasiliskTraceError": "basilisk_trace.base.errors",
    "DryRunError": "basilisk_trace.base.errors",
    "DryRunOptions": "_dryrun",
    "Layer": "_dryrun",
    "CHILD_SCRIPTS": "_dryrun",
    "STUB_RUNTIME": "_dryrun",
    "RUNTIME_DIR": "_dryrun",
    "EntryError": "basilisk_trace.base.errors",
    "IncludeError": "_include",
    "Event": "model",
    "FileRecord": "model",
    "MethodRecord": "model",
    "ModuleRecord": "model",
    "Trace": "model",
    "build_trace": "_dryrun",
    "cache_entry": "_dryrun",
    "default_cache_dir": "_dryrun",
    "protected_dirs": "_dryrun",
    "saved_fingerprint": "_cache",
    "read_entry": "_cache",
    "write_private": "_cache",
    "still_valid": "_cache",
    "resolve_includes": "_include",
}
__all__ = [
    "SCHEMA",
    "CHILD_SCRIPTS",
    "STUB_RUNTIME",
    "RUNTIME_DIR",
    "default_cache_dir",
    "BasiliskTraceError",
    "ComputedImport",
    "DryRunError",
    "DryRunOptions",
    "Layer",
    "EntryError",
    "Event",
    "FileRecord",
    "IncludeError",
    "MethodRecord",
    "ModuleRecord",
    "Trace",
    "build_trace",
    "cache_entry",
    "protected_dirs",
    "resolve_includes",
    "read_entry",
    "saved_fingerprint",
    "still_valid",
    "write_private",
    "trace",
]
assert sorted(__all__) == sorted([*_EXPORTS, "trace"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'basilisk_trace.tracer' has no attribute {name!r}")
    where = _EXPORTS[name]
    module = where if "." in where else f"{__name__}.{where}"
    return getattr(importlib.import_module(module), name)


def trace(entry: str | Path, options: DryRunOptions | None = None) -> Trace:
    """Dry-run `entry` in a child interpreter and return everything it loaded, and why."""
    from pathlib import Path

    from basilisk_trace.tracer._dryrun import DryRunOptions, run_dry_run
    from basilisk_trace.tracer._early import take_early

    options = options or DryRunOptions()
    early = take_early(Path(entry), options)
    return early if early is not None else run_dry_run(Path(entry), options)
