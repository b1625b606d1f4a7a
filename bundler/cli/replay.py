"""A command run again with nothing changed: print what it printed, write nothing, start nothing.

`trace`, `bundle` and `canister` remember each successful run under its exact command line,
working directory, environment and the tool's own code, with a stamp of everything the run
depended on: the trace's fingerprint (every file the program read, every import directory's
listing), every file bundled, the settings files and project markers above the entry and the
working directory, ic-basilisk's files, the template, the sources ic-basilisk's build read,
and each output as written. When the same command line comes again and every stamp holds,
this module prints the same lines and exits, before the command line library is even
loaded; anything else (a stamp that does not hold, a damaged record) runs the command as
usual. Records live in the trace cache (private, 0700); digests are keyed with its secret.

This module is loaded on every start: it imports nothing heavy.
"""

from __future__ import annotations

import json
import os
import stat
import sys

from basilisk_trace.base.digest import keyed_digest

try:  # blake2 alone: hashlib also loads OpenSSL
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without it
    from hashlib import blake2b

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

COMMANDS = ("trace", "bundle", "canister")  # app._REPLAYED says the same
SCHEMA = 1
# Variables that change between two runs of the same command without changing what it does.
_VOLATILE = frozenset({"_", "OLDPWD", "SHLVL", "PWD", "TERM_SESSION_ID", "WINDOWID", "COLUMNS", "LINES",
                       "PS1", "PROMPT_COMMAND", "HISTFILE", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "TMUX_PANE"})
_RECORD_LIMIT = 64 * 1024 * 1024  # a record lists stamps and a report: far below this


def cache_dir() -> str:
    """The trace cache's directory, as tracer.default_cache_dir() names it."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "basilisk-trace")


def key(args: list[str], prog: str) -> str:
    """What must be equal for a record to apply at all: the command line, where, with what, by which code."""
    material = {"schema": SCHEMA, "prog": prog, "args": args, "cwd": os.getcwd(),
                "env": sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE),
                "python": [sys.executable, sys.version, _stat(os.path.realpath(sys.executable))],
                "code": code_stamp()}
    return blake2b(json.dumps(material, sort_keys=True).encode(), digest_size=32).hexdigest()


def code_stamp() -> str:
    """The tool's own files (size and mtime of each): an edit or an upgrade is another tool."""
    here = os.path.dirname(os.path.abspath(__file__))  # bundler/cli
    bundler = os.path.dirname(here)
    roots = [bundler, *(os.path.dirname(m.__file__) for m in _packages())]
    found = []
    for root in roots:
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            found += [(os.path.join(folder, f), _stat(os.path.join(folder, f))) for f in sorted(files)
                      if f.endswith((".py", ".json"))]
    return blake2b(json.dumps(found).encode(), digest_size=32).hexdigest()


def _packages() -> list[Any]:
    import basilisk_trace.base
    import basilisk_trace.tracer

    return [basilisk_trace.base, basilisk_trace.tracer]


def replay(args: list[str], prog: str = "basilisk-trace") -> bool:
    """Print what this command printed last time, if nothing it depended on changed; False otherwise."""
    if not args or args[0] not in COMMANDS or any(a in ("--help", "-h") for a in args):
        return False
    try:
        directory = cache_dir()
        if not _private(directory):
            return False
        record = _load(os.path.join(directory, f"replay-{key(args, prog)}.json"))
        secret = _secret(directory)
        if record is None or secret is None or not holds(record, secret):
            return False
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return False
    sys.stdout.write(record["stdout"])
    sys.stdout.flush()
    sys.stderr.write(record["stderr"])
    sys.stderr.flush()
    return True


def _private(directory: str) -> bool:
    """Ours and private: a cache directory someone else owns or can write is not read."""
    try:
        found = os.lstat(directory)
    except OSError:
        return False
    return stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid() and not stat.S_IMODE(found.st_mode) & 0o077


def _read(path: str, limit: int) -> bytes | None:
    """A regular file of the cache, read without following a link or blocking on a FIFO; None past `limit`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        data = handle.read(limit + 1)
    return data if len(data) <= limit else None


def _secret(directory: str) -> bytes | None:
    secret = _read(os.path.join(directory, "secret"), 33)
    return secret if secret is not None and len(secret) == 32 else None


def _load(path: str) -> dict[str, Any] | None:
    data = _read(path, _RECORD_LIMIT)
    if data is None:
        return None
    try:
        record = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        return None
    if not (isinstance(record.get("stdout"), str) and isinstance(record.get("stderr"), str)
            and isinstance(record.get("stamps"), list) and isinstance(record.get("trace"), dict)):
        return None
    return record


def holds(record: dict[str, Any], secret: bytes) -> bool:
    """Whether every stamp of `record` still holds, and the trace it was made from is still valid."""
    return trace_holds(record["trace"], secret) and all(
        isinstance(s, list) and len(s) == 3 and stamp(s[0], s[1], secret) == s[2] for s in record["stamps"])


def trace_holds(fingerprint: Any, secret: bytes) -> bool:
    """tracer._cache's validity test of a trace's fingerprint, without loading the tracer: every file's
    keyed digest, every probed file's size, every import folder's listing (dot-names aside).
    A fingerprint of any other shape does not hold."""
    if not isinstance(fingerprint, dict) or sorted(fingerprint) != ["dirs", "files", "probed"]:
        return False
    files, probed, dirs = fingerprint["files"], fingerprint["probed"], fingerprint["dirs"]
    if not (isinstance(files, dict) and isinstance(probed, dict) and isinstance(dirs, dict)):
        return False
    return (all(_size(p) == size for p, size in probed.items())
            and all(listing(p, secret, dots=False) == d for p, d in dirs.items())
            and all(digest(p, secret) == d for p, d in files.items()))


def stamp(kind: str, path: str, secret: bytes) -> Any:
    """The current value of one stamp: a file's keyed digest, its stat, a folder's listing, or a lookup."""
    if kind == "sha":
        return digest(path, secret)
    if kind == "stat":
        return _stat(path)
    if kind == "ls":
        return listing(path, secret)
    if kind == "exists":
        return os.path.lexists(path)
    if kind == "real":
        return os.path.realpath(path)
    if kind == "which":
        return which(path)
    raise ValueError(f"unknown stamp {kind}")


def digest(path: str, secret: bytes) -> str | None:
    """The keyed digest of a file's content (base/digest.py), as every cache of the tool makes it."""
    return keyed_digest(path, secret)


def listing(path: str, secret: bytes, *, dots: bool = True) -> str | None:
    """Every name in a folder, dot-names too unless not `dots` (ic-basilisk's build walks them all)."""
    try:
        names = sorted(n for n in os.listdir(os.fsencode(path)) if dots or not n.startswith(b"."))
    except OSError:
        return None
    return blake2b(b"\0".join(names), key=secret, digest_size=20).hexdigest()


def which(name: str) -> str | None:
    """shutil.which(name) without loading shutil."""
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _size(path: str) -> int | None:
    found = _stat(path)
    return found[0] if found else None


def _stat(path: str) -> list[int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino]
