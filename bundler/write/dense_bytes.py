"""Binary data as the cheapest Python expression for a canister's init to parse: a bytes literal, translated.

The template compiles the whole python_source, and parsing costs per byte of its text (in the WASI
CPython verify meters: about 220 instructions a byte of plain ASCII in a string literal, 1,300 for
each backslash escape, 1,600 for each non-ASCII character, and, in CPython 3.12 and 3.13, about 40
more a byte for every f-string replacement field above it, of which ic-basilisk's loader has seven).
So the data is written as one triple-quoted bytes literal of ASCII characters, where the 124 byte
values a literal can hold as themselves stand for the data's 124 most frequent byte values (a
permutation, undone at init by `bytes.translate`, which is C) and the rest are `\\xNN` escapes:
about 1.1 characters a byte for marshalled code objects (hex takes 2), and Python sources stay
readable. It needs nothing but builtins (no binascii, which the canister's CPython lacks).
"""

from __future__ import annotations

import ast
from collections import Counter

__all__ = ["bytes_expression", "read_bytes_expression"]

# Characters that stand for themselves in b'''...''': ASCII without NUL (no source may hold one),
# CR (read back as LF by every text-mode reader), the backslash (an escape) and the quote.
_DIRECT = tuple(v for v in range(1, 128) if v not in (0x0D, 0x27, 0x5C))
_DIRECT_SET = frozenset(_DIRECT)
_LINE = 4096  # bytes of data between the literal's own line breaks, for editors


def _permutation(data: bytes) -> bytes:
    """A table mapping each byte value to the one written for it: the most frequent to direct characters."""
    counts = Counter(data)
    # Ties go to values that are direct characters already: unused values then keep their own.
    order = sorted(range(256), key=lambda value: (-counts[value], value not in _DIRECT_SET, value))
    frequent, rare = order[: len(_DIRECT)], order[len(_DIRECT):]
    table: dict[int, int] = {}
    # A value keeps its own character wherever it can: sources stay readable, the table short.
    for group, wire in ((frequent, _DIRECT), (rare, tuple(v for v in range(256) if v not in _DIRECT_SET))):
        free = [v for v in wire if v not in group]
        for value in group:
            table[value] = value if value in wire else free.pop(0)
    return bytes(table[value] for value in range(256))


def bytes_expression(data: bytes) -> str:
    """A Python expression whose value is `data`, and which costs little to parse."""
    table = _permutation(data)
    wire = data.translate(table)
    # One line of the literal per _LINE bytes; within it a byte is itself or its escape.
    lines = [_escaped(wire[at:at + _LINE]) for at in range(0, len(wire) + 1, _LINE)]
    literal = "b'''" + "\\\n".join(lines) + "'''"  # a backslash-newline is no character of the value
    moved = [(table[value], value) for value in range(256) if table[value] != value]
    if not moved:
        return literal
    written, meant = bytes(w for w, _ in moved), bytes(m for _, m in moved)
    return f"{literal}.translate(bytes.maketrans({written!r}, {meant!r}))"


def _escaped(wire: bytes) -> str:
    """`wire` as literal text: each direct character as itself, every other byte as its \\xNN escape.

    In C passes: the backslash first (the escapes written next start with one), then the other
    three ASCII values, and the decoder's backslashreplace writes every byte above 127.
    """
    for value in (0x5C, 0x00, 0x0D, 0x27):
        wire = wire.replace(bytes((value,)), b"\\x%02x" % value)
    return wire.decode("ascii", "backslashreplace")


def read_bytes_expression(expression: str) -> bytes | None:
    """The value of an expression `bytes_expression` wrote, without running it; None if it is not one."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        return None
    try:
        if isinstance(node, ast.Constant):
            value = node.value
            return value if isinstance(value, bytes) else None
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "translate"
                and len(node.args) == 1 and isinstance(node.args[0], ast.Call)):
            literal = ast.literal_eval(node.func.value)
            written, meant = (ast.literal_eval(arg) for arg in node.args[0].args)
            if all(isinstance(v, bytes) for v in (literal, written, meant)) and len(written) == len(meant):
                return bytes(literal.translate(bytes.maketrans(written, meant)))
    except (ValueError, TypeError, SyntaxError):
        return None
    return None
