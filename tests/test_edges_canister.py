"""canister's outputs get the checks -o gets, and are replaced together only when the whole build succeeded."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from helpers import run_cli, tree_hash
from test_canister import PROJECT, _env, canister
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.wasm"
    path.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(PROJECT, copy)
    return copy


def _one_line(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("basilisk-trace: error:")]
    assert len(errors) == 1, done.stderr
    for word in words:
        assert word in errors[0], errors[0]


def _no_wasm(project: Path) -> bool:
    return not any((project / ".basilisk").rglob("*.wasm")) if (project / ".basilisk").exists() else True


@pytest.mark.parametrize("candid", ["src/main.py", "src/posts.py", "pyproject.toml", ".basilisk/posts/posts.wasm"])
def test_the_candid_path_is_never_an_input_nor_the_wasm(project: Path, template: Path, candid: str) -> None:
    (project / "pyproject.toml").write_text("[tool.basilisk-trace]\nexercise = true\n")
    if candid.endswith(".wasm"):
        assert canister(project, "posts", "src/main.py", template=template).returncode == 0
    before = {p: p.read_bytes() for p in (project / "src").iterdir() if p.is_file()}
    before[project / "pyproject.toml"] = (project / "pyproject.toml").read_bytes()
    wasm = (project / candid).read_bytes() if candid.endswith(".wasm") else None
    done = canister(project, "posts", "src/main.py", template=template, candid=candid)
    _one_line(done, candid, "output of the build itself" if candid.endswith(".wasm") else "an input of this run")
    assert {p: p.read_bytes() for p in before} == before
    if wasm is not None:
        assert (project / candid).read_bytes() == wasm


@pytest.mark.parametrize("kind", ["symlink", "fifo", "directory"])
def test_the_candid_path_is_a_regular_file_or_new(project: Path, template: Path, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep\n")
    did = project / "posts.did"
    {"symlink": lambda: did.symlink_to(target), "fifo": lambda: os.mkfifo(did), "directory": did.mkdir}[kind]()
    started = time.monotonic()
    done = canister(project, "posts", "src/main.py", template=template, candid="posts.did")
    assert time.monotonic() - started < 60
    _one_line(done, "posts.did", {"symlink": "symbolic link", "fifo": "FIFO", "directory": "directory"}[kind])
    assert target.read_text() == "keep\n" and _no_wasm(project)


@pytest.mark.parametrize("link", [".basilisk", ".basilisk/posts"])
def test_a_linked_basilisk_folder_is_refused(project: Path, template: Path, tmp_path: Path, link: str) -> None:
    outside = tmp_path / "outside"
    (outside / "python_source").mkdir(parents=True)
    (outside / "python_source" / "keep.py").write_text("KEEP = 1\n")
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(outside, target_is_directory=True)
    before = tree_hash(outside)
    done = canister(project, "posts", "src/main.py", template=template, candid="posts.did")
    _one_line(done, link, "symbolic link")
    assert tree_hash(outside) == before and not (project / "posts.did").exists()


def test_a_failed_candid_write_replaces_nothing(project: Path, template: Path, tmp_path: Path) -> None:
    assert canister(project, "posts", "src/main.py", template=template).returncode == 0
    (project / "src" / "main.py").write_text((project / "src" / "main.py").read_text() + "\n# changed\n")
    before = tree_hash(project / ".basilisk")
    full = tmp_path / "full"
    full.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", str(full)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        (full / "filler").write_bytes(b"x" * 4096)
        done = canister(project, "posts", "src/main.py", template=template, candid=str(full / "posts.did"))
        _one_line(done, "posts.did", "previous outputs of posts are kept")
        assert "another build" not in done.stderr
        assert tree_hash(project / ".basilisk") == before
        assert sorted(p.name for p in full.iterdir()) == ["filler"]
    finally:
        subprocess.run(["umount", str(full)], check=True)
    assert sorted(p.name for p in (project / ".basilisk").iterdir()) == ["posts"]


@pytest.mark.parametrize("name", ["$(touch PWN)", "po\nsts", "ｐｏｓｔｓ", "x" * 300, "posts.v2", "-"])
def test_canister_names_are_plain_ascii(project: Path, template: Path, name: str) -> None:
    done = canister(project, name, "src/main.py", template=template, candid="out.did")
    if name == "-":  # a plain name, though an odd one
        assert done.returncode == 0, done.stderr
        return
    _one_line(done, "cannot be a file name under .basilisk/", "ASCII letters, digits, _ and -")
    assert not (project / "PWN").exists() and _no_wasm(project)


def test_bundle_never_writes_over_the_pyproject_it_read(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()
    (project / "main.py").write_text("import json\n")
    text = '[tool.basilisk-trace]\nentry = "main.py"\n'
    (project / "pyproject.toml").write_text(text)
    for args in (("bundle", "-o", "pyproject.toml"), ("trace", "--json", "pyproject.toml")):
        done = run_cli(*args, cwd=project)
        assert done.returncode == 1 and "pyproject.toml" in done.stderr and "input" in done.stderr, done.stderr
        assert (project / "pyproject.toml").read_text() == text


def test_the_template_variable_naming_a_device_is_one_line(project: Path) -> None:
    done = subprocess.run([*_cli(), "canister", "posts", "src/main.py"], cwd=project, capture_output=True, text=True,
                          timeout=120, env=_env(Path("/dev/zero"), "posts.did"))
    _one_line(done, "/dev/zero")


def _cli() -> list[str]:
    from helpers import CLI

    return [CLI]


@pytest.mark.parametrize("which", ["entry", "template"])
def test_a_huge_sparse_entry_or_template_is_one_line(project: Path, template: Path, tmp_path: Path, which: str) -> None:
    huge = project / "src" / "main.py" if which == "entry" else tmp_path / "huge.wasm"
    with open(huge, "ab") as handle:
        handle.truncate(5 << 30)  # sparse: no disk, but read whole it is 5 GB of memory
    done = canister(project, "posts", "src/main.py", template=template if which == "entry" else huge)
    _one_line(done, str(huge.name), "larger than")
