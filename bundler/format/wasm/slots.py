"""Read a passive data slot back out of a built Wasm, without running it.

A slot is two exports, `<slot>_passive_data_size() -> i32` and `init_<slot>_passive_data(dest)`,
whose work (behind wasm-ld's forwarding wrappers) is `memory.init SEGMENT` of a passive data
segment: what ic-basilisk's manipulator and our injector both write. The slot's bytes are
that segment's.
"""

from __future__ import annotations

from collections.abc import Callable

from basilisk_trace.bundler.format.wasm import _decode as decode
from basilisk_trace.bundler.format.wasm._reader import Reader
from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.leb128 import ByteLike
from basilisk_trace.bundler.format.wasm.module import Module, SectionId

__all__ = ["read_slot"]

_CALL, _LOCAL_GET, _I32_CONST, _BULK, _END, _NOP, _DROP = 0x10, 0x20, 0x41, 0xFC, 0x0B, 0x01, 0x1A
_MEMORY_INIT, _DATA_DROP = 8, 9
_MAX_DEPTH = 8
# Opcodes of constant expressions (segment offsets) and the immediates they take.
_CONST_OPS = {0x41: "s", 0x42: "s", 0x23: "u", 0xD2: "u", 0xD0: "b",
              0x6A: "", 0x6B: "", 0x6C: "", 0x7C: "", 0x7D: "", 0x7E: ""}


def read_slot(module: Module, slot: str) -> bytes | None:
    """The bytes of `slot`'s passive segment; None when the module does not export the slot."""
    export = decode.find_exports(module, (f"init_{slot}_passive_data",)).get(f"init_{slot}_passive_data")
    if export is None or export.kind != decode.FUNC:
        return None
    imported = len(decode.read_imports(module).func_types)
    bodies = decode.read_code_bodies(module)
    code = module.find(SectionId.CODE)
    if code is None:
        return None

    def body_of(func: int) -> ByteLike | None:
        if not imported <= func < imported + len(bodies):
            return None
        _, start, end = bodies[func - imported]
        return code.content[start:end]

    segment = _segment_of(export.index, body_of, 0)
    if segment is None:
        return None
    segments = _data_segments(module)
    if segment >= len(segments):
        raise WasmError.about(module.template, f"init_{slot}_passive_data copies data segment {segment}, which "
                              "does not exist", "rebuild the canister")
    return bytes(segments[segment])


def _segment_of(func: int, body_of: Callable[[int], ByteLike | None], depth: int) -> int | None:
    """The segment `func` copies with memory.init, following forwarding calls."""
    body = body_of(func)
    if body is None or depth > _MAX_DEPTH:
        return None
    reader = Reader(body, template="", where="function body")
    try:
        calls = []
        for _ in range(reader.u32()):  # local declarations: count and type
            reader.u32()
            reader.u8()
        while not reader.at_end():
            op = reader.u8()
            if op == _BULK:
                sub = reader.u32()
                if sub == _MEMORY_INIT:
                    return reader.u32()
                if sub != _DATA_DROP:
                    return None
                reader.u32()
            elif op in (_CALL, _LOCAL_GET):
                index = reader.u32()
                if op == _CALL:
                    calls.append(index)
            elif op == _I32_CONST:
                reader.s33()
            elif op not in (_END, _NOP, _DROP):
                return None  # more than a copy or a wrapper: not a slot's body
    except WasmError:
        return None
    for callee in calls:
        found = _segment_of(callee, body_of, depth + 1)
        if found is not None:
            return found
    return None


def _data_segments(module: Module) -> list[ByteLike]:
    section = module.find(SectionId.DATA)
    if section is None:
        return []
    reader = section.reader(module.template)
    segments = []
    for _ in range(reader.count("data segments")):
        flags = reader.u32()
        if flags == 2:
            reader.u32()  # memory index
        if flags in (0, 2):
            _skip_const_expr(reader)
        elif flags != 1:
            raise reader.fail(f"unknown data segment kind {flags}")
        segments.append(reader.skip(reader.u32()))
    return segments


def _skip_const_expr(reader: Reader) -> None:
    while True:
        op = reader.u8()
        if op == _END:
            return
        kind = _CONST_OPS.get(op)
        if kind is None:
            raise reader.fail(f"unsupported instruction {op:#x} in a data segment's offset")
        if kind == "s":
            while reader.u8() & 0x80:
                pass
        elif kind == "u":
            reader.u32()
        elif kind == "b":
            reader.u8()
