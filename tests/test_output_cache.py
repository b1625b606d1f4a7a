"""The output cache of `bundle`: nothing is planned or written again until something changed."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import FIXTURES

from basilisk_trace import tracer
from basilisk_trace.bundler.pipeline import Request, write_bundle
from basilisk_trace.bundler.plan.model import PlanOptions


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "dynamic_import", root, ignore=shutil.ignore_patterns("no_gamma"))
    time.sleep(0.05)  # files changed as a trace begins are not cached: let the copies age past it
    return root


def request_for(project: Path, tmp_path: Path, **plan: object) -> Request:
    return Request(entry=project / "main.py", dry_run=tracer.DryRunOptions(cache_dir=tmp_path / "cache"),
                   plan=PlanOptions(**plan))  # type: ignore[arg-type]


def test_a_rebuild_with_nothing_changed_writes_nothing(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle.zip"
    first = write_bundle(request_for(project, tmp_path), output)
    before = output.stat()
    second = write_bundle(request_for(project, tmp_path), output)
    assert not first.cached and second.cached
    assert second.summary == first.summary and second.warnings == first.warnings
    after = output.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_changed_output_file_is_written_again(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle.zip"
    write_bundle(request_for(project, tmp_path), output)
    data = output.read_bytes()
    output.write_bytes(data + b"tampered")
    again = write_bundle(request_for(project, tmp_path), output)
    assert not again.cached and output.read_bytes() == data


def test_a_missing_output_file_is_written_again(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle.zip"
    write_bundle(request_for(project, tmp_path), output)
    output.unlink()
    assert not write_bundle(request_for(project, tmp_path), output).cached and output.exists()


def test_an_edited_source_rebuilds(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle.zip"
    write_bundle(request_for(project, tmp_path), output)
    data = output.read_bytes()
    (project / "plugins" / "alpha.py").write_text("def run():\n    return 'changed'\n")
    again = write_bundle(request_for(project, tmp_path), output)
    assert not again.cached and output.read_bytes() != data


@pytest.mark.parametrize("change", [
    {"plan": PlanOptions(exclude=("plugins.alpha",))},
    {"target": "pyodide"},
    {"compression": "deflated"},
])
def test_another_option_rebuilds(project: Path, tmp_path: Path, change: dict[str, object]) -> None:
    output = tmp_path / "bundle.zip"
    base = request_for(project, tmp_path)
    write_bundle(base, output)
    assert not write_bundle(replace(base, **change), output).cached  # type: ignore[arg-type]
    assert write_bundle(replace(base, **change), output).cached  # type: ignore[arg-type]


def test_another_output_path_is_its_own_entry(project: Path, tmp_path: Path) -> None:
    write_bundle(request_for(project, tmp_path), tmp_path / "a.zip")
    other = write_bundle(request_for(project, tmp_path), tmp_path / "b.zip")
    assert not other.cached and (tmp_path / "b.zip").read_bytes() == (tmp_path / "a.zip").read_bytes()


def test_without_a_trace_cache_nothing_is_remembered(project: Path, tmp_path: Path) -> None:
    output = tmp_path / "bundle.zip"
    request = replace(request_for(project, tmp_path), dry_run=tracer.DryRunOptions(use_cache=False))
    write_bundle(request, output)
    assert not write_bundle(request, output).cached
