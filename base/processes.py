"""The children this process runs: started, waited for, killed with all they started, cancelled together."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO

_STDERR_KEPT = 64 * 1024  # a program may write without end; keep the tail only


class ChildTimeout(Exception):
    """The child did not finish in time and was killed."""


class ChildStartError(Exception):
    """The interpreter could not be started."""

    def __init__(self, python: str, reason: str) -> None:
        super().__init__(reason)
        self.python = python
        self.reason = reason


class Interrupted(KeyboardInterrupt):
    """The run was cancelled (Ctrl-C, SIGTERM, SIGHUP): no child starts and no output is written."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_LOCK = threading.Lock()
_LIVE: set[subprocess.Popen[bytes]] = set()
_STARTS = threading.Condition()  # notified as each child starts; _STARTED counts them
_STARTED = [0]
_CANCELLED = threading.Event()
_CANCELLED_BY: list[int] = []


def children_started() -> int:
    """How many children this process has started so far."""
    return _STARTED[0]


def wait_for_a_child(after: int, timeout: float) -> bool:
    """Whether a child beyond the first `after` started within `timeout` s (work that can wait lets it start first)."""
    with _STARTS:
        return _STARTS.wait_for(lambda: _STARTED[0] > after, timeout)


def until_a_child_started(done: Callable[[], bool], after: int) -> None:
    """Return once a child beyond the first `after` has started, or `done()` says the work that
    was to start it has ended (it failed, or found what it needed without one)."""
    while not done() and not wait_for_a_child(after, 0.01):
        pass


class Running:
    """One started child in its own session: its stderr's tail is kept as it comes, and it is
    killed, with everything it started, when it is waited for, closed or the run is cancelled.

    With `stdin=True` it reads a pipe this process holds: `go()` writes one byte and closes it
    (a child that waits on its input starts its work then); closing it unwritten says "stop".
    """

    def __init__(self, argv: Sequence[str], python: str, cwd: Path, env: dict[str, str],
                 fds: tuple[int, ...] = (), *, stdin: bool = False) -> None:
        check_cancelled()
        self.python = python
        try:
            self.process = subprocess.Popen(list(argv), cwd=cwd, env=env,
                                            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                            start_new_session=True, pass_fds=fds)
        except OSError as exc:
            raise ChildStartError(python, exc.strerror or str(exc)) from None
        with _LOCK:
            _LIVE.add(self.process)
        with _STARTS:
            _STARTED[0] += 1
            _STARTS.notify_all()
        self.kept = bytearray()
        self.closed = False
        self.reader = threading.Thread(target=_keep_tail, args=(self.process.stderr, self.kept), daemon=True)
        self.reader.start()

    def go(self) -> None:
        """Let a child that waits on its input go on: one byte, then end of input."""
        stdin = self.process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError):  # it has died already: its missing result says so
                stdin.write(b"g")
            with contextlib.suppress(OSError):
                stdin.close()

    def wait(self, timeout: float) -> tuple[int, bytes]:
        """Its exit status and the tail of its stderr, once it exits or `timeout` s from now kills it."""
        # A blocking wait returns as the child exits (Popen.wait(timeout) polls, sleeping up to 50 ms).
        expired = threading.Event()
        timer = threading.Timer(timeout, _expire, (self.process, expired))
        timer.daemon = True
        timer.start()
        try:
            self.process.wait()
        finally:
            timer.cancel()
            self.close()
        if expired.is_set():
            raise ChildTimeout(self.python)
        check_cancelled()
        return self.process.returncode, bytes(self.kept)

    def close(self) -> None:
        """Kill it (and all it started) if it still runs; its pipes are closed. Once is enough."""
        if self.closed:
            return
        self.closed = True
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        _kill_group(self.process)
        self.process.wait()
        with _LOCK:
            _LIVE.discard(self.process)
        self.reader.join(timeout=5)


@contextlib.contextmanager
def tracked(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """A child of the tool's own (no project code), started in a session of its own: cancel() stops it
    with the others, and it is killed, with all it started, on the way out."""
    with _LOCK:
        _LIVE.add(process)
    try:
        check_cancelled()
        yield
    finally:
        _kill_group(process)
        process.wait()
        with _LOCK:
            _LIVE.discard(process)


@atexit.register
def kill_left() -> None:
    """A child still running when this process ends (it stopped on an error) ends with it."""
    with _LOCK:
        live = list(_LIVE)
    for process in live:
        _kill_group(process)


def _keep_tail(stream: IO[bytes] | None, kept: bytearray) -> None:
    if stream is None:
        return
    with stream:
        while chunk := stream.read(65536):
            kept += chunk
            del kept[:-_STDERR_KEPT]


def _expire(process: subprocess.Popen[bytes], expired: threading.Event) -> None:
    expired.set()
    _kill_group(process)


def cancel(signum: int = signal.SIGINT) -> None:
    """Stop every running child now; from here on, starting one or writing an output raises Interrupted."""
    _CANCELLED_BY.append(signum)
    _CANCELLED.set()
    with _LOCK:
        live = list(_LIVE)
    for process in live:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The whole group: workers the program forked, not only the interpreter. In the sandbox,
    # bwrap's death also ends its PID namespace, sessions of their own included.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def stop_on_signals() -> None:
    """From now on Ctrl-C, SIGTERM and SIGHUP cancel the run: every child is killed at once, and
    Interrupted is raised in the main thread. An ignored signal stays ignored (nohup), and a
    caller's own handler (or these, set before) stays."""

    def stop(signum: int, frame: object) -> None:
        cancel(signum)
        raise Interrupted(signum)

    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None and signal.getsignal(number) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(number, stop)


def check_cancelled() -> None:
    """Raise Interrupted once the run was cancelled: the last check before any output is written."""
    if _CANCELLED.is_set():
        raise Interrupted(_CANCELLED_BY[0] if _CANCELLED_BY else signal.SIGINT)
