"""LEB128 variable-length integers as the WebAssembly binary format uses them."""

from __future__ import annotations

__all__ = [
    "ByteLike",
    "LEB128Error",
    "decode_signed",
    "decode_unsigned",
    "encode_signed",
    "encode_unsigned",
]


#: Anything indexable as bytes; decoding never copies it.
ByteLike = bytes | bytearray | memoryview


class LEB128Error(ValueError):
    """The bytes are not a well-formed LEB128 number of the requested width."""


def encode_unsigned(value: int) -> bytes:
    """Encode a non-negative integer in the shortest unsigned LEB128 form."""
    if value < 0:
        raise ValueError(f"unsigned LEB128 cannot encode negative value {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_signed(value: int) -> bytes:
    """Encode an integer in the shortest signed (two's complement) LEB128 form."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7  # arithmetic shift: negative numbers converge to -1
        # Done once the remaining bits are pure sign extension of bit 6 of this byte;
        # checking bit 6 is what makes 64 encode as 0xC0 0x00 rather than 0x40 (= -64).
        if (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40):
            out.append(byte)
            return bytes(out)
        out.append(byte | 0x80)


def decode_unsigned(data: ByteLike, offset: int, bits: int = 32) -> tuple[int, int]:
    """Decode an unsigned LEB128 of at most `bits` bits; return (value, next offset).

    Follows the spec: at most ceil(bits / 7) bytes, and the unused high bits of the
    last byte must be zero. Non-minimal encodings (padding bytes) are accepted.
    """
    result = 0
    shift = 0
    for _ in range(-(-bits // 7)):
        if offset >= len(data):
            raise LEB128Error("truncated unsigned LEB128 number")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if result >> bits:
                raise LEB128Error(f"unsigned LEB128 number overflows u{bits}")
            return result, offset
        shift += 7
    raise LEB128Error(f"unsigned LEB128 number longer than u{bits} allows")


def decode_signed(data: ByteLike, offset: int, bits: int = 32) -> tuple[int, int]:
    """Decode a signed LEB128 of at most `bits` bits; return (value, next offset)."""
    result = 0
    shift = 0
    for _ in range(-(-bits // 7)):
        if offset >= len(data):
            raise LEB128Error("truncated signed LEB128 number")
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            if not -(1 << (bits - 1)) <= result < 1 << (bits - 1):
                raise LEB128Error(f"signed LEB128 number overflows s{bits}")
            return result, offset
    raise LEB128Error(f"signed LEB128 number longer than s{bits} allows")
