"""A section-level model of a Wasm module that re-emits unchanged sections byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, field

from basilisk_trace.bundler.format.wasm._reader import Reader
from basilisk_trace.bundler.format.wasm.errors import WasmError
from basilisk_trace.bundler.format.wasm.leb128 import ByteLike, encode_unsigned

__all__ = ["SECTION_NAMES", "Module", "Section", "SectionId"]

MAGIC = b"\x00asm"
VERSION_1 = b"\x01\x00\x00\x00"
# Components share the magic but carry layer 1 in bytes 6-7 of the version field.
_COMPONENT_LAYER = b"\x01\x00"


class SectionId:
    """Section ids of the core binary format (tag is from the exception-handling proposal)."""

    CUSTOM = 0
    TYPE = 1
    IMPORT = 2
    FUNCTION = 3
    TABLE = 4
    MEMORY = 5
    GLOBAL = 6
    EXPORT = 7
    START = 8
    ELEMENT = 9
    CODE = 10
    DATA = 11
    DATA_COUNT = 12
    TAG = 13


SECTION_NAMES: dict[int, str] = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
    6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
    12: "data count", 13: "tag",
}  # fmt: skip

# The order non-custom sections must appear in; it is not numeric (tag and data count
# were added late and slotted in where they are needed).
_ORDER = (1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11)
_RANK = {section_id: rank for rank, section_id in enumerate(_ORDER)}
# Known sections number 13; custom ones a handful. Bounding the count bounds the work and memory.
MAX_SECTIONS = 10_000


@dataclass(frozen=True)
class Section:
    """One section: its header bytes as found, and its content in one or more pieces.

    Content may be split into pieces so that a large payload is copied exactly once,
    when the module is finally joined into bytes.
    """

    id: int
    header: ByteLike
    parts: tuple[ByteLike, ...]
    offset: int = 0  # file offset of the content, for error messages; 0 for new sections

    @classmethod
    def build(cls, section_id: int, *parts: ByteLike) -> Section:
        """A new section around `parts`, with a minimal size LEB."""
        size = sum(len(part) for part in parts)
        return cls(section_id, bytes([section_id]) + encode_unsigned(size), parts)

    @property
    def name(self) -> str:
        return SECTION_NAMES.get(self.id, f"#{self.id}")

    @property
    def content(self) -> ByteLike:
        """The content as one buffer (joined only if it was built from several pieces)."""
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)

    def reader(self, template: str) -> Reader:
        return Reader(self.content, template=template, where=f"{self.name} section",
                      base=self.offset)  # fmt: skip


@dataclass
class Module:
    """A module as a list of sections; `template` names it in error messages."""

    sections: list[Section] = field(default_factory=list)
    template: str = "template.wasm"

    @classmethod
    def parse(cls, data: ByteLike, template: str = "template.wasm") -> Module:
        """Split `data` into sections without copying it, checking framing and order."""
        view = memoryview(data).cast("B")
        _check_preamble(view, template)
        module = cls([], template)
        pos = len(MAGIC) + len(VERSION_1)
        last: Section | None = None  # the last non-custom section: the order check stays O(1)
        while pos < len(view):
            if len(module.sections) == MAX_SECTIONS:
                raise WasmError.about(template, f"has more than {MAX_SECTIONS} sections (a canister has a few dozen)",
                                      "the file is corrupt or hostile; rebuild the template")
            section, pos = _read_section(view, pos, template)
            module._check_order(section, last)
            last = section if section.id else last
            module.sections.append(section)
        return module

    def parts(self) -> list[ByteLike]:
        """Every piece of the encoded module, in order, ready for b"".join or writelines."""
        out: list[ByteLike] = [MAGIC + VERSION_1]
        for section in self.sections:
            out.append(section.header)
            out.extend(section.parts)
        return out

    def to_bytes(self) -> bytes:
        return b"".join(self.parts())

    def find(self, section_id: int) -> Section | None:
        """The (only) non-custom section with this id, if present."""
        return next((s for s in self.sections if s.id == section_id), None)

    def put(self, section: Section) -> None:
        """Replace the section with the same id, or insert it where the order requires.

        A new section goes just before the first later-ranked known section, so custom
        sections before it stay before it; with none later, it goes after the last
        known section, ahead of trailing custom sections such as "name".
        """
        for i, existing in enumerate(self.sections):
            if existing.id == section.id:
                self.sections[i] = section
                return
        rank = _RANK[section.id]
        later = [i for i, s in enumerate(self.sections) if s.id and _RANK[s.id] > rank]
        known = [i for i, s in enumerate(self.sections) if s.id]
        at = later[0] if later else (known[-1] + 1 if known else len(self.sections))
        self.sections.insert(at, section)

    def _check_order(self, section: Section, last: Section | None) -> None:
        if section.id == SectionId.CUSTOM:
            return
        if last is not None and _RANK[last.id] >= _RANK[section.id]:
            what = (
                "appears twice" if last.id == section.id else f"comes after the {last.name} section"
            )
            raise WasmError.about(
                self.template,
                f"the {section.name} section at byte {section.offset:#x} {what}, "
                "which the binary format forbids",
                "the file is corrupt or was written by a broken tool; rebuild the template",
            )


def _check_preamble(view: memoryview, template: str) -> None:
    if len(view) < 8 or view[:4] != MAGIC:
        found = bytes(view[:4]).hex() or "nothing"
        raise WasmError.about(
            template,
            f"not a WebAssembly module (starts with {found}, expected 0061736d)",
            "pass the canister template's .wasm file",
        )
    version = bytes(view[4:8])
    if version[2:] == _COMPONENT_LAYER:
        raise WasmError.about(
            template,
            "is a WebAssembly component, not a core module",
            "pass the core module (the canister template) instead of the component",
        )
    if version != VERSION_1:
        raise WasmError.about(
            template,
            f"unsupported Wasm binary version {version.hex()} (expected 01000000)",
            "use a template built for WebAssembly 1.0",
        )


def _read_section(view: memoryview, pos: int, template: str) -> tuple[Section, int]:
    """Read the section header at `pos`; return the section and the next section's offset."""
    reader = Reader(view, template=template, where="section header", base=0)
    reader.pos = pos
    section_id = reader.u8()
    if section_id not in SECTION_NAMES:
        raise reader.fail(f"unknown section id {section_id}",
                          "the file is corrupt or uses an unsupported proposal")  # fmt: skip
    size = reader.u32()
    start = reader.pos
    end = start + size
    if end > len(view):
        name = SECTION_NAMES[section_id]
        raise WasmError.about(
            template,
            f"truncated: the {name} section at byte {pos:#x} needs {size} bytes "
            f"but only {len(view) - start} remain",
            "the file is incomplete; rebuild or re-download the template",
        )
    section = Section(section_id, view[pos:start], (view[start:end],), start)
    if section_id == SectionId.CUSTOM:
        section.reader(template).name()  # a custom section must open with a valid name
    return section, end
