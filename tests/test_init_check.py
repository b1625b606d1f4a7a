"""The init check (check/canister.py): started before its python_source exists, it answers as a run
started with it would, stops when it is not asked, and what a hostile program hands back is no answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ROOT

from basilisk_trace.base import processes
from basilisk_trace.base.launch import run_child
from basilisk_trace.bundler.check.canister import InitCheck
from basilisk_trace.bundler.check.verify import GUEST_SCRIPTS, runtime_layer_json
from basilisk_trace.bundler.pipeline import Request, make_bundle
from basilisk_trace.bundler.write.canister_source import render_canister_source

pytestmark = pytest.mark.skipif(runtime_layer_json() is None, reason="needs ic-basilisk's runtime layer")
ENTRY = ROOT / "fixtures" / "ic_python_db_canister" / "main.py"


@pytest.fixture(scope="module")
def sources_only() -> str:
    """The ORM canister's python_source as the build hands it to the check: every module as source."""
    _, _, bundle = make_bundle(Request(ENTRY, target="basilisk", compression="deflated"), without_entry=True)
    return render_canister_source(bundle, ENTRY.read_text(encoding="utf-8"), dense=False)


def test_started_early_it_answers_as_a_run_started_with_the_source(sources_only: str, tmp_path: Path) -> None:
    with InitCheck() as check:
        early = check.modules(sources_only)
    program = tmp_path / "python_source.py"
    program.write_text(sources_only, encoding="utf-8")
    run = run_child("canister_init", {"program": str(program), "runtime_layer": runtime_layer_json(), "calls": [],
                                      "exercise": []}, scripts=GUEST_SCRIPTS, python=__import__("sys").executable,
                    flags=("-I", "-S", "-B"), cwd=tmp_path, timeout=60, visible=[tmp_path])
    assert run.result is not None and run.result["failure"] is None
    assert early == run.result["compiled"]
    assert "ic_python_db.entity" in early and "ic_python_logging" in early  # what this ORM's init runs


def test_not_asked_it_stops_and_leaves_nothing() -> None:
    check = InitCheck()
    child = check._child
    assert child is not None
    run_dir = child.run_dir
    check.close()
    assert not run_dir.exists() and not processes._LIVE
    assert check.modules("raise SystemExit") is None  # closed: nothing runs


def test_a_result_the_program_rewrote_is_no_answer(sources_only: str) -> None:
    # The program's own atexit handler runs after the guest wrote its result, and may rewrite it.
    # (The runtime layer's `open` is its in-memory one: the real one is _io's.)
    forged = sources_only + (
        "\nimport _io, atexit, sys\n"
        "atexit.register(lambda: _io.open(sys.argv[-1], 'w').write('{\"failure\": null, \"compiled\": 5}'))\n")
    with InitCheck() as check:
        assert check.modules(forged) is None
