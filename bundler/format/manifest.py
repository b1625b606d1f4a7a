"""The bundle manifest (`basilisk-bundle.json`): one type that the writer dumps and every reader loads.

It lists every file with its size, sha256, module and reason, and beside them the entry, the
target and every module left out with why. Paths follow one rule (`check_arcname`), which the
runtime bootstrap applies too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA",
    "ArchiveError",
    "Excluded",
    "Manifest",
    "ManifestEntry",
    "ManifestError",
    "check_arcname",
]

# The hyphen makes the name impossible to import, so it never shadows a module.
MANIFEST_NAME = "basilisk-bundle.json"
MANIFEST_SCHEMA = 1
# The runtime bootstrap refuses deeper paths and longer names: no file system holds them.
MAX_DEPTH = 64
_MAX_NAME_BYTES = 255
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_REBUILD = "rebuild it with `basilisk-trace bundle`"


class ArchiveError(BasiliskTraceError):
    """The files handed to the ZIP writer cannot form a safe, deterministic bundle."""


class ManifestError(BasiliskTraceError):
    """A manifest cannot be read: not JSON, another schema, or a field of the wrong type."""


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

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: object, where: str) -> ManifestEntry:
        if not isinstance(data, dict):
            raise ManifestError(f"{where}: a manifest file entry is not an object; {_REBUILD}")
        path = _typed(data, "path", str, where)
        size = _typed(data, "size", int, where)
        digest = _typed(data, "sha256", str, where)
        if size < 0 or not _SHA256.fullmatch(digest):
            raise ManifestError(f"{where}: manifest entry {path!r} has a bad size or sha256; {_REBUILD}")
        try:
            check_arcname(path)
        except ArchiveError as exc:
            raise ManifestError(f"{where}: manifest lists {exc}") from None
        optional = (str, type(None))
        return cls(path=path, size=size, sha256=digest, module=_typed(data, "module", optional, where),
                   distribution=_typed(data, "distribution", optional, where),
                   version=_typed(data, "version", optional, where), reason=_typed(data, "reason", str, where))


@dataclass(frozen=True)
class Excluded:
    """A module the bundle leaves out, with the reason and the import chain that named it."""

    module: str
    reason: str
    detail: str | None
    chain: tuple[str, ...] = ()
    guarded: bool = False  # its import is inside try/except ImportError: the program has a fallback

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"module": self.module, "reason": self.reason, "detail": self.detail,
                                "chain": list(self.chain)}
        if self.guarded:  # absent when false: bundles without a guarded import keep their bytes
            data["guarded"] = True
        return data

    @classmethod
    def from_dict(cls, data: object, where: str) -> Excluded:
        if not isinstance(data, dict):
            raise ManifestError(f"{where}: a manifest 'excluded' item is not an object; {_REBUILD}")
        chain = _typed(data, "chain", list, where)
        if not all(isinstance(link, str) for link in chain):
            raise ManifestError(f"{where}: manifest 'chain' must list module names; {_REBUILD}")
        return cls(module=_typed(data, "module", str, where), reason=_typed(data, "reason", str, where),
                   detail=_typed(data, "detail", (str, type(None)), where), chain=tuple(chain),
                   guarded=bool(data.get("guarded", False) is True))


# The manifest's keys beyond the files, and their types (a hostile manifest must not reach the
# CLI); a key left None is not written.
_KEYS: dict[str, tuple[type, ...]] = {
    "entry": (str,), "entry_module": (str,), "target": (str,), "tool": (str,),
    "target_python": (str, type(None)), "host_python": (str, type(None)),
}


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds and why: the files, the entry, the target, and every module left out."""

    files: tuple[ManifestEntry, ...] = ()
    entry: str | None = None  # the entry's file name
    entry_module: str | None = None
    target: str | None = None
    target_python: str | None = None
    host_python: str | None = None
    tool: str | None = None
    excluded: tuple[Excluded, ...] | None = None
    schema: int = MANIFEST_SCHEMA
    _by_path: dict[str, ManifestEntry] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_path.update((entry.path, entry) for entry in self.files)

    def dump(self) -> bytes:
        """The manifest JSON: sorted keys, fixed separators, ASCII, one trailing newline."""
        document: dict[str, Any] = {"schema": self.schema,
                                    "files": [e.to_dict() for e in sorted(self.files, key=lambda e: e.path)]}
        for key in _KEYS:
            if getattr(self, key) is not None:
                document[key] = getattr(self, key)
        if self.excluded is not None:
            document["excluded"] = [item.to_dict() for item in self.excluded]
        text = json.dumps(document, sort_keys=True, indent=1, separators=(",", ": "), ensure_ascii=True,
                          allow_nan=False)
        return (text + "\n").encode("ascii")

    @classmethod
    def load(cls, text: bytes, where: str) -> Manifest:
        """Parse and check a manifest; every problem is a ManifestError naming `where`."""
        try:
            document = json.loads(text.decode("utf-8"))
        except (ValueError, RecursionError) as exc:
            raise ManifestError(f"{where}: {MANIFEST_NAME} is not valid JSON ({_one_line(exc)}); {_REBUILD}") from None
        if not isinstance(document, dict):
            raise ManifestError(f"{where}: {MANIFEST_NAME} is not a JSON object; {_REBUILD}")
        schema = _typed(document, "schema", int, where)
        if schema != MANIFEST_SCHEMA:
            raise ManifestError(f"{where}: manifest schema {schema} is not {MANIFEST_SCHEMA}; "
                                "use the basilisk-trace version that wrote it, or rebuild the bundle")
        files = tuple(ManifestEntry.from_dict(entry, where) for entry in _typed(document, "files", list, where))
        if len({entry.path for entry in files}) != len(files):
            raise ManifestError(f"{where}: the manifest lists a path twice; {_REBUILD}")
        values = {key: _typed(document, key, kinds, where) if key in document else None
                  for key, kinds in _KEYS.items()}
        module = values["entry_module"]
        if module is not None and not _MODULE_NAME.fullmatch(module):
            raise ManifestError(f"{where}: manifest entry_module {module[:100]!r} is not a module name; {_REBUILD}")
        excluded = None
        if "excluded" in document:
            excluded = tuple(Excluded.from_dict(item, where) for item in _typed(document, "excluded", list, where))
        return cls(files=files, excluded=excluded, schema=schema, entry=values["entry"],
                   entry_module=values["entry_module"], target=values["target"],
                   target_python=values["target_python"], host_python=values["host_python"], tool=values["tool"])

    def find(self, module_name: str) -> ManifestEntry | None:
        """The entry that provides `module_name`, or None if the bundle lacks it.

        A module's own source wins over data files that name it as their owner.
        """
        stem = module_name.replace(".", "/")
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            if candidate in self._by_path:
                return self._by_path[candidate]
        owned = [entry for entry in self.files if entry.module == module_name]
        owned.sort(key=lambda entry: (not entry.path.endswith(".py"), entry.path))
        return owned[0] if owned else None

    def left_out(self, module_name: str) -> Excluded | None:
        """Why the bundle leaves `module_name` out, if its manifest says."""
        return next((item for item in self.excluded or () if item.module == module_name), None)


def _typed(data: Mapping[str, Any], key: str, kinds: type | tuple[type, ...], where: str) -> Any:
    if key not in data:
        raise ManifestError(f"{where}: manifest is missing {key!r}; {_REBUILD}")
    value = data[key]
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    # bool is an int to isinstance, never to a manifest
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise ManifestError(f"{where}: manifest {key!r} has the wrong type ({type(value).__name__}); {_REBUILD}")
    return value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__
