"""The trace cache: reuse a trace while nothing it depended on has changed.

A trace is keyed on the entry, the interpreter, the options and the environment
passed to the child, and stays valid while the content of every traced file, the
size of every file the program only probed, and the listing of every import directory
are what they were when it was made.

The cache is private (0700, files 0600) and holds no plain hash of what the
program read: a file's digest is keyed with a secret kept in the cache, so that
a copied trace cannot be used to test guesses of a secret file's content.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import Any

from basilisk_trace.base.digest import keyed_digest
from basilisk_trace.base.read import UntrustedFileError, read_untrusted

CACHE_SCHEMA = 4
_SECRET = "secret"
# Kernels stamp files from a coarse clock, up to a tick (10 ms at HZ=100) behind time.time_ns();
# file systems with whole-second stamps (FAT, some network mounts) round down by up to 2 s.
_FINE_MARGIN_NS = 20_000_000
_COARSE_MARGIN_NS = 2_000_000_000
# The static pass's cache of one project: what one run may leave there (the child keeps at most
# 50,000 entries, a few tens of MiB).
STATIC_LIMIT = 64 * 1024 * 1024
_STATIC_ENTRIES = 50_000
_STATIC_KEY = re.compile(r"(import-time:)?[0-9a-f]{64}")  # child/site_sources.py's two kinds of key
_ENTRY_LIMIT = 256 * 1024 * 1024


def cache_key(config: dict[str, Any], python: str, env: dict[str, str]) -> str:
    """What must be equal for a cached trace to apply at all."""
    interpreter = os.path.realpath(python)
    try:
        found = os.stat(interpreter)
        identity = [interpreter, found.st_size, found.st_mtime_ns]
    except OSError:
        identity = [interpreter]
    material = {"schema": CACHE_SCHEMA, "config": config, "python": identity, "env": env,
                "tool": _tool_fingerprint()}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _tool_fingerprint() -> list[int]:
    """A change to the tracer's own code, the child scripts included, invalidates every trace."""
    from basilisk_trace.base.launch import CHILD_DIR as loader_dir  # the loader and the guard

    here = Path(__file__).parent
    files = [*here.glob("_*.py"), *here.glob("child/*.py"), *here.glob("runtime/**/*.py"), *loader_dir.glob("*.py")]
    return [p.stat().st_mtime_ns for p in sorted(files)]


def usable(directory: Path) -> bool:
    """Whether `directory` may be the cache: missing (made when first written), or ours and private.

    A directory owned by someone else (a shared /tmp, a planted folder) is never used;
    one of ours that others can read is made private first.
    """
    try:
        found = os.lstat(directory)
        if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid():
            return False
        if stat.S_IMODE(found.st_mode) & 0o077:
            os.chmod(directory, 0o700)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def prepare(directory: Path) -> bool:
    """Make `directory` a private cache (0700) with its secret; False when it cannot be one."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    return usable(directory) and _secret(directory) is not None


def _secret(directory: Path) -> bytes | None:
    """The cache's key; one that is not 32 bytes (cut short by a full disk) is replaced, which makes
    every entry a miss, instead of turning the cache off without a word."""
    path = directory / _SECRET
    for _ in range(2):
        with contextlib.suppress(FileExistsError, OSError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(32))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | _NOFOLLOW)
            with os.fdopen(fd, "rb") as handle:
                key = handle.read(33) if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) else b""
        except OSError:
            return None
        if len(key) == 32:
            return key
        _replace_secret(directory)
    return None


def _replace_secret(directory: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".secret.", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
        os.replace(tmp, directory / _SECRET)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def fingerprint(raw: dict[str, Any], secret: bytes) -> dict[str, Any]:
    """The keyed digest of every non-stdlib file the trace depended on, and of its import directories."""
    files = _read_files(raw)
    # A file only opened to test that it exists (pytz probes ~600) counts by its size, which the
    # trace records, not by its content.
    probed = _depended_files(raw) - files
    return {
        "files": {path: _digest(path, secret) for path in sorted(files)},
        "probed": {path: _size(path) for path in sorted(probed)},
        "dirs": {path: _listing(path, secret) for path in sorted(_directories(raw, files | probed))},
    }


def _read_files(raw: dict[str, Any]) -> set[str]:
    files = {raw["entry"]}
    files.update(m["origin"] for m in raw["modules"] if m.get("origin") and not m.get("stdlib"))
    files.update(f["path"] for f in raw["files"] if f.get("read", True))
    return files


def _depended_files(raw: dict[str, Any]) -> set[str]:
    return _read_files(raw) | {f["path"] for f in raw["files"]}


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _directories(raw: dict[str, Any], files: set[str]) -> set[str]:
    # A module added to, or removed from, any directory on the import path may change the result.
    dirs = set(raw.get("path_dirs", ()))
    dirs.add(raw["project_root"])
    dirs.update(os.path.dirname(path) for path in files)
    return dirs


def _digest(path: str, secret: bytes) -> str | None:
    """The keyed digest of a file's content (base/digest.py), as every cache of the tool makes it."""
    return keyed_digest(path, secret)


def _listing(path: str, secret: bytes) -> str | None:
    try:
        # Bytes names: a file name that is not valid UTF-8 is still a name.
        # A dot-name is never imported (nor a .pth read): canister's .basilisk/ beside the entry changes nothing.
        names = sorted(n for n in os.listdir(os.fsencode(path)) if not n.startswith(b"."))
    except OSError:
        return None
    return hashlib.blake2b(b"\0".join(names), key=secret, digest_size=20).hexdigest()


