"""Just enough decoding of the type, import, function, memory, export and code sections."""

from __future__ import annotations

from dataclasses import dataclass, field

from basilisk_trace.bundler.format.wasm._reader import Reader
from basilisk_trace.bundler.format.wasm.leb128 import ByteLike, LEB128Error, decode_unsigned
from basilisk_trace.bundler.format.wasm.module import Module, Section, SectionId

# Value types that are a single byte: numbers, v128, and the reference-type shorthands
# (funcref, externref and the GC / exception-handling abbreviations).
_VALTYPE_NAMES = {
    0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128",
    0x70: "funcref", 0x6F: "externref", 0x6E: "anyref", 0x6D: "eqref", 0x6C: "i31ref",
    0x6B: "structref", 0x6A: "arrayref", 0x69: "exnref", 0x71: "nullref",
    0x72: "nullexternref", 0x73: "nullfuncref", 0x74: "nullexnref",
}  # fmt: skip
_REF, _REF_NULL = 0x64, 0x63
_FUNC_FORM = 0x60
_GC_FORMS = {0x4E: "rec", 0x50: "sub", 0x4F: "sub final", 0x5F: "struct", 0x5E: "array"}

FUNC, TABLE, MEMORY, GLOBAL, TAG = 0, 1, 2, 3, 4
EXTERN_KINDS = {FUNC: "function", TABLE: "table", MEMORY: "memory", GLOBAL: "global", TAG: "tag"}

_LIMIT_HAS_MAX, _LIMIT_SHARED, _LIMIT_64, _LIMIT_PAGE_SIZE = 1, 2, 4, 8


@dataclass(frozen=True)
class Limits:
    """Table or memory limits, with the threads / memory64 / custom-page-size flags."""

    minimum: int
    maximum: int | None = None
    shared: bool = False
    is64: bool = False


@dataclass(frozen=True)
class Export:
    name: str
    kind: int
    index: int


@dataclass
class Imports:
    """What the import section contributes to each index space."""

    func_types: list[int] = field(default_factory=list)  # type index of each imported function
    memories: list[Limits] = field(default_factory=list)
    tables: int = 0
    globals: int = 0
    tags: int = 0


def format_type(encoded: bytes) -> str:
    """Render an encoded function type such as b"\\x60\\x01\\x7f\\x00" as "(i32) -> ()"."""
    reader = Reader(encoded, template="", where="type")
    reader.u8()
    params = [_valtype_name(reader) for _ in range(reader.u32())]
    results = [_valtype_name(reader) for _ in range(reader.u32())]
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def read_types(module: Module) -> list[bytes]:
    """Each function type, as its exact encoding (so comparing types is comparing bytes)."""
    section = module.find(SectionId.TYPE)
    if section is None:
        return []
    reader = section.reader(module.template)
    types = []
    for _ in range(reader.count("types")):
        start = reader.pos
        form = reader.u8()
        if form != _FUNC_FORM:
            reader.pos = start
            if form in _GC_FORMS:
                raise reader.fail(f"uses a GC-proposal '{_GC_FORMS[form]}' type",
                                  "only plain function types are supported")  # fmt: skip
            raise reader.fail(f"unknown type form {form:#04x}")
        for _ in range(2):  # parameters, then results
            for _ in range(reader.count("value types")):
                _valtype(reader)
        types.append(bytes(reader.data[start : reader.pos]))
    reader.expect_end()
    return types


def read_imports(module: Module) -> Imports:
    """Decode every import kind fully: a wrong size for any one shifts all later indices."""
    imports = Imports()
    section = module.find(SectionId.IMPORT)
    if section is None:
        return imports
    reader = section.reader(module.template)
    for _ in range(reader.count("imports")):
        reader.name()  # module
        reader.name()  # field
        kind = reader.u8()
        if kind == FUNC:
            imports.func_types.append(reader.u32())
        elif kind == TABLE:
            _reftype(reader)
            _limits(reader)
            imports.tables += 1
        elif kind == MEMORY:
            imports.memories.append(_limits(reader))
        elif kind == GLOBAL:
            _valtype(reader)
            if reader.u8() > 1:
                raise reader.fail("a global import's mutability flag is not 0 or 1")
            imports.globals += 1
        elif kind == TAG:
            if reader.u8() != 0:
                raise reader.fail("a tag import's attribute is not 0 (exception)")
            reader.u32()
            imports.tags += 1
        else:
            raise reader.fail(f"unknown import kind {kind}")
    reader.expect_end()
    return imports


def read_function_types(module: Module) -> list[int]:
    """The type index of each function defined in the module."""
    section = module.find(SectionId.FUNCTION)
    if section is None:
        return []
    reader = section.reader(module.template)
    count = reader.count("functions")
    fast = _fast_u32s(reader.data, reader.pos, count)
    if fast is not None:
        return fast
    types = [reader.u32() for _ in range(count)]
    reader.expect_end()
    return types


def read_memories(module: Module) -> list[Limits]:
    section = module.find(SectionId.MEMORY)
    if section is None:
        return []
    reader = section.reader(module.template)
    memories = [_limits(reader) for _ in range(reader.count("memories"))]
    reader.expect_end()
    return memories


def read_exports(module: Module) -> list[Export]:
    section = module.find(SectionId.EXPORT)
    if section is None:
        return []
    reader = section.reader(module.template)
    exports = []
    for _ in range(reader.count("exports")):
        name = reader.name()
        kind = reader.u8()
        if kind not in EXTERN_KINDS:
            raise reader.fail(f"unknown export kind {kind}")
        exports.append(Export(name, kind, reader.u32()))
    reader.expect_end()
    return exports


