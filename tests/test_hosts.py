"""Hosts: each is one folder under bundler/hosts/ defining HOST, and a new one is only a new folder."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import FIXTURES, ROOT, zip_names

from basilisk_trace import tracer
from basilisk_trace.bundler.hosts import DEFAULT_HOST, HostError, host_names, load_host
from basilisk_trace.bundler.pipeline.bundle import Request, host_dry_run

HOSTS = host_names()


def test_every_folder_is_a_host_and_nothing_else_lists_them() -> None:
    folders = sorted(p.name for p in (ROOT / "bundler" / "hosts").iterdir()
                     if (p / "__init__.py").is_file())
    assert [name.replace("-", "_") for name in HOSTS] == folders
    assert DEFAULT_HOST in HOSTS


@pytest.mark.parametrize("name", HOSTS)
def test_a_host_says_everything_the_flow_needs(name: str) -> None:
    host = load_host(name)
    assert host.name == name and host.folder == ROOT / "bundler" / "hosts" / name.replace("-", "_")
    assert host.profile().name == name
    names = [runtime.name for runtime in host.runtimes]
    assert names and len(set(names)) == len(names)
    assert host.runtime() is host.runtimes[0]
    assert host.summary and host.exercises and host.packaging in ("bundle-zip", "python-path")


@pytest.mark.parametrize("name", HOSTS)
def test_an_unknown_runtime_names_the_host_s_own(name: str) -> None:
    host = load_host(name)
    with pytest.raises(HostError) as info:
        host.runtime("jvm")
    for runtime in host.runtimes:
        assert runtime.name in str(info.value)


def test_an_unknown_host_lists_the_known_ones() -> None:
    with pytest.raises(HostError) as info:
        load_host("emscripten")
    assert all(name in str(info.value) for name in HOSTS)


@pytest.mark.parametrize(("name", "preamble", "natives"), [
    ("basilisk", True, True), ("cpython-wasi", False, True), ("pyodide", False, True), ("wasix", False, False)])
def test_the_dry_run_runs_under_the_host_s_layer(name: str, preamble: bool, natives: bool) -> None:
    """What the targets did before they were hosts: the canister's preamble only for basilisk,
    natives loading only where the runtime has wheels for them."""
    _, options = host_dry_run(Request(entry=Path("main.py"), target=name))
    assert options.layer.preamble is preamble and options.layer.runtime == "basilisk"
    assert options.block_natives is natives


def test_a_stand_in_runtime_asked_for_stays() -> None:
    request = Request(entry=Path("main.py"), dry_run=tracer.DryRunOptions(layer=tracer.Layer(runtime="stand-in")))
    assert host_dry_run(request)[1].layer.runtime == "stand-in"


# A host of its own, defined in its folder alone: the host CPython itself, as if it were a Wasm runtime.
_NEW_HOST = '''
from pathlib import Path

from basilisk_trace.bundler.check.runtime import ON_HOST
from basilisk_trace.bundler.hosts import Host
from basilisk_trace.tracer import Layer

HOST = Host(name="plain-cpython", summary="plain CPython, for the test that a host is one folder",
            folder=Path(__file__).resolve().parent, layer=Layer(runtime="none"),
            exercises="nothing", packaging="bundle-zip", runtimes=(ON_HOST,))
'''
_RUN = """
import sys
# This checkout's editable install would answer for basilisk_trace first: the copy must.
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in type(f).__module__ + str(f)]
sys.path.insert(0, sys.argv[1])
from basilisk_trace.bundler.cli.app import main
sys.argv = ["basilisk-trace", *sys.argv[2:]]
main()
"""


def test_a_new_host_is_one_new_folder(tmp_path: Path) -> None:
    tree = tmp_path / "tree" / "basilisk_trace"
    tree.mkdir(parents=True)
    for name in ("base", "tracer"):
        (tree / name).symlink_to(ROOT / name, target_is_directory=True)
    shutil.copytree(ROOT / "bundler", tree / "bundler", ignore=shutil.ignore_patterns("__pycache__"))
    folder = tree / "bundler" / "hosts" / "plain_cpython"
    folder.mkdir()
    (folder / "__init__.py").write_text(_NEW_HOST, encoding="utf-8")
    profile = {"schema": 1, "name": "plain-cpython", "python": "3.13", "native": "refuse", "stdlib": "full"}
    (folder / "profile.json").write_text(json.dumps(profile), encoding="utf-8")
    out = tmp_path / "out.zip"
    entry = FIXTURES / "relative_imports" / "main.py"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _RUN, str(tree.parent), *args], capture_output=True,
                              text=True, timeout=240, env={"PATH": "/usr/bin:/bin",
                                                          "XDG_CACHE_HOME": str(tmp_path / "cache")})

    built = run("bundle", str(entry), "--target", "plain-cpython", "-o", str(out))
    assert built.returncode == 0, built.stderr
    manifest = json.loads(zip_names(out.read_bytes())["basilisk-bundle.json"])
    assert manifest["target"] == "plain-cpython"
    checked = run("verify", "--bundle", str(out))
    assert checked.returncode == 0, checked.stderr
    assert "target plain-cpython" in checked.stdout
    # No basilisk runtime in its dry run: a canister's module is not there.
    refused = run("verify", "--bundle", str(out), "--runtime", "wasi")
    assert refused.returncode == 1 and "use host" in refused.stderr
