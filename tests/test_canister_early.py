"""canister NAME ENTRY starts its dry run before the command line library loads: the command takes that
run, never a second one; a command that would be refused runs nothing; options it cannot read start none."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from helpers import CLI
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat

# Each dry run of the program adds a line to RUNS (outside the project: the hooks let it write there,
# without the sandbox). The init check runs the program too, but its `open` is the runtime layer's
# in-memory one: only dry runs reach the disk.
PROGRAM = ("from basilisk import query, text\n"
           "with open({runs!r}, 'a') as handle:\n    handle.write('run\\n')\n\n\n"
           "@query\ndef greet(name: text) -> text:\n    return name\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(PROGRAM.format(runs=str(tmp_path / "runs")))
    (tmp_path / "template.wasm").write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return project


def _canister(project: Path, *args: str, candid: str | None = ".basilisk/app/app.did") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CANISTER_CANDID_PATH"}
    # No trace cache (its folder would be inside a file): a second dry run could not be a cache hit.
    (project.parent / "no-cache").touch()
    env.update(BASILISK_TRACE_SANDBOX="0", XDG_CACHE_HOME=str(project.parent / "no-cache"),
               BASILISK_TEMPLATE_WASM=str(project.parent / "template.wasm"), **({"CANISTER_CANDID_PATH": candid} if candid else {}))
    return subprocess.run([CLI, "canister", *args], cwd=project, capture_output=True, text=True, timeout=300, env=env)


def _runs(project: Path) -> int:
    runs = project.parent / "runs"
    return len(runs.read_text().splitlines()) if runs.exists() else 0


@pytest.mark.parametrize("args", [("app", "main.py"), ("app", "main.py", "--exercise", "-v"),
                                  ("app", "main.py", "--include", "json"), ("--exercise", "app", "main.py")])
def test_one_dry_run_whether_it_started_early_or_not(project: Path, args: tuple[str, ...]) -> None:
    done = _canister(project, *args)
    assert done.returncode == 0, done.stderr
    assert _runs(project) == 1
    assert (project / ".basilisk" / "app" / "app.wasm").is_file()


def test_a_refused_command_runs_nothing(project: Path) -> None:
    done = _canister(project, "app", "main.py", candid=None)
    assert done.returncode == 1 and "CANISTER_CANDID_PATH is not set" in done.stderr
    assert _runs(project) == 0


def test_a_usage_error_leaves_no_child(project: Path) -> None:
    done = _canister(project, "app", "main.py", "--exercise", "--no-such-option")
    assert done.returncode == 2 and "No such option" in done.stderr
    assert _runs(project) == 0  # an option the early start cannot read starts nothing
