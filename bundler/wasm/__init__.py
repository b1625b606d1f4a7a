"""Read and write Wasm modules, and inject a bundle into a canister template as passive data."""

from __future__ import annotations

from bundler.wasm import leb128
from bundler.wasm._inject import MAX_PAYLOAD, inject_passive_data, placeholder_names
from bundler.wasm.errors import WasmError
from bundler.wasm.module import Module, Section, SectionId

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
