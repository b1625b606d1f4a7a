"""One driver for every fixture: its real trace, plan and verify outcome against its golden file.

fixtures/README.md describes the golden format. BASILISK_TRACE_REGEN=1 rewrites the goldens from
real runs; review the diff before committing it.
"""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from typing import Any

import pytest
from conftest import planned, spec, traced, verified
from golden import (
    FIXTURES,
    REGEN,
    Case,
    case_names,
    plan_view,
    trace_view,
    verify_view,
    wants_verify,
    write,
)

CASES = case_names()
VERIFIED = [c for c in CASES if wants_verify(Case(c))]


@cache
def actual(case: str) -> dict[str, Any]:
    """What the tool does today, in the golden's shape; with BASILISK_TRACE_REGEN=1 also written."""
    given = spec(case)
    stdlib = given.get("stdlib", [])
    trace, plan = traced(case), planned(case)
    result = {key: given[key] for key in ("about", "options", "stdlib", "known_issues") if key in given}
    result["trace"] = trace_view(trace, stdlib)
    result["plan"] = plan_view(plan, trace, stdlib)
    if "verify" in given.get("options", {}):
        if plan.errors:
            pytest.fail(f"{Case(case).where}: options.verify on a plan with errors; there is no bundle to verify")
        result["verify"] = verify_view(verified(case), plan, trace)
    result = json.loads(json.dumps(result))  # tuples to lists, as in the file
    if REGEN:
        write(Case(case), result)
    return result


def expected(case: str) -> dict[str, Any]:
    # While regenerating, the golden is what was just written.
    return actual(case) if REGEN else spec(case)


@pytest.mark.parametrize("case", CASES)
def test_trace(case: str) -> None:
    assert actual(case)["trace"] == expected(case)["trace"]


def skip_unless_target_stdlib(case: str) -> None:
    """A plan that ships stdlib sources (here or in the golden) pins CPython 3.13's stdlib: another
    version's modules import other modules, and the plan warns that the versions differ."""
    if sys.version_info[:2] == (3, 13):
        return
    shipped = {*expected(case)["plan"]["files"].values(), *(f.reason for f in planned(case).files)}
    if "stdlib" in shipped:
        pytest.skip("pins CPython 3.13 (the target's version) on the host: the plan ships stdlib sources")


@pytest.mark.parametrize("case", CASES)
def test_plan(case: str) -> None:
    skip_unless_target_stdlib(case)
    assert actual(case)["plan"] == expected(case)["plan"]


@pytest.mark.parametrize("case", VERIFIED)
def test_verify(case: str) -> None:
    skip_unless_target_stdlib(case)
    assert actual(case)["verify"] == expected(case)["verify"]


@pytest.mark.parametrize("case", CASES)
def test_invariants(case: str) -> None:
    """What holds for every trace: no tool modules, chains from the entry, venv code is not stdlib."""
    trace = traced(case)
    entry = trace.module(trace.entry_module)
    assert entry is not None
    assert entry.importer is None and entry.line is None  # the tool imports the entry: no line of the program does
    for record in trace.modules:
        assert not record.name.startswith(("_basilisk_trace", "basilisk_trace"))
        assert record.chain[0] == trace.entry_module and record.chain[-1] == record.name
        if record.origin and os.sep + "site-packages" + os.sep in record.origin:
            assert not record.stdlib, record.name
    names = [m.name for m in trace.modules]
    assert names == sorted(names)


def test_every_fixture_has_a_golden() -> None:
    folders = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    bare = [name for name in folders if not list((FIXTURES / name).glob("expected*.json"))]
    assert not bare, f"fixtures without an expected.json: {bare}; see fixtures/README.md"
