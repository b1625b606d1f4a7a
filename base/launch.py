"""Start a child interpreter on one of the child scripts: the one way user code is run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from basilisk_trace.base.limits import seccomp_filter, with_limits
from basilisk_trace.base.read import MIB, UntrustedFileError, read_untrusted
from basilisk_trace.base.sandbox import Containment, command, containment

# The loader every child starts from, and the guard both stages' children install.
CHILD_DIR = Path(__file__).resolve().with_name("child")
LOADER = CHILD_DIR / "_load.py"
# Variables the child keeps; everything else is scrubbed from its environment.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV",
              "PYTHONPATH", "SYSTEMROOT")
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
    with tempfile.TemporaryDirectory(prefix="basilisk-trace-") as tmp:
        run_dir = Path(tmp)
        config_path, out_path = run_dir / "config.json", run_dir / RESULT
        config_path.write_text(json.dumps({**config, "run_dir": tmp}), encoding="utf-8")
        written = [run_dir / name for name in (RESULT, *outputs)]
        for path in written:
            path.touch(mode=0o600)
        dirs = script_dirs(scripts)
        argv = [python, *flags, str(LOADER), json.dumps([str(d) for d in dirs]), script, str(config_path),
                str(out_path)]
        held = os.open(tmp, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
        try:
            returncode, stderr, mode = run_contained(argv, cwd=Path(cwd or tmp), run_dir=run_dir, timeout=timeout,
                                                     visible=[*visible, *dirs], outputs=written, hidden=hidden)
            lines = stderr.decode("utf-8", "replace").strip().splitlines()[-tail:]
            result = _result(held)
            kept = {name: data for name in outputs if (data := _kept(held, name))}
        finally:
            os.close(held)
    return ChildRun(result, returncode, tuple(lines), mode, kept)


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
    check_cancelled()
    mode = containment()
    _notify(mode)
    found = shutil.which(argv[0])
    if found is None:
        raise ChildStartError(argv[0], "No such file or directory")
    argv = [found, *argv[1:]]
    program = seccomp_filter() if mode.sandboxed else None
    with _filter_fd(program) as fd:
        if mode.sandboxed:
            argv = command(mode, argv, cwd=cwd, run_dir=run_dir, visible=visible, home=os.environ.get("HOME"),
                           outputs=outputs, hidden=hidden, seccomp_fd=fd)
        returncode, stderr = _run(with_limits(argv), found, cwd, timeout, scrubbed_env() if env is None else env,
                                  () if fd is None else (fd,))
    return returncode, stderr, mode


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
        done = subprocess.run([found, "-I", "-S", "-B", str(script)], cwd="/", env=scrubbed_env(),
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildStartError(python, f"it did not answer within {timeout:.0f}s") from None
    except OSError as exc:
        raise ChildStartError(python, exc.strerror or str(exc)) from None
    if done.returncode != 0 or len(done.stdout) > ANSWER_LIMIT:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ChildStartError(python, said[-1] if said else f"exit {done.returncode}")
    return done.stdout


_NOTICE: list[Callable[[str], None]] = []
_NOTIFIED = threading.Event()


def on_fallback(notice: Callable[[str], None]) -> None:
    """Have `notice` told, once, when a child runs without the sandbox (the CLI prints it)."""
    _NOTICE[:] = [notice]


def _notify(mode: Containment) -> None:
    if not mode.sandboxed and _NOTICE and not _NOTIFIED.is_set():
        _NOTIFIED.set()
        _NOTICE[0](f"the program runs without a sandbox, with the audit hooks only: {mode.detail}; they guard "
                   "against accidents, not against a hostile program (which can get past them), so run only code "
                   "you trust, or install bubblewrap")


_LOCK = threading.Lock()
_LIVE: set[subprocess.Popen[bytes]] = set()
_CANCELLED = threading.Event()
_CANCELLED_BY: list[int] = []


def _run(argv: list[str], python: str, cwd: Path, timeout: float, env: dict[str, str],
         fds: tuple[int, ...] = ()) -> tuple[int, bytes]:
    try:
        # Its own session and process group: what the program forks dies with it.
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   start_new_session=True, pass_fds=fds)
    except OSError as exc:
        raise ChildStartError(python, exc.strerror or str(exc)) from None
    with _LOCK:
        _LIVE.add(process)
    kept = bytearray()
    reader = threading.Thread(target=_keep_tail, args=(process.stderr, kept), daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ChildTimeout(python) from None
    finally:
        _kill(process)
        with _LOCK:
            _LIVE.discard(process)
        reader.join(timeout=5)
    check_cancelled()
    return process.returncode, bytes(kept)


def _keep_tail(stream: IO[bytes] | None, kept: bytearray) -> None:
    if stream is None:
        return
    with stream:
        while chunk := stream.read(65536):
            kept += chunk
            del kept[:-_STDERR_KEPT]


def _kill(process: subprocess.Popen[bytes]) -> None:
    # The whole group: workers the program forked, not only the interpreter. In the sandbox,
    # bwrap's death also ends its PID namespace, sessions of their own included.
    _kill_group(process)
    process.wait()


def cancel(signum: int = signal.SIGINT) -> None:
    """Stop every running child now; from here on, starting one or writing an output raises Interrupted."""
    _CANCELLED_BY.append(signum)
    _CANCELLED.set()
    with _LOCK:
        live = list(_LIVE)
    for process in live:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def check_cancelled() -> None:
    """Raise Interrupted once the run was cancelled: the last check before any output is written."""
    if _CANCELLED.is_set():
        raise Interrupted(_CANCELLED_BY[0] if _CANCELLED_BY else signal.SIGINT)
