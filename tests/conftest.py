"""Shared test helpers: paths to the fixtures and a cached dry run of each."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import tracer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def fixture_dirs() -> list[Path]:
    return sorted(p for p in FIXTURES.iterdir() if (p / "expected.json").exists())


def expectations(directory: Path) -> dict[str, Any]:
    path = directory / "expected.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@cache
def traced(name: str) -> tracer.Trace:
    """The trace of one fixture with the options its expected.json asks for."""
    directory = FIXTURES / name
    options = expectations(directory).get("options", {})
    return tracer.trace(directory / "main.py", tracer.DryRunOptions(**options))
