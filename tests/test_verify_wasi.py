"""verify --runtime wasi: real-shaped canisters in the pinned wasm32-wasip1 CPython under wasmtime."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import traced
from helpers import FIXTURES, run_cli

from basilisk_trace.bundler import PlanOptions, bundle_bytes, load_profile, plan_bundle
from basilisk_trace.bundler.check.wasi import verify_in_wasi
from basilisk_trace.bundler.check.wasi_python import (
    PINNED,
    WasiPythonError,
    compiled_module,
    wasm_path,
)


def bundle_of(name: str) -> bytes:
    plan = plan_bundle(traced(name), load_profile("basilisk"), PlanOptions())
    assert not plan.errors, plan.errors
    return bundle_bytes(plan, "main.py")


@pytest.mark.parametrize("name", ["runtime_record_mixin", "runtime_types", "runtime_xrc_guarded",
                                  "stdlib_unused_in_dependency", "ic_python_db_canister", "stdlib_needed_ships",
                                  "verify_stdlib_stub"])
def test_real_shaped_canisters_run_in_wasi(name: str, wasi_cache: Path) -> None:
    result = verify_in_wasi(bundle_of(name), "main", load_profile("basilisk"), exercise=True,
                            cache_dir=wasi_cache)
    assert result.ok, [f.traceback for f in result.failures]
    assert result.methods >= 1 and not result.method_errors


def test_stdlib_the_target_lacks_is_a_stub_there_too(wasi_cache: Path) -> None:
    # The WASI build has re (and zlib); the target cannot run it, and verify answers as the target.
    result = verify_in_wasi(bundle_of("verify_stdlib_cannot_ship"), "main", load_profile("basilisk"),
                            exercise=True, cache_dir=wasi_cache)
    assert not result.ok
    assert [(f.module, f.stub) for f in result.bundle_failures] == [("re", True)]


def test_cli_names_the_wasi_cpython(tmp_path: Path, wasi_cache: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    target = tmp_path / "basilisk-trace" / "wasi"
    target.mkdir(parents=True)
    for path in wasi_cache.iterdir():  # the session's fetched and compiled build, not a second download
        (target / path.name).write_bytes(path.read_bytes())
    done = run_cli("verify", FIXTURES / "runtime_types" / "main.py", "--exercise", "--runtime", "wasi", env=env)
    assert done.returncode == 0, done.stderr
    assert f"on WASI CPython {PINNED.python} (target basilisk), 4 methods called" in done.stdout


def test_compiled_module_is_reused_and_a_bad_one_recompiled(wasi_cache: Path) -> None:
    import wasmtime

    from basilisk_trace.bundler.check.wasi import _engine

    engine = _engine()
    compiled = sorted(wasi_cache.glob("*.cwasm"))
    assert compiled, "the first run leaves the compiled module in the cache"
    assert compiled_module(engine, wasm_path(wasi_cache), wasi_cache) is not None
    compiled[0].write_bytes(b"not a compiled module")
    module = compiled_module(engine, wasm_path(wasi_cache), wasi_cache)
    assert isinstance(module, wasmtime.Module)
    assert compiled[0].read_bytes() != b"not a compiled module"


def test_a_build_that_does_not_match_its_pin_is_refused(tmp_path: Path) -> None:
    wrong = dataclasses.replace(PINNED, wheel_sha256="0" * 64)
    with pytest.raises(WasiPythonError, match="does not have the pinned sha256 0000"):
        wasm_path(tmp_path, wrong)
    assert not list(tmp_path.glob("*.wasm"))
