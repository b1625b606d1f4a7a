"""Read and write Wasm modules, and inject a bundle into a canister template as passive data."""

from __future__ import annotations

from basilisk_trace.bundler.write.wasm import leb128
from basilisk_trace.bundler.write.wasm._inject import (
    MAX_PAYLOAD,
    inject_passive_data,
    placeholder_names,
)
from basilisk_trace.bundler.write.wasm.errors import WasmError
from basilisk_trace.bundler.write.wasm.module import Module, Section, SectionId

__all__ = [
    "MAX_PAYLOAD",
    "Module",
    "Section",
    "SectionId",
    "WasmError",
    "inject_passive_data",
    "leb128",
    "placeholder_names",
]
