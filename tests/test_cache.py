"""The trace cache: reused while nothing changed, retraced exactly when anything did."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from helpers import FIXTURES, ROOT

from basilisk_trace import tracer


@pytest.fixture()
def project(tmp_path):
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "dynamic_import", root, ignore=shutil.ignore_patterns("no_gamma"))
    time.sleep(0.05)  # files changed as a trace begins are not cached: let the copies age past it
    return root


def run(project, tmp_path, **options):
    return tracer.trace(project / "main.py", tracer.DryRunOptions(cache_dir=tmp_path / "cache", **options))


def test_second_trace_is_reused(project, tmp_path):
    first = run(project, tmp_path)
    second = run(project, tmp_path)
    assert not first.cached and second.cached
    assert [m.name for m in first.modules] == [m.name for m in second.modules]


def test_editing_a_traced_file_retraces(project, tmp_path):
    run(project, tmp_path)
    (project / "plugins" / "alpha.py").write_text("import json\n\ndef run():\n    return 'changed'\n")
    again = run(project, tmp_path)
    assert not again.cached
    assert again.module("plugins.alpha").size == len("import json\n\ndef run():\n    return 'changed'\n")


def test_touching_without_change_keeps_the_cache(project, tmp_path):
    run(project, tmp_path)
    path = project / "plugins" / "alpha.py"
    path.write_bytes(path.read_bytes())
    assert run(project, tmp_path).cached


def test_a_new_module_in_the_project_retraces(project, tmp_path):
    run(project, tmp_path)
    (project / "json.py").write_text("SHADOW = True\n")  # would now shadow an import
    assert not run(project, tmp_path).cached


def test_changing_an_option_retraces(project, tmp_path):
    run(project, tmp_path)
    assert not run(project, tmp_path, exercise=True).cached
    assert run(project, tmp_path, exercise=True).cached
    assert run(project, tmp_path).cached


def test_installing_a_package_on_the_path_retraces(project, tmp_path, monkeypatch):
    extra = tmp_path / "extra-site"
    extra.mkdir()
    monkeypatch.setenv("PYTHONPATH", str(extra))
    run(project, tmp_path)
    assert run(project, tmp_path).cached
    (extra / "newpkg").mkdir()
    (extra / "newpkg" / "__init__.py").write_text("")
    assert not run(project, tmp_path).cached
    shutil.rmtree(extra / "newpkg")  # and removing it again
    assert not run(project, tmp_path).cached


def test_failed_programs_are_not_cached(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "main.py").write_text("raise SystemExit(2)\n")
    first = tracer.trace(root / "main.py", tracer.DryRunOptions(cache_dir=tmp_path / "c"))
    second = tracer.trace(root / "main.py", tracer.DryRunOptions(cache_dir=tmp_path / "c"))
    assert first.outcome == second.outcome == "exit" and not second.cached


def test_environment_names_never_values(project, tmp_path, monkeypatch):
    monkeypatch.setenv("TZ", "Secret/Value")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    trace = run(project, tmp_path)
    assert "TZ" in trace.environment and "AWS_SECRET_ACCESS_KEY" not in trace.environment
    from basilisk_trace.bundler.report.trace import render_text, to_json

    assert "Secret/Value" not in render_text(trace) + to_json(trace)
    assert "hunter2" not in render_text(trace) + to_json(trace)


@pytest.mark.parametrize("script", ["child/static.py", "child/runner.py"])
def test_a_change_to_the_tracer_retraces(project, tmp_path, script):
    """The tracer's child scripts decide what a trace holds: a newer one must not reuse old traces."""
    run(project, tmp_path)
    path = ROOT / "tracer" / script
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1))
    try:
        assert not run(project, tmp_path).cached
    finally:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
