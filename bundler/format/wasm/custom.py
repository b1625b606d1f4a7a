"""Custom sections: named bytes a Wasm module carries that no instruction reads (the engine skips them)."""

from __future__ import annotations

from basilisk_trace.bundler.format.wasm.leb128 import ByteLike, encode_unsigned
from basilisk_trace.bundler.format.wasm.module import Module, Section, SectionId

__all__ = ["custom_section", "read_custom_section", "set_custom_section"]


def custom_section(name: str, payload: ByteLike) -> Section:
    """A new custom section `name` holding `payload`."""
    encoded = name.encode("utf-8")
    return Section.build(SectionId.CUSTOM, encode_unsigned(len(encoded)) + encoded, payload)


def read_custom_section(module: Module, name: str) -> bytes | None:
    """The payload of the first custom section called `name`, or None."""
    for section in module.sections:
        if section.id == SectionId.CUSTOM:
            reader = section.reader(module.template)
            if reader.name() == name:
                return bytes(section.content[reader.pos:])
    return None


def set_custom_section(module: Module, name: str, payload: ByteLike) -> None:
    """Replace every custom section called `name` with one holding `payload`, at the end of the module."""
    module.sections = [s for s in module.sections
                       if s.id != SectionId.CUSTOM or s.reader(module.template).name() != name]
    module.sections.append(custom_section(name, payload))
