"""Every way injection can fail gives one WasmError line naming the template and a remedy."""

from __future__ import annotations

import pytest
from wasm_templates import compile_wat, placeholders, template

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.format.wasm import Module, Section, SectionId, WasmError
from basilisk_trace.bundler.format.wasm.leb128 import encode_unsigned
from basilisk_trace.bundler.write.wasm import MAX_PAYLOAD, inject_passive_data

NAME = "canister-template.wasm"
MEMORY = '(memory (export "memory") 1)'


def _inject(data: bytes, payload: bytes = b"payload", **kwargs: object) -> str:
    """Inject expecting failure; return the message after checking its shape."""
    with pytest.raises(WasmError) as info:
        inject_passive_data(data, payload, template_name=NAME, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith(f"{NAME}: "), message
    assert "\n" not in message
    assert "; " in message  # problem; remedy
    return message


def _replace(data: bytes, section: Section) -> bytes:
    module = Module.parse(data)
    module.put(section)
    return module.to_bytes()


def test_wasm_error_shares_the_root() -> None:
    assert issubclass(WasmError, BasiliskTraceError)


class TestNotATemplate:
    def test_bad_magic(self) -> None:
        assert "not a WebAssembly module" in _inject(b"PK\x03\x04 a zip, not wasm")

    def test_wrong_version(self) -> None:
        data = bytearray(template("with_data"))
        data[4] = 2
        assert "version 02000000" in _inject(bytes(data))

    @pytest.mark.parametrize("keep", [9, 20, 0.5, -1])
    def test_truncated(self, keep: float) -> None:
        data = template("with_data")
        cut = data[: int(len(data) * keep) if isinstance(keep, float) else keep]
        message = _inject(cut)
        assert "truncated" in message or "needs" in message

    def test_section_overrunning_the_file(self) -> None:
        data = template("with_data") + b"\x00\x7f\x01a"  # a custom section claiming 127 bytes
        assert "truncated: the custom section" in _inject(data)


class TestPlaceholders:
    def test_missing_both(self) -> None:
        message = _inject(template("no_placeholders"))
        assert "python_bundle_passive_data_size" in message and "add_exports=True" in message

    def test_missing_one(self) -> None:
        data = compile_wat(
            f'(module {MEMORY} (func (export "python_bundle_passive_data_size") (result i32) i32.const 0))'
        )
        assert "no export named 'init_python_bundle_passive_data'" in _inject(data)

    def test_add_exports_with_half_a_pair(self) -> None:
        data = compile_wat(
            f'(module {MEMORY} (func (export "init_python_bundle_passive_data") (param i32)))'
        )
        message = _inject(data, add_exports=True)
        assert "half pair" in message and "python_bundle_passive_data_size" in message

    def test_other_slot_is_missing(self) -> None:
        assert "no export named 'main_passive_data_size'" in _inject(
            template("with_data"), slot="main"
        )

    @pytest.mark.parametrize(
        ("size_sig", "init_sig", "expected"),
        [
            ("(result i64)", "(param i32)", "type () -> (i64), expected () -> (i32)"),
            (
                "(param i32) (result i32)",
                "(param i32)",
                "type (i32) -> (i32), expected () -> (i32)",
            ),
            (
                "(result i32)",
                "(param i32) (result i32)",
                "type (i32) -> (i32), expected (i32) -> ()",
            ),
            ("(result i32)", "(param i64)", "type (i64) -> (), expected (i32) -> ()"),
            ("(result i32)", "", "type () -> (), expected (i32) -> ()"),
        ],
    )
    def test_wrong_type(self, size_sig: str, init_sig: str, expected: str) -> None:
        size_body = {"(result i64)": "i64.const 0", "(param i32) (result i32)": "i32.const 0"}
        init_body = {"(param i32) (result i32)": "i32.const 0"}
        data = compile_wat(
            f"""(module {MEMORY}
              (func (export "python_bundle_passive_data_size") {size_sig} {size_body.get(size_sig, "i32.const 0")})
              (func (export "init_python_bundle_passive_data") {init_sig} {init_body.get(init_sig, "")}))"""
        )
        assert expected in _inject(data)

    def test_placeholder_is_an_import(self) -> None:
        data = compile_wat(
            f"""(module
              (import "env" "size" (func $size (result i32)))
              {MEMORY}
              (export "python_bundle_passive_data_size" (func $size))
              (func (export "init_python_bundle_passive_data") (param i32)))"""
        )
        assert "is an imported function" in _inject(data)

    def test_placeholder_is_not_a_function(self) -> None:
        data = compile_wat(
            f"""(module {MEMORY}
              (global (export "python_bundle_passive_data_size") i32 (i32.const 0))
              (func (export "init_python_bundle_passive_data") (param i32)))"""
        )
        assert "is a global, not a function" in _inject(data)


class TestModuleShape:
    def test_no_memory(self) -> None:
        data = compile_wat(f"(module {placeholders()})")
        assert "no linear memory" in _inject(data)

    def test_no_memory_with_add_exports(self) -> None:
        assert "no linear memory" in _inject(compile_wat("(module)"), add_exports=True)

    def test_memory64(self) -> None:
        assert "64-bit" in _inject(compile_wat(f"(module (memory i64 1) {placeholders()})"))

    def test_data_count_disagrees_with_data(self) -> None:
        data = _replace(template("datacount_custom"), Section.build(SectionId.DATA_COUNT, b"\x05"))
        assert "data count section says 5 segments but the data section has 2" in _inject(data)

    def test_function_and_code_counts_disagree(self) -> None:
        types = encode_unsigned(4) + b"\x00" * 4  # one more function than the code section has
        data = _replace(template("no_data"), Section.build(SectionId.FUNCTION, types))
        assert "declares 4 functions but the code section has 3 bodies" in _inject(data)

    def test_gc_types_are_refused(self) -> None:
        data = _replace(template("no_data"), Section.build(SectionId.TYPE, b"\x01\x5f\x00"))
        assert "GC-proposal 'struct' type" in _inject(data)

    def test_unknown_import_kind(self) -> None:
        imports = b"\x01\x01m\x01f\x09\x00"
        data = _replace(template("no_data"), Section.build(SectionId.IMPORT, imports))
        assert "unknown import kind 9" in _inject(data)


def test_payload_over_2_gib() -> None:
    # bytes(n) is calloc'ed, so this costs address space, not 2 GiB of writes; the size
    # check runs before anything reads or copies the payload.
    huge = bytes(MAX_PAYLOAD + 1)
    message = _inject(template("with_data"), huge)
    assert "over the 2147483647-byte limit" in message


def test_payload_at_the_limit_is_not_refused_for_its_size() -> None:
    # Just under the limit must get past the size check (and fail only on the template).
    with pytest.raises(WasmError, match="not a WebAssembly module"):
        inject_passive_data(b"", bytes(MAX_PAYLOAD), template_name=NAME)
