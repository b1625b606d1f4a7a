"""ic-basilisk's method extraction run ahead of its build: the same results, each text extracted once."""

from __future__ import annotations

import os
from pathlib import Path

import basilisk.wasm_manipulator as manipulator
import pytest

from basilisk_trace.bundler.write import ic_basilisk_methods as methods

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
