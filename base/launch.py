"""Start a child interpreter on one of the child scripts: the one way user code is run."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from basilisk_trace.base import ahead
from basilisk_trace.base.limits import seccomp_filter, with_limits
from basilisk_trace.base.processes import (
    ChildStartError,
    ChildTimeout,
    Interrupted,
    Running,
    cancel,
    check_cancelled,
    children_started,
    kill_left,
    stop_on_signals,
    wait_for_a_child,
)
from basilisk_trace.base.read import MIB, UntrustedFileError, read_untrusted
from basilisk_trace.base.sandbox import (
    Containment,
    command,
    containment,
    notify_fallback,
    on_fallback,
)

__all__ = ["RESULT", "RESULT_LIMIT", "ChildResultError", "ChildRun", "ChildStartError", "ChildTimeout", "Interrupted",
           "StartedChild", "ask_interpreter", "cancel", "check_cancelled", "children_started", "guest_scripts",
           "on_fallback", "passed_names", "run_child", "run_contained", "scrubbed_env", "start_child",
           "stop_on_signals", "wait_for_a_child"]

# The loader every child starts from, and the guard both stages' children install.
CHILD_DIR = Path(__file__).resolve().with_name("child")
LOADER = CHILD_DIR / "_load.py"
# Variables the child keeps; everything else is scrubbed from its environment.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV",
              "PYTHONPATH", "SYSTEMROOT")


@dataclass(frozen=True)
class ChildRun:
    """What a child left: its result document (None when it crashed first) and its stderr tail."""

    result: dict[str, Any] | None
    returncode: int
    stderr_tail: tuple[str, ...]
    containment: Containment
    kept: dict[str, bytes] = field(default_factory=dict)  # files the child left in its run directory


def passed_names() -> list[str]:
    """The names (never the values) of the caller's variables the child sees."""
    return sorted(k for k in PASSED_ENV if k in os.environ)


def scrubbed_env() -> dict[str, str]:
    """The child's environment: the passed variables only, with deterministic hashing."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    return env


def script_dirs(dirs: Sequence[Path]) -> tuple[Path, ...]:
    """The folders a child searches for the scripts it loads by name: the loader's own first."""
    return (CHILD_DIR, *(d for d in dirs if d != CHILD_DIR))


