"""Read Wasm modules: LEB128, the section model that re-emits unchanged sections byte for byte, decoders."""

from __future__ import annotations

from basilisk_trace.bundler.format.wasm import leb128
from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.module import Module, Section, SectionId

__all__ = ["Module", "Section", "SectionId", "WasmError", "leb128"]
