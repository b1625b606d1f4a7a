"""Outputs never destroy what they should not: special files, inputs, paths outside -o, own outputs."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.bundler.cli.canisters import ProjectError, check_canister_name
from basilisk_trace.bundler.write.atomic import OutputError, write_atomic

READS_ITS_FOLDER = (
    "import os\n"
    "here = os.path.dirname(os.path.abspath(__file__))\n"
    "for name in sorted(os.listdir(here)):\n"
    "    path = os.path.join(here, name)\n"
    "    if os.path.isfile(path):\n"
    "        open(path, 'rb').read()\n"
)


def _project(tmp_path: Path, main: str, **files: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".git").mkdir()  # a repository root: no pyproject.toml above it applies
    (project / "main.py").write_text(main)
    for name, text in files.items():
        (project / name).write_text(text)
    return project


class TestSpecialFiles:
    def test_symlink_is_refused_and_its_target_kept(self, tmp_path):
        target = tmp_path / "target.txt"
        target.write_text("keep")
        link = tmp_path / "out.zip"
        link.symlink_to(target)
        with pytest.raises(OutputError, match="symbolic link"):
            write_atomic(link, b"new")
        assert link.is_symlink() and target.read_text() == "keep"

    def test_fifo_is_refused(self, tmp_path):
        fifo = tmp_path / "out.zip"
        os.mkfifo(fifo)
        with pytest.raises(OutputError, match="FIFO"):
            write_atomic(fifo, b"new")
        assert fifo.is_fifo()

    @pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
    def test_character_device_is_refused(self, tmp_path):
        # A private copy of /dev/null's device numbers: the real one is never put at risk.
        device = tmp_path / "null"
        os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))
        with pytest.raises(OutputError, match="character device"):
            write_atomic(device, b"new")
        assert device.is_char_device()

    def test_directory_is_refused(self, tmp_path):
        with pytest.raises(OutputError, match="directory"):
            write_atomic(tmp_path, b"new")

    def test_regular_file_is_replaced(self, tmp_path):
        path = tmp_path / "out.zip"
        path.write_bytes(b"old")
        write_atomic(path, b"new")
        assert path.read_bytes() == b"new"

    def test_cli_refuses_a_fifo_in_one_line(self, tmp_path):
        project = _project(tmp_path, "import json\n")
        os.mkfifo(project / "out.zip")
        done = run_cli("bundle", "main.py", "-o", "out.zip", cwd=project)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "FIFO" in done.stderr
        assert (project / "out.zip").is_fifo()


class TestOutputIsInput:
    def test_writer_refuses_an_input_by_identity(self, tmp_path):
        source = tmp_path / "helper.py"
        source.write_text("X = 1\n")
        alias = tmp_path / "alias.py"
        alias.hardlink_to(source)
        with pytest.raises(OutputError, match="input of this run"):
            write_atomic(alias, b"PK", inputs=[str(source)])
        assert source.read_text() == "X = 1\n"

    @pytest.mark.parametrize("args", [
        ("bundle", "main.py", "-o", "main.py"),
        ("bundle", "main.py", "-o", "helper.py"),
        ("build", "main.py", "--format", "basilisk-source", "-o", "main.py"),
        ("build", "main.py", "--format", "basilisk-source", "-o", "helper.py"),
        ("trace", "main.py", "--json", "helper.py"),
    ])
    def test_cli_never_overwrites_the_entry_or_a_traced_source(self, tmp_path, args):
        project = _project(tmp_path, "import helper\n", **{"helper.py": "VALUE = 1\n"})
        before = {p.name: p.read_bytes() for p in project.glob("*.py")}
        done = run_cli(*args, cwd=project)
        assert done.returncode == 1, done.stdout
        assert "an input of this run" in done.stderr and "Traceback" not in done.stderr
        assert {p.name: p.read_bytes() for p in project.glob("*.py")} == before


def test_own_output_is_never_bundled(tmp_path):
    project = _project(tmp_path, READS_ITS_FOLDER, **{"data.txt": "kept"})
    sizes = []
    for _ in range(3):
        done = run_cli("bundle", "main.py", "-o", "bundle.zip", cwd=project)
        assert done.returncode == 0, done.stderr
        sizes.append((project / "bundle.zip").stat().st_size)
    names = zipfile.ZipFile(io.BytesIO((project / "bundle.zip").read_bytes())).namelist()
    assert "bundle.zip" not in names and "data.txt" in names
    assert len(set(sizes)) == 1
    assert "its own outputs are never bundled" in done.stderr


def test_canister_name_cannot_leave_the_output_directory(tmp_path):
    project = tmp_path / "project"
    for name in ("a", "b"):
        (project / name).mkdir(parents=True)
        (project / name / "main.py").write_text("import json\n")
    (project / "out").mkdir()
    (project / "dfx.json").write_text(
        '{"canisters": {"../../escaped": {"main": "a/main.py"}, "ok": {"main": "b/main.py"}}}')
    done = run_cli("bundle", "-o", "out", cwd=project)
    assert done.returncode == 1 and "canister name '../../escaped'" in done.stderr
    assert not list(tmp_path.rglob("escaped.zip"))


@given(st.text(min_size=1, max_size=40))
def test_an_accepted_canister_name_is_one_file_in_the_directory(name):
    try:
        check_canister_name(name, "dfx.json")
    except ProjectError:
        return
    directory = Path("/out")
    path = Path(os.path.normpath(directory / f"{name}.zip"))
    assert path.parent == directory and path.name == f"{name}.zip"
