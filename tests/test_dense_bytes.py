"""The dense bytes literal a canister's python_source carries: any bytes come back exactly, parsed as
the template parses them and read back as verify reads them, and common data stays small."""

from __future__ import annotations

import marshal

from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_SOURCE
from basilisk_trace.bundler.write.dense_bytes import bytes_expression, read_bytes_expression


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=20_000) | st.lists(st.sampled_from([b"\x00", b"\r", b"\\", b"'", b"'''", b"\n", b"\xff",
                                                             b"\r\n", b"\\x", b"\x7f"])).map(b"".join))
def test_any_bytes_come_back(data: bytes) -> None:
    expression = bytes_expression(data)
    assert expression.isascii()  # a non-ASCII character costs the parser far more than one byte
    assert "\x00" not in expression and "\r" not in expression
    # Through a text-mode round trip, as ic-basilisk reads the python_source file back.
    assert eval(compile(expression.encode().decode(), "python_source", "eval"), {"__builtins__": {"bytes": bytes}}) == data
    assert read_bytes_expression(expression) == data


def test_code_objects_take_little_more_than_their_bytes() -> None:
    data = marshal.dumps(compile(BOOTSTRAP_SOURCE, "_basilisk_bootstrap.py", "exec"))
    assert len(bytes_expression(data)) < min(1.2 * len(data), 0.6 * len(data.hex()))  # hex: 2 a byte


def test_python_sources_stay_readable() -> None:
    source = BOOTSTRAP_SOURCE.encode()
    expression = bytes_expression(source)
    assert "class MemoryImporter:" in expression and len(expression) < 1.05 * len(source)


def test_what_is_not_ours_reads_as_none() -> None:
    assert read_bytes_expression("b'ab' + b'c'") is None and read_bytes_expression("'text'") is None
    assert read_bytes_expression("b'''x'''.translate(bytes.maketrans(b'ab', b'c'))") is None
    assert read_bytes_expression("((") is None


def _per_byte(wire: bytes) -> str:
    """The literal's text as its definition says: a direct character as itself, any other byte escaped."""
    from basilisk_trace.bundler.write.dense_bytes import _DIRECT_SET

    return "".join(chr(value) if value in _DIRECT_SET else f"\\x{value:02x}" for value in wire)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=9000) | st.lists(st.sampled_from([b"\x00", b"\r", b"\\", b"'", b"\\x5c", b"\x80", b"\xff",
                                                             b"a"])).map(b"".join))
def test_the_escapes_are_those_of_each_byte(data: bytes) -> None:
    """Written in C passes, each line is what escaping byte by byte writes (and each line holds 4096 bytes)."""
    from basilisk_trace.bundler.write.dense_bytes import _LINE, _escaped

    assert _escaped(data) == _per_byte(data)
    literal = bytes_expression(data).partition("'''")[2].rpartition("'''")[0]
    assert literal.count("\\\n") == len(data) // _LINE
