"""Import sites from a module's code object: every IMPORT_NAME, nested functions included.

Bytecode answers where an import is and what it names; the context the static pass needs
(under `if TYPE_CHECKING:`, inside a try whose handler may catch ImportError, inside a
function) comes from the code's flags, the jumps around TYPE_CHECKING, and the exception
table with the names each handler tests. Where that is not enough (`if not TYPE_CHECKING`, a
handler of an unexpected shape, an import inside an except clause, which may be the fallback
of an import in its try, a module with `if __name__ == "__main__":`, whose imports never run on
import), `from_code` returns None and the caller parses the source. The bodies of `if TYPE_CHECKING:`
and `if __name__ == "__main__":` are read in child/branches.py.
Stdlib only; runs on the traced program's interpreter.
"""

import dis
import sys

_BRANCHES = sys.modules["_basilisk_trace_load"].load("branches")
NeedsSource, _decode, _even_offsets = _BRANCHES.NeedsSource, _BRANCHES.decode, _BRANCHES.even_offsets
_NAME_SHIFT, _JUMPS_IF_FALSE = _BRANCHES.NAME_SHIFT, _BRANCHES.JUMPS_IF_FALSE
_OPS = dis.opmap
_IMPORT_NAME = _OPS["IMPORT_NAME"]
_LOAD_CONST = _OPS["LOAD_CONST"]
_LOAD_SMALL_INT = _OPS.get("LOAD_SMALL_INT", -1)
_EXTENDED_ARG = _OPS["EXTENDED_ARG"]
_PUSH_EXC_INFO = _OPS.get("PUSH_EXC_INFO", -1)
_WITH_EXCEPT_START = _OPS.get("WITH_EXCEPT_START", -1)
_CO_NEWLOCALS = 0x2
_IMPORT_BYTE = bytes([_IMPORT_NAME])
_MAKE_FUNCTION = _OPS["MAKE_FUNCTION"]
_CACHE = _OPS.get("CACHE", 0)
_POP_TOP = _OPS["POP_TOP"]
_NOP = _OPS["NOP"]
_RERAISE = _OPS.get("RERAISE", -1)
_CHECK_EXC_MATCH = _OPS.get("CHECK_EXC_MATCH", -1)
_BUILD_TUPLE = _OPS["BUILD_TUPLE"]
# What an except clause (or except*) tests the exception with, and where another handler begins.
_TESTS = {_OPS[n] for n in ("CHECK_EXC_MATCH", "CHECK_EG_MATCH", "PUSH_EXC_INFO", "WITH_EXCEPT_START") if n in _OPS}
# Handlers of a try or with body, and of a whole generator body (StopIteration -> RuntimeError).
_BODY_HANDLERS = {_PUSH_EXC_INFO, _OPS.get("CALL_INTRINSIC_1", -1)}
# The exception names whose handler makes an import optional, as the AST scan reads them.
_CATCHES_IMPORT = frozenset(("ImportError", "ModuleNotFoundError", "Exception", "BaseException"))
# Before 3.11 there is no exception table; 3.14 and later are not checked yet: the source answers.
SUPPORTED = (3, 11) <= sys.version_info < (3, 14)


def from_code(code):
    """(module, names, level, line, (type_checking, optional, function, fallback)) per import site, or None.

    `fallback` is always False here: an import inside an except clause needs the source.
    """
    if not SUPPORTED:
        return None
    found = []
    try:
        _scan(code, found, False, False, False)
    except NeedsSource:
        return None
    # The compiler may copy a block (3.12 copies the code after an `if` into both branches):
    # copies in the same context are one site; copies in different contexts are not decidable.
    contexts = {}
    for module, names, level, line, context in found:
        contexts.setdefault((module, names, level, line), set()).add(context)
    if any(len(c) > 1 for c in contexts.values()):
        return None
    return list(dict.fromkeys(found))


def names_of(code):
    """Every name any code object in the module refers to."""
    names = set(code.co_names)
    for const in code.co_consts:
        if type(const) is type(code):
            names |= names_of(const)
    return names


def _scan(code, found, type_checking, optional, function):
    function = function or bool(code.co_flags & _CO_NEWLOCALS)
    raw = code.co_code
    imports = _import_offsets(raw)
    loads = _code_loads(code, raw)
    table = _exception_table(code)
    checking = _BRANCHES.type_checking_ranges(code, raw) if "TYPE_CHECKING" in code.co_names else ()
    # `if __name__ == "__main__":` never runs when the module is imported: its imports are as a function's.
    mains = _BRANCHES.main_ranges(code, raw) if not function and "__main__" in code.co_consts else ()
    if table and any(_in_handler(raw, table, o) for o in imports + list(loads)):
        # Whether an import in an except clause is the fallback of one in its try (a clause that
        # catches ImportError), and which TYPE_CHECKING block it belongs to (handler bodies are
        # laid out after the rest of the code, away from their `if`), the source tells.
        raise NeedsSource
    if imports:
        lines = _lines(code, imports)
        for offset in imports:
            module, names, level = _site(code, raw, offset)
            context = (type_checking or _inside(offset, checking),
                       optional or (bool(table) and _optional(code, raw, table, offset)),
                       function or _inside(offset, mains), False)
            found.append((module, names, level, lines[offset], context))
    for offset, child in loads.items():
        _scan(child, found, type_checking or _inside(offset, checking),
              optional or (bool(table) and _optional(code, raw, table, offset)), function or _inside(offset, mains))


