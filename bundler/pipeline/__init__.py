"""The flows in one place: bundle (entry -> trace -> plan -> bytes -> file or canister), build, verify, why.

Commands call these; each loads its stage's machinery only when it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline.build_wasm import (
        FORMATS,
        BuildError,
        BuildResult,
        TemplateError,
        build,
    )
    from basilisk_trace.bundler.pipeline.bundle import (
        PlanError,
        Request,
        make_bundle,
        make_plan,
        wasix_replacements,
        write_bundle,
    )
    from basilisk_trace.bundler.pipeline.canister import make_canister

_EXPORTS = {
    "FORMATS": "build_wasm",
    "BuildError": "build_wasm",
    "BuildResult": "build_wasm",
    "TemplateError": "build_wasm",
    "build": "build_wasm",
    "PlanError": "bundle",
    "Request": "bundle",
    "make_bundle": "bundle",
    "make_canister": "canister",
    "make_plan": "bundle",
    "wasix_replacements": "bundle",
    "write_bundle": "bundle",
}
__all__ = [
    "FORMATS",
    "BuildError",
    "BuildResult",
    "PlanError",
    "Request",
    "TemplateError",
    "build",
    "make_bundle",
    "make_canister",
    "make_plan",
    "wasix_replacements",
    "write_bundle",
]
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'basilisk_trace.bundler.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
