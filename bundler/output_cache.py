"""The output cache of `bundle`: a rebuild with nothing changed plans nothing and writes nothing.

A written bundle is remembered under its trace's cache key (entry, interpreter, dry-run
options, environment), the plan options, the target and its runtime-modules file, the
compression, the output path and the bundler's own code. It is reused while the trace's
fingerprint holds (every traced file's content, every probed file's size, every import
directory's listing) and the output file still holds the bytes that were written.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basilisk_trace import tracer

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request

_SCHEMA = 2
_BUNDLER = Path(__file__).resolve().parent
# The code that decides what a bundle holds: a change to any of it is a different bundle.
_CODE = ("pipeline/*.py", "output_cache.py", "plan/**/*.py", "hosts/**/*.py", "hosts/*/profile.json", "write/**/*.py", "report/plan.py", "settings.py")


@dataclass(frozen=True)
class Written:
    """What `bundle` reports for one output: its summary line, the plan's warnings, its --json document."""

    summary: str
    warnings: tuple[str, ...]
    document: dict[str, Any]
    cached: bool = False


@dataclass(frozen=True)
class OutputCache:
    """Where one request's bundle is remembered, and the trace it was made from."""

    path: Path
    trace: tuple[Path, str]

    @classmethod
    def of(cls, request: Request, output: Path) -> OutputCache | None:
        """The cache entry of `request` written to `output`; None when traces are not cached."""
        if request.target == "wasix" or request.wheelhouse or request.index_url:
            return None  # wheels come from outside the trace: always rebuild
        from basilisk_trace.bundler.pipeline.bundle import host_dry_run

        trace = tracer.cache_entry(request.entry, host_dry_run(request)[1])
        if trace is None:
            return None
        modules = request.runtime_modules
        if modules is not None and _digest(modules) is None:
            return None  # not a file we can key on: let the planner read it and say what is wrong
        material = {
            "schema": _SCHEMA, "trace": trace[1], "plan": repr(request.plan), "include": list(request.include),
            "target": request.target,
            "runtime_modules": [str(modules), _digest(modules)] if modules else None,
            "compression": request.compression, "output": os.path.abspath(output), "code": _code(),
        }
        key = hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()
        return cls(trace[0] / f"bundle-{key}.json", trace)

    def hit(self, output: Path) -> Written | None:
        """What the last build reported, if nothing it depended on changed and `output` is intact."""
        saved = tracer.read_entry(self.path.parent, self.path.name)
        if not _well_formed(saved):
            return None  # damaged (a field missing or of another type): a miss, never a traceback
        assert isinstance(saved, dict)
        if _digest(output) != saved.get("sha256") or not tracer.still_valid(saved, self.trace[0]):
            return None
        return Written(saved["summary"], tuple(saved["warnings"]), saved["document"], cached=True)

    def store(self, written: Written, data: bytes) -> None:
        """Remember a bundle just written; a cache that cannot be written only costs time."""
        fingerprint = tracer.saved_fingerprint(*self.trace)
        if fingerprint is None:
            return  # the trace was not kept (it failed): nothing to key on
        document: dict[str, Any] = {
            "schema": _SCHEMA, "fingerprint": fingerprint, "sha256": hashlib.sha256(data).hexdigest(),
            "summary": written.summary, "warnings": list(written.warnings), "document": written.document,
        }
        tracer.write_private(self.path.parent, self.path.name, json.dumps(document).encode("utf-8"))


def _well_formed(saved: object) -> bool:
    return (isinstance(saved, dict) and saved.get("schema") == _SCHEMA and isinstance(saved.get("document"), dict)
            and isinstance(saved.get("summary"), str) and isinstance(saved.get("sha256"), str)
            and isinstance(saved.get("warnings"), list) and all(isinstance(w, str) for w in saved["warnings"]))


def _digest(path: Path) -> str | None:
    """The sha256 of a regular file, read with a bound; None for anything else (a device, a FIFO)."""
    from basilisk_trace.base.read import MIB, InputTooLargeError, read_bounded

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        return hashlib.sha256(read_bounded(path, 256 * MIB, "file")).hexdigest()
    except (OSError, InputTooLargeError):
        return None


def _code() -> list[tuple[str, int]]:
    files = sorted(p for pattern in _CODE for p in _BUNDLER.glob(pattern) if p.is_file())
    return [(p.relative_to(_BUNDLER).as_posix(), p.stat().st_mtime_ns) for p in files]
