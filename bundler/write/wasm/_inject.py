"""Inject a payload into a template as a passive data segment behind two placeholder exports."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from basilisk_trace.bundler.format.wasm import _decode as decode
from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.leb128 import ByteLike, encode_unsigned
from basilisk_trace.bundler.format.wasm.module import Module, Section, SectionId
from basilisk_trace.bundler.write.wasm._bodies import (
    INIT_TYPE,
    SIZE_TYPE,
    init_body,
    resolve_wrapper,
    size_body,
    with_size,
)

# i32.const is signed and the size export returns an i32: a larger payload would read
# back negative in the canister's C code.
MAX_PAYLOAD = 2**31 - 1
_PASSIVE = b"\x01"


def placeholder_names(slot: str) -> tuple[str, str]:
    """The size and init export names of a slot (ic-basilisk's convention)."""
    return f"{slot}_passive_data_size", f"init_{slot}_passive_data"


def inject_passive_data(
    template: ByteLike,
    payload: ByteLike,
    *,
    slot: str = "python_bundle",
    add_exports: bool = False,
    template_name: str = "template.wasm",
) -> bytes:
    """Return `template` with `payload` appended as a passive data segment.

    The template exports `<slot>_passive_data_size() -> i32` and
    `init_<slot>_passive_data(dest: i32)`; their bodies (or, for wasm-ld wrappers,
    the functions they forward to) are replaced so that the first returns the payload
    length and the second copies the payload to `dest` and drops the segment.

    With `add_exports=True` a template without the placeholders gets two new functions
    under those names. If it already has both, they are patched as usual; if it has only
    one, that is an error, since adding the other would leave a half-patched pair.

    Sections that do not change are copied, not re-encoded; the payload is copied once.
    """
    payload = memoryview(payload).cast("B")
    if len(payload) > MAX_PAYLOAD:
        raise WasmError.about(
            template_name,
            f"the payload is {len(payload)} bytes, over the {MAX_PAYLOAD}-byte limit of an i32 size",
            "shrink the bundle (leave out unused files, compress it) below 2 GiB",
        )
    module = Module.parse(template, template_name)
    size_name, init_name = placeholder_names(slot)
    layout = _Layout.read(module, (size_name, init_name))
    layout.check_memory()
    segment = _segment_index(module)
    found = [layout.exports.get(name) for name in (size_name, init_name)]
    if found[0] is not None and found[1] is not None:
        _patch(module, layout, found[0], found[1], segment, len(payload))
    elif add_exports and found == [None, None]:
        _add_functions(module, layout, (size_name, init_name), segment, len(payload))
    else:
        raise _missing_placeholder(template_name, size_name, init_name, found, add_exports)
    module.put(Section.build(SectionId.DATA_COUNT, encode_unsigned(segment + 1)))
    _extend_vector(module, SectionId.DATA, 1, _PASSIVE + encode_unsigned(len(payload)), payload)
    return module.to_bytes()


@dataclass
class _Layout:
    """The decoded parts of a module that injection needs."""

    module: Module
    types: list[bytes]
    imports: decode.Imports
    defined_funcs: int
    exports: dict[str, decode.Export]  # only the placeholder names
    memories: list[decode.Limits]

    @classmethod
    def read(cls, module: Module, export_names: tuple[str, ...]) -> _Layout:
        layout = cls(
            module,
            decode.read_types(module),
            decode.read_imports(module),
            decode.read_count(module.find(SectionId.FUNCTION), module.template) or 0,
            decode.find_exports(module, export_names),
            decode.read_memories(module),
        )
        bodies = decode.read_count(module.find(SectionId.CODE), module.template) or 0
        if layout.defined_funcs != bodies:
            raise WasmError.about(
                module.template,
                f"the function section declares {layout.defined_funcs} functions "
                f"but the code section has {bodies} bodies",
                "the file is corrupt; rebuild the template",
            )
        return layout

    @cached_property
    def func_types(self) -> list[int]:
        """The type index of each defined function; only needed when patching."""
        return decode.read_function_types(self.module)

    @cached_property
    def bodies(self) -> list[tuple[int, int, int]]:
        """Where each body is; walking the code section is the slow part, so only on demand."""
        return decode.read_code_bodies(self.module)

    @property
    def imported_funcs(self) -> int:
        return len(self.imports.func_types)

    @property
    def total_funcs(self) -> int:
        return self.imported_funcs + self.defined_funcs

    def type_of(self, func: int) -> bytes | None:
        """The encoded type of function `func` (imports first), or None if out of range."""
        if 0 <= func < self.imported_funcs:
            index = self.imports.func_types[func]
        elif self.imported_funcs <= func < self.total_funcs:
            index = self.func_types[func - self.imported_funcs]
        else:
            return None
        return self.types[index] if index < len(self.types) else None

    def body_of(self, func: int) -> ByteLike | None:
        """The body (locals onward) of a defined function, or None for imports and out of range."""
        if not self.imported_funcs <= func < self.total_funcs:
            return None
        code = self.module.find(SectionId.CODE)
        assert code is not None  # bodies exist, so the section does
        _, start, end = self.bodies[func - self.imported_funcs]
        return code.content[start:end]

    def check_memory(self) -> None:
        """memory.init targets memory 0: imported memories come first in the index space."""
        memories = self.imports.memories + self.memories
        template = self.module.template
        if not memories:
            raise WasmError.about(
                template,
                "the module has no linear memory (neither defined nor imported), "
                "so there is nowhere to copy the payload",
                "use a canister template that defines or imports a memory",
            )
        if memories[0].is64:
            raise WasmError.about(
                template,
                "memory 0 is a 64-bit memory, but the placeholders take an i32 address",
                "use a template built for 32-bit memory (wasm32)",
            )


def _segment_index(module: Module) -> int:
    """Index of the new segment: the number of segments already there."""
    template = module.template
    in_data = decode.read_count(module.find(SectionId.DATA), template)
    declared = decode.read_count(module.find(SectionId.DATA_COUNT), template)
    if declared is not None and declared != (in_data or 0):
        raise WasmError.about(
            template,
            f"the data count section says {declared} segments but the data section "
            f"has {in_data or 0}",
            "the file is corrupt; rebuild the template",
        )
    return in_data or 0


def _checked_placeholder(layout: _Layout, export: decode.Export, wanted: bytes) -> int:
    """The function index behind a placeholder export, after checking it can be patched."""
    template = layout.module.template
    name = export.name
    if export.kind != decode.FUNC:
        kind = decode.EXTERN_KINDS[export.kind]
        raise WasmError.about(template, f"export '{name}' is a {kind}, not a function",
                              "export the placeholder function under this name")  # fmt: skip
    if export.index < layout.imported_funcs:
        raise WasmError.about(
            template,
            f"export '{name}' is an imported function, so it has no body to patch",
            "define the placeholder in the template instead of importing it",
        )
    found = layout.type_of(export.index)
    if found != wanted:
        shown = decode.format_type(found) if found is not None else "an invalid type"
        raise WasmError.about(
            template,
            f"export '{name}' has type {shown}, expected {decode.format_type(wanted)}",
            "fix the placeholder's signature in the template",
        )
    return export.index


def _patch(
    module: Module,
    layout: _Layout,
    size_export: decode.Export,
    init_export: decode.Export,
    segment: int,
    size: int,
) -> None:
    targets = {}
    for export, wanted, body in (
        (size_export, SIZE_TYPE, size_body(size)),
        (init_export, INIT_TYPE, init_body(segment, size)),
    ):
        func = resolve_wrapper(
            _checked_placeholder(layout, export, wanted), layout.body_of, layout.type_of
        )
        targets[func - layout.imported_funcs] = with_size(body)
    code = module.find(SectionId.CODE)
    assert code is not None  # a defined placeholder implies a code section
    content = code.content
    parts: list[ByteLike] = []
    pos = 0
    for index in sorted(targets):
        entry, _, end = layout.bodies[index]
        parts += [content[pos:entry], targets[index]]
        pos = end
    parts.append(content[pos:])
    module.put(Section.build(SectionId.CODE, *parts))


def _add_functions(
    module: Module, layout: _Layout, names: tuple[str, str], segment: int, size: int
) -> None:
    """Append two functions with their types (reused when present) and exports."""
    types = list(layout.types)
    new_types = [t for t in (SIZE_TYPE, INIT_TYPE) if t not in types]
    types += new_types
    if new_types:
        _extend_vector(module, SectionId.TYPE, len(new_types), *new_types)
    type_indices = [types.index(SIZE_TYPE), types.index(INIT_TYPE)]
    _extend_vector(module, SectionId.FUNCTION, 2, *map(encode_unsigned, type_indices))
    bodies = (size_body(size), init_body(segment, size))
    _extend_vector(module, SectionId.CODE, 2, *map(with_size, bodies))
    first = layout.total_funcs  # new functions follow every imported and defined one
    exports = [
        encode_unsigned(len(encoded)) + encoded + b"\x00" + encode_unsigned(first + i)
        for i, encoded in enumerate(name.encode("utf-8") for name in names)
    ]
    _extend_vector(module, SectionId.EXPORT, 2, *exports)


def _extend_vector(module: Module, section_id: int, added: int, *entries: ByteLike) -> None:
    """Append entries to a vector section (creating it if absent), keeping the old bytes."""
    section = module.find(section_id)
    old: ByteLike = b""
    count = 0
    if section is not None:
        reader = section.reader(module.template)
        count = reader.u32()
        old = section.content[reader.pos :]
    module.put(Section.build(section_id, encode_unsigned(count + added), old, *entries))


def _missing_placeholder(
    template: str,
    size_name: str,
    init_name: str,
    found: list[decode.Export | None],
    add_exports: bool,
) -> WasmError:
    if add_exports:
        have, lack = (size_name, init_name) if found[0] else (init_name, size_name)
        return WasmError.about(
            template,
            f"exports '{have}' but not '{lack}', so add_exports would leave a half pair",
            f"remove '{have}' from the template, or define both placeholders",
        )
    lack = size_name if found[0] is None else init_name
    return WasmError.about(
        template,
        f"has no export named '{lack}'",
        "build the template with both placeholders, or pass add_exports=True to add them",
    )
