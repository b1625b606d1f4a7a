"""Read a bundle ZIP back: its manifest, its entries, and whether they match."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import struct
import types
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, InputTooLargeError, NotAFileError, read_bounded
from basilisk_trace.bundler.format.bootstrap import (
    BOOTSTRAP_ARCNAME,
    BOOTSTRAP_MODULE,
    BOOTSTRAP_SOURCE,
)
from basilisk_trace.bundler.format.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    ManifestError,
)

__all__ = ["Bundle", "BundleError", "read_bundle"]

# A manifest lists file names and hashes; anything this large is not ours.
_MANIFEST_LIMIT = 64 * 1024 * 1024
# A canister's whole Wasm must stay far below this; a larger "bundle" is a wrong file (or /dev/zero).
BUNDLE_LIMIT = 256 * MIB
# What every entry together may unpack to: checked on the declared sizes, before inflating.
UNPACKED_LIMIT = 1024 * MIB
_REBUILD = "rebuild it with `basilisk-trace bundle`"
# zipfile reports damaged input through all of these, depending on where the damage is.
_ZIP_FAILURES = (
    zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, RuntimeError,
    NotImplementedError, struct.error, zlib.error, OverflowError, IndexError, KeyError,
)


class BundleError(BasiliskTraceError):
    """A bundle file cannot be read, or its contents do not match its manifest."""


@dataclass(frozen=True)
class Bundle:
    """A bundle read back: its manifest, where it came from, and its bytes."""

    source: str
    sha256: str
    manifest: Manifest
    data: bytes = field(default=b"", repr=False, compare=False)
    listed: bool = True  # False: a ZIP without a manifest, described by its own files

    @property
    def files(self) -> tuple[ManifestEntry, ...]:
        return self.manifest.files

    @property
    def entry(self) -> str | None:
        return self.manifest.entry

    def find(self, module_name: str) -> ManifestEntry | None:
        """The entry that provides `module_name`, or None if the bundle lacks it."""
        return self.manifest.find(module_name)


def read_bundle(source: bytes | str | os.PathLike[str], *, verify: bool = False,
                unlisted: bool = False) -> Bundle:
    """Read and validate a bundle; with `verify`, also check every entry's size and hash.

    Every problem with the input, however damaged, is a BundleError. The ZIP must
    also pass the runtime bootstrap's own reader, so that what verify accepts is
    what a canister unpacks. With `unlisted`, a ZIP without a manifest (built by
    another tool) is read from its files alone: no reasons, no entry module.
    """
    name, raw = _load(source)
    reader = _bootstrap_reader(raw, name)
    try:
        infos = _checked_infos(zipfile.ZipFile(io.BytesIO(raw)), name)
    except _ZIP_FAILURES as exc:
        raise BundleError(f"{name}: not a readable ZIP ({_one_line(exc)}); {_REBUILD}") from None
    if set(infos) != set(reader.entries):
        raise BundleError(f"{name}: the ZIP's directory reads differently to different readers; {_REBUILD}")
    if MANIFEST_NAME not in infos and unlisted:
        return _from_files(reader, name, raw)
    if MANIFEST_NAME not in infos:
        raise BundleError(f"{name}: no {MANIFEST_NAME} inside; is this a basilisk-trace bundle? {_REBUILD}")
    if _declared_size(reader, MANIFEST_NAME) > _MANIFEST_LIMIT:
        raise BundleError(f"{name}: {MANIFEST_NAME} is over {_MANIFEST_LIMIT} bytes; {_REBUILD}")
    text = _entry_bytes(reader, MANIFEST_NAME, name)
    bundle = replace(_parse_manifest(text, name, hashlib.sha256(raw).hexdigest()), data=raw)
    if verify:
        _verify(reader, bundle)
    return bundle


def _from_files(reader: Any, name: str, raw: bytes) -> Bundle:
    """A ZIP without a manifest, described by its own entries: each file's size, hash and module."""
    files = []
    for path in sorted(reader.entries):
        if path.endswith("/"):
            continue
        data = _entry_bytes(reader, path, name)
        stem = path[:-3].removesuffix("/__init__") if path.endswith(".py") else None
        module = stem.replace("/", ".") if stem and all(part.isidentifier() for part in stem.split("/")) else None
        files.append(ManifestEntry(path, len(data), hashlib.sha256(data).hexdigest(), module, None, None, "unlisted"))
    return Bundle(source=name, sha256=hashlib.sha256(raw).hexdigest(), manifest=Manifest(files=tuple(files)),
                  data=raw, listed=False)


