"""base/ahead.py: a question started ahead is answered by that process, once; an equal question
after it is asked anew; one never asked is killed when the tool exits; a timeout kills it too."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from basilisk_trace.base import ahead

# Prints its own process id: which process answered tells whether the one started ahead did.
PID = ["sh", "-c", "echo $$"]


def test_the_process_started_ahead_answers_once() -> None:
    ahead.start(PID, cwd="/", env={"PATH": os.environ["PATH"]})
    assert ahead.started() == 1
    first = ahead.run(PID, cwd="/", env={"PATH": os.environ["PATH"]}, timeout=30)
    assert ahead.started() == 0
    second = ahead.run(PID, cwd="/", env={"PATH": os.environ["PATH"]}, timeout=30)
    assert first.returncode == second.returncode == 0
    assert first.stdout != second.stdout  # two processes: the second question was asked anew


def test_another_question_is_not_answered_by_it() -> None:
    ahead.start(PID, cwd="/", env={"PATH": os.environ["PATH"]})
    try:
        # Another folder is another question (the answer may depend on it): asked anew.
        other = ahead.run(["sh", "-c", "pwd"], cwd="/tmp", env={"PATH": os.environ["PATH"]}, timeout=30)
        assert other.stdout.decode().strip() == os.path.realpath("/tmp")
        assert ahead.started() == 1
    finally:
        ahead.run(PID, cwd="/", env={"PATH": os.environ["PATH"]}, timeout=30)


def test_a_question_never_asked_is_killed_at_exit(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (f"from basilisk_trace.base import ahead\n"
              f"ahead.start(['sh', '-c', 'echo $$ > {pid_file}; exec sleep 60'])\n"
              f"import time\nwhile not __import__('os').path.getsize({str(pid_file)!r}) if "
              f"__import__('os').path.exists({str(pid_file)!r}) else True: time.sleep(0.01)\n")
    done = subprocess.run([sys.executable, "-c", script], timeout=60)
    assert done.returncode == 0
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"process {pid}, started ahead and never asked, outlived the tool")


def test_a_timeout_kills_it_and_says_so() -> None:
    ahead.start(["sleep", "60"])
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        ahead.run(["sleep", "60"], timeout=0.5)
    assert time.monotonic() - started < 30
    assert ahead.started() == 0
