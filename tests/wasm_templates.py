"""WAT sources of canister-like templates, and helpers to validate, instantiate and read them back."""

from __future__ import annotations

import functools
import importlib.util
import itertools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import wasmtime

SIZE_EXPORT = "python_bundle_passive_data_size"
INIT_EXPORT = "init_python_bundle_passive_data"


def placeholders(slot: str = "python_bundle", reader: str = "read_bundle") -> str:
    """The two placeholder functions in their simplest form, plus an internal caller."""
    return f"""
      (func $size_{slot} (export "{slot}_passive_data_size") (result i32) i32.const 0)
      (func $init_{slot} (export "init_{slot}_passive_data") (param i32))
      (func (export "{reader}") (param i32) (result i32)
        local.get 0 call $init_{slot} call $size_{slot})
    """


# The wasm-ld shape: exported wrappers around the real functions, which the template's own
# code calls directly. Injection must patch the inner functions for read_bundle to work.
_WRAPPERS = """
  (global $sp (mut i32) (i32.const 4096))
  (func $prologue global.get $sp i32.const 16 i32.sub global.set $sp)
  (func $epilogue global.get $sp i32.const 16 i32.add global.set $sp)
  (func $size_impl (result i32) i32.const 0)
  (func $init_impl (param i32))
  (func (export "python_bundle_passive_data_size") (result i32)
    call $prologue call $size_impl call $epilogue)
  (func (export "init_python_bundle_passive_data") (param i32)
    call $prologue local.get 0 call $init_impl call $epilogue)
  (func (export "read_bundle") (param i32) (result i32)
    local.get 0 call $init_impl call $size_impl)
"""

_FORWARDERS = """
  (func $size_impl (result i32) i32.const 0)
  (func $init_impl (param i32))
  (func (export "python_bundle_passive_data_size") (result i32) call $size_impl)
  (func (export "init_python_bundle_passive_data") (param i32) local.get 0 call $init_impl)
  (func (export "read_bundle") (param i32) (result i32)
    local.get 0 call $init_impl call $size_impl)
"""


def _many_functions() -> str:
    """Hundreds of types, functions and exports, so indices and sizes need multi-byte LEBs."""
    valtypes = ("i32", "i64", "f32", "f64")
    params = [p for n in range(1, 5) for p in itertools.product(valtypes, repeat=n)]
    funcs = [
        f'(func (export "f{i}_{"_" * (i % 150)}") (param {" ".join(p)})'
        + " i32.const 1000 drop" * (i % 40)
        + ")"
        for i, p in enumerate(params)
    ]
    return '(memory (export "memory") 1)\n' + "\n".join(funcs) + placeholders()


# Each template names the scenario it exercises.
TEMPLATES: dict[str, str] = {
    "with_data": f"""(module
      (memory (export "memory") 1)
      (data (i32.const 16) "existing active data")
      {placeholders()})""",
    "no_data": f"""(module (memory (export "memory") 1) {placeholders()})""",
    "imports_global_table": f"""(module
      (import "env" "g" (global $g i32))
      (import "env" "gm" (global $gm (mut i64)))
      (import "env" "tbl" (table 1 funcref))
      (import "env" "log" (func $log (param i32)))
      (import "env" "log2" (func $log2 (param i32 i32)))
      (memory (export "memory") 1)
      (func (export "uses") (param i32) local.get 0 call $log)
      {placeholders()}
      (data (i32.const 0) "x"))""",
    "datacount_custom": f"""(module
      (@custom "first" (before first) "leading custom section")
      (memory (export "memory") 1)
      (data $passive "passive bytes")
      (data (i32.const 8) "active")
      (func (export "copy_passive") (param i32)
        local.get 0 i32.const 0 i32.const 13 memory.init $passive)
      (@custom "middle" (after export) "between export and code")
      {placeholders()}
      (@custom "trailer" "after everything"))""",
    "wasm_ld_wrappers": f"""(module (memory (export "memory") 1) {_WRAPPERS})""",
    "forwarding_wrappers": f"""(module (memory (export "memory") 1) {_FORWARDERS})""",
    "imported_memory": f"""(module
      (import "env" "memory" (memory 1))
      {placeholders()})""",
    "imports_every_kind": f"""(module
      (import "env" "f" (func (param i64)))
      (import "env" "t" (table 2 10 externref))
      (import "env" "memory" (memory 1 65536))
      (import "env" "g" (global (mut f64)))
      (import "env" "tag" (tag (param i32)))
      {placeholders()})""",
    "imports_shared_memory": f"""(module
      (import "env" "memory" (memory 1 65536 shared))
      (import "env" "g" (global (mut f64)))
      {placeholders()})""",
    "many_functions": f"(module {_many_functions()})",
}

