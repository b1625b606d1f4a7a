"""LEB128 encoding and decoding: round trips, boundaries, and the spec's strictness rules."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from basilisk_trace.bundler.format.wasm.leb128 import (
    LEB128Error,
    decode_signed,
    decode_unsigned,
    encode_signed,
    encode_unsigned,
)

U32 = st.integers(min_value=0, max_value=2**32 - 1)
U64 = st.integers(min_value=0, max_value=2**64 - 1)
S32 = st.integers(min_value=-(2**31), max_value=2**31 - 1)
S64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
BOUNDARIES = [0, 1, 63, 64, 127, 128, 8191, 8192, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28]


class TestUnsigned:
    @given(U32)
    @example(0)
    @example(127)
    @example(128)
    @example(16383)
    @example(16384)
    @example(2**32 - 1)
    def test_round_trip_u32(self, value: int) -> None:
        encoded = encode_unsigned(value)
        assert decode_unsigned(encoded, 0) == (value, len(encoded))

    @given(U64)
    @example(2**64 - 1)
    def test_round_trip_u64(self, value: int) -> None:
        encoded = encode_unsigned(value)
        assert decode_unsigned(encoded, 0, 64) == (value, len(encoded))

    @pytest.mark.parametrize(
        ("value", "encoded"),
        [(0, b"\x00"), (127, b"\x7f"), (128, b"\x80\x01"), (16383, b"\xff\x7f"),
         (16384, b"\x80\x80\x01"), (2**32 - 1, b"\xff\xff\xff\xff\x0f")],
    )  # fmt: skip
    def test_known_encodings(self, value: int, encoded: bytes) -> None:
        assert encode_unsigned(value) == encoded

    @given(U32, st.integers(min_value=0, max_value=4))
    def test_decodes_at_offset_in_a_larger_buffer(self, value: int, pad: int) -> None:
        data = b"\xaa" * pad + encode_unsigned(value) + b"\xbb"
        assert decode_unsigned(data, pad) == (value, len(data) - 1)

    def test_accepts_padded_encodings(self) -> None:
        # wasm-ld pads some LEBs to 5 bytes so it can patch them in place.
        assert decode_unsigned(b"\x85\x80\x80\x80\x00", 0) == (5, 5)

    @pytest.mark.parametrize(
        "data",
        [b"", b"\x80", b"\xff\xff", b"\x80\x80\x80\x80\x80\x00", b"\xff\xff\xff\xff\x10"],
        ids=["empty", "open-1", "open-2", "six-bytes", "overflows-u32"],
    )
    def test_rejects_malformed(self, data: bytes) -> None:
        with pytest.raises(LEB128Error):
            decode_unsigned(data, 0)

    def test_rejects_negative(self) -> None:
        with pytest.raises(ValueError):
            encode_unsigned(-1)


class TestSigned:
    @given(S32)
    @example(-(2**31))
    @example(2**31 - 1)
    def test_round_trip_s32(self, value: int) -> None:
        encoded = encode_signed(value)
        assert decode_signed(encoded, 0) == (value, len(encoded))

    @given(S64)
    def test_round_trip_s64(self, value: int) -> None:
        encoded = encode_signed(value)
        assert decode_signed(encoded, 0, 64) == (value, len(encoded))

    @pytest.mark.parametrize("value", BOUNDARIES + [-v for v in BOUNDARIES])
    def test_boundaries(self, value: int) -> None:
        encoded = encode_signed(value)
        assert decode_signed(encoded, 0) == (value, len(encoded))

    @pytest.mark.parametrize(
        ("value", "encoded"),
        [(63, b"\x3f"), (64, b"\xc0\x00"), (-64, b"\x40"), (-65, b"\xbf\x7f"),
         (8191, b"\xff\x3f"), (8192, b"\x80\xc0\x00"), (-1, b"\x7f"), (2**31 - 1, b"\xff\xff\xff\xff\x07")],
    )  # fmt: skip
    def test_bit_six_decides_the_sign(self, value: int, encoded: bytes) -> None:
        # Unsigned-style encoding of 64 (0x40) would read back as -64 in i32.const.
        assert encode_signed(value) == encoded

    @given(S32)
    def test_shortest_form(self, value: int) -> None:
        encoded = encode_signed(value)
        if len(encoded) > 1:  # one byte fewer could not hold the value
            assert (
                not -(2 ** (7 * (len(encoded) - 1) - 1))
                <= value
                < 2 ** (7 * (len(encoded) - 1) - 1)
            )

    @pytest.mark.parametrize(
        "data",
        [
            b"",
            b"\xc0",
            b"\xff\xff\xff\xff\x08",
            b"\x80\x80\x80\x80\x70",
            b"\x80\x80\x80\x80\x80\x00",
        ],
        ids=["empty", "open", "overflows-positive", "overflows-negative", "six-bytes"],
    )
    def test_rejects_malformed(self, data: bytes) -> None:
        with pytest.raises(LEB128Error):
            decode_signed(data, 0)

    def test_s33_holds_heap_types(self) -> None:
        assert decode_signed(b"\x70", 0, 33) == (-16, 1)  # funcref's heap type
        assert decode_signed(encode_signed(2**32 - 1), 0, 33)[0] == 2**32 - 1
