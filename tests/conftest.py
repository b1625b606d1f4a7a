"""Shared test helpers: paths to the fixtures and a cached dry run of each."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import tracer

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