# A stand-in for ic-basilisk's canister template: the six exports its manipulate_wasm patches, a
# data section (it writes invalid Wasm without one), and dispatchers that remember the method index.
IC_BASILISK_TEMPLATE = """(module
  (memory (export "memory") 1)
  (global $last_query (mut i32) (i32.const -1))
  (global $last_update (mut i32) (i32.const -1))
  (func (export "execute_query_method") (param i32) local.get 0 global.set $last_query)
  (func (export "execute_update_method") (param i32) local.get 0 global.set $last_update)
  (func (export "last_query") (result i32) global.get $last_query)
  (func (export "last_update") (result i32) global.get $last_update)
  (func (export "python_source_passive_data_size") (result i32) i32.const 0)
  (func (export "init_python_source_passive_data") (param i32))
  (func (export "method_meta_passive_data_size") (result i32) i32.const 0)
  (func (export "init_method_meta_passive_data") (param i32))
  (data (i32.const 16) "stand-in template"))"""


# wabt switches these proposals off by default; everything else must pass plain wasm-validate.
WABT_FEATURES: dict[str, tuple[str, ...]] = {
    "imports_every_kind": ("--enable-exceptions",),
    "imports_shared_memory": ("--enable-threads",),
}

# wasmtime-py 50 cannot link an imported SharedMemory (a ctypes pointer mix-up in
# Linker.define), so these are validated but not run.
NOT_RUNNABLE = frozenset({"imports_shared_memory"})

# Templates without placeholders, for add_exports.
BARE_TEMPLATES: dict[str, str] = {
    "no_placeholders": """(module
      (memory (export "memory") 1)
      (func (export "main"))
      (func $takes_i32 (param i32)))""",
    "memory_only": '(module (memory (export "memory") 1))',
    "bare_imported_memory": """(module
      (import "env" "g" (global i32))
      (import "env" "memory" (memory 2))
      (data (i32.const 0) "kept"))""",
}


@functools.cache
def compile_wat(source: str) -> bytes:
    return wasmtime.wat2wasm(source)


def template(name: str) -> bytes:
    return compile_wat({**TEMPLATES, **BARE_TEMPLATES}[name])


def engine() -> wasmtime.Engine:
    """An engine with the proposals our templates use (threads, exceptions) switched on."""
    config = wasmtime.Config()
    config.wasm_threads = True
    config.shared_memory = True
    config.wasm_exceptions = True
    config.wasm_reference_types = True
    return wasmtime.Engine(config)


def wasm_validate(data: bytes, *features: str) -> None:
    """Fail the test unless wabt's wasm-validate accepts `data`."""
    tool = shutil.which("wasm-validate")
    if tool is None:
        pytest.fail("wasm-validate not found: install wabt (apt-get install -y wabt)")
    with tempfile.NamedTemporaryFile(suffix=".wasm") as handle:
        Path(handle.name).write_bytes(data)
        result = subprocess.run([tool, *features, handle.name], capture_output=True, text=True)
    assert result.returncode == 0, f"wasm-validate rejected the module: {result.stderr}"


