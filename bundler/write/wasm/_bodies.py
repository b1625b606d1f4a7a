"""Function bodies the injector writes, and recognition of wasm-ld's forwarding wrappers."""

from __future__ import annotations

from collections.abc import Callable

from basilisk_trace.bundler.format.wasm._reader import Reader
from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.leb128 import ByteLike, encode_signed, encode_unsigned

# Exact encodings of the two placeholder signatures.
SIZE_TYPE = b"\x60\x00\x01\x7f"  # () -> i32
INIT_TYPE = b"\x60\x01\x7f\x00"  # (i32) -> ()

_NO_LOCALS = b"\x00"
_END = b"\x0b"
_LOCAL_GET, _CALL, _I32_CONST, _BULK, _END_OP = 0x20, 0x10, 0x41, 0xFC, 0x0B
_MEMORY_INIT, _DATA_DROP = 8, 9
_MAX_WRAPPER_DEPTH = 8  # a chain this long is not wasm-ld output; patch what we have


def size_body(size: int) -> bytes:
    """`i32.const size; end`: i32.const takes a *signed* LEB, so 64 is 0xC0 0x00."""
    return _NO_LOCALS + bytes([_I32_CONST]) + encode_signed(size) + _END


def init_body(segment: int, size: int) -> bytes:
    """Copy the whole segment to `dest` (param 0), then drop it so its bytes can be freed.

    local.get 0; i32.const 0; i32.const size; memory.init segment 0; data.drop segment
    """
    seg = encode_unsigned(segment)
    return b"".join(
        (
            _NO_LOCALS,
            bytes([_LOCAL_GET, 0, _I32_CONST, 0, _I32_CONST]),
            encode_signed(size),
            bytes([_BULK, _MEMORY_INIT]) + seg + b"\x00",  # memory index 0
            bytes([_BULK, _DATA_DROP]) + seg,
            _END,
        )
    )


def with_size(body: bytes) -> bytes:
    """A body as the code section stores it: its byte length, then the body."""
    return encode_unsigned(len(body)) + body


def resolve_wrapper(
    func: int,
    body_of: Callable[[int], ByteLike | None],
    type_of: Callable[[int], bytes | None],
) -> int:
    """Follow wasm-ld-style wrappers from the exported `func` to the function doing the work.

    A wrapper has no locals and only `local.get` and `call` instructions, e.g.
    `call X; end`, `local.get 0; call X; end`, or wasm-ld's
    `call prologue; call X; call epilogue; end`. Its target is the one *defined*
    callee with exactly the placeholder's type; with none or several candidates the
    function is not treated as a wrapper and is patched itself, which is always valid.
    Patching the target (as ic-basilisk does) matters because the template's own code
    calls the inner function directly, not the exported wrapper.

    `body_of(i)` is None for imported functions; `type_of(i)` is None out of range.
    """
    wanted = type_of(func)
    seen = {func}
    while len(seen) <= _MAX_WRAPPER_DEPTH:
        body = body_of(func)
        callees = _forwarding_callees(body) if body is not None else None
        if not callees:
            return func
        targets = {c for c in callees if type_of(c) == wanted and body_of(c) is not None}
        if len(targets) != 1 or targets <= seen:
            return func
        func = targets.pop()
        seen.add(func)
    return func


def _forwarding_callees(body: ByteLike) -> list[int] | None:
    """The call targets of a body made only of local.get and call, or None if it is not one."""
    reader = Reader(body, template="", where="function body")
    callees: list[int] = []
    try:
        if reader.u32() != 0:
            return None
        while True:
            op = reader.u8()
            if op == _END_OP:
                return callees if reader.at_end() else None
            if op == _CALL:
                callees.append(reader.u32())
            elif op == _LOCAL_GET:
                reader.u32()
            else:
                return None
    except WasmError:
        return None  # a malformed body is simply not a wrapper; validation is not our job
