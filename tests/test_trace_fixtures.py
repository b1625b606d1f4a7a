"""One driver for every fixture in fixtures/: trace it and compare with its expected.json."""

from __future__ import annotations

import os
from typing import Any

import pytest
from conftest import expectations, fixture_cases, traced

from basilisk_trace.bundler.report.trace import display_path

CASES = fixture_cases()


def _record_value(record: Any, field: str) -> Any:
    value = getattr(record, field)
    if field == "blocked":
        return value is not None
    if field == "chain":
        return list(value)
    return value


@pytest.mark.parametrize("case", CASES)
class TestFixture:
    def test_outcome(self, case):
        expected = expectations(case)
        trace = traced(case)
        assert trace.outcome == expected.get("outcome", "ok"), trace.traceback
        if "exit_code" in expected:
            assert trace.exit_code == expected["exit_code"]
        if "runtime" in expected:
            assert trace.runtime == expected["runtime"]
        if "traceback_contains" in expected:
            assert expected["traceback_contains"] in (trace.traceback or "")

    def test_modules(self, case):
        trace = traced(case)
        for name, fields in expectations(case).get("modules", {}).items():
            record = trace.module(name)
            assert record is not None, f"{name} missing from the trace"
            for field, value in fields.items():
                assert _record_value(record, field) == value, f"{name}.{field}"

    def test_absent(self, case):
        trace = traced(case)
        for name in expectations(case).get("absent", []):
            assert trace.module(name) is None, f"{name} should not be in the trace"

    def test_files(self, case):
        expected = expectations(case).get("files")
        if expected is None:
            return
        trace = traced(case)
        read = {display_path(f.path, trace) for f in trace.files if f.read}
        assert set(expected.get("read", [])) <= read
        unread = [f for f in trace.files if not f.read]
        assert len(unread) >= expected.get("unread_at_least", 0)
        roles = {display_path(f.path, trace): f.role for f in trace.files}
        for path, role in expected.get("roles", {}).items():
            assert roles[path] == role

    def test_events_and_methods(self, case):
        expected = expectations(case)
        trace = traced(case)
        assert sorted({e.kind for e in trace.events}) == sorted(set(expected.get("events", [])))
        methods = {m.name: m.error for m in trace.methods}
        for name, error in expected.get("methods", {}).items():
            assert name in methods, f"method {name} was not exercised"
            if error is None:
                assert methods[name] is None
            else:
                assert error in (methods[name] or "")

    def test_invariants(self, case):
        """What holds for every trace: no tool modules, no aliases, venv code is not stdlib."""
        trace = traced(case)
        for record in trace.modules:
            assert not record.name.startswith(("_basilisk_trace", "basilisk_trace"))
            assert record.chain[0] == trace.entry_module and record.chain[-1] == record.name
            if record.origin and os.sep + "site-packages" + os.sep in record.origin:
                assert not record.stdlib, record.name
        names = [m.name for m in trace.modules]
        assert names == sorted(names)
