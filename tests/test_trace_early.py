"""`trace ENTRY` and `bundle ENTRY -o OUT` start their dry run before the command line library loads:
the command takes that run, never a second one, and reports what it would have without it; a
command that would be refused runs nothing; options the early start cannot read start none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import CLI

# Each dry run adds a line to RUNS (outside the project: the hooks let it write there, without the sandbox).
PROGRAM = "import json\nwith open({runs!r}, 'a') as handle:\n    handle.write('run\\n')\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(PROGRAM.format(runs=str(tmp_path / "runs")))
    return project


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # No trace cache (its folder would be inside a file): a second dry run could not be a cache hit.
    (project.parent / "no-cache").touch()
    env = {**os.environ, "BASILISK_TRACE_SANDBOX": "0", "XDG_CACHE_HOME": str(project.parent / "no-cache")}
    return subprocess.run([CLI, *args], cwd=project, capture_output=True, text=True, timeout=300, env=env)


def _runs(project: Path) -> int:
    runs = project.parent / "runs"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


@pytest.mark.parametrize("args", [
    ("trace", "main.py"),  # started early
    ("trace", "--exercise", "main.py"),
    ("trace", "--stdlib", "main.py"),  # not: an option the early start does not read
    ("bundle", "main.py", "-o", "out.zip"),
    ("bundle", "-o", "out.zip", "--no-exercise", "main.py", "--target", "pyodide"),
    ("bundle", "main.py", "-o", "out.zip", "--include", "json"),  # not
])
def test_one_dry_run_whether_it_started_early_or_not(project: Path, args: tuple[str, ...]) -> None:
    done = _run(project, *args)
    assert done.returncode == 0, done.stderr
    assert _runs(project) == 1
    assert args[0] == "trace" or (project / "out.zip").is_file()


def test_the_report_is_the_same_either_way(project: Path) -> None:
    early = _run(project, "trace", "main.py")
    late = _run(project, "trace", "main.py", "--timeout", "60")  # the default, but the early start does not read it
    assert early.returncode == late.returncode == 0, early.stderr + late.stderr
    assert early.stdout == late.stdout and "Trace of main.py" in early.stdout
    assert _runs(project) == 2


def test_a_refused_bundle_runs_nothing(project: Path) -> None:
    done = _run(project, "bundle", "main.py", "-o", "main.py")  # the output would replace the entry
    assert done.returncode != 0 and "main.py" in done.stderr
    assert _runs(project) == 0


@pytest.mark.parametrize("args", [("trace", "main.py", "--no-such-option"), ("trace", "main.py", "--target", "basilisk"),
                                  ("bundle", "main.py", "-o", "out.zip", "--target", "no-such-host")])
def test_a_usage_error_leaves_no_child(project: Path, args: tuple[str, ...]) -> None:
    done = _run(project, *args)
    assert done.returncode == 2 and ("No such option" in done.stderr or "no-such-host" in done.stderr), done.stderr
    assert _runs(project) == 0