@dataclass
class Instance:
    """An instantiated module and the memory 0 it writes to."""

    store: wasmtime.Store
    instance: wasmtime.Instance
    memory: wasmtime.Memory

    def call(self, name: str, *args: int) -> object:
        func = self.instance.exports(self.store)[name]
        assert isinstance(func, wasmtime.Func)
        return func(self.store, *args)

    def read(self, start: int, length: int) -> bytes:
        return bytes(self.memory.read(self.store, start, start + length))

    def ensure_pages(self, byte_end: int) -> None:
        """Grow memory 0 so that [0, byte_end) is addressable."""
        missing = -(-byte_end // 65536) - self.memory.size(self.store)
        if missing > 0:
            self.memory.grow(self.store, missing)


def instantiate(data: bytes) -> Instance:
    """Instantiate with a stub for every import; return the instance and its memory 0."""
    store = wasmtime.Store(engine())
    module = wasmtime.Module(store.engine, data)
    linker = wasmtime.Linker(store.engine)
    memories: list[wasmtime.Memory] = []
    for imp in module.imports:
        item = _stub(store, imp.type)
        if isinstance(item, wasmtime.Memory):
            memories.append(item)
        assert imp.name is not None
        linker.define(store, imp.module, imp.name, item)
    instance = linker.instantiate(store, module)
    if not memories:
        exported = instance.exports(store)["memory"]
        assert isinstance(exported, wasmtime.Memory)
        memories.append(exported)
    return Instance(store, instance, memories[0])


def _stub(store: wasmtime.Store, ty: object) -> object:
    if isinstance(ty, wasmtime.FuncType):
        results = [_zero(r) for r in ty.results]
        return wasmtime.Func(store, ty, lambda *args: results[0] if len(results) == 1 else None)
    if isinstance(ty, wasmtime.GlobalType):
        return wasmtime.Global(store, ty, _zero(ty.content))
    if isinstance(ty, wasmtime.TableType):
        return wasmtime.Table(store, ty, None)
    if isinstance(ty, wasmtime.MemoryType):
        return wasmtime.Memory(store, ty)
    if isinstance(ty, wasmtime.TagType):
        return wasmtime.Tag(store, ty)
    raise AssertionError(f"no stub for import type {ty}")


def _zero(ty: wasmtime.ValType) -> object:
    return {"i32": 0, "i64": 0, "f32": 0.0, "f64": 0.0}.get(str(ty))


def real_modules() -> dict[str, Path]:
    """Real-world modules available on this machine, by name.

    ic-basilisk ships a wasm-bindgen module; Pyodide's pyodide.asm.wasm (~10 MB, 268
    imported functions after 11 imported globals) is used when BASILISK_TRACE_PYODIDE_WASM
    points at it, e.g. from `npm pack pyodide`.
    """
    found: dict[str, Path] = {}
    pyodide = os.environ.get("BASILISK_TRACE_PYODIDE_WASM")
    if pyodide and Path(pyodide).is_file():
        found["pyodide.asm.wasm"] = Path(pyodide)
    spec = importlib.util.find_spec("basilisk")
    if spec is not None and spec.origin is not None:
        vetkd = Path(spec.origin).parent / "ic_vetkd_utils_bg.wasm"
        if vetkd.is_file():
            found[vetkd.name] = vetkd
    return found


def assert_injected(name: str, out: bytes, payload: bytes, dest: int = 1024) -> None:
    """Validate `out` with wabt and wasmtime, then read the payload back through the exports.

    Also checks that a second init traps once the segment is dropped (if non-empty).
    """
    wasm_validate(out, *WABT_FEATURES.get(name, ()))
    wasmtime.Module.validate(engine(), out)
    if name in NOT_RUNNABLE:
        return
    inst = instantiate(out)
    assert inst.call(SIZE_EXPORT) == len(payload)
    inst.ensure_pages(dest + len(payload))
    inst.call(INIT_EXPORT, dest)
    assert inst.read(dest, len(payload)) == payload
    if payload:
        with pytest.raises(wasmtime.Trap, match="out of bounds"):
            inst.call(INIT_EXPORT, dest)


def read_slot(data: bytes, slot: str, dest: int = 1024) -> bytes:
    """A passive data slot's bytes, read through its two exports the way the template's init does."""
    inst = instantiate(data)
    size = inst.call(f"{slot}_passive_data_size")
    assert isinstance(size, int)
    inst.ensure_pages(dest + size)
    inst.call(f"init_{slot}_passive_data", dest)
    return inst.read(dest, size)
