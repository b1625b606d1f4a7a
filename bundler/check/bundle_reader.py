"""Read a bundle ZIP back: its manifest, its entries, and whether they match."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from basilisk_trace.bundler.write.archive import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    ArchiveError,
    check_arcname,
)
from basilisk_trace.tracer.errors import BasiliskTraceError

__all__ = ["Bundle", "BundleError", "ManifestEntry", "read_bundle"]

# A manifest lists file names and hashes; anything this large is not ours.
_MANIFEST_LIMIT = 64 * 1024 * 1024
_CHUNK = 1024 * 1024
_SHA256 = re.compile(r"[0-9a-f]{64}")
_REBUILD = "rebuild it with `basilisk-trace bundle`"
# zipfile reports damaged input through all of these, depending on where the damage is.
_ZIP_FAILURES = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
    NotImplementedError, struct.error, zlib.error, OverflowError, IndexError, KeyError,
)


class BundleError(BasiliskTraceError):
    """A bundle file cannot be read, or its contents do not match its manifest."""


@dataclass(frozen=True)
class ManifestEntry:
    """One file listed in a bundle manifest."""

    path: str
    size: int
    sha256: str
    module: str | None
    distribution: str | None
    version: str | None
    reason: str

    @classmethod
    def from_dict(cls, data: object, where: str) -> ManifestEntry:
        if not isinstance(data, dict):
            raise BundleError(f"{where}: a manifest file entry is not an object; {_REBUILD}")
        path = _typed(data, "path", str, where)
        size = _typed(data, "size", int, where)
        digest = _typed(data, "sha256", str, where)
        if size < 0 or not _SHA256.fullmatch(digest):
            raise BundleError(f"{where}: manifest entry {path!r} has a bad size or sha256; {_REBUILD}")
        try:
            check_arcname(path)
        except ArchiveError as exc:
            raise BundleError(f"{where}: manifest lists {exc}") from None
        return cls(
            path=path,
            size=size,
            sha256=digest,
            module=_typed(data, "module", (str, type(None)), where),
            distribution=_typed(data, "distribution", (str, type(None)), where),
            version=_typed(data, "version", (str, type(None)), where),
            reason=_typed(data, "reason", str, where),
        )


@dataclass(frozen=True)
class Bundle:
    """A bundle's manifest: its schema, its files, and the writer's extra keys."""

    source: str
    sha256: str
    schema: int
    files: tuple[ManifestEntry, ...]
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def entry(self) -> str | None:
        value = self.extra.get("entry")
        return value if isinstance(value, str) else None

    def find(self, module_name: str) -> ManifestEntry | None:
        """The entry that provides `module_name`, or None if the bundle lacks it.

        A module's own source wins over data files that name it as their owner.
        """
        stem = module_name.replace(".", "/")
        by_path = {entry.path: entry for entry in self.files}
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in by_path:
                return by_path[candidate]
        owned = [entry for entry in self.files if entry.module == module_name]
        owned.sort(key=lambda entry: (not entry.path.endswith(".py"), entry.path))
        return owned[0] if owned else None


def read_bundle(source: bytes | str | os.PathLike[str], *, verify: bool = False) -> Bundle:
    """Read and validate a bundle; with `verify`, also check every entry's size and hash.

    Every problem with the input, however damaged, is a BundleError.
    """
    name, raw = _load(source)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = _checked_infos(archive, name)
        if MANIFEST_NAME not in infos:
            raise BundleError(f"{name}: no {MANIFEST_NAME} inside; is this a basilisk-trace bundle? {_REBUILD}")
        text = _read_upto(archive, infos[MANIFEST_NAME], _MANIFEST_LIMIT)
        if len(text) > _MANIFEST_LIMIT:
            raise BundleError(f"{name}: {MANIFEST_NAME} is over {_MANIFEST_LIMIT} bytes; {_REBUILD}")
        bundle = _parse_manifest(text, name, hashlib.sha256(raw).hexdigest())
        if verify:
            _verify(archive, infos, bundle)
    except _ZIP_FAILURES as exc:
        raise BundleError(f"{name}: not a readable ZIP ({_one_line(exc)}); {_REBUILD}") from None
    return bundle


def _load(source: bytes | str | os.PathLike[str]) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bundle bytes>", bytes(source)
    path = Path(source)
    try:
        return str(path), path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc.strerror or exc}; check the path") from None


def _checked_infos(archive: zipfile.ZipFile, name: str) -> dict[str, zipfile.ZipInfo]:
    infos: dict[str, zipfile.ZipInfo] = {}
    for info in archive.infolist():
        if info.filename in infos:
            raise BundleError(f"{name}: {info.filename!r} appears twice in the ZIP; {_REBUILD}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) or info.flag_bits & 0x1:
            raise BundleError(
                f"{name}: {info.filename!r} is encrypted or uses an unsupported compression; {_REBUILD}"
            )
        infos[info.filename] = info
    return infos


def _read_upto(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # One byte past the limit tells "too long" apart from "exactly right"
    # without trusting the size the (possibly damaged) header claims.
    with archive.open(info) as handle:
        return handle.read(limit + 1)


def _parse_manifest(text: bytes, name: str, digest: str) -> Bundle:
    try:
        document = json.loads(text.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise BundleError(f"{name}: {MANIFEST_NAME} is not valid JSON ({_one_line(exc)}); {_REBUILD}") from None
    if not isinstance(document, dict):
        raise BundleError(f"{name}: {MANIFEST_NAME} is not a JSON object; {_REBUILD}")
    schema = _typed(document, "schema", int, name)
    if schema != MANIFEST_SCHEMA:
        raise BundleError(
            f"{name}: manifest schema {schema} is not {MANIFEST_SCHEMA}; "
            "use the basilisk-trace version that wrote it, or rebuild the bundle"
        )
    entries = _typed(document, "files", list, name)
    files = tuple(ManifestEntry.from_dict(entry, name) for entry in entries)
    paths = [entry.path for entry in files]
    if len(set(paths)) != len(paths):
        raise BundleError(f"{name}: the manifest lists a path twice; {_REBUILD}")
    extra = {key: value for key, value in document.items() if key not in ("schema", "files")}
    return Bundle(source=name, sha256=digest, schema=schema, files=files, extra=extra)


def _verify(archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], bundle: Bundle) -> None:
    name = bundle.source
    listed = {entry.path for entry in bundle.files}
    unlisted = sorted(set(infos) - listed - {MANIFEST_NAME})
    if unlisted:
        raise BundleError(f"{name}: {unlisted[0]!r} is in the ZIP but not in the manifest; {_REBUILD}")
    for entry in bundle.files:
        info = infos.get(entry.path)
        if info is None:
            raise BundleError(f"{name}: {entry.path!r} is in the manifest but missing from the ZIP; {_REBUILD}")
        size, digest = _measure(archive, info, entry.size)
        if size != entry.size or digest != entry.sha256:
            raise BundleError(f"{name}: {entry.path!r} does not match its manifest size/sha256; {_REBUILD}")


def _measure(archive: zipfile.ZipFile, info: zipfile.ZipInfo, expected: int) -> tuple[int, str]:
    # Streamed, and stopped one chunk past the expected size, so a damaged
    # header or a ZIP bomb cannot make verification hold the whole entry.
    hasher, size = hashlib.sha256(), 0
    with archive.open(info) as handle:
        while size <= expected and (chunk := handle.read(_CHUNK)):
            hasher.update(chunk)
            size += len(chunk)
    return size, hasher.hexdigest()


def _typed(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise BundleError(f"{where}: manifest is missing {key!r}; {_REBUILD}")
    value = data[key]
    # bool is an int subclass, but `"size": true` is not a size.
    if isinstance(value, bool) and kind is int or not isinstance(value, kind):
        raise BundleError(f"{where}: manifest {key!r} has the wrong type ({type(value).__name__}); {_REBUILD}")
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
