"""Arguments for a component's exports, built from their WIT types as wasmtime reports them.

wasmtime-py lowers Python values by type: str for string and char, int, float, bool, bytes for
list<u8>, list, tuple, an object with the fields as attributes for a record, a case name for
an enum, a set of names for flags. A variant, option or result is "tagged" (a
`Variant(case, payload)`) only when the Python classes of its cases overlap; otherwise the
payload alone stands for its case (wasmtime's own rule, `_tagged()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError

_NUMBERS = ("U8", "U16", "U32", "U64", "S8", "S16", "S32", "S64")
_MAX_DEPTH = 8
MAX_CALLS = 12  # per export with --exercise: the first value, then one parameter changed at a time


class Unbuildable(BasiliskTraceError):
    """A parameter whose value a host cannot make (a resource handle, a stream, a future)."""


def value_for(valtype: Any, depth: int = 0) -> Any:
    """One value of the type: the first case of each choice, one item in each list."""
    from wasmtime import component as c

    if depth > _MAX_DEPTH:
        raise Unbuildable("a type nested too deep")
    kind = type(valtype).__name__
    if kind == "Bool":
        return False
    if kind in _NUMBERS:
        return 1
    if kind in ("F32", "F64"):
        return 1.0
    if kind in ("Char", "String"):
        return "a"
    if isinstance(valtype, c.ListType):
        return b"a" if type(valtype.element).__name__ == "U8" else [value_for(valtype.element, depth + 1)]
    if isinstance(valtype, c.TupleType):
        return tuple(value_for(e, depth + 1) for e in valtype.elements)
    if isinstance(valtype, c.RecordType):
        return record({name: value_for(t, depth + 1) for name, t in valtype.fields})
    if isinstance(valtype, c.EnumType):
        return valtype.names[0]
    if isinstance(valtype, c.FlagsType):
        return set()
    if isinstance(valtype, c.VariantType | c.OptionType | c.ResultType):
        case, payload = _cases(valtype)[0]
        return choice(valtype, case, None if payload is None else value_for(payload, depth + 1))
    raise Unbuildable(f"a {kind.removesuffix('Type').lower()} value")


def alternatives(valtype: Any) -> Iterator[Any]:
    """The other values --exercise passes: each other case, an empty list, true, every flag."""
    from wasmtime import component as c

    kind = type(valtype).__name__
    if kind == "Bool":
        yield True
    elif kind in ("String",):
        yield ""
    elif isinstance(valtype, c.ListType):
        yield b"" if type(valtype.element).__name__ == "U8" else []
    elif isinstance(valtype, c.EnumType):
        yield from valtype.names[1:]
    elif isinstance(valtype, c.FlagsType):
        yield set(valtype.names)
    elif isinstance(valtype, c.RecordType):
        first = {name: value_for(t) for name, t in valtype.fields}
        for name, field in valtype.fields:
            for other in alternatives(field):
                yield record({**first, name: other})
    elif isinstance(valtype, c.VariantType | c.OptionType | c.ResultType):
        for case, payload in _cases(valtype)[1:]:
            try:
                yield choice(valtype, case, None if payload is None else value_for(payload))
            except Unbuildable:
                continue


def calls(params: list[tuple[str, Any]], exercise: bool) -> list[list[Any]]:
    """The argument lists to call an export with: one, or with `exercise` each alternative too."""
    first = [value_for(t) for _, t in params]
    made = [first]
    if exercise:
        for index, (_, valtype) in enumerate(params):
            for other in alternatives(valtype):
                made.append([*first[:index], other, *first[index + 1:]])
    return made[:MAX_CALLS]


def record(fields: dict[str, Any]) -> Any:
    """A wasmtime record value: an object with each field as an attribute (names as WIT spells them)."""
    from wasmtime import component as c

    value = c.Record()
    for name, item in fields.items():
        setattr(value, name, item)
    return value


def choice(valtype: Any, case: str, payload: Any) -> Any:
    """A variant, option or result value of `case`, tagged or not as wasmtime expects."""
    from wasmtime import component as c

    if valtype._tagged():
        return c.Variant(case, payload)
    return payload


def _cases(valtype: Any) -> list[tuple[str, Any]]:
    """(case, payload type or None) of a variant, an option (some first) or a result (ok first)."""
    from wasmtime import component as c

    if isinstance(valtype, c.OptionType):
        return [("some", valtype.payload), ("none", None)]
    if isinstance(valtype, c.ResultType):
        return [("ok", valtype.ok), ("err", valtype.err)]
    return list(valtype.cases)


def plain(value: Any) -> Any:
    """A value wasmtime returned, as JSON-able data (records as dicts, variants as [case, payload])."""
    from wasmtime import component as c

    if isinstance(value, c.Record):
        return {k: plain(v) for k, v in sorted(vars(value).items())}
    if isinstance(value, c.Variant):
        return [value.tag, plain(value.payload)]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value
