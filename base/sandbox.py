"""The bubblewrap sandbox a child runs in: probed once per process, and its mounts."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from basilisk_trace.base import ahead
from basilisk_trace.base.limits import LIMITS, Limits, seccomp_filter

# BASILISK_TRACE_SANDBOX=0 runs children with the audit hooks alone (how the fallback is tested).
SANDBOX_VARIABLE = "BASILISK_TRACE_SANDBOX"
# As root, bwrap without a user namespace leaves the child every capability, and it can
# remount the read-only host writable. --cap-drop also empties the bounding set, so nothing
# the child executes regains them.
ISOLATION = ("--unshare-user", "--cap-drop", "ALL", "--unshare-net", "--unshare-pid", "--unshare-ipc",
             "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session")
# No user namespace of its own inside either (bubblewrap 0.8 and later; used where it works).
_HARDENING = ("--disable-userns",)
# Replaced by private empty directories: scratch space, and /run for the sockets it holds
# (a read-only bind does not stop connect() on a Unix socket, nor does a network namespace).
_SCRATCH = ("/tmp", "/var/tmp", "/run")
_OWN_MOUNTS = frozenset({"proc", "dev", "tmp", "run"})


@dataclass(frozen=True)
class Containment:
    """How children run: in bubblewrap, or with the audit hooks alone, and why."""

    kind: str  # "bubblewrap" | "hooks"
    detail: str  # the bwrap executable, or why it is not used
    flags: tuple[str, ...] = ()  # bwrap's namespace options that started here
    sized: bool = True  # bwrap takes --size for its tmpfs (0.7 and later): scratch space is bounded

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"

    def describe(self) -> str:
        if self.sandboxed:
            processes = "no new processes, " if seccomp_filter() is not None else ""
            return (f"bubblewrap sandbox (host and project read-only, private /tmp and home, no network, {processes}"
                    "memory and file size limited) + audit hooks")
        return f"audit hooks only: {self.detail}"


_NOTICE: list[Callable[[str], None]] = []
_PENDING: list[str] = []  # said before anyone listened (a dry run started before the command line loaded)
_NOTIFIED = threading.Event()
_NOTICE_LOCK = threading.Lock()


def on_fallback(notice: Callable[[str], None]) -> None:
    """Have `notice` told, once, when a child runs without the sandbox (the CLI prints it): at
    once if one already has."""
    with _NOTICE_LOCK:
        _NOTICE[:] = [notice]
        pending, _PENDING[:] = list(_PENDING), []
    for text in pending:
        notice(text)


def notify_fallback(mode: Containment) -> None:
    """Say (once per process) that a child runs with the audit hooks alone, and why."""
    if mode.sandboxed:
        return
    with _NOTICE_LOCK:
        if _NOTIFIED.is_set():
            return
        _NOTIFIED.set()
        text = (f"the program runs without a sandbox, with the audit hooks only: {mode.detail}; they guard "
                "against accidents, not against a hostile program (which can get past them), so run only code "
                "you trust, or install bubblewrap")
        if not _NOTICE:
            _PENDING.append(text)
            return
        notice = _NOTICE[0]
    notice(text)


def wanted() -> str:
    """The containment asked for, without starting anything: cheap enough for a cache key."""
    disabled = os.environ.get(SANDBOX_VARIABLE, "").strip().lower() in ("0", "off", "no", "false")
    if disabled or not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return "hooks"
    return "bubblewrap"


def containment() -> Containment:
    """Does bubblewrap start here with every namespace asked for? Asked once per process."""
    with _PROBING:  # one probe at a time
        return _containment()


_PROBING = threading.Lock()


@functools.cache
def _containment() -> Containment:
    if wanted() == "hooks":
        if os.environ.get(SANDBOX_VARIABLE, "").strip().lower() in ("0", "off", "no", "false"):
            return Containment("hooks", f"{SANDBOX_VARIABLE}=0")
        if not sys.platform.startswith("linux"):
            return Containment("hooks", f"bubblewrap does not run on {sys.platform}")
        return Containment("hooks", "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    bwrap = shutil.which("bwrap") or "bwrap"
    failure = ""
    for flags in ((*ISOLATION, *_HARDENING), ISOLATION):
        for sized in (True, False):
            failure = _probe(bwrap, flags, sized)
            if not failure:
                return Containment("bubblewrap", bwrap, flags, sized)
    return Containment("hooks", f"bubblewrap cannot start ({failure})")


def probe_ahead() -> None:
    """Start the probe `containment()` makes first (every namespace, a sized tmpfs), so that its
    answer is there when a child is about to start (base/ahead.py)."""
    if wanted() == "bubblewrap" and not _containment.cache_info().currsize:  # not when it is known
        ahead.start(_probe_command(shutil.which("bwrap") or "bwrap", (*ISOLATION, *_HARDENING), True))


def _probe_command(bwrap: str, flags: tuple[str, ...], sized: bool) -> list[str]:
    # Namespaces and capabilities are what a locked-down kernel refuses; one bind is enough.
    size = ["--size", "1048576", "--tmpfs", "/tmp"] if sized else []
    return [bwrap, *flags, "--ro-bind", "/", "/", *size, "--proc", "/proc", "--dev", "/dev", "--",
            shutil.which("true") or sys.executable]


def _probe(bwrap: str, flags: tuple[str, ...], sized: bool) -> str:
    """Why bwrap cannot start with `flags` (and a size-limited tmpfs), or "" when it can."""
    try:
        done = ahead.run(_probe_command(bwrap, flags, sized), timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return "" if done.returncode == 0 else (said[-1] if said else f"exit {done.returncode}")


def command(mode: Containment, argv: list[str], *, cwd: Path, run_dir: Path, visible: Iterable[Path],
            home: str | None, outputs: Iterable[Path] = (), hidden: Iterable[Path] = (),
            seccomp_fd: int | None = None, limits: Limits = LIMITS) -> list[str]:
    """bwrap's command line: the host read-only, scratch private and bounded, `hidden` folders empty,
    `visible` and `run_dir` read-only, and of the run directory only `outputs` (files that exist) writable."""
    def tmpfs(path: str, size: int) -> list[str]:
        return [*(["--size", str(size)] if mode.sized else []), "--tmpfs", path]

    # bwrap's own root is a tmpfs of no set size: a bounded one replaces it, where bwrap can size it.
    args = [*(tmpfs("/", limits.small_scratch) if mode.sized else []), *host_mounts()]
    scratch = [s for s in _SCRATCH if os.path.isdir(s) and not os.path.islink(s)]
    for directory in scratch:
        args += tmpfs(directory, limits.scratch if directory == "/tmp" else limits.small_scratch)
    if home and _private_home(home):
        # A private, empty home: ~/.ssh, ~/.npmrc, ~/.config and the rest stay hidden. What the
        # child needs from there (an interpreter under pyenv or uv, a user site-packages, an
        # editable install's sources, the project) is bound on its own below, read-only.
        args += tmpfs(home, limits.small_scratch)
        scratch += [home]
    # Never a scratch folder whole (PYTHONPATH=/tmp): what other programs keep there stays hidden.
    wanted = [p for p in (*visible, cwd, *interpreter_paths(argv[0])) if os.path.realpath(p) not in _SCRATCH]
    for path in _outermost(wanted):
        if any(_inside(path, s) for s in scratch):
            args += ["--ro-bind-try", path, path]
    # Last, so that a folder inside a visible one (a cache inside the project) is hidden too; what
    # is visible inside it (one file of the cache) is bound again.
    for folder in sorted({os.path.realpath(h) for h in hidden if os.path.isdir(h)}):
        args += tmpfs(folder, limits.small_scratch)
        inside = {p for raw in wanted for p in (os.path.abspath(raw), os.path.realpath(raw))
                  if _inside(p, folder) and p != folder}
        args += [a for p in _outermost(inside) for a in ("--ro-bind-try", p, p)]
    args += ["--ro-bind", str(run_dir), str(run_dir)]
    for output in outputs:
        args += ["--bind", str(output), str(output)]
    args += ["--chdir", str(cwd), "--setenv", "TMPDIR", "/tmp"]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    return [mode.detail, *mode.flags, *args, "--", *argv]


def host_mounts() -> list[str]:
    """Every top-level entry of the host, read-only, over bwrap's private root (a tmpfs).

    A program that writes a new top-level directory (/extensions, as canisters do on their
    in-memory filesystem) creates it in that tmpfs, and it is gone with the sandbox.
    """
    args = []
    for name in sorted(os.listdir("/")):
        path = "/" + name
        if name in _OWN_MOUNTS:
            continue
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        else:
            args += ["--ro-bind-try", path, path]
    return [*args, "--proc", "/proc", "--dev", "/dev"]


def _private_home(home: str) -> bool:
    return os.path.isabs(home) and os.path.isdir(home) and os.path.realpath(home) != "/"


def interpreter_paths(python: str) -> list[Path]:
    """Where an interpreter's files and packages live: its venv, the installation behind it, PYTHONPATH."""
    paths = {Path(python).parent.parent, Path(os.path.realpath(python)).parent.parent}
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        paths.update(Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path) if p)
        paths.update(_editable_sources())
    paths.update(Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and not broad(p))
    return sorted(paths)


def broad(path: str) -> bool:
    """A folder too wide to show the sandbox whole (PYTHONPATH=/tmp, the home folder): what other
    programs keep there is not the program's to read."""
    real = os.path.realpath(path)
    home = os.path.realpath(os.path.expanduser("~"))
    return real in ("/", home, *(os.path.realpath(s) for s in _SCRATCH), "/var", "/dev/shm")


def _editable_sources() -> list[Path]:
    """The source trees of setuptools' editable installs: found by a finder, not on sys.path."""
    found = []
    for name, module in list(sys.modules.items()):
        mapping = getattr(module, "MAPPING", None) if name.startswith("__editable___") else None
        if isinstance(mapping, dict):
            found += [Path(p) for p in mapping.values() if isinstance(p, str)]
    return found


def _outermost(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    found: list[str] = []
    for path in sorted({p for raw in paths for p in (os.path.abspath(raw), os.path.realpath(raw))}):
        if path != "/" and os.path.exists(path) and not any(_inside(path, f) for f in found):
            found.append(path)
    return found


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")
