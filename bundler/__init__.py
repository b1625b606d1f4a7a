"""basilisk-trace's bundler: a trace and a target profile in, a deterministic bundle out."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bundler._include import resolve_includes
    from bundler._planner import plan_bundle
    from bundler._writer import bundle_bytes, bundle_files, manifest_extra
    from bundler.plan import BundlePlan, Decision, PlannedFile, PlanOptions, Problem
    from bundler.profiles import Profile, load_profile

# Loaded on first use: `basilisk-trace trace` never needs the bundler's machinery, and every
# command pays for what this package imports at start-up.
_EXPORTS = {
    "BundlePlan": "bundler.plan",
    "Decision": "bundler.plan",
    "PlanOptions": "bundler.plan",
    "PlannedFile": "bundler.plan",
    "Problem": "bundler.plan",
    "Profile": "bundler.profiles",
    "bundle_bytes": "bundler._writer",
    "bundle_files": "bundler._writer",
    "load_profile": "bundler.profiles",
    "manifest_extra": "bundler._writer",
    "plan_bundle": "bundler._planner",
    "resolve_includes": "bundler._include",
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
    "manifest_extra",
    "plan_bundle",
    "resolve_includes",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'bundler' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
