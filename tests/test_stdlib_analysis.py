"""The static pass's answers shipped for the stdlib (tracer/child/stdlib-analysis-3.X.json) are the
answers the child would work out: for every stdlib file of this interpreter the table names, the
same; made by this analyzer (any change to it voids the table until it is written again); and used
by the child in place of parsing, never when the table is damaged or another analyzer's."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import load_path

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "tools" / "gen_stdlib_analysis.py"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_path("gen_stdlib_analysis", GENERATOR)


@pytest.fixture(scope="module")
def child(generator: ModuleType) -> dict[str, ModuleType]:
    return generator.child_modules()


@pytest.fixture(scope="module")
def shipped(child: dict[str, ModuleType]) -> dict:
    path = Path(child["stdlib_analysis"].table_path())
    if not path.is_file():
        pytest.skip(f"no table for Python {sys.version_info[0]}.{sys.version_info[1]} (the static pass parses)")
    return json.loads(path.read_text(encoding="utf-8"))


def test_the_table_was_made_by_this_analyzer(shipped: dict, child: dict[str, ModuleType]) -> None:
    assert shipped["analyzer"] == child["stdlib_analysis"].analyzer_digest(), (
        "the static pass's code changed since the stdlib table was written: run "
        "python tools/gen_stdlib_analysis.py (and .venv-3.12/bin/python tools/gen_stdlib_analysis.py)")


def test_every_answer_is_what_the_child_works_out(shipped: dict, generator: ModuleType,
                                                  child: dict[str, ModuleType]) -> None:
    fresh = generator.analysis(child)
    for part in ("sites", "import_time"):
        named = {key: value for key, value in shipped[part].items() if key in fresh[part]}
        assert named == {key: fresh[part][key] for key in named}, part
        # This interpreter's stdlib is the one the table was made from: every file is in it.
        assert set(fresh[part]) <= set(shipped[part]), f"{part}: run python tools/gen_stdlib_analysis.py"


def _cache(child: dict[str, ModuleType], tmp_path: Path, table: object) -> object:
    analysis = child["stdlib_analysis"]
    path = tmp_path / "table.json"
    path.write_text(json.dumps(table), encoding="utf-8")
    sources = sys.modules["_basilisk_trace_load"].load("site_sources")
    cache = sources.Cache(None, child["static"].StaticImport)
    cache.shipped = analysis.Table()
    original = analysis.table_path
    analysis.table_path = lambda version=None: str(path)
    try:
        cache.shipped._loaded()
    finally:
        analysis.table_path = original
    return cache


def test_the_child_takes_the_shipped_answer(child: dict[str, ModuleType], tmp_path: Path) -> None:
    analysis = child["stdlib_analysis"]
    source = b"if __name__ == '__main__':\n    import this_is_never_parsed\n"
    marker = [["from_the_table", [], 0, 7, [False, False, False, False]]]
    uses = [["marker_module"], []]
    table = {"analyzer": analysis.analyzer_digest(), "sites": {analysis.sites_key(source): marker},
             "import_time": {analysis.import_time_key(source, "pkg"): uses}}
    cache = _cache(child, tmp_path, table)
    [site] = cache.shipped_sites(source)
    assert (site.module, site.line) == ("from_the_table", 7)
    assert cache.import_time(source, "pkg", lambda s, p: pytest.fail("parsed")) == ({"marker_module"}, [])


@pytest.mark.parametrize("table", [
    {"analyzer": "another analyzer", "sites": {}, "import_time": {}},
    {"analyzer": None, "sites": [], "import_time": 3},
    ["not", "a", "table"],
])
def test_a_table_it_cannot_trust_is_not_used(child: dict[str, ModuleType], tmp_path: Path, table: object) -> None:
    analysis = child["stdlib_analysis"]
    source = b"import json\n"
    if isinstance(table, dict) and isinstance(table.get("sites"), dict):
        table["sites"][analysis.sites_key(source)] = [["wrong", [], 0, 1, [False, False, False, False]]]
    cache = _cache(child, tmp_path, table)
    assert cache.shipped_sites(source) is None
    assert cache.import_time(source, "", lambda s, p: ({"computed"}, [])) == ({"computed"}, [])
