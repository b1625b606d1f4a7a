"""Injection into every template: validity, read-back through the exports, what is preserved."""

from __future__ import annotations

import pytest
import wasmtime
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wasm_templates import (
    BARE_TEMPLATES,
    INIT_EXPORT,
    NOT_RUNNABLE,
    SIZE_EXPORT,
    TEMPLATES,
    assert_injected,
    compile_wat,
    engine,
    instantiate,
    placeholders,
    real_modules,
    template,
    wasm_validate,
)

from basilisk_trace.bundler.format.wasm import Module, SectionId, WasmError
from basilisk_trace.bundler.format.wasm._decode import read_exports, read_types
from basilisk_trace.bundler.write.wasm import inject_passive_data

BIG = bytes(range(256)) * 65536 + b"tail"  # 16 MiB + 4: a multi-byte size and > 1 page
SIZES = [0, 1, 63, 64, 127, 128, 8191, 8192, 16383, 16384]
RUNNABLE = sorted(set(TEMPLATES) - NOT_RUNNABLE)


def _payload(size: int) -> bytes:
    return bytes((i * 7 + 3) % 251 for i in range(size))


class TestEveryTemplate:
    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        name=st.sampled_from(sorted(TEMPLATES)),
        payload=st.binary(max_size=20_000),
        dest=st.integers(min_value=0, max_value=70_000),
    )
    @example(name="with_data", payload=b"", dest=0)
    def test_payload_reads_back(self, name: str, payload: bytes, dest: int) -> None:
        out = inject_passive_data(template(name), payload, template_name=name)
        assert_injected(name, out, payload, dest)

    @pytest.mark.parametrize("size", SIZES)
    @pytest.mark.parametrize("name", sorted(TEMPLATES))
    def test_size_boundaries(self, name: str, size: int) -> None:
        # 64 and 8192 have bit 6 set in their top LEB byte: as signed LEBs they need an
        # extra byte, and an unsigned encoding would read back negative from i32.const.
        payload = _payload(size)
        out = inject_passive_data(template(name), payload, template_name=name)
        assert_injected(name, out, payload)

    @pytest.mark.parametrize("name", sorted(TEMPLATES))
    def test_payload_over_16_mib(self, name: str) -> None:
        out = inject_passive_data(template(name), BIG, template_name=name)
        assert_injected(name, out, BIG, dest=65536 * 3 + 5)

    @pytest.mark.parametrize("name", RUNNABLE)
    def test_internal_callers_see_the_payload(self, name: str) -> None:
        # read_bundle calls the placeholders (or, in the wrapper templates, the inner
        # functions) directly, the way the canister's own C code does.
        out = inject_passive_data(template(name), b"abc", template_name=name)
        inst = instantiate(out)
        assert inst.call("read_bundle", 500) == 3
        assert inst.read(500, 3) == b"abc"

    @pytest.mark.parametrize("name", sorted(TEMPLATES))
    def test_only_code_data_and_data_count_change(self, name: str) -> None:
        data = template(name)
        before = Module.parse(data, name).sections
        after = Module.parse(inject_passive_data(data, b"x", template_name=name), name).sections
        changed = {SectionId.CODE, SectionId.DATA, SectionId.DATA_COUNT}
        keep = [bytes(s.header) + b"".join(s.parts) for s in before if s.id not in changed]
        kept = [bytes(s.header) + b"".join(s.parts) for s in after if s.id not in changed]
        assert kept == keep

    def test_reinjection_replaces_the_payload(self) -> None:
        once = inject_passive_data(template("with_data"), b"first")
        twice = inject_passive_data(once, b"second payload")
        assert_injected("with_data", twice, b"second payload")


