"""`pip install .` leaves one import name, basilisk_trace, and the installed tool works from it."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    [built] = out.glob("basilisk_trace-*.whl")
    return built


def test_one_top_level_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"basilisk_trace"}
    # the child scripts, runtime stand-ins, profiles and schemas are package data
    for needed in ("basilisk_trace/base/child/_load.py", "basilisk_trace/tracer/child/runner.py",
                   "basilisk_trace/bundler/check/guest/isolated.py", "basilisk_trace/tracer/runtime/ic_api.py",
                   "basilisk_trace/bundler/hosts/basilisk/profile.json",
                   "basilisk_trace/bundler/hosts/componentize_py/profile.json",
                   "basilisk_trace/bundler/hosts/componentize_py/stdlib.json",
                   "basilisk_trace/bundler/hosts/componentize_py/child/build.py",
                   "basilisk_trace/bundler/hosts/componentize_py/child/exercise_exports.py",
                   "basilisk_trace/bundler/hosts/componentize_py/child/stand_in/componentize_py_runtime.py",
                   "basilisk_trace/bundler/hosts/componentize_py/guest/_basilisk_trace_files.py",
                   "basilisk_trace/bundler/schemas/trace.schema.json",
                   "basilisk_trace/tracer/child/stdlib-analysis-3.13.json"):
        assert needed in names


def test_installed_tool_works_and_old_names_are_gone(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=600)
    probe = ("import importlib.util as u; import basilisk_trace.tracer, basilisk_trace.bundler.cli.app; "
             "print(u.find_spec('tracer'), u.find_spec('bundler'))")
    done = subprocess.run([python, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["None", "None"]
    cli = env_dir / "bin" / "basilisk-trace"
    traced = subprocess.run([cli, "trace", FIXTURES / "relative_imports" / "main.py"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert traced.returncode == 0, traced.stderr
    assert "app.sub.leaf" in traced.stdout
    # Without the [component] extra, its commands say in one line what to install.
    for command in (["component", "-d", "wit", "-w", "world", "app"], ["verify", "--component", str(wheel)]):
        done = subprocess.run([cli, *command], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.endswith("is not installed, and it builds the component; pip install 'basilisk-trace[component]'") \
            or line.endswith("is not installed, and a component runs in it; pip install 'basilisk-trace[component]'")
    # A plain install has no wasmtime (the extra `wasi` brings it): one line says so, no traceback.
    wasi = subprocess.run([cli, "verify", FIXTURES / "relative_imports" / "main.py", "--runtime", "wasi"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert wasi.returncode == 1 and "Traceback" not in wasi.stderr
    assert wasi.stderr.strip().splitlines() == [
        "basilisk-trace: error: --runtime wasi runs the bundle under wasmtime, which is not installed here; "
        "pip install 'basilisk-trace[wasi]' (or pip install wasmtime)"]


def test_wasmtime_is_the_extra_wasi(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    lines = archive.read(metadata).decode().splitlines()
    assert "Provides-Extra: wasi" in lines
    assert any(line.startswith("Requires-Dist: wasmtime") and "extra == \"wasi\"" in line for line in lines)


def test_a_project_s_own_tracer_and_bundler_modules(tmp_path: Path) -> None:
    """A canister with local tracer.py/bundler.py on PYTHONPATH neither breaks the CLI nor is mislabelled."""
    (tmp_path / "tracer.py").write_text("report = 'the project s own'\n")
    (tmp_path / "bundler.py").write_text("VALUE = 1\n")
    (tmp_path / "main.py").write_text("import tracer\nimport bundler\n")
    cli = Path(sys.executable).with_name("basilisk-trace")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run([cli, "trace", "main.py", "--json", "-"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    modules = {m["name"]: m for m in json.loads(done.stdout)["modules"]}
    assert modules["tracer"]["distribution"] is None and modules["bundler"]["distribution"] is None


def test_componentize_py_and_wasmtime_are_the_extra_component(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    lines = archive.read(metadata).decode().splitlines()
    assert "Provides-Extra: component" in lines
    assert any(line.startswith("Requires-Dist: componentize-py==0.25.1") and 'extra == "component"' in line
               for line in lines)
    assert any(line.startswith("Requires-Dist: wasmtime") and 'extra == "component"' in line for line in lines)
