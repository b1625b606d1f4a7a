"""Where a code object's conditional blocks are, read from its bytecode: the bodies of `if TYPE_CHECKING:`
and of `if __name__ == "__main__":`, as [start, end) offsets, and the decoding both need (child/sites.py).

A shape these readers do not know raises NeedsSource: the caller parses the source instead.
Stdlib only; runs in the child.
"""

import dis
import sys

_OPS = dis.opmap
_LOAD_CONST = _OPS["LOAD_CONST"]
_LOAD_NAME = _OPS["LOAD_NAME"]
_EXTENDED_ARG = _OPS["EXTENDED_ARG"]
_CACHE = _OPS.get("CACHE", 0)
JUMPS_IF_FALSE = {_OPS[n] for n in ("POP_JUMP_IF_FALSE", "POP_JUMP_FORWARD_IF_FALSE") if n in _OPS}
# Between `TYPE_CHECKING` and its jump: the bool conversion and the branch hint.
_BETWEEN = {_OPS[n] for n in ("TO_BOOL", "NOT_TAKEN") if n in _OPS} | {_CACHE}
# How the argument of a name instruction indexes co_names (low bits carry flags since 3.11/3.12).
NAME_SHIFT = {op: 0 for op in dis.hasname if op < 256}  # pseudo-instructions never reach co_code
NAME_SHIFT.update({_OPS[n]: s for n, s in (("LOAD_GLOBAL", 1 if sys.version_info >= (3, 11) else 0),
                                            ("LOAD_ATTR", 1 if sys.version_info >= (3, 12) else 0),
                                            ("LOAD_SUPER_ATTR", 2)) if n in _OPS})
_HARMLESS = ("STORE", "DELETE", "IMPORT_FROM")  # defining TYPE_CHECKING, not testing it
# COMPARE_OP `==` as this interpreter writes it in `if __name__ == "__main__":` (its argument carries flags).
_EQUALS = next(bytes([i.opcode, i.arg]) for i in dis.get_instructions(compile("if a == b: pass", "", "exec"))
               if i.opname == "COMPARE_OP")


class NeedsSource(Exception):
    """The bytecode cannot tell an import's context; the source must be parsed."""


def decode(raw, offset):
    """(opcode, argument, offset of the next instruction) of the instruction at `offset`."""
    arg = 0
    while offset < len(raw) and raw[offset] == _EXTENDED_ARG:
        arg, offset = (arg | raw[offset + 1]) << 8, offset + 2
    if offset >= len(raw):
        raise NeedsSource
    op, arg, after = raw[offset], arg | raw[offset + 1], offset + 2
    while after < len(raw) and raw[after] == _CACHE:
        after += 2
    return op, arg, after


def even_offsets(raw, op):
    """Offsets of the instructions starting with `op`, an opcode or opcode and argument bytes."""
    byte, offsets = bytes([op]) if isinstance(op, int) else op, []
    at = raw.find(byte)
    while at >= 0:
        if not at & 1:
            offsets.append(at)
        at = raw.find(byte, at + 1)
    return offsets


def type_checking_ranges(code, raw):
    """[start, end) offsets of the bodies of `if TYPE_CHECKING:` (a name or an attribute)."""
    if "TYPE_CHECKING" in code.co_varnames + code.co_cellvars + code.co_freevars:
        raise NeedsSource
    index = code.co_names.index("TYPE_CHECKING")
    ranges = []
    for offset in _name_uses(raw, index):
        op = raw[offset]
        if offset >= 2 and raw[offset - 2] == _EXTENDED_ARG:
            continue  # a larger argument whose low byte only looks like the index
        if dis.opname[op].startswith(_HARMLESS):
            continue
        if not dis.opname[op].startswith("LOAD"):
            raise NeedsSource
        ranges.append(_if_body(raw, offset + 2))
    return ranges


def _name_uses(raw, index):
    """Offsets of the instructions naming co_names[index], found by their two bytes."""
    offsets = set()
    for op, shift in NAME_SHIFT.items():
        if (index + 1) << shift > 256:
            return _name_uses_slowly(raw, index)  # the argument needs EXTENDED_ARG
        for low in range(1 << shift):
            offsets.update(even_offsets(raw, bytes([op, (index << shift) | low])))
    return sorted(offsets)


def _name_uses_slowly(raw, index):
    found, extended = [], 0
    for offset in range(0, len(raw), 2):
        op, arg = raw[offset], raw[offset + 1] | extended
        extended = arg << 8 if op == _EXTENDED_ARG else 0
        shift = NAME_SHIFT.get(op)
        if shift is not None and arg >> shift == index:
            found.append(offset)
    return found


def main_ranges(code, raw):
    """[start, end) offsets of the bodies of `if __name__ == "__main__":` (either way round); any
    other use of the "__main__" constant here (sys.modules["__main__"], `!=`, `not`) needs the source."""
    if "__name__" not in code.co_names:
        raise NeedsSource
    const, name = code.co_consts.index("__main__"), code.co_names.index("__name__")
    ranges = []
    for offset in _const_uses(raw, const):
        before = offset - 2 if offset >= 2 and raw[offset - 2] != _EXTENDED_ARG else -1
        if before >= 0 and _loads_name(raw, before, name):
            compare = offset + 2
        elif _loads_name(raw, offset + 2, name):
            compare = offset + 4
        else:
            raise NeedsSource
        if raw[compare:compare + 2] != _EQUALS:
            raise NeedsSource
        ranges.append(_if_body(raw, decode(raw, compare)[2]))
    return ranges


def _loads_name(raw, offset, index):
    """Whether the instruction at `offset` is LOAD_NAME `index` (no EXTENDED_ARG)."""
    return 0 <= offset < len(raw) - 1 and raw[offset] == _LOAD_NAME and raw[offset + 1] == index and index < 256


def _const_uses(raw, index):
    """Offsets of the LOAD_CONST instructions of co_consts[index] (EXTENDED_ARG prefixes before them)."""
    found, extended = [], 0
    for offset in range(0, len(raw), 2):
        op, arg = raw[offset], raw[offset + 1] | extended
        extended = arg << 8 if op == _EXTENDED_ARG else 0
        if op == _LOAD_CONST and arg == index:
            found.append(offset)
    return found


def _if_body(raw, offset):
    """The body a test jumps over when false: from its POP_JUMP_IF_FALSE to the jump's target."""
    while offset < len(raw) and raw[offset] in _BETWEEN:
        offset += 2
    op, arg, after = decode(raw, offset)
    if op not in JUMPS_IF_FALSE:
        raise NeedsSource  # `if not TYPE_CHECKING`, `TYPE_CHECKING or ...`: the source tells
    return offset, after + 2 * arg
