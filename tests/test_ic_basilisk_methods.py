"""ic-basilisk's method extraction run ahead of its build: the same results, each text extracted once."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import basilisk.wasm_manipulator as manipulator
import pytest
from helpers import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.bundler.write import ic_basilisk_methods as methods
from basilisk_trace.bundler.write.canister_source import elided, render_canister_source, skeleton

MAIN = "from basilisk import query, text\n\n\n@query\ndef greet(name: text) -> text:\n    return name\n"


@pytest.mark.parametrize("sibling", [False, True])
def test_the_build_gets_what_it_would_have_extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     sibling: bool) -> None:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "main.py").write_text(MAIN)
    if sibling:  # a second canister in src/: the build extracts from two different texts
        (tmp_path / "src" / "other").mkdir()
        (tmp_path / "src" / "other" / "main.py").write_text(MAIN.replace("greet", "other"))
    monkeypatch.chdir(tmp_path)
    entry = os.path.join("src", "app", "main.py")
    texts = methods.sources(entry)
    expected = [manipulator.extract_methods_from_python(t) for t in texts]
    found = methods.methods_ahead(entry)
    assert len(found) == (2 if sibling else 1)
    calls = []
    original = manipulator.extract_methods_from_python
    monkeypatch.setattr(manipulator, "extract_methods_from_python", lambda text: calls.append(text) or original(text))
    with methods.reusing(found):
        got = [manipulator.extract_methods_from_python(t) for t in texts]
        got[0][0].clear()  # the build changes what it gets: the next answer is a fresh copy
        again = manipulator.extract_methods_from_python(texts[0])
    assert got[1:] == expected[1:] and again == expected[0] and not calls
    files, folders = methods.read_by_build(entry)
    assert sorted(files) == sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "src").rglob("*.py"))


RECORD = "from basilisk import Record, nat\n\n\nclass Point(Record):\n    x: nat\n    y: nat\n"


def test_a_process_of_its_own_answers_each_text_as_this_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capfd: pytest.CaptureFixture[str]) -> None:
    """The extraction's child reads the files and answers each text it read, as ic-basilisk here would;
    its warnings reach stderr; the build then extracts nothing again."""
    (tmp_path / "src" / "app" / "models").mkdir(parents=True)
    (tmp_path / "src" / "app" / "main.py").write_text(MAIN.replace("-> text", "-> Point") + "\nfrom app.models import Point\n")
    (tmp_path / "src" / "app" / "models" / "point.py").write_text(RECORD)
    (tmp_path / "src" / "other").mkdir()
    # The same Record with other fields in the other canister: ic-basilisk warns that it merges them.
    (tmp_path / "src" / "other" / "main.py").write_text(RECORD.replace("y: nat", "z: nat"))
    monkeypatch.chdir(tmp_path)
    entry = os.path.join("src", "app", "main.py")
    found = methods.start_methods_ahead(entry, own_process=0).result()
    assert "duplicate Record 'Point'" in capfd.readouterr().err
    assert found == methods.methods_ahead(entry) and len(found) == 2
    assert all(type(got) is type(expected) for got, expected in zip(found.values(), methods.methods_ahead(entry).values(),
                                                                       strict=True))


def test_a_text_it_cannot_extract_is_left_to_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "main.py").write_text(MAIN)
    (tmp_path / "src" / "other").mkdir()
    (tmp_path / "src" / "other" / "main.py").write_text("def broken(:\n")
    monkeypatch.chdir(tmp_path)
    entry = os.path.join("src", "app", "main.py")
    found = methods.start_methods_ahead(entry, own_process=0).result()
    assert found == methods.methods_ahead(entry) and len(found) == 1  # the entry folder's text only


def test_started_before_the_command_line_is_parsed_the_build_gets_it(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "main.py").write_text(MAIN)
    monkeypatch.chdir(tmp_path)
    entry = os.path.join("src", "app", "main.py")
    (tmp_path / "src" / "app" / "big.py").write_text("x = 1\n" * methods.OWN_PROCESS)
    methods.start_early(entry)
    early = methods._STARTED[(os.getcwd(), entry)]
    assert methods.start_methods_ahead(entry) is early and early.result() == methods.methods_ahead(entry)
    assert methods.start_methods_ahead(entry) is not early  # taken once; another asks again


def test_small_sources_are_not_started_early(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Small ones are extracted in the build's own process, once its output is recorded (not before)."""
    (tmp_path / "src" / "app").mkdir(parents=True)
    (tmp_path / "src" / "app" / "main.py").write_text(MAIN)
    monkeypatch.chdir(tmp_path)
    methods.start_early(os.path.join("src", "app", "main.py"))
    methods.start_early("main.py")  # an entry at the root: nothing to extract ahead
    assert not methods._STARTED


# Real entries that sit at a project's root, where ic-basilisk extracts from the python_source itself.
ROOT_ENTRIES = [ROOT / "benchmarks" / "canisters" / "hello" / "main.py",
                ROOT / "fixtures" / "ic_python_db_canister" / "main.py", ROOT / "examples" / "canister" / "main.py",
                ROOT / "tests" / "projects" / "dfx_two_canisters" / "notes.py"]


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


@settings(max_examples=40, deadline=None)
@given(entry=st.sampled_from(ROOT_ENTRIES), python=st.sampled_from([None, "3.13"]), dense=st.booleans(),
       files=st.dictionaries(st.sampled_from(["app.py", "pkg/__init__.py", "pkg/mod.py", "data/x.bin"]),
                             st.binary(max_size=3000) | st.sampled_from([b"x = 1\n", b"class A:\n    pass\n"])))
def test_the_payload_is_nothing_to_the_extraction(entry: Path, python: str | None, dense: bool,
                                                  files: dict[str, bytes]) -> None:
    """Whatever the bundle, a python_source's elided form is the skeleton of its entry, and ic-basilisk
    extracts from it exactly what it extracts from the python_source."""
    text, target = entry.read_text(encoding="utf-8"), "/lib/site-packages"
    final = render_canister_source(_zip(files), text, target=target, python=python, init=sorted(files), dense=dense)
    assert elided(final) == skeleton(text, target)
    assert manipulator.extract_methods_from_python(final) == manipulator.extract_methods_from_python(skeleton(text, target))
    assert elided(text) is None  # the entry itself is no python_source of ours


def test_a_root_entrys_build_extracts_nothing_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.py").write_text(MAIN)
    final = render_canister_source(_zip({"lib.py": b"x = 1\n"}), MAIN, target="/lib/site-packages")
    expected = manipulator.extract_methods_from_python(final)
    found = methods.start_methods_ahead("main.py", skeleton=skeleton(MAIN, "/lib/site-packages")).result()
    calls = []
    original = manipulator.extract_methods_from_python
    monkeypatch.setattr(manipulator, "extract_methods_from_python", lambda text: calls.append(text) or original(text))
    with methods.reusing(found):
        assert manipulator.extract_methods_from_python(final) == expected
    assert not calls
