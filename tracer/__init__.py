"""basilisk-trace's tracer: run a canister's entry on host CPython and record what it loads."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basilisk_trace.tracer._cache import saved_fingerprint, still_valid
    from basilisk_trace.tracer._dryrun import (
        DryRunOptions,
        build_trace,
        cache_entry,
        default_cache_dir,
        protected_dirs,
    )
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
    "STUB_RUNTIME": "_launch",
    "ChildStartError": "_launch",
    "ChildTimeout": "_launch",
    "Interrupted": "_launch",
    "cancel": "_launch",
    "check_cancelled": "_launch",
    "child_files": "_launch",
    "on_fallback": "_launch",
    "passed_names": "_launch",
    "run_child": "_launch",
    "run_contained": "_launch",
    "scrubbed_env": "_launch",
    "Containment": "_sandbox",
    "containment": "_sandbox",
    "SCHEMA": "model",
    "ComputedImport": "model",
    "BasiliskTraceError": "errors",
    "DryRunError": "errors",
    "DryRunOptions": "_dryrun",
    "EntryError": "errors",
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
    "still_valid": "_cache",
    "resolve_includes": "_include",
}
__all__ = [
    "SCHEMA",
    "default_cache_dir",
    "STUB_RUNTIME",
    "BasiliskTraceError",
    "ChildStartError",
    "ChildTimeout",
    "ComputedImport",
    "Containment",
    "DryRunError",
    "DryRunOptions",
    "EntryError",
    "Event",
    "FileRecord",
    "IncludeError",
    "Interrupted",
    "MethodRecord",
    "ModuleRecord",
    "Trace",
    "build_trace",
    "cache_entry",
    "cancel",
    "check_cancelled",
    "child_files",
    "containment",
    "on_fallback",
    "passed_names",
    "protected_dirs",
    "resolve_includes",
    "run_child",
    "run_contained",
    "saved_fingerprint",
    "scrubbed_env",
    "still_valid",
    "trace",
]
assert sorted(__all__) == sorted([*_EXPORTS, "trace"])


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'basilisk_trace.tracer' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def trace(entry: str | Path, options: DryRunOptions | None = None) -> Trace:
    """Dry-run `entry` in a child interpreter and return everything it loaded, and why."""
    from basilisk_trace.tracer._dryrun import DryRunOptions, run_dry_run

    return run_dry_run(Path(entry), options or DryRunOptions())
