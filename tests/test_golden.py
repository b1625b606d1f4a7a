"""The golden format itself: a golden that checks nothing, or says what nobody reads, is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import golden
import pytest
from golden import Case, GoldenError, dumps, read
from hypothesis import given
from hypothesis import strategies as st

TRACE = {"outcome": "ok", "exit_code": None, "runtime": "stub", "error": None, "frames": [], "modules": {"main": {"kind": "source"}},
         "files": {"read": {}, "unread": 0}, "events": [], "methods": {}}
PLAN = {"files": {"main.py": "entry"}, "probed": 0, "left_out": {}, "problems": []}
VERIFY = {"ok": True, "methods": 0, "failures": []}


@pytest.fixture
def fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(golden, "FIXTURES", tmp_path)
    monkeypatch.setattr(golden, "REGEN", False)
    (tmp_path / "case").mkdir()
    return tmp_path


def _read(fixtures: Path, data: Any) -> dict[str, Any]:
    (fixtures / "case" / "expected.json").write_text(json.dumps(data))
    return read(Case("case"))


def test_a_complete_golden_is_read(fixtures: Path) -> None:
    data = {"about": "x", "options": {"verify": {}}, "trace": TRACE, "plan": PLAN, "verify": VERIFY}
    assert _read(fixtures, data) == data


@pytest.mark.parametrize(("data", "message"), [
    ({"about": "x"}, "no 'trace' section"),
    ({"about": "x", "trace": TRACE}, "no 'plan' section"),
    ({"about": "x", "options": {"verify": {}}, "trace": TRACE, "plan": PLAN}, "no 'verify' section"),
    ({"about": "x", "trace": TRACE, "plan": PLAN, "verify": VERIFY}, "without options.verify"),
    ({"about": "old format", "outcome": "ok", "modules": {}, "absent": ["x"]}, "unknown key 'absent'"),
    ({"trace": TRACE, "plan": PLAN}, "'about'"),
    ({"about": "x", "options": {"exercize": True}, "trace": TRACE, "plan": PLAN}, "unknown options key 'exercize'"),
    ({"about": "x", "options": {"exercise": "yes"}, "trace": TRACE, "plan": PLAN}, "options.exercise has the wrong type"),
    ({"about": "x", "options": {"timeout": True}, "trace": TRACE, "plan": PLAN}, "options.timeout has the wrong type"),
    ({"about": "x", "trace": {**TRACE, "absent": []}, "plan": PLAN}, "not absent"),
    ({"about": "x", "trace": TRACE, "plan": {"files": {}}}, "'plan' must have exactly the keys"),
    ({"about": "x", "stdlib": "colorsys", "trace": TRACE, "plan": PLAN}, "'stdlib' must be a list"),
    ([], "must hold a JSON object"),
])
def test_refused(fixtures: Path, data: Any, message: str) -> None:
    with pytest.raises(GoldenError, match=message) as error:
        _read(fixtures, data)
    assert "case/expected.json: " in str(error.value)


def test_variant_file_names(fixtures: Path) -> None:
    assert Case("case:exercised").path == fixtures / "case" / "expected.exercised.json"


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                     max_leaves=12)


@given(_JSON)
def test_dumps_is_json(value: Any) -> None:
    assert json.loads(dumps(value)) == value