def guest_scripts(dirs: Sequence[Path], root: str) -> tuple[dict[str, bytes], list[str]]:
    """The child scripts of `dirs`, staged for a guest under `root`: {guest path: bytes}, and the
    guest folders in search order (the loader is `<first>/_load.py`)."""
    files: dict[str, bytes] = {}
    guest_dirs = []
    for index, folder in enumerate(script_dirs(dirs)):
        guest = f"{root}/scripts/{index}"
        guest_dirs.append(guest)
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[f"{guest}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()
    return files, guest_dirs


# What a child hands back is bounded like every other input: a trace of thousands of modules
# is a few MiB, the static pass's cache at most some tens.
RESULT_LIMIT = 64 * MIB
RESULT = "result.json"


class ChildResultError(Exception):
    """What the child left in its run directory cannot be read back: `reason` says why, in words."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def run_child(script: str, config: dict[str, Any], *, scripts: Sequence[Path], python: str,
              flags: tuple[str, ...], cwd: Path | None, timeout: float, visible: Iterable[Path] = (),
              tail: int = 5, outputs: Sequence[str] = (), hidden: Iterable[Path] = ()) -> ChildRun:
    """Run SCRIPT.py (found in `scripts`, folders of child scripts) with CONFIG in a fresh
    interpreter and read back the JSON it writes.

    The child runs in the bubblewrap sandbox when it works here (see `containment()`), else
    with the audit hooks alone; `visible` are paths it must read (the project, the cache), and
    `hidden` folders it must not see, whole (the cache). On a timeout or a cancel, the child and everything it started are killed. The child
    finds its run directory in config["run_dir"], where it may write its result and the files
    named in `outputs` (and, in the sandbox, nothing else); those come back in `kept`.
    Everything it left is read as untrusted: regular files only, never through a link,
    bounded; ChildResultError says what is wrong with them.
    """
    with start_child(script, config, scripts=scripts, python=python, flags=flags, cwd=cwd, visible=visible,
                     tail=tail, outputs=outputs, hidden=hidden) as child:
        return child.finish(timeout)


def start_child(script: str, config: dict[str, Any], *, scripts: Sequence[Path], python: str,
                flags: tuple[str, ...], cwd: Path | None, visible: Iterable[Path] = (), tail: int = 5,
                outputs: Sequence[str] = (), hidden: Iterable[Path] = (), waits: bool = False) -> StartedChild:
    """run_child's child, started now and finished by the caller (`finish`, or `close` to stop it).

    With `waits`, the script waits on its input before the work that needs what the caller puts
    into its run directory meanwhile (`StartedChild.run_dir`): `finish` lets it go on.
    """
    check_cancelled()  # no run directory is made once the run was cancelled
    held_dir = _held(tempfile.TemporaryDirectory(prefix="basilisk-trace-"))
    try:
        run_dir = Path(held_dir.name)
        config_path, out_path = run_dir / "config.json", run_dir / RESULT
        config_path.write_text(json.dumps({**config, "run_dir": held_dir.name}), encoding="utf-8")
        written = [run_dir / name for name in (RESULT, *outputs)]
        for path in written:
            path.touch(mode=0o600)
        dirs = script_dirs(scripts)
        argv = [python, *flags, str(LOADER), json.dumps([str(d) for d in dirs]), script, str(config_path),
                str(out_path)]
        running, mode = start_contained(argv, cwd=Path(cwd or run_dir), run_dir=run_dir, visible=[*visible, *dirs],
                                        outputs=written, hidden=hidden, stdin=waits)
    except BaseException:
        _remove(held_dir)
        raise
    return StartedChild(held_dir, running, mode, tuple(outputs), tail)


_HELD: set[tempfile.TemporaryDirectory[str]] = set()
_HELD_LOCK = threading.Lock()


def _held(held_dir: tempfile.TemporaryDirectory[str]) -> tempfile.TemporaryDirectory[str]:
    with _HELD_LOCK:
        _HELD.add(held_dir)
    return held_dir


def _remove(held_dir: tempfile.TemporaryDirectory[str]) -> None:
    held_dir.cleanup()
    with _HELD_LOCK:
        _HELD.discard(held_dir)


@atexit.register
def _remove_left() -> None:
    """Run directories still held when this process ends: a thread of its own was stopping its
    child (the run was cancelled, or the tool stopped on an error) when the main thread exited."""
    kill_left()  # their children first (processes' own hook runs after this one)
    with _HELD_LOCK:
        left = list(_HELD)
    for held_dir in left:
        with contextlib.suppress(OSError):
            _remove(held_dir)


class StartedChild:
    """A child start_child started: `finish` reads back what it leaves; leaving the `with` kills it if it still runs."""

    def __init__(self, held_dir: tempfile.TemporaryDirectory[str], running: Running, mode: Containment,
                 outputs: tuple[str, ...], tail: int) -> None:
        self._held_dir, self._running, self._mode = held_dir, running, mode
        self._outputs, self._tail = outputs, tail
        self.run_dir = Path(held_dir.name)

    def finish(self, timeout: float) -> ChildRun:
        """Let it go on, wait for it (killed after `timeout` s) and read back what it left, as untrusted."""
        held = os.open(self.run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        try:
            self._running.go()
            returncode, stderr = self._running.wait(timeout)
            lines = stderr.decode("utf-8", "replace").strip().splitlines()[-self._tail:]
            result = _result(held)
            kept = {name: data for name in self._outputs if (data := _kept(held, name))}
        finally:
            os.close(held)
            self.close()
        return ChildRun(result, returncode, tuple(lines), self._mode, kept)

    def close(self) -> None:
        """Kill it if it still runs, and remove its run directory."""
        self._running.close()
        _remove(self._held_dir)

    def __enter__(self) -> StartedChild:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kept(held: int, name: str) -> bytes | None:
    try:
        return read_untrusted(name, RESULT_LIMIT, dir_fd=held)
    except UntrustedFileError as exc:
        raise ChildResultError(name, exc.reason) from None


def _result(held: int) -> dict[str, Any] | None:
    """The child's result document; None when it wrote none (it crashed first)."""
    data = _kept(held, RESULT)
    if not data:
        return None
    try:
        result = json.loads(data)
    except (ValueError, RecursionError):
        raise ChildResultError(RESULT, "not a JSON document") from None
    if not isinstance(result, dict):
        raise ChildResultError(RESULT, "not a JSON object")
    return result


def run_contained(argv: list[str], *, cwd: Path, run_dir: Path, timeout: float, visible: Iterable[Path] = (),
                  env: dict[str, str] | None = None, outputs: Iterable[Path] = (),
                  hidden: Iterable[Path] = ()) -> tuple[int, bytes, Containment]:
    """Run a program that executes user code (an interpreter, node for Pyodide): every child starts here.

    In the sandbox when it works, the host and `run_dir` read-only but for `outputs` (files
    in it that exist), under the limits of base/limits.py; `visible` are paths it must read.
    Returns the exit status, the tail of stderr and the containment it ran in.
    Raises ChildTimeout (the child and all it started are killed), ChildStartError, Interrupted.
    """
    running, mode = start_contained(argv, cwd=cwd, run_dir=run_dir, visible=visible, env=env, outputs=outputs,
                                    hidden=hidden)
    returncode, stderr = running.wait(timeout)
    return returncode, stderr, mode


def start_contained(argv: list[str], *, cwd: Path, run_dir: Path, visible: Iterable[Path] = (),
                    env: dict[str, str] | None = None, outputs: Iterable[Path] = (), hidden: Iterable[Path] = (),
                    stdin: bool = False) -> tuple[Running, Containment]:
    """run_contained's program, started: the caller waits for it (`Running.wait`) or closes it."""
    check_cancelled()
    mode = containment()
    notify_fallback(mode)
    found = shutil.which(argv[0])
    if found is None:
        raise ChildStartError(argv[0], "No such file or directory")
    argv = [found, *argv[1:]]
    program = seccomp_filter() if mode.sandboxed else None
    # bwrap reads the filter as it starts, from its own copy of the pipe: this end closes after the start.
    with _filter_fd(program) as fd:
        if mode.sandboxed:
            argv = command(mode, argv, cwd=cwd, run_dir=run_dir, visible=visible, home=os.environ.get("HOME"),
                           outputs=outputs, hidden=hidden, seccomp_fd=fd)
        running = Running(with_limits(argv), found, cwd, scrubbed_env() if env is None else env,
                          () if fd is None else (fd,), stdin=stdin)
    return running, mode


@contextlib.contextmanager
def _filter_fd(program: bytes | None) -> Iterator[int | None]:
    """A pipe holding the seccomp program for bwrap to read (it is far smaller than a pipe's buffer)."""
    if program is None:
        yield None
        return
    read, write = os.pipe()
    try:
        os.write(write, program)
        os.close(write)
        yield read
    finally:
        os.close(read)


ANSWER_LIMIT = 4 * MIB


def interpreter_question(python: str, script: Path) -> list[str]:
    """The command line of ask_interpreter's question (also what base/ahead.py starts ahead)."""
    return [python, "-I", "-S", "-B", str(script)]


def ask_interpreter_ahead(python: str, script: Path) -> None:
    """Start ask_interpreter's question now, for the answer to be taken when it is asked."""
    found = shutil.which(python)
    if found is not None:
        ahead.start(interpreter_question(found, script), cwd="/", env=scrubbed_env())


def ask_interpreter(python: str, script: Path, timeout: float = 60.0) -> bytes:
    """What the tool's own `script` prints when `python -I -S -B` runs it, outside the sandbox.

    Only for scripts that run nothing of a project: isolated mode ignores the environment and
    the working folder, and without site no .pth line or sitecustomize runs. Raises
    ChildStartError (with the reason) when it cannot start or does not answer.
    """
    check_cancelled()
    found = shutil.which(python)
    if found is None:
        raise ChildStartError(python, "No such file or directory")
    try:
        done = ahead.run(interpreter_question(found, script), cwd="/", env=scrubbed_env(), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildStartError(python, f"it did not answer within {timeout:.0f}s") from None
    except OSError as exc:
        raise ChildStartError(python, exc.strerror or str(exc)) from None
    if done.returncode != 0 or len(done.stdout) > ANSWER_LIMIT:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ChildStartError(python, said[-1] if said else f"exit {done.returncode}")
    return done.stdout
