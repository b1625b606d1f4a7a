"""The two defects reproduced in ic-basilisk 0.16.1's manipulator, side by side with ours."""

from __future__ import annotations

import pytest
import wasmtime
from wasm_templates import compile_wat, instantiate, placeholders, wasm_validate

from basilisk_trace.bundler.write.wasm import inject_passive_data

ic = pytest.importorskip("basilisk.wasm_manipulator", reason="ic-basilisk is not installed")

# ic-basilisk patches two slots at once: the Python source and the method metadata.
SLOTS = placeholders("python_source", "read_source") + placeholders("method_meta", "read_meta")
PLACEHOLDERS = [
    "python_source_passive_data_size",
    "method_meta_passive_data_size",
    "init_python_source_passive_data",
    "init_method_meta_passive_data",
]
# A global imported before the functions: ic-basilisk skips a global import as if it
# had an init expression, scanning to the next 0x0b byte, and loses the function imports.
GLOBAL_BEFORE_FUNCS = f"""(module
  (import "env" "g" (global i32))
  (import "env" "log" (func (param i32)))
  (import "env" "other" (func))
  (import "env" "third" (func))
  (memory (export "memory") 1)
  (func (export "uses") (param i32) local.get 0 call 0)
  {SLOTS}
  (data (i32.const 0) "x"))"""
NO_DATA = f'(module (memory (export "memory") 1) {SLOTS})'


def _ic_inject(data: bytes) -> bytes:
    """ic-basilisk's own build step, minus its file I/O and method stubs."""
    sections = ic.parse_sections(data)
    exports = ic.parse_exports(data, ic.find_section(sections, ic.SECTION_EXPORT))
    funcs = {name: ic.find_function_index(exports, name) for name in PLACEHOLDERS}
    return bytes(ic.build_modified_wasm(data, sections, exports, b"source", b"{}", [], 0, 0, funcs))


def _ours(data: bytes) -> bytes:
    out = inject_passive_data(data, b"source", slot="python_source")
    return inject_passive_data(out, b"{}", slot="method_meta")


def _invalid(data: bytes) -> bool:
    try:
        wasmtime.Module.validate(wasmtime.Engine(), data)
    except wasmtime.WasmtimeError:
        return True
    return False


def test_global_import_miscounts_functions() -> None:
    data = compile_wat(GLOBAL_BEFORE_FUNCS)
    sections = ic.parse_sections(data)
    assert ic.count_import_functions(data, ic.find_section(sections, ic.SECTION_IMPORT)) != 3
    assert _invalid(_ic_inject(data))  # it patched the wrong bodies

    out = _ours(data)
    wasm_validate(out)
    inst = instantiate(out)
    assert inst.call("read_source", 64) == 6 and inst.read(64, 6) == b"source"
    assert inst.call("read_meta", 128) == 2 and inst.read(128, 2) == b"{}"


def test_missing_data_section_gives_invalid_wasm() -> None:
    data = compile_wat(NO_DATA)
    with pytest.raises(wasmtime.WasmtimeError, match="data section is absent"):
        wasmtime.Module.validate(wasmtime.Engine(), _ic_inject(data))

    out = _ours(data)
    wasm_validate(out)
    assert instantiate(out).call("read_source", 0) == 6
