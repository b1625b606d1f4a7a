"""The JSON documents the commands write: their schema ids, and the JSON Schema files describing them."""

from __future__ import annotations

from pathlib import Path

TRACE = "basilisk-trace/trace/1"
BUNDLE = "basilisk-trace/bundle/1"
VERIFY = "basilisk-trace/verify/1"
WHY = "basilisk-trace/why/1"
# bundler/schemas/<kind>.schema.json, shipped as package data.
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas"


def schema_file(schema_id: str) -> Path:
    """The JSON Schema file for a document's `schema` value."""
    kind = schema_id.split("/")[1]
    return SCHEMA_DIR / f"{kind}.schema.json"
