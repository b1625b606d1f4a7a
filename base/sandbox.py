"""The bubblewrap sandbox a child runs in: probed once per process, and its mounts."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def sandboxed(self) -> bool:
        return self.kind == "bubblewrap"

    def describe(self) -> str:
        if self.sandboxed:
            return "bubblewrap sandbox (host and project read-only, private /tmp and home, no network) + audit hooks"
        return f"audit hooks only: {self.detail}"


def wanted() -> str:
    """The containment asked for, without starting anything: cheap enough for a cache key."""
    disabled = os.environ.get(SANDBOX_VARIABLE, "").strip().lower() in ("0", "off", "no", "false")
    if disabled or not sys.platform.startswith("linux") or shutil.which("bwrap") is None:
        return "hooks"
    return "bubblewrap"


@functools.cache
def containment() -> Containment:
    """Does bubblewrap start here with every namespace asked for? Asked once per process."""
    if wanted() == "hooks":
        if os.environ.get(SANDBOX_VARIABLE, "").strip().lower() in ("0", "off", "no", "false"):
            return Containment("hooks", f"{SANDBOX_VARIABLE}=0")
        if not sys.platform.startswith("linux"):
            return Containment("hooks", f"bubblewrap does not run on {sys.platform}")
        return Containment("hooks", "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)")
    bwrap = shutil.which("bwrap") or "bwrap"
    failure = ""
    for flags in ((*ISOLATION, *_HARDENING), ISOLATION):
        failure = _probe(bwrap, flags)
        if not failure:
            return Containment("bubblewrap", bwrap, flags)
    return Containment("hooks", f"bubblewrap cannot start ({failure})")


def _probe(bwrap: str, flags: tuple[str, ...]) -> str:
    """Why bwrap cannot start with `flags`, or "" when it can."""
    # Namespaces and capabilities are what a locked-down kernel refuses; one bind is enough.
    probe = [bwrap, *flags, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--",
             shutil.which("true") or sys.executable]
    try:
        done = subprocess.run(probe, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return "" if done.returncode == 0 else (said[-1] if said else f"exit {done.returncode}")


def command(mode: Containment, argv: list[str], *, cwd: Path, run_dir: Path, visible: Iterable[Path],
            home: str | None) -> list[str]:
    """bwrap's command line: the host read-only, scratch private, `visible` read-only, `run_dir` writable."""
    args = host_mounts()
    scratch = [s for s in _SCRATCH if os.path.isdir(s) and not os.path.islink(s)]
    for directory in scratch:
        args += ["--tmpfs", directory]
    if home and _private_home(home):
        args += _home_mounts(home)
        scratch.append(os.path.join(home, ".cache"))
    wanted = [*visible, cwd, *interpreter_paths(argv[0])]
    for path in _outermost(wanted):
        if any(_inside(path, s) for s in scratch):
            args += ["--ro-bind-try", path, path]
    args += ["--bind", str(run_dir), str(run_dir), "--chdir", str(cwd), "--setenv", "TMPDIR", "/tmp"]
    return [mode.detail, *mode.flags, *args, "--", *argv]


def host_mounts() -> list[str]:
    """Every top-level entry of the host, read-only, over bwrap's own private tmpfs root.

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


def _home_mounts(home: str) -> list[str]:
    # A private home whose entries stay visible read-only: interpreters (pyenv, uv) and
    # editable installs often live there. New files land in scratch, and so does ~/.cache.
    args = ["--tmpfs", home]
    for name in sorted(os.listdir(home)):
        path = os.path.join(home, name)
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif name != ".cache":
            args += ["--ro-bind-try", path, path]
    return [*args, "--tmpfs", os.path.join(home, ".cache")]


def interpreter_paths(python: str) -> list[Path]:
    """Where an interpreter's files and packages live: its venv, the installation behind it, PYTHONPATH."""
    paths = {Path(python).parent.parent, Path(os.path.realpath(python)).parent.parent}
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        paths.update(Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path) if p)
        paths.update(_editable_sources())
    paths.update(Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)
    return sorted(paths)


def _editable_sources() -> list[Path]:
    """The source trees of setuptools' editable installs: found by a finder, not on sys.path."""
    found = []
    for name, module in list(sys.modules.items()):
        mapping = getattr(module, "MAPPING", None) if name.startswith("__editable___") else None
        if isinstance(mapping, dict):
            found += [Path(p) for p in mapping.values() if isinstance(p, str)]
    return found


def _outermost(paths: Iterable[Path]) -> list[str]:
    found: list[str] = []
    for path in sorted({p for raw in paths for p in (os.path.abspath(raw), os.path.realpath(raw))}):
        if path != "/" and os.path.exists(path) and not any(_inside(path, f) for f in found):
            found.append(path)
    return found


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")