def changed_since(raw: dict[str, Any], started_ns: int) -> bool:
    """Whether a file the trace depended on was written after the dry run began.

    Its content now may not be what the program saw: caching the trace under
    today's digest would keep a stale trace for good.
    """
    for path in _depended_files(raw):
        try:
            found = os.stat(path)
        except OSError:
            continue
        # The change time too: an edit whose mtime was set back (touch -d, a tool restoring
        # stamps) still moves it, and nothing but the clock can set it.
        stamp = max(found.st_mtime_ns, found.st_ctime_ns)
        margin = _COARSE_MARGIN_NS if stamp % 1_000_000_000 == 0 else _FINE_MARGIN_NS
        if stamp >= started_ns - margin:
            return True
    return False


def _still_valid(fingerprints: dict[str, Any], secret: bytes) -> bool:
    return (all(_size(p) == s for p, s in fingerprints["probed"].items())
            and all(_listing(p, secret) == d for p, d in fingerprints["dirs"].items())
            and all(_digest(p, secret) == d for p, d in fingerprints["files"].items()))


def still_valid(saved: dict[str, Any], directory: Path) -> bool:
    """Whether what a document fingerprinted by this cache (in `directory`) depended on is unchanged."""
    secret = _secret(directory)
    fingerprints = saved.get("fingerprint")
    if secret is None or not isinstance(fingerprints, dict) or not _valid_fingerprint(fingerprints):
        return False
    return _still_valid(fingerprints, secret)


def saved_fingerprint(directory: Path, key: str) -> dict[str, Any] | None:
    """The fingerprint stored with the trace under `key`, for caches built on that trace."""
    saved = _read(directory, key)
    return saved["fingerprint"] if saved is not None else None


def _well_formed(saved: object) -> bool:
    """Only the shape this module writes counts; anything else (a hand edit, a crash) is a miss."""
    if not isinstance(saved, dict) or saved.get("schema") != CACHE_SCHEMA:
        return False
    return isinstance(saved.get("trace"), dict) and _valid_fingerprint(saved.get("fingerprint"))


def _valid_fingerprint(fingerprints: object) -> bool:
    if not isinstance(fingerprints, dict):
        return False
    probed = fingerprints.get("probed")
    return (all(isinstance(fingerprints.get(kind), dict)
                and all(isinstance(p, str) and (d is None or isinstance(d, str))
                        for p, d in fingerprints[kind].items())
                for kind in ("files", "dirs"))
            and isinstance(probed, dict)
            and all(isinstance(p, str) and (s is None or type(s) is int) for p, s in probed.items()))


def _read(directory: Path, key: str) -> dict[str, Any] | None:
    saved = read_entry(directory, f"trace-{key}.json")
    return saved if isinstance(saved, dict) and _well_formed(saved) else None


def read_entry(directory: Path, name: str) -> object:
    """The JSON document `name` in the cache, read as untrusted (no link, no FIFO, bounded); None if unusable."""
    try:
        held = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW)
    except OSError:
        return None
    try:
        data = read_untrusted(name, _ENTRY_LIMIT, dir_fd=held)
        return json.loads(data) if data is not None else None
    except (UntrustedFileError, OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(held)


def load(directory: Path, key: str) -> dict[str, Any] | None:
    """The raw trace stored under `key`, if it is well formed and still valid."""
    secret = _secret(directory)
    if secret is None:
        return None
    saved = _read(directory, key)
    if saved is None or not _still_valid(saved["fingerprint"], secret):
        return None
    raw: dict[str, Any] = saved["trace"]
    return raw


def store(directory: Path, key: str, raw: dict[str, Any], started_ns: int) -> None:
    """Keep a trace for next time; a cache that cannot be written only costs time."""
    if changed_since(raw, started_ns) or not prepare(directory):
        return
    secret = _secret(directory)
    if secret is None:
        return
    document = {"schema": CACHE_SCHEMA, "fingerprint": fingerprint(raw, secret), "trace": raw}
    try:
        text = json.dumps(document)  # one C-level encode and one write
    except (ValueError, TypeError):
        return
    write_private(directory, f"trace-{key}.json", text.encode("utf-8"))


def static_name(project_root: Path, python: str) -> str:
    """The file of the static pass's cache for one project and interpreter.

    Import sites are worked out in the child, which the program controls: what one program
    puts there (a file said to import nothing) must never reach another project's trace.
    """
    material = f"{os.path.realpath(project_root)}\0{os.path.realpath(python)}".encode()
    return f"static-{hashlib.sha256(material).hexdigest()[:32]}.json"


def store_static(directory: Path, name: str, data: bytes) -> None:
    """Keep the static pass's new cache of one project, as the child left it, if it is the shape the
    child writes and within bounds: a JSON object of at most 50,000 entries keyed by content digests."""
    if len(data) > STATIC_LIMIT or not prepare(directory):
        return
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not (isinstance(document, dict) and len(document) <= _STATIC_ENTRIES
            and all(_STATIC_KEY.fullmatch(k) and isinstance(v, list) for k, v in document.items())):
        return
    write_private(directory, name, data)


def write_private(directory: Path, name: str, data: bytes) -> None:
    """Write `name` in the cache atomically, 0600 (mkstemp's); a full disk leaves no temporary file."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