def _load(source: bytes | str | os.PathLike[str]) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bundle bytes>", bytes(source)
    path = Path(source)
    try:
        return str(path), read_bounded(path, BUNDLE_LIMIT, "bundle")
    except (InputTooLargeError, NotAFileError) as exc:
        raise BundleError(str(exc)) from None
    except OSError as exc:
        raise BundleError(f"cannot read bundle {path}: {exc.strerror or exc}; check the path") from None


def _bootstrap_reader(raw: bytes, name: str) -> Any:
    """The ZIP as the runtime bootstrap reads it (ZIP64, counts, name encodings, paths, sizes)."""
    bootstrap = _bootstrap()
    try:
        reader = bootstrap.BundleZip(raw)
    except bootstrap.BootstrapError as exc:
        raise BundleError(f"{name}: {exc}") from None
    except (RecursionError, MemoryError, ValueError, OverflowError) as exc:
        raise BundleError(f"{name}: not a readable ZIP ({_one_line(exc)}); {_REBUILD}") from None
    unpacked = sum(_declared_size(reader, entry) for entry in reader.entries)
    if unpacked > UNPACKED_LIMIT:
        raise BundleError(f"{name}: unpacks to {unpacked} bytes, over {UNPACKED_LIMIT // MIB} MiB; {_REBUILD}")
    return reader


def _declared_size(reader: Any, entry: str) -> int:
    size: int = reader.entries[entry][4]
    return size


def _entry_bytes(reader: Any, entry: str, name: str) -> bytes:
    """One entry through the bootstrap's reader: never inflated past its declared size, CRC checked."""
    bootstrap = _bootstrap()
    try:
        data: bytes = reader.read(entry)
    except bootstrap.BootstrapError as exc:
        raise BundleError(f"{name}: {exc}") from None
    return data


@functools.cache
def _bootstrap() -> Any:
    """The runtime bootstrap as a module, built from its text exactly as a canister builds it."""
    module = types.ModuleType(BOOTSTRAP_MODULE)
    module.__file__ = BOOTSTRAP_ARCNAME
    exec(compile(BOOTSTRAP_SOURCE, BOOTSTRAP_ARCNAME, "exec"), module.__dict__)
    return module


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


def _parse_manifest(text: bytes, name: str, digest: str) -> Bundle:
    try:
        manifest = Manifest.load(text, name)
    except ManifestError as exc:
        raise BundleError(str(exc)) from None
    return Bundle(source=name, sha256=digest, manifest=manifest)


def _verify(reader: Any, bundle: Bundle) -> None:
    name = bundle.source
    listed = {entry.path for entry in bundle.files}
    unlisted = sorted(set(reader.entries) - listed - {MANIFEST_NAME})
    if unlisted:
        raise BundleError(f"{name}: {unlisted[0]!r} is in the ZIP but not in the manifest; {_REBUILD}")
    for entry in bundle.files:
        if entry.path not in reader.entries:
            raise BundleError(f"{name}: {entry.path!r} is in the manifest but missing from the ZIP; {_REBUILD}")
        # The sizes are compared before anything is inflated.
        if _declared_size(reader, entry.path) != entry.size or \
                hashlib.sha256(_entry_bytes(reader, entry.path, name)).hexdigest() != entry.sha256:
            raise BundleError(f"{name}: {entry.path!r} does not match its manifest size/sha256; {_REBUILD}")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
