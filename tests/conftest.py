"""Shared test helpers: paths to the fixtures and a cached dry run of each."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

from basilisk_trace import tracer

# `nox -s fuzz` runs the fuzz tests with HYPOTHESIS_PROFILE=long; CI keeps the bounded default.
settings.register_profile("long", max_examples=5_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def fixture_cases() -> list[str]:
    """Every golden case: `dir` for dir/expected.json, `dir:variant` for dir/expected.variant.json."""
    cases = []
    for path in sorted(FIXTURES.glob("*/expected*.json")):
        variant = path.name.removeprefix("expected").removesuffix(".json").lstrip(".")
        cases.append(f"{path.parent.name}:{variant}" if variant else path.parent.name)
    return cases


def expectations(case: str) -> dict[str, Any]:
    name, _, variant = case.partition(":")
    path = FIXTURES / name / (f"expected.{variant}.json" if variant else "expected.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@cache
def traced(case: str) -> tracer.Trace:
    """The trace of one fixture case with the options its expected file asks for."""
    options = expectations(case).get("options", {})
    return tracer.trace(FIXTURES / case.partition(":")[0] / "main.py", tracer.DryRunOptions(**options))
