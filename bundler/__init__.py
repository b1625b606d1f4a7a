"""basilisk-trace's bundler: a trace and a target profile in, a deterministic bundle out."""

from __future__ import annotations

from bundler._include import resolve_includes
from bundler._planner import plan_bundle
from bundler._writer import bundle_bytes, bundle_files, manifest_extra
from bundler.plan import BundlePlan, Decision, PlannedFile, PlanOptions, Problem
from bundler.profiles import Profile, load_profile

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
