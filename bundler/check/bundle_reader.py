"""Read a bundle ZIP back: its manifest, its entries, and whether they match."""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import re
import struct
import types
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, InputTooLargeError, read_bounded
from basilisk_trace.bundler.write.archive import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    ArchiveError,
    check_arcname,
)
from basilisk_trace.bundler.write.bootstrap import (
    BOOTSTRAP_ARCNAME,
    BOOTSTRAP_MODULE,
    BOOTSTRAP_SOURCE,
)

__all__ = ["Bundle", "BundleError", "ManifestEntry", "read_bundle"]

# A manifest lists file names and hashes; anything this large is not ours.
_MANIFEST_LIMIT = 64 * 1024 * 1024
# A canister's whole Wasm must stay far below this; a larger "bundle" is a wrong file (or /dev/zero).
BUNDLE_LIMIT = 256 * MIB
# What every entry together may unpack to: checked on the declared sizes, before inflating.
UNPACKED_LIMIT = 1024 * MIB
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
# The writer's keys beyond the files, and their types: a hostile manifest must not reach the CLI.
_OPTIONAL = type(None)
_EXTRA_TYPES: dict[str, tuple[type, ...]] = {
    "entry": (str,), "entry_module": (str,), "target": (str,), "tool": (str,),
    "target_python": (str, _OPTIONAL), "host_python": (str, _OPTIONAL), "excluded": (list,),
}
_EXCLUDED_TYPES: dict[str, tuple[type, ...]] = {
    "module": (str,), "reason": (str,), "detail": (str, _OPTIONAL), "chain": (list,),
}
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
    data: bytes = field(default=b"", repr=False, compare=False)

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
        module = stem.replace("/", ".") if stem and _MODULE_NAME.fullmatch(stem.replace("/", ".")) else None
        files.append(ManifestEntry(path, len(data), hashlib.sha256(data).hexdigest(), module, None, None, "unlisted"))
    return Bundle(source=name, sha256=hashlib.sha256(raw).hexdigest(), schema=MANIFEST_SCHEMA, files=tuple(files),
                  extra={"manifest": False}, data=raw)


def _load(source: bytes | str | os.PathLike[str]) -> tuple[str, bytes]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bundle bytes>", bytes(source)
    path = Path(source)
    try:
        return str(path), read_bounded(path, BUNDLE_LIMIT, "bundle")
    except InputTooLargeError as exc:
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
    _check_extra(extra, name)
    return Bundle(source=name, sha256=digest, schema=schema, files=files, extra=extra)


def _check_extra(extra: dict[str, Any], name: str) -> None:
    for key, kinds in _EXTRA_TYPES.items():
        if key in extra:
            _typed(extra, key, kinds, name)
    module = extra.get("entry_module")
    if module is not None and not _MODULE_NAME.fullmatch(module):
        raise BundleError(f"{name}: manifest entry_module {module[:100]!r} is not a module name; {_REBUILD}")
    for item in extra.get("excluded", ()):
        if not isinstance(item, dict):
            raise BundleError(f"{name}: a manifest 'excluded' item is not an object; {_REBUILD}")
        for key, kinds in _EXCLUDED_TYPES.items():
            _typed(item, key, kinds, name)
        if not all(isinstance(link, str) for link in item["chain"]):
            raise BundleError(f"{name}: manifest 'chain' must list module names; {_REBUILD}")


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
