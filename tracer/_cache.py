"""The trace cache: reuse a trace while nothing it depended on has changed.

A trace is keyed on the entry, the interpreter, the options and the environment
passed to the child, and stays valid while the content of every traced file, the
size of every file the program only probed, and the listing of every import directory
are what they were when it was made.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CACHE_SCHEMA = 2


def cache_key(config: dict[str, Any], python: str, env: dict[str, str]) -> str:
    """What must be equal for a cached trace to apply at all."""
    interpreter = os.path.realpath(python)
    try:
        stat = os.stat(interpreter)
        identity = [interpreter, stat.st_size, stat.st_mtime_ns]
    except OSError:
        identity = [interpreter]
    material = {"schema": CACHE_SCHEMA, "config": config, "python": identity, "env": env,
                "tool": _tool_fingerprint()}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def _tool_fingerprint() -> list[int]:
    """A change to the tracer's own code, the child scripts included, invalidates every trace."""
    here = Path(__file__).parent
    files = [*here.glob("_*.py"), *here.glob("child/*.py"), *here.glob("runtime/**/*.py")]
    return [p.stat().st_mtime_ns for p in sorted(files)]


def fingerprint(raw: dict[str, Any]) -> dict[str, Any]:
    """The content of every non-stdlib file the trace depended on, and its import directories."""
    files = {raw["entry"]}
    files.update(m["origin"] for m in raw["modules"] if m.get("origin") and not m.get("stdlib"))
    files.update(f["path"] for f in raw["files"] if f.get("read", True))
    # A file only opened to test that it exists (pytz probes ~600) counts by its size, which the
    # trace records, not by its content.
    probed = {f["path"] for f in raw["files"] if not f.get("read", True)} - files
    return {
        "files": {path: _digest(path) for path in sorted(files)},
        "probed": {path: _size(path) for path in sorted(probed)},
        "dirs": {path: _listing(path) for path in sorted(_directories(raw, files | probed))},
    }


def _directories(raw: dict[str, Any], files: set[str]) -> set[str]:
    # A module added to, or removed from, any directory on the import path may change the result.
    dirs = set(raw.get("path_dirs", ()))
    dirs.add(raw["project_root"])
    dirs.update(os.path.dirname(path) for path in files)
    return dirs


def _digest(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _listing(path: str) -> str | None:
    try:
        names = sorted(os.listdir(path))
    except OSError:
        return None
    return hashlib.sha256("\0".join(names).encode()).hexdigest()


def still_valid(saved: dict[str, Any]) -> bool:
    """Whether what a fingerprinted document depended on is unchanged."""
    fingerprints = saved.get("fingerprint", {})
    return (all(_size(p) == s for p, s in fingerprints.get("probed", {}).items())
            and all(_listing(p) == d for p, d in fingerprints.get("dirs", {}).items())
            and all(_digest(p) == d for p, d in fingerprints.get("files", {}).items()))


def saved_fingerprint(directory: Path, key: str) -> dict[str, Any] | None:
    """The fingerprint stored with the trace under `key`, for caches built on that trace."""
    try:
        saved = json.loads((directory / f"trace-{key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    return saved.get("fingerprint") if isinstance(saved, dict) and saved.get("schema") == CACHE_SCHEMA else None


def load(directory: Path, key: str) -> dict[str, Any] | None:
    """The raw trace stored under `key`, if it is still valid."""
    try:
        saved = json.loads((directory / f"trace-{key}.json").read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("schema") != CACHE_SCHEMA or not still_valid(saved):
        return None
    raw: dict[str, Any] = saved["trace"]
    return raw


def store(directory: Path, key: str, raw: dict[str, Any]) -> None:
    """Keep a trace for next time; a cache that cannot be written only costs time."""
    document = {"schema": CACHE_SCHEMA, "fingerprint": fingerprint(raw), "trace": raw}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".trace-{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(document), encoding="utf-8")
        os.replace(tmp, directory / f"trace-{key}.json")
    except OSError:
        pass


def store_file(directory: Path, name: str, data: bytes) -> None:
    """Keep a file the child made for the cache (the static pass's): a JSON object, atomically."""
    try:
        if not isinstance(json.loads(data), dict):
            return
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, directory / name)
    except (OSError, ValueError):
        pass
