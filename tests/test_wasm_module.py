"""The section-level module model: byte-identical round trips, ordering, framing errors."""

from __future__ import annotations

import pytest
from wasm_templates import BARE_TEMPLATES, TEMPLATES, compile_wat, real_modules, template

from basilisk_trace.bundler.format.wasm import Module, Section, SectionId, WasmError
from basilisk_trace.bundler.format.wasm.leb128 import encode_unsigned

ALL_TEMPLATES = sorted({**TEMPLATES, **BARE_TEMPLATES})


class TestRoundTrip:
    @pytest.mark.parametrize("name", ALL_TEMPLATES)
    def test_templates_are_reemitted_byte_identically(self, name: str) -> None:
        data = template(name)
        assert Module.parse(data, name).to_bytes() == data

    @pytest.mark.parametrize("name", sorted(real_modules()))
    def test_real_modules_are_reemitted_byte_identically(self, name: str) -> None:
        data = real_modules()[name].read_bytes()
        assert Module.parse(data, name).to_bytes() == data

    def test_padded_section_sizes_survive(self) -> None:
        # Some linkers write section sizes as padded 5-byte LEBs; an unchanged
        # section must keep that header rather than be re-encoded minimally.
        data = b"\x00asm\x01\x00\x00\x00" + b"\x05\x83\x80\x80\x80\x00\x01\x00\x01"
        module = Module.parse(data, "padded.wasm")
        assert [s.id for s in module.sections] == [SectionId.MEMORY]
        assert module.to_bytes() == data

    def test_custom_sections_stay_in_place(self) -> None:
        module = Module.parse(template("datacount_custom"), "t.wasm")
        ids = [s.id for s in module.sections]
        assert ids[0] == SectionId.CUSTOM
        assert ids[ids.index(SectionId.EXPORT) + 1] == SectionId.CUSTOM
        assert ids[ids.index(SectionId.DATA_COUNT) + 1] == SectionId.CODE


class TestPut:
    def _ids(self, module: Module) -> list[int]:
        return [s.id for s in module.sections]

    def test_replaces_in_place(self) -> None:
        module = Module.parse(template("datacount_custom"), "t.wasm")
        before = self._ids(module)
        module.put(Section.build(SectionId.DATA_COUNT, encode_unsigned(7)))
        assert self._ids(module) == before

    def test_data_count_goes_right_before_code(self) -> None:
        module = Module.parse(template("with_data"), "t.wasm")
        module.put(Section.build(SectionId.DATA_COUNT, b"\x02"))
        ids = self._ids(module)
        assert ids.index(SectionId.DATA_COUNT) + 1 == ids.index(SectionId.CODE)

    def test_data_goes_after_code_and_before_trailing_custom_sections(self) -> None:
        module = Module.parse(template("no_data"), "t.wasm")
        assert module.find(SectionId.DATA) is None
        module.put(Section.build(SectionId.DATA, b"\x00"))
        ids = self._ids(module)
        assert ids.index(SectionId.DATA) == ids.index(SectionId.CODE) + 1
        assert ids[-1] == SectionId.CUSTOM  # the "name" section wat2wasm appends

    def test_first_section_goes_after_leading_custom_section(self) -> None:
        data = compile_wat('(module (@custom "dylink.0" (before first) "x"))')
        module = Module.parse(data, "t.wasm")
        module.put(Section.build(SectionId.TYPE, b"\x00"))
        assert self._ids(module)[:2] == [SectionId.CUSTOM, SectionId.TYPE]

    def test_built_sections_reparse(self) -> None:
        module = Module.parse(template("memory_only"), "t.wasm")
        module.put(Section.build(SectionId.DATA_COUNT, b"\x00"))
        module.put(Section.build(SectionId.TYPE, b"\x00"))
        again = Module.parse(module.to_bytes(), "t.wasm")
        assert [s.id for s in again.sections] == self._ids(module)


HEADER = b"\x00asm\x01\x00\x00\x00"


class TestFramingErrors:
    @pytest.mark.parametrize(
        ("data", "needle"),
        [
            (b"", "not a WebAssembly module"),
            (b"\x7fELF\x02\x01\x01\x00", "not a WebAssembly module"),
            (b"\x00asm\x0d\x00\x01\x00", "component"),
            (b"\x00asm\x02\x00\x00\x00", "version"),
            (HEADER + b"\x01\x05\x01\x60", "truncated"),
            (HEADER + b"\x01", "truncated"),
            (HEADER + b"\x01\x80", "LEB128"),
            (HEADER + b"\x0e\x00", "unknown section id 14"),
            (HEADER + b"\x05\x01\x00\x01\x01\x00", "comes after"),
            (HEADER + b"\x01\x01\x00\x01\x01\x00", "appears twice"),
            (HEADER + b"\x00\x02\x05a", "needs 5 bytes"),
        ],
        ids=["empty", "elf", "component", "version-2", "section-overrun", "header-cut",
             "size-cut", "unknown-id", "out-of-order", "duplicate", "bad-custom-name"],
    )  # fmt: skip
    def test_errors_name_the_template(self, data: bytes, needle: str) -> None:
        with pytest.raises(WasmError) as info:
            Module.parse(data, "my-template.wasm")
        message = str(info.value)
        assert message.startswith("my-template.wasm: ")
        assert needle in message
        assert "\n" not in message
