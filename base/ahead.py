"""Questions asked ahead: a short process of the tool's own, started as the command starts, its answer taken later.

Every cold dry run first asks whether bubblewrap starts here (`bwrap ... true`) and where the
interpreter imports from (`python -I -S -B interpreter.py`). Asked in turn, they wait for the
command line library and the tool's modules to load, and the dry run waits for them. Started
here instead, at the command's first line, they run on another core meanwhile; the caller that
asks the same question later (the same arguments, folder and environment) takes the answer.

Only for processes that run nothing of a project: the caller vouches for that, as it does for
the question it asks itself. An answer is taken once; one never asked for is killed at exit.
"""

from __future__ import annotations

import atexit
import subprocess
import threading
from collections.abc import Mapping, Sequence

_Key = tuple[tuple[str, ...], str | None, tuple[tuple[str, str], ...] | None]
_STARTED: dict[_Key, subprocess.Popen[bytes]] = {}
_LOCK = threading.Lock()


def _key(argv: Sequence[str], cwd: str | None, env: Mapping[str, str] | None) -> _Key:
    return tuple(argv), cwd, None if env is None else tuple(sorted(env.items()))


def start(argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None) -> None:
    """Start `argv` now; `run` with the same question takes its answer. Nothing is raised: a
    process that cannot start here is started again, and fails where it is asked for."""
    key = _key(argv, cwd, env)
    with _LOCK:
        if key in _STARTED:
            return
        try:
            _STARTED[key] = subprocess.Popen(list(argv), cwd=cwd, env=None if env is None else dict(env),
                                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except (OSError, ValueError):
            return


def run(argv: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None,
        timeout: float) -> subprocess.CompletedProcess[bytes]:
    """subprocess.run(argv, capture_output=True, stdin=DEVNULL, timeout=timeout): the answer of
    the process started ahead for this question when there is one, else a new run."""
    with _LOCK:
        process = _STARTED.pop(_key(argv, cwd, env), None)
    if process is None:
        return subprocess.run(list(argv), cwd=cwd, env=None if env is None else dict(env),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    with process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise subprocess.TimeoutExpired(list(argv), timeout) from None
    return subprocess.CompletedProcess(list(argv), process.returncode, out, err)


def started() -> int:
    """How many started ahead are still unasked."""
    with _LOCK:
        return len(_STARTED)


@atexit.register
def _stop_unasked() -> None:
    with _LOCK:
        left = list(_STARTED.values())
        _STARTED.clear()
    for process in left:
        process.kill()
        process.communicate()
