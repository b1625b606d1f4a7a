"""A bounds-checked cursor over Wasm bytes that turns every decoding failure into WasmError."""

from __future__ import annotations

from collections.abc import Callable

from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.leb128 import (
    ByteLike,
    LEB128Error,
    decode_signed,
    decode_unsigned,
)

_Decoder = Callable[[ByteLike, int, int], tuple[int, int]]
_REBUILD = "check the template with wasm-validate and rebuild it"


class Reader:
    """Reads one region of a module (a section's content or a function body).

    `where` names the region and `base` is its offset in the file, so that errors
    point at a real file offset a user can look up with wasm-objdump.
    """

    def __init__(self, data: ByteLike, *, template: str, where: str, base: int = 0) -> None:
        self.data = data
        self.pos = 0
        self.template = template
        self.where = where
        self.base = base

    def fail(self, problem: str, remedy: str = _REBUILD) -> WasmError:
        """Return (for the caller to raise) an error located at the current offset."""
        at = self.base + self.pos
        return WasmError.about(self.template, f"{self.where} at byte {at:#x}: {problem}", remedy)

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def expect_end(self) -> None:
        if not self.at_end():
            left = len(self.data) - self.pos
            raise self.fail(f"{left} unexpected trailing bytes")

    def u8(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("truncated (ends in the middle of an entry)")
        byte = self.data[self.pos]
        self.pos += 1
        return byte

    def u32(self) -> int:
        # Fast path for one-byte numbers, the vast majority of counts, sizes and indices.
        pos = self.pos
        if pos < len(self.data) and self.data[pos] < 0x80:
            self.pos = pos + 1
            return self.data[pos]
        return self._leb(decode_unsigned, 32)

    def u64(self) -> int:
        return self._leb(decode_unsigned, 64)

    def s33(self) -> int:
        return self._leb(decode_signed, 33)

    def skip(self, count: int) -> ByteLike:
        """Step over `count` bytes and return them (a view when the data is a memoryview)."""
        end = self.pos + count
        if end > len(self.data):
            raise self.fail(f"needs {count} bytes but only {len(self.data) - self.pos} remain")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def name(self) -> str:
        raw = self.skip(self.u32())
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a name is not valid UTF-8") from None

    def count(self, what: str) -> int:
        """Read a vector length, rejecting lengths that cannot fit in the remaining bytes."""
        n = self.u32()
        # Every entry takes at least one byte; this stops a flipped byte from
        # making us loop four billion times before noticing the truncation.
        if n > len(self.data) - self.pos:
            raise self.fail(f"claims {n} {what} but only {len(self.data) - self.pos} bytes remain")
        return n

    def _leb(self, decode: _Decoder, bits: int) -> int:
        try:
            value, self.pos = decode(self.data, self.pos, bits)
        except LEB128Error as exc:
            raise self.fail(str(exc)) from None
        return value
