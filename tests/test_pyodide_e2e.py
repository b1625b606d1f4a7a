"""End to end in a real Wasm CPython: the example canister's bundle injected into pyodide.asm.wasm, run under node."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from canister_e2e import CALLS, EXAMPLE, EXPECTED_CALLS, ROOT, example_bundle, host_calls
from helpers import TEMPLATE_SNIPPET
from wasm_templates import wasm_validate

from basilisk_trace import tracer
from basilisk_trace.bundler.check.pyodide import (
    GUEST_ROOT,
    WASM_NAME,
    Pyodide,
    PyodideError,
    PyodideNotFound,
    runtime_files,
    verify_in_pyodide,
)
from basilisk_trace.bundler.check.verify import stage_guest, verify_zip
from basilisk_trace.bundler.hosts import load_profile
from basilisk_trace.bundler.pipeline import Request, make_bundle

CLI = ROOT / ".venv" / "bin" / "basilisk-trace"
# The guest folder of the runtime stand-ins (ic_api.py, stubs/), as verify stages them.
RUNTIME = stage_guest(GUEST_ROOT)[2].rsplit("/", 1)[0]

# Canister init as a template runs it: the documented snippet, with the bundle read from the
# Wasm exports through ctypes (no bundle file is copied in). Then import main and call it.
GUEST = CALLS + f"""
import ctypes, hashlib, os
size_of = ctypes.CDLL(None).python_bundle_passive_data_size
size_of.restype = ctypes.c_int
size = size_of()
BOOTSTRAP_SOURCE = open("{GUEST_ROOT}/_basilisk_bootstrap.py").read()
{TEMPLATE_SNIPPET}
root = "/lib/site-packages"
files = {{}}
for directory, _, names in os.walk(root):
    for name in names:
        path = os.path.join(directory, name)
        with open(path, "rb") as handle:
            files[path[len(root) + 1:]] = hashlib.sha256(handle.read()).hexdigest()
setup_ic("{RUNTIME}/ic_api.py")
sys.path.append("{RUNTIME}/stubs")
import main
calls = json.loads(canister_calls(lambda name: getattr(main, name), root))
result = json.dumps({{"size": size, "path0": sys.path[0], "files": files, "calls": calls,
                     "version": sys.version_info[:2], "platform": sys.platform}})