class TestExistingData:
    def test_segments_and_custom_sections_are_kept(self) -> None:
        data = template("datacount_custom")
        out = inject_passive_data(data, b"payload")
        assert_injected("datacount_custom", out, b"payload")
        inst = instantiate(out)
        assert inst.read(8, 6) == b"active"
        inst.call("copy_passive", 300)  # segment 0 is still the template's passive segment
        assert inst.read(300, 13) == b"passive bytes"

        def customs(raw: bytes) -> list[bytes]:
            return [
                bytes(s.header) + b"".join(s.parts) for s in Module.parse(raw).sections if s.id == 0
            ]

        assert customs(out) == customs(data)
        ids = [s.id for s in Module.parse(out).sections]
        assert ids[0] == 0 and ids[ids.index(SectionId.EXPORT) + 1] == 0  # still in place

    @pytest.mark.parametrize(
        ("name", "old_count"), [("datacount_custom", 2), ("with_data", 1), ("no_data", 0)]
    )
    def test_data_count_is_old_count_plus_one(self, name: str, old_count: int) -> None:
        module = Module.parse(inject_passive_data(template(name), b"p"))
        data_count = module.find(SectionId.DATA_COUNT)
        data = module.find(SectionId.DATA)
        assert data_count is not None and data is not None
        assert bytes(data_count.content) == bytes([old_count + 1])
        assert data.content[0] == old_count + 1

    def test_two_slots_get_two_segments(self) -> None:
        data = compile_wat(
            f'(module (memory (export "memory") 1) {placeholders("a", "ra")} {placeholders("b", "rb")})'
        )
        out = inject_passive_data(inject_passive_data(data, b"AAAA", slot="a"), b"BB", slot="b")
        inst = instantiate(out)
        assert inst.call("ra", 100) == 4 and inst.call("rb", 200) == 2
        assert inst.read(100, 4) == b"AAAA" and inst.read(200, 2) == b"BB"


class TestAddExports:
    @pytest.mark.parametrize("size", [0, 64, 128, 8192, 16384])
    @pytest.mark.parametrize("name", sorted(BARE_TEMPLATES))
    def test_adds_working_placeholders(self, name: str, size: int) -> None:
        payload = _payload(size)
        out = inject_passive_data(template(name), payload, add_exports=True, template_name=name)
        assert_injected(name, out, payload)

    def test_reuses_a_matching_type(self) -> None:
        data = template("no_placeholders")  # already has (i32) -> ()
        out = inject_passive_data(data, b"x", add_exports=True)
        assert len(read_types(Module.parse(out))) == len(read_types(Module.parse(data))) + 1

    def test_creates_missing_sections(self) -> None:
        out = inject_passive_data(template("memory_only"), b"xyz", add_exports=True)
        ids = [s.id for s in Module.parse(out).sections if s.id]
        assert ids == [1, 3, 5, 7, 12, 10, 11]

    def test_existing_placeholders_are_patched_not_duplicated(self) -> None:
        out = inject_passive_data(template("with_data"), b"data", add_exports=True)
        names = [e.name for e in read_exports(Module.parse(out))]
        assert names.count(SIZE_EXPORT) == 1 and names.count(INIT_EXPORT) == 1
        assert_injected("with_data", out, b"data")

    @pytest.mark.parametrize("name", sorted(real_modules()))
    def test_real_modules(self, name: str) -> None:
        data = real_modules()[name].read_bytes()
        out = inject_passive_data(data, BIG, add_exports=True, template_name=name)
        wasm_validate(out, "--enable-all")
        # Injecting again takes the patch path through the whole big code section.
        again = inject_passive_data(out, b"second", template_name=name)
        wasm_validate(again, "--enable-all")
        try:  # Pyodide uses legacy exception handling, which wasmtime does not support
            wasmtime.Module.validate(engine(), data)
        except wasmtime.WasmtimeError:
            return
        wasmtime.Module.validate(engine(), out)


def test_memory64_is_refused_not_miscompiled() -> None:
    data = compile_wat(f"(module (memory i64 1) {placeholders()})")
    with pytest.raises(WasmError, match="64-bit"):
        inject_passive_data(data, b"x")
