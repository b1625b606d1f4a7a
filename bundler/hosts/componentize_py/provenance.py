"""What basilisk-trace records in a component it built: a custom section, read back by verify.

A custom section named `basilisk-trace` at the end of the component holds JSON (sorted keys):
the tool's and componentize-py's versions, the sha256 of the python-path folder it built from,
and the modules imported at build time. wasmtime and wasm-tools ignore custom sections; the
component runs as componentize-py wrote it.
"""

from __future__ import annotations

import json
from typing import Any

from basilisk_trace.bundler.format.wasm.leb128 import LEB128Error, decode_unsigned, encode_unsigned

SECTION = "basilisk-trace"
_CUSTOM = 0
_HEADER = 8  # magic and version/layer
_LIMIT = 16 * 1024 * 1024


def stamp(component: bytes, record: dict[str, Any]) -> bytes:
    """`component` with the record appended as its last section."""
    name = SECTION.encode()
    body = encode_unsigned(len(name)) + name + json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    return component + bytes([_CUSTOM]) + encode_unsigned(len(body)) + body


def read_stamp(component: bytes) -> dict[str, Any] | None:
    """The record basilisk-trace left in `component`, or None (built by componentize-py alone)."""
    position = _HEADER
    found = None
    try:
        while position < len(component):
            section = component[position]
            size, position = decode_unsigned(component, position + 1)
            end = position + size
            if section == _CUSTOM and end <= len(component):
                length, start = decode_unsigned(component, position)
                if component[start:start + length] == SECTION.encode() and size < _LIMIT:
                    found = component[start + length:end]
            position = end
    except (LEB128Error, IndexError):
        return None
    try:
        record = json.loads(found) if found is not None else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