"""


@dataclass(frozen=True)
class InjectedRun:
    bundle: bytes
    wasm: Path
    original_sha: str
    reply: dict[str, Any]
    output: str


@pytest.fixture(scope="module")
def pyodide() -> Pyodide:
    return Pyodide.locate()  # not installed is a failure: ./dev setup installs it


@pytest.fixture(scope="module")
def injected(pyodide: Pyodide, tmp_path_factory: pytest.TempPathFactory) -> InjectedRun:
    original = pyodide.index / WASM_NAME
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    bundle = example_bundle()
    patched = pyodide.with_bundle(bundle, tmp_path_factory.mktemp("pyodide"))
    run = patched.run(GUEST, runtime_files(), timeout=120)
    return InjectedRun(bundle, patched.index / WASM_NAME, before, json.loads(run.result), run.output)


def _zip_hashes(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: hashlib.sha256(archive.read(name)).hexdigest() for name in archive.namelist()}


class TestInjectedPyodide:
    def test_is_real_wasm_cpython(self, injected: InjectedRun) -> None:
        assert injected.reply["platform"] == "emscripten"
        assert injected.reply["version"] == [3, 13]

    def test_bundle_read_through_exports_is_byte_identical(self, injected: InjectedRun) -> None:
        assert injected.reply["size"] == len(injected.bundle)
        # No bundle file was copied in: every byte came through init_python_bundle_passive_data.
        assert injected.reply["files"] == _zip_hashes(injected.bundle)

    def test_bootstrap_installed_on_the_filesystem(self, injected: InjectedRun) -> None:
        assert injected.reply["path0"] == "/lib/site-packages"

    def test_calls_equal_the_host(self, injected: InjectedRun, tmp_path: Path) -> None:
        host = host_calls(injected.bundle, tmp_path)
        assert injected.reply["calls"] == host
        assert {k: host[k] for k in EXPECTED_CALLS} == EXPECTED_CALLS

    def test_every_kind_of_import_ran_from_the_bundle(self, injected: InjectedRun) -> None:
        loaded = set(injected.reply["calls"]["from_bundle"])
        # ic-python-db imports some submodules inside methods; plugins come from __import__ by name.
        assert {"main", "ic_python_db.entity", "ic_python_logging._handler", "plugins.upper",
                "plugins.reverse"} <= loaded
        assert "[INFO] [example] note 2 added by 2vxsx-fae" in injected.reply["calls"]["printed"]

    def test_patched_wasm_validates(self, injected: InjectedRun) -> None:
        wasm_validate(injected.wasm.read_bytes(), "--enable-all")

    def test_installed_pyodide_untouched(self, injected: InjectedRun, pyodide: Pyodide) -> None:
        after = hashlib.sha256((pyodide.index / WASM_NAME).read_bytes()).hexdigest()
        assert after == injected.original_sha


class TestVerifyInPyodide:
    def test_traced_bundle_passes_like_on_host(self) -> None:
        bundle = example_bundle()
        result = verify_in_pyodide(bundle, "main", exercise=True, timeout=120)
        assert result.ok, result.failures
        host = verify_zip(bundle, "main", load_profile("pyodide"), exercise=True)
        assert result.methods == host.methods > 0

    def test_static_bundle_misses_the_plugins(self) -> None:
        request = Request(entry=EXAMPLE, dry_run=tracer.DryRunOptions(static_only=True))
        bundle = make_bundle(request)[2]
        result = verify_in_pyodide(bundle, "main", exercise=True, timeout=120)
        assert [(f.where, f.module, f.importer) for f in result.failures] == [("transform", "plugins", "main")]
        assert "No module named 'plugins'" in result.failures[0].error

    def test_import_failure_is_reported(self) -> None:
        files = {"main.py": b"import not_bundled_anywhere\n"}
        result = verify_in_pyodide(_zip(files), "main", exercise=False, timeout=120)
        assert [(f.where, f.module) for f in result.failures] == [("import", "not_bundled_anywhere")]

    def test_bad_bundle_is_a_failure_not_a_crash(self) -> None:
        result = verify_in_pyodide(b"not a zip", "main", exercise=False, timeout=120)
        assert not result.ok
        assert "BootstrapError" in result.failures[0].error


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class TestCli:
    def test_verify_runtime_pyodide(self, tmp_path: Path) -> None:
        done = subprocess.run([str(CLI), "verify", str(EXAMPLE), "--exercise", "--runtime", "pyodide"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "on pyodide" in done.stdout and "methods called" in done.stdout

    def test_verify_runtime_pyodide_explains_failure(self, tmp_path: Path) -> None:
        request = Request(entry=EXAMPLE, dry_run=tracer.DryRunOptions(static_only=True))
        (tmp_path / "static.zip").write_bytes(make_bundle(request)[2])
        done = subprocess.run([str(CLI), "verify", "--bundle", "static.zip", "--exercise", "--runtime", "pyodide"],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert done.returncode == 1
        assert "plugins" in done.stderr


class TestErrors:
    def test_pyodide_missing_says_how_to_install(self, tmp_path: Path) -> None:
        with pytest.raises(PyodideNotFound, match="npm install"):
            Pyodide.locate(tmp_path)

    def test_node_missing_says_how_to_install(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(PyodideNotFound, match="node not found on PATH; install Node.js"):
            verify_in_pyodide(example_bundle(), "main", exercise=False)

    def test_broken_wasm_fails_at_load(self, pyodide: Pyodide, tmp_path: Path) -> None:
        for source in pyodide.index.iterdir():
            shutil.copyfile(source, tmp_path / source.name)
        (tmp_path / WASM_NAME).write_bytes(b"\0asm\x01\0\0\0garbage")
        with pytest.raises(PyodideError, match="before Pyodide replied.*wasm instantiation failed"):
            Pyodide(pyodide.node, tmp_path).run("result = 'x'", {}, timeout=60)

    def test_code_must_set_result(self, pyodide: Pyodide) -> None:
        with pytest.raises(PyodideError, match="no `result` string"):
            pyodide.run("x = 1", {}, timeout=60)

    def test_guest_exception_is_reported(self, pyodide: Pyodide) -> None:
        with pytest.raises(PyodideError, match="ZeroDivisionError"):
            pyodide.run("1 / 0", {}, timeout=60)

    def test_errors_share_the_root(self) -> None:
        assert issubclass(PyodideNotFound, tracer.BasiliskTraceError)
