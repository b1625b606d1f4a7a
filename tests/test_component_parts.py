"""The componentize-py host's parts that need no build: the python-path folder, the stamp, the guest's
traceback, the bindings, and the in-memory files (run on this CPython, as the guest runs them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from basilisk_trace.bundler.hosts.componentize_py import failures, provenance, stage

APPS = Path(__file__).resolve().parent / "components"


def _stage(folder: Path, data: dict[str, bytes] | None = None) -> str:
    modules = {"app.py": b"import wit_world\n", "helpers/__init__.py": b"", "helpers/words.py": b"X = 1\n"}
    return stage.stage(folder, "app", modules, data or {}, stage.Imports(("helpers.words", "json"), ("winreg",)))


class TestPythonPathFolder:
    def test_the_same_plan_gives_the_same_folder_byte_for_byte(self, tmp_path: Path) -> None:
        data = {"words/list.txt": b"alpha\nbeta\n"}
        first, second = _stage(tmp_path / "a", data), _stage(tmp_path / "b", data)
        assert first == second
        listing = [sorted((str(p.relative_to(root)), p.is_dir() or p.read_bytes(), os.lstat(p).st_mtime)
                          for p in root.rglob("*")) for root in (tmp_path / "a", tmp_path / "b")]
        assert listing[0] == listing[1]
        assert {os.lstat(p).st_mtime for p in (tmp_path / "a").rglob("*")} == {stage.MTIME}
        assert os.lstat(tmp_path / "a").st_mtime == stage.MTIME
        assert (tmp_path / "a" / "__pycache__").is_dir()  # ready for the entry's bytecode: the root's time stays

    def test_the_entry_imports_the_app_first_then_the_rest_and_passes_names_on(self, tmp_path: Path) -> None:
        _stage(tmp_path)
        text = (tmp_path / f"{stage.ENTRY}.py").read_text()
        compile(text, stage.ENTRY, "exec")
        assert text.index("import app as _app") < text.index("'helpers.words',") < text.index("'winreg',")
        assert "def __getattr__(name):\n    return getattr(_app, name)" in text
        assert stage.FILES_MODULE not in text  # no data files: no file hooks in the component

    def test_data_files_come_with_the_module_that_serves_them(self, tmp_path: Path) -> None:
        _stage(tmp_path, {"words/list.txt": b"alpha\n"})
        text = (tmp_path / f"{stage.ENTRY}.py").read_text()
        assert text.index(f"import {stage.FILES_MODULE}") < text.index("import app as _app")
        assert text.index("import app as _app") < text.index("patch_loaders()")
        namespace: dict[str, object] = {}
        exec((tmp_path / f"{stage.DATA_MODULE}.py").read_text(), namespace)
        assert namespace["FILES"] == {"words/list.txt": b"alpha\n"}


def _section(kind: int, payload: bytes) -> bytes:
    from basilisk_trace.bundler.format.wasm.leb128 import encode_unsigned

    return bytes([kind]) + encode_unsigned(len(payload)) + payload


SECTIONS = st.lists(st.tuples(st.integers(1, 12), st.binary(max_size=300)).map(lambda s: _section(*s))
                    | st.binary(max_size=40).map(lambda b: _section(0, b"\x04name" + b)), max_size=6)


@given(st.dictionaries(st.text(max_size=20), st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12), max_size=6), SECTIONS)
def test_the_stamp_reads_back_and_a_component_without_one_has_none(record: dict[str, object],
                                                                 sections: list[bytes]) -> None:
    component = b"\0asm\x0d\0\x01\0" + b"".join(sections)
    assert provenance.read_stamp(component) is None
    stamped = provenance.stamp(component, record)
    assert stamped.startswith(component)
    assert provenance.read_stamp(stamped) == record


@given(st.binary(max_size=200))
def test_reading_a_stamp_from_any_bytes_never_fails(data: bytes) -> None:
    found = provenance.read_stamp(b"\0asm\x0d\0\x01\0" + data)
    assert found is None or isinstance(found, dict)


# What componentize-py's guest printed for calls that failed (wasmtime 50, componentize-py 0.25.1).
MISSING = """Traceback (most recent call last):
  File "/0/app.py", line 11, in apply
  File "/python/importlib/__init__.py", line 88, in import_module
  File "<frozen importlib._bootstrap>", line 1398, in _gcd_import
ModuleNotFoundError: No module named 'plugins.reverse_text'

thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
"""
NO_FILE = """Traceback (most recent call last):
  File "/0/app.py", line 18, in word
  File "/0/words/__init__.py", line 3, in read