def _inside(offset, ranges):
    return any(start <= offset < end for start, end in ranges)


def _import_offsets(raw):
    return _even_offsets(raw, _IMPORT_NAME)


def _arg_at(raw, offset):
    """The argument of the instruction at `offset` with its EXTENDED_ARG prefixes, and what precedes them."""
    arg = raw[offset + 1]
    shift, before = 8, offset - 2
    while before >= 0 and raw[before] == _EXTENDED_ARG:
        arg |= raw[before + 1] << shift
        shift, before = shift + 8, before - 2
    return arg, before


def _const_at(code, raw, offset):
    if offset < 0:
        raise NeedsSource
    op = raw[offset]
    arg, before = _arg_at(raw, offset)
    if op == _LOAD_CONST:
        return code.co_consts[arg], before
    if op == _LOAD_SMALL_INT:
        return arg, before
    raise NeedsSource  # the level and fromlist are always constants; anything else is unknown


def _site(code, raw, offset):
    """(module, names, level) of the IMPORT_NAME at `offset`: it follows LOAD level, LOAD fromlist."""
    arg, before = _arg_at(raw, offset)
    fromlist, before = _const_at(code, raw, before)
    level, _ = _const_at(code, raw, before)
    names = () if fromlist is None else tuple(n for n in fromlist if n != "*")
    return code.co_names[arg], names, level


def _code_loads(code, raw):
    """{offset: code} of the nested code objects: each is loaded just before its MAKE_FUNCTION."""
    wanted = sum(1 for c in code.co_consts if type(c) is type(code))
    if not wanted:
        return {}
    loads = {}
    for offset in _even_offsets(raw, _MAKE_FUNCTION):
        const, _ = _const_at(code, raw, offset - 2)
        if type(const) is type(code):
            loads[offset - 2] = const
    if len({id(c) for c in loads.values()}) != wanted:
        raise NeedsSource  # a code object used some other way: do not guess its context
    return loads


def _lines(code, offsets):
    lines, pending, k = {}, sorted(offsets), 0
    for start, end, line in code.co_lines():
        while k < len(pending) and pending[k] < end:
            if pending[k] >= start:
                lines[pending[k]] = line
            k += 1
        if k == len(pending):
            break
    return lines


def _exception_table(code):
    """(start, end, handler) byte offsets of each entry of the code's exception table."""
    table, entries, i = code.co_exceptiontable, [], 0

    def varint():
        nonlocal i
        byte = table[i]
        value, i = byte & 63, i + 1
        while byte & 64:
            byte = table[i]
            value, i = (value << 6) | (byte & 63), i + 1
        return value

    while i < len(table):
        start, length, handler = varint() * 2, varint() * 2, varint() * 2
        varint()  # stack depth and lasti
        entries.append((start, start + length, handler))
    return entries


def _in_handler(raw, table, offset):
    """Whether `offset` is in the body of an except or finally clause, however deeply nested."""
    for _ in range(64):
        entry = next(((start, h) for start, end, h in table if start <= offset < end), None)
        if entry is None:
            return False
        if raw[entry[1]] not in _BODY_HANDLERS:
            return True  # covered by the cleanup of a clause: inside its body
        # In a try or with body: where that statement is, the instruction before the body tells
        # (before the NOP that marks the `try:` line).
        offset = entry[0] - 2
        while offset > 0 and raw[offset] == _NOP:
            offset -= 2
    return True


def _optional(code, raw, table, offset):
    """Whether a try around `offset` may catch ImportError; with-blocks and cleanups pass through."""
    seen = set()
    while True:
        handler = next((h for start, end, h in table if start <= offset < end), None)
        if handler is None or handler in seen:
            return False
        seen.add(handler)
        if raw[handler] == _PUSH_EXC_INFO:
            op, _, after = _decode(raw, handler + 2)
            if op != _WITH_EXCEPT_START and _catches(code, raw, handler + 2):
                return True
        # Not caught here (a with-block's exit, a handler's cleanup, a try that lets ImportError
        # through): the place of the handler itself decides.
        offset = handler


def _catches(code, raw, offset):
    """Whether the except clauses starting at `offset` (after PUSH_EXC_INFO) catch ImportError."""
    first = offset
    for _ in range(64):
        op, arg, after = _decode(raw, offset)
        if op == _POP_TOP:
            return True  # a bare except
        if op == _RERAISE:
            return False  # no clause matched
        names = []
        while op != _CHECK_EXC_MATCH:
            if op == _BUILD_TUPLE:
                pass
            elif op in _NAME_SHIFT and dis.opname[op].startswith("LOAD"):
                names.append(code.co_names[arg >> _NAME_SHIFT[op]])
            elif offset == first and _finally_body(raw, first):
                return False  # a finally clause: it catches nothing, it runs and re-raises
            else:
                raise NeedsSource  # a handler of another shape (except*, a computed class)
            op, arg, after = _decode(raw, after)
        if _CATCHES_IMPORT.intersection(names):
            return True
        op, arg, after = _decode(raw, after)
        if op not in _JUMPS_IF_FALSE:
            raise NeedsSource
        offset = after + 2 * arg  # the next except clause
    raise NeedsSource


def _finally_body(raw, offset):
    """Whether the handler code from `offset` (after PUSH_EXC_INFO) runs to its RERAISE without
    testing the exception: a finally clause's body, not an except clause of a shape not read here."""
    for _ in range(100_000):
        op, _, offset = _decode(raw, offset)
        if op == _RERAISE:
            return True
        if op in _TESTS:
            return False
    return False