def find_exports(module: Module, names: tuple[str, ...]) -> dict[str, Export]:
    """The exports with these names; much faster than read_exports on big modules."""
    section = module.find(SectionId.EXPORT)
    if section is None:
        return {}
    reader = section.reader(module.template)
    count = reader.count("exports")
    wanted = {name.encode("utf-8"): name for name in names}
    found = _fast_find_exports(reader.data, reader.pos, count, wanted)
    if found is None:  # something unusual: let the checked decoder find and report it
        found = {e.name: e for e in read_exports(module) if e.name in names}
    return found


def read_code_bodies(module: Module) -> list[tuple[int, int, int]]:
    """Offsets in the code section's content of each entry: (entry start, body start, end).

    The entry starts at the body's size LEB; the body starts at its locals.
    """
    section = module.find(SectionId.CODE)
    if section is None:
        return []
    reader = section.reader(module.template)
    count = reader.count("function bodies")
    fast = _fast_bodies(reader.data, reader.pos, count)
    if fast is not None:
        return fast
    bodies = []
    for _ in range(count):
        entry = reader.pos
        size = reader.u32()
        body = reader.pos
        reader.skip(size)
        bodies.append((entry, body, reader.pos))
    reader.expect_end()
    return bodies


def read_count(section: Section | None, template: str) -> int | None:
    """The leading u32 of a section: a vector length, or the data count itself."""
    return None if section is None else section.reader(template).u32()


def _valtype(reader: Reader) -> None:
    byte = reader.u8()
    if byte in (_REF, _REF_NULL):
        reader.s33()  # heap type: an abstract type code or a type index
    elif byte not in _VALTYPE_NAMES:
        reader.pos -= 1
        raise reader.fail(f"unknown value type {byte:#04x}")


def _valtype_name(reader: Reader) -> str:
    byte = reader.u8()
    if byte in (_REF, _REF_NULL):
        null = "null " if byte == _REF_NULL else ""
        return f"(ref {null}{reader.s33()})"
    return _VALTYPE_NAMES.get(byte, f"{byte:#04x}")


def _reftype(reader: Reader) -> None:
    start = reader.pos
    _valtype(reader)
    if reader.data[start] in (0x7F, 0x7E, 0x7D, 0x7C, 0x7B):
        reader.pos = start
        raise reader.fail("a table's element type is a number type, not a reference type")


def _limits(reader: Reader) -> Limits:
    flags = reader.u8()
    if flags > 0x0F:
        reader.pos -= 1
        raise reader.fail(f"unknown limits flags {flags:#04x}")
    is64 = bool(flags & _LIMIT_64)
    read = reader.u64 if is64 else reader.u32
    minimum = read()
    maximum = read() if flags & _LIMIT_HAS_MAX else None
    if flags & _LIMIT_PAGE_SIZE:
        reader.u32()  # log2 of a custom page size; it does not change where data goes
    return Limits(minimum, maximum, bool(flags & _LIMIT_SHARED), is64)


# Big modules have tens of thousands of functions, and a checked Reader call per number
# costs microseconds. These loops decode the common one- and two-byte LEBs inline and
# give up (return None) on anything unusual, so the checked path reports the error.


def _fast_u32s(data: ByteLike, pos: int, count: int) -> list[int] | None:
    """A vector of u32 that must end exactly at the end of `data`, or None."""
    values: list[int] = []
    append = values.append
    try:
        for _ in range(count):
            byte = data[pos]
            if byte < 0x80:
                append(byte)
                pos += 1
            else:
                value, pos = decode_unsigned(data, pos)
                append(value)
    except (IndexError, LEB128Error):
        return None
    return values if pos == len(data) else None


def _fast_bodies(data: ByteLike, pos: int, count: int) -> list[tuple[int, int, int]] | None:
    """Code entries as (entry start, body start, end) that must fill `data` exactly, or None."""
    bodies: list[tuple[int, int, int]] = []
    append = bodies.append
    try:
        for _ in range(count):
            entry = pos
            low = data[pos]
            if low < 0x80:
                pos += 1 + low
                append((entry, entry + 1, pos))
                continue
            high = data[pos + 1]
            if high < 0x80:
                pos += 2 + ((low & 0x7F) | high << 7)
                append((entry, entry + 2, pos))
                continue
            size, body = decode_unsigned(data, pos)
            pos = body + size
            append((entry, body, pos))
    except (IndexError, LEB128Error):
        return None
    return bodies if pos == len(data) else None


def _fast_find_exports(
    data: ByteLike, pos: int, count: int, wanted: dict[bytes, str]
) -> dict[str, Export] | None:
    """Walk the export vector comparing only names of a wanted length; None if unusual."""
    lengths = {len(name) for name in wanted}
    found = {}
    try:
        for _ in range(count):
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = decode_unsigned(data, pos)
            start, pos = pos, pos + length
            kind = data[pos]
            index = data[pos + 1]
            if index < 0x80:
                pos += 2
            elif (high := data[pos + 2]) < 0x80:
                index = (index & 0x7F) | high << 7
                pos += 3
            else:
                index, pos = decode_unsigned(data, pos + 1)
            if kind not in EXTERN_KINDS:
                return None
            if length in lengths and (name := bytes(data[start : start + length])) in wanted:
                found[wanted[name]] = Export(wanted[name], kind, index)
    except (IndexError, LEB128Error):
        return None
    return found if pos == len(data) else None