FileNotFoundError: [Errno 44] No such file or directory: '/0/words/list.txt'
thread '<unnamed>' (1) panicked at runtime/src/lib.rs:1280:25:
Python function threw an unexpected exception
"""


class TestGuestTraceback:
    def test_a_missing_module_with_its_chain(self) -> None:
        error = failures.guest_error(MISSING, "wasm trap: wasm `unreachable` instruction executed")
        assert error.module == "plugins.reverse_text" and error.file is None
        assert error.chain == ("app (line 11, in apply) -> importlib (line 88, in import_module) "
                               "-> plugins.reverse_text")
        assert str(error.importer) == "app (line 11, in apply)"
        assert error.traceback.endswith("No module named 'plugins.reverse_text'")  # not the panic after it

    def test_a_missing_file_relative_to_its_mount(self) -> None:
        error = failures.guest_error(NO_FILE, "trap")
        assert (error.file, error.module) == ("words/list.txt", None)
        assert error.chain.endswith("words (line 3, in read) -> words/list.txt")

    def test_an_import_failure_in_the_cause_explains_the_error_after_it(self) -> None:
        chained = MISSING.split("\nthread")[0] + "\n\nDuring handling of the above exception, another exception " \
            "occurred:\n\n" + "Traceback (most recent call last):\n  File \"/0/app.py\", line 12, in apply\n" \
            "KeyError: 'reverse'\n"
        assert failures.guest_error(chained, "trap").module == "plugins.reverse_text"

    @pytest.mark.parametrize(("codec", "module"), [("idna", "encodings.idna"), ("UTF8", "encodings.utf_8"),
                                                   ("latin-1", "encodings.latin_1"), ("punycode", "encodings.punycode")])
    def test_an_unknown_encoding_is_its_encodings_module(self, codec: str, module: str) -> None:
        stderr = f'Traceback (most recent call last):\n  File "/0/app.py", line 20, in ascii_host\n' \
                 f"LookupError: unknown encoding: {codec}\n"
        assert failures.guest_error(stderr, "trap").module == module

    def test_no_traceback_is_the_trap_and_the_guest_s_last_words(self) -> None:
        error = failures.guest_error("thread '<unnamed>' panicked at x.rs:1:2:\nassertion failed: ok\n", "wasm trap")
        assert error.error == "wasm trap (assertion failed: ok)" and error.module is None

    @pytest.mark.parametrize(("path", "module"), [
        ("/0/helpers/words.py", "helpers.words"), ("/1/pkg/__init__.py", "pkg"),
        ("/python/json/decoder.py", "json.decoder"), ("/python/lib/python3.14/json/__init__.py", "json"),
        ("/world/wit_world/__init__.py", "wit_world"), ("/elsewhere/x.py", "/elsewhere/x.py"),
    ])
    def test_module_of_a_guest_path(self, path: str, module: str) -> None:
        assert failures.module_of(path) == module


def test_bindings_are_generated_once_and_name_what_the_app_implements(tmp_path: Path) -> None:
    pytest.importorskip("componentize_py")
    from basilisk_trace.bundler.hosts.componentize_py.bindings import BindingsError, generate

    first = generate(APPS / "lazy_helper" / "wit", "lazy-helper", tmp_path, "0.25.1")
    again = generate(APPS / "lazy_helper" / "wit", "lazy-helper", tmp_path, "0.25.1")
    assert first == again and len(list((tmp_path / "bindings").iterdir())) == 1
    assert first.exports == (("Greeter", "wit_world.exports"),)
    assert "wit_world.exports.greeter" in first.modules and "componentize_py_types" in first.modules
    assert json.loads(first.exports_json())["classes"] == [{"class": "Greeter", "module": "wit_world.exports"}]
    with pytest.raises(BindingsError) as info:
        generate(APPS / "lazy_helper" / "wit", "nope", tmp_path, "0.25.1")
    assert "\n" not in str(info.value) and "backtrace" not in str(info.value).lower()


FILES_PROBE = """
import importlib.metadata, importlib.machinery, importlib.resources, io, json, pathlib, pkgutil, sys, types
sys.path.insert(0, sys.argv[1])
import _basilisk_trace_files as vfs
vfs.install({"words/__init__.py": b"", "words/list.txt": b"alpha\\nbeta\\n",
             "demo-1.2.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: demo\\nVersion: 1.2\\n"})
spec = importlib.machinery.ModuleSpec("words", importlib.machinery.SourceFileLoader("words", "/0/words/__init__.py"),
                                      origin="/0/words/__init__.py", is_package=True)
spec.submodule_search_locations = ["/0/words"]
words = types.ModuleType("words"); words.__spec__ = spec; words.__file__ = spec.origin; sys.modules["words"] = words
vfs.patch_loaders()
print(json.dumps([open("/0/words/list.txt").read(), pathlib.Path("/0/words/list.txt").read_bytes().decode(),
                  importlib.resources.files("words").joinpath("list.txt").read_text(),
                  [p.name for p in importlib.resources.files("words").iterdir()],
                  pkgutil.get_data("words", "list.txt").decode(), importlib.metadata.version("demo")]))
try:
    open("/0/words/other.txt")
except FileNotFoundError:
    print("missing stays missing")
"""


def test_the_in_memory_files_are_served_as_the_app_reads_them(tmp_path: Path) -> None:
    guest = Path(stage.GUEST_FILES).parent
    done = subprocess.run([sys.executable, "-I", "-c", FILES_PROBE, str(guest)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    answers, last = done.stdout.strip().splitlines()
    assert json.loads(answers) == ["alpha\nbeta\n", "alpha\nbeta\n", "alpha\nbeta\n", ["__init__.py", "list.txt"],
                                   "alpha\nbeta\n", "1.2"]
    assert last == "missing stays missing"
