"""basilisk-trace's bundler: a trace and a target profile in, a deterministic bundle out."""

from __future__ import annotations

import importlib

# typing itself is not loaded: replay.py answers a repeated command before anything else loads.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from basilisk_trace.bundler.hosts import load_profile
    from basilisk_trace.bundler.plan.model import (
        BundlePlan,
        Decision,
        PlannedFile,
        PlanOptions,
        Problem,
    )
    from basilisk_trace.bundler.plan.planner import plan_bundle
    from basilisk_trace.bundler.plan.profile import Profile
    from basilisk_trace.bundler.write.contents import bundle_bytes, bundle_files, manifest_of

# Loaded on first use: `basilisk-trace trace` never needs the bundler's machinery, and every
# command pays for what this package imports at start-up.
_EXPORTS = {
    "BundlePlan": "basilisk_trace.bundler.plan.model",
    "Decision": "basilisk_trace.bundler.plan.model",
    "PlanOptions": "basilisk_trace.bundler.plan.model",
    "PlannedFile": "basilisk_trace.bundler.plan.model",
    "Problem": "basilisk_trace.bundler.plan.model",
    "Profile": "basilisk_trace.bundler.plan.profile",
    "bundle_bytes": "basilisk_trace.bundler.write.contents",
    "bundle_files": "basilisk_trace.bundler.write.contents",
    "load_profile": "basilisk_trace.bundler.hosts",
    "manifest_of": "basilisk_trace.bundler.write.contents",
    "plan_bundle": "basilisk_trace.bundler.plan.planner",
}
__all__ = [
    "BundlePlan",
    "Decision",
    "PlanOptions",
    "PlannedFile",
    "Problem",
    "Profile",
    "bundle_bytes",
    "bundle_files",
    "load_profile",
    "manifest_of",
    "plan_bundle",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'basilisk_trace.bundler' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
