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
import stat
from pathlib import Path
from typing import Any

CACHE_SCHEMA = 3
_SECRET = "secret"
_CHUNK = 1024 * 1024
# Kernels stamp files from a coarse clock, a few ms behind time.time_ns(); file systems with
# whole-second stamps (FAT, some network mounts) round down by up to 2 s.
_FINE_MARGIN_NS = 100_000_000
_COARSE_MARGIN_NS = 2_000_000_000


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
    path = directory / _SECRET
    with contextlib.suppress(FileExistsError, OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(os.urandom(32))
    try:
        with open(path, "rb") as handle:
            key = handle.read(33)
    except OSError:
        return None
    return key if len(key) == 32 else None


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
    hasher = hashlib.blake2b(key=secret, digest_size=20)
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
    except OSError:
        return None
    return hasher.hexdigest()


def _listing(path: str, secret: bytes) -> str | None:
    try:
        # Bytes names: a file name that is not valid UTF-8 is still a name. A dot-name is never
        # imported (nor a .pth read): `canister` writing .basilisk/ beside the entry changes nothing.
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
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue
        margin = _COARSE_MARGIN_NS if mtime % 1_000_000_000 == 0 else _FINE_MARGIN_NS
        if mtime >= started_ns - margin:
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
    try:
        saved = json.loads((directory / f"trace-{key}.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return saved if _well_formed(saved) else None


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
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".trace-{key}.", suffix=".tmp", dir=directory)
    except OSError:
        return
    try:
        text = json.dumps(document)  # one C-level encode and one write
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, directory / f"trace-{key}.json")
    except (OSError, ValueError):
        # A full disk must not leave a temporary file behind on every run.
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def store_file(directory: Path, name: str, data: bytes) -> None:
    """Keep a file the child made for the cache (the static pass's): a JSON object, atomically, 0600."""
    if not prepare(directory):
        return
    try:
        if not isinstance(json.loads(data), dict):
            return
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    except (OSError, ValueError, RecursionError):
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, directory / name)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
