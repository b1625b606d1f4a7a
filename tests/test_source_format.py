"""Tests for the basilisk-source output, executed in stripped-down child interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_bootstrap import BLIND, EXPECTED, RESTRICT, write_program

from basilisk_trace.bundler.format.manifest import Manifest
from basilisk_trace.bundler.write.archive import BundleFile, build_zip
from basilisk_trace.bundler.write.basilisk_source import (
    SourceFormatError,
    bytes_literal,
    render_basilisk_source,
)

# Runs the rendered source the way a canister template does: as the whole
# program, in a namespace of its own, with no sys.path and no path importers.
CHILD = (
    "import sys, importlib\n"
    "source = open(sys.argv[1]).read()\n"
    "{restrict}"
    "namespace = {{'__name__': '__main__'}}\n"
    "exec(compile(source, 'canister.py', 'exec'), namespace)\n"
    "import main\n"
    "result = {{\n"
    "    'hello': namespace['hello']('world'), 'alpha': namespace['plugin']('alpha'),\n"
    "    'beta': namespace['plugin']('beta'), 'table': namespace['table'](), 'model': namespace['model'](),\n"
    "    'same': namespace['hello'] is main.hello, 'names': sorted(namespace),\n"
    "    'meta_path': [type(f).__name__ for f in sys.meta_path], 'path': sys.path,\n"
    "    'file': main.__file__,\n"
    "}}\n"
    "print(repr(result))\n"
)
ENTRY_NAMES = ["Model", "app", "greet", "hello", "importlib", "model", "plugin", "table"]


def _run(tmp_path: Path, source: str, restrict: str = RESTRICT) -> dict:
    path = tmp_path / "canister.py"
    path.write_text(source)
    child = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CHILD.format(restrict=restrict), str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert child.returncode == 0, child.stderr
    return ast.literal_eval(child.stdout.strip().splitlines()[-1])


@pytest.fixture
def program_zip(tmp_path: Path) -> bytes:
    return build_zip(write_program(tmp_path / "src"), manifest=Manifest(entry="main"))


class TestExecution:
    def test_methods_visible_at_top_level(self, tmp_path: Path, program_zip: bytes) -> None:
        result = _run(tmp_path, render_basilisk_source(program_zip, "main"))
        assert {k: result[k] for k in ("hello", "alpha", "beta", "table", "model")} == {
            k: v for k, v in EXPECTED.items() if k != "ns"
        }
        assert result["same"] is True
        # Only the entry's names and the namespace's own dunders: no temporaries leak.
        assert result["names"] == sorted(["__builtins__", "__name__", *ENTRY_NAMES])
        assert result["meta_path"] == ["type", "type", "MemoryImporter"]
        assert result["path"] == []
        assert result["file"] == "/lib/site-packages/main.py"

    def test_when_meta_path_is_not_consulted(self, tmp_path: Path, program_zip: bytes) -> None:
        result = _run(tmp_path, render_basilisk_source(program_zip, "main"), restrict=RESTRICT + BLIND)
        assert result["hello"] == "HELLO WORLD!" and result["beta"] == "BETA!" and result["table"] == EXPECTED["table"]
        assert result["names"] == sorted(["__builtins__", "__name__", *ENTRY_NAMES])

    def test_dotted_entry_and_other_target(self, tmp_path: Path, program_zip: bytes) -> None:
        source = render_basilisk_source(program_zip, "app.core", target="/srv/bundle")
        namespace: dict = {"__name__": "__main__"}
        script = (
            "import sys\nnamespace = {'__name__': '__main__'}\n"
            "exec(compile(open(sys.argv[1]).read(), 'canister.py', 'exec'), namespace)\n"
            "print(repr((namespace['greet']('x'), sys.modules['app.core'].__file__)))\n"
        )
        (tmp_path / "canister.py").write_text(source)
        child = subprocess.run(
            [sys.executable, "-I", "-S", "-c", script, str(tmp_path / "canister.py")],
            capture_output=True, text=True, timeout=60, check=True,
        )
        assert ast.literal_eval(child.stdout.strip()) == ("HELLO X!", "/srv/bundle/app/core.py")
        assert namespace == {"__name__": "__main__"}

    def test_entry_errors_surface(self, tmp_path: Path) -> None:
        files = [BundleFile("main.py", b"raise RuntimeError('canister init failed')\n", "main", None, None, "entry")]
        (tmp_path / "canister.py").write_text(render_basilisk_source(build_zip(files), "main"))
        child = subprocess.run(
            [sys.executable, "-I", "-S", str(tmp_path / "canister.py")], capture_output=True, text=True, timeout=60,
        )
        assert child.returncode != 0
        assert "canister init failed" in child.stderr and "/lib/site-packages/main.py" in child.stderr


class TestRendering:
    def test_deterministic_and_compiles(self, program_zip: bytes) -> None:
        first = render_basilisk_source(program_zip, "main")
        assert first == render_basilisk_source(program_zip, "main")
        compile(first, "canister.py", "exec")
        assert first.isascii()

    def test_stored_sources_stay_readable(self, program_zip: bytes) -> None:
        source = render_basilisk_source(program_zip, "main")
        assert "def shout(text):" in source  # sources inside the bundle literal
        assert "class MemoryImporter" in source  # the embedded bootstrap

    @given(data=st.binary(max_size=5000))
    @settings(max_examples=100, deadline=None)
    def test_bytes_literal_round_trips(self, data: bytes) -> None:
        literal = bytes_literal(data)
        assert ast.literal_eval(literal) == data
        assert literal.isascii()


class TestRejects:
    def test_entry_not_in_bundle(self, program_zip: bytes) -> None:
        with pytest.raises(SourceFormatError, match="'canister' is not in the bundle"):
            render_basilisk_source(program_zip, "canister")

    def test_file_name_instead_of_module(self, program_zip: bytes) -> None:
        with pytest.raises(SourceFormatError, match=r"no \.py"):
            render_basilisk_source(program_zip, "main.py")

    @pytest.mark.parametrize("name", ["", "main-app", "app/core", "1main", "class", "app..core"])
    def test_bad_entry_name(self, program_zip: bytes, name: str) -> None:
        with pytest.raises(SourceFormatError, match="not a dotted Python module name"):
            render_basilisk_source(program_zip, name)

    def test_not_a_bundle(self) -> None:
        with pytest.raises(SourceFormatError, match="not a valid ZIP"):
            render_basilisk_source(b"not a zip", "main")

