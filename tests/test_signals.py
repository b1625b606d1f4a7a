"""Ctrl-C, SIGTERM and SIGHUP stop the tool cleanly: no child left, no temporary files, no late outputs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import CLI

SLOW = "import time\ntime.sleep(30)\n"


def _start(args: list[str], cwd: Path, tmp: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache")}
    return subprocess.Popen([CLI, *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _children_running(marker: Path) -> list[int]:
    """Processes working in `marker` (the dry run's child has the project as its directory)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd").startswith(str(marker)):
                found.append(int(pid))
        except OSError:
            pass
    return found


def _children_left(marker: Path, grace: float = 5.0) -> list[int]:
    """The processes still working in `marker` once the kernel has had `grace` seconds to reap them.

    The tool kills its children's process group (and bubblewrap's PID namespace) before it
    exits; on a loaded machine their teardown can lag the tool's own exit by a moment.
    """
    deadline = time.monotonic() + grace
    while (found := _children_running(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _wait_for_child(project: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not _children_running(project):
        assert time.monotonic() < deadline, "the dry run never started"
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_trace_stops_everything(tmp_path, signum):
    project, tmp = tmp_path / "project", tmp_path / "tmp"
    project.mkdir()
    tmp.mkdir()
    (project / "main.py").write_text(SLOW)
    tool = _start(["trace", str(project / "main.py")], tmp_path, tmp)
    try:
        _wait_for_child(project)
        tool.send_signal(signum)
        _, stderr = tool.communicate(timeout=30)
    finally:
        tool.kill()
    assert tool.returncode == 128 + signum, stderr
    assert stderr.strip().splitlines()[-1] == "basilisk-trace: interrupted"
    assert _children_left(project) == []
    assert sorted(p.name for p in tmp.iterdir()) == []  # no basilisk-trace-* directory left


def test_ctrl_c_in_a_run_of_many_canisters_writes_nothing_after_it(tmp_path):
    project, tmp, out = tmp_path / "project", tmp_path / "tmp", tmp_path / "project" / "out"
    for directory in (tmp, out):
        directory.mkdir(parents=True)
    names = [f"c{i}" for i in range(6)]
    for name in names:
        (project / name).mkdir()
        # The first two are slow; the others would be written at once were they not stopped.
        (project / name / "main.py").write_text(SLOW if name in ("c0", "c1") else "X = 1\n")
    canisters = ", ".join(f'"{n}": {{"main": "{n}/main.py"}}' for n in names)
    (project / "dfx.json").write_text(f'{{"canisters": {{{canisters}}}}}')
    tool = _start(["bundle", "-o", "out"], project, tmp)
    try:
        _wait_for_child(project / "c0")
        tool.send_signal(signal.SIGINT)
        _, stderr = tool.communicate(timeout=30)
    finally:
        tool.kill()
    assert tool.returncode == 130, stderr
    assert "basilisk-trace: interrupted" in stderr
    written = sorted(p.name for p in out.iterdir())
    time.sleep(1)
    assert sorted(p.name for p in out.iterdir()) == written
    assert not any(name.endswith(".tmp") for name in written)
    assert {"c0.zip", "c1.zip"}.isdisjoint(written)
    assert _children_left(project) == []


WRITE_INTERRUPTED = """
import os, signal, sys
from basilisk_trace.bundler.cli import _command
from basilisk_trace.bundler.write import atomic

_command.install_handlers()
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGTERM)  # the signal lands mid-write
try:
    atomic.write_atomic(sys.argv[1], b"new")
except KeyboardInterrupt as exc:
    print(type(exc).__name__, exc.exit_code)
"""


def test_a_signal_while_writing_leaves_the_old_output_and_no_temporary_file(tmp_path):
    target = tmp_path / "out.zip"
    target.write_bytes(b"old")
    done = subprocess.run([sys.executable, "-c", WRITE_INTERRUPTED, str(target)], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "Interrupted 143", done.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["out.zip"] and target.read_bytes() == b"old"


def test_a_signal_during_a_canister_build_stops_its_children(tmp_path):
    """canister runs three children at once (the dry run, the init check waiting for its source, and
    ic-basilisk's method extraction in a process of its own): SIGTERM stops every one, writes nothing."""
    from tests.canister_builds import write_template

    project, tmp = tmp_path / "project", tmp_path / "tmp"
    (project / "src" / "app").mkdir(parents=True)
    tmp.mkdir()
    (project / "src" / "app" / "main.py").write_text("from basilisk import query, text\n" + SLOW)
    # Sources enough for the extraction to take a process of its own (ic_basilisk_methods.OWN_PROCESS).
    (project / "src" / "app" / "big.py").write_text("".join(f"def f{i}(a: int) -> int:\n    return a + {i}\n"
                                                            for i in range(4000)))
    env = {**os.environ, "TMPDIR": str(tmp), "XDG_CACHE_HOME": str(tmp / "cache"), "CANISTER_CANDID_PATH": "app.did",
           "BASILISK_TEMPLATE_WASM": str(write_template(tmp_path))}
    tool = subprocess.Popen([CLI, "canister", "app", "src/app/main.py"], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_child(project)
        time.sleep(0.3)  # the init check's interpreter starts once the dry run's has
        tool.send_signal(signal.SIGTERM)
        _, stderr = tool.communicate(timeout=30)
    finally:
        tool.kill()
    assert tool.returncode == 128 + signal.SIGTERM, stderr
    assert _children_left(project) == [] and _children_left(tmp) == []
    assert not (project / ".basilisk" / "app" / "app.wasm").exists() and not (project / "app.did").exists()
    assert not [p.name for p in tmp.iterdir() if p.name != "cache"]  # no basilisk-trace-* directory left
