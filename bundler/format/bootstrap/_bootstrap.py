"""basilisk-trace runtime bootstrap: unpack a bundle ZIP at canister init and make it importable.

This file is standalone. It runs on a minimal WASI CPython: it imports only
`sys` up front; `os`, `zlib`, `binascii`, `ctypes` and `io` are used when
present and only where needed. Stored bundles need no zlib.

A template author adds two lines to the canister's init, before the program
is imported (BOOTSTRAP_SOURCE is this file's text, from `bundler.bootstrap`):

    exec(compile(BOOTSTRAP_SOURCE, "_basilisk_bootstrap.py", "exec"), boot := {"__name__": "_basilisk_bootstrap"})
    boot["install"]()  # reads the bundle from the Wasm passive data; returns the mode used

`install(data, target, mode)` modes: "filesystem" extracts into `target` and puts
it first on sys.path; "memory" serves modules from the ZIP through a
sys.meta_path finder; "eager" registers lazy modules straight into
sys.modules, for runtimes whose import system never consults sys.meta_path
(ic-basilisk skips _Py_InitializeMain). "auto" tries them in that order.
`install_files(files, target, code)` registers a bundle given as a dict of files
in "eager" mode, with code objects where the caller has them: a canister's
python_source (bundler/write/canister_source.py) runs it.
"""

# No `from __future__ import annotations`: __future__ is a plain stdlib file that a
# minimal runtime may not be able to import. Annotations need Python 3.10+, and
# names only mypy sees are quoted.
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # read by mypy only; the runtime never imports these
    from collections.abc import Iterator
    from importlib.machinery import ModuleSpec
    from pathlib import Path
    from types import ModuleType as _ModuleType
    from typing import Any
else:
    _ModuleType = type(sys)

MANIFEST_NAME = "basilisk-bundle.json"
DEFAULT_TARGET = "/lib/site-packages"
MODES = ("auto", "filesystem", "memory", "eager")
# importlib's core is always loaded, even when the importlib package is not.
_ModuleSpec: "Any" = sys.modules["_frozen_importlib"].ModuleSpec
_REBUILD = "rebuild the bundle with basilisk-trace"
# No file system a canister or a build machine uses nests deeper; a hostile ZIP may.
MAX_DEPTH = 64


class BootstrapError(Exception):
    """The bundle cannot be installed; the message says why and what to do."""


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "little")


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _u64(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 8], "little")


def _optional(name: str, attr: str) -> "Any":
    # A stub module (ic-basilisk replaces failed stdlib imports with empty ones) counts as absent.
    try:
        module = __import__(name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def unsafe_reason(name: str) -> str | None:
    """Why `name` may not be written under the target (zip-slip), or None if it is safe."""
    parts = name[:-1].split("/") if name.endswith("/") else name.split("/")
    if not name or "\\" in name or "\x00" in name:
        return "empty, or contains a backslash or NUL"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        return "absolute, or starts with a drive letter"
    if ".." in parts or "." in parts or "" in parts:
        return "contains '..', '.' or an empty component"
    if len(parts) > MAX_DEPTH or any(len(part.encode("utf-8", "surrogatepass")) > 255 for part in parts):
        return f"deeper than {MAX_DEPTH} folders, or a name over 255 bytes"
    return None


class BundleZip:
    """A read-only view of a ZIP's central directory; entries are read on demand."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.entries: dict[str, tuple[int, int, int, int, int, int]] = {}
        self._read_directory()
        self.names = sorted(name for name in self.entries if not name.endswith("/"))
        self.dirs = {name[: i] for name in self.names for i in range(len(name)) if name[i] == "/"}
        clash = sorted(self.dirs.intersection(self.names))
        if clash:
            raise BootstrapError(f"bundle has {clash[0]!r} as both a file and a directory; {_REBUILD}")

    def _read_directory(self) -> None:
        # One strict reading, shared with the host's `verify`: the directory must fill exactly
        # the bytes the end record gives it, with exactly the number of entries it declares.
        data = self.data
        count, offset, end = _directory_bounds(data)
        at = offset
        while at < end:
            at = self._read_entry(data, at, end)
        if at != end or len(self.entries) != count:
            raise BootstrapError(f"bundle ZIP directory does not match its end record; {_REBUILD}")
        self._check_layout(offset)

    def _check_layout(self, directory: int) -> None:
        # Entries may neither overlap nor run into the directory: zipfile refuses that too
        # (the shape of a known ZIP bomb), so verify and the bootstrap accept the same files.
        data = self.data
        spans = sorted((entry[5], entry[3]) for entry in self.entries.values())
        for i, (local, csize) in enumerate(spans):
            end = local + 30 + _u16(data, local + 26) + _u16(data, local + 28) + csize
            if end > (spans[i + 1][0] if i + 1 < len(spans) else directory):
                raise BootstrapError(f"bundle ZIP entries overlap; {_REBUILD}")

    def _read_entry(self, data: bytes, at: int, end: int) -> int:
        if data[at : at + 4] != b"PK\x01\x02" or at + 46 > end:
            raise BootstrapError(f"bundle ZIP directory is damaged; {_REBUILD}")
        flags, method = _u16(data, at + 8), _u16(data, at + 10)
        name_end = at + 46 + _u16(data, at + 28)
        extra_end = name_end + _u16(data, at + 30)
        following = extra_end + _u16(data, at + 32)
        if following > end:
            raise BootstrapError(f"bundle ZIP directory is damaged; {_REBUILD}")
        name = _entry_name(data[at + 46 : name_end], flags)
        reason = unsafe_reason(name)
        if reason:
            raise BootstrapError(f"refusing bundle entry {_short(name)!r}: {reason}; nothing was written")
        if name in self.entries:
            raise BootstrapError(f"bundle lists {name!r} twice; {_REBUILD}")
        sizes = [_u32(data, at + 24), _u32(data, at + 20), _u32(data, at + 42)]
        _zip64_sizes(sizes, data[name_end:extra_end])
        usize, csize, local = sizes
        self.entries[name] = (flags, method, _u32(data, at + 16), csize, usize, local)
        return following

    def read(self, name: str) -> bytes:
        flags, method, crc, csize, usize, local = self.entries[name]
        data = self.data
        if flags & 0x41:  # bit 0: encrypted, bit 6: strong encryption
            raise BootstrapError(f"bundle entry {name!r} is encrypted; {_REBUILD}")
        if flags & 0x20:  # compressed patched data: a delta against a file we do not have
            raise BootstrapError(f"bundle entry {name!r} is patch data, not a file; {_REBUILD}")
        if data[local : local + 4] != b"PK\x03\x04":
            raise BootstrapError(f"bundle entry {name!r} has no local header; {_REBUILD}")
        if data[local + 30 : local + 30 + _u16(data, local + 26)] != name.encode("utf-8"):
            # Other readers (zipfile, verify) refuse this too: a header that names another file.
            raise BootstrapError(f"bundle entry {name!r} has a local header for another name; {_REBUILD}")
        start = local + 30 + _u16(data, local + 26) + _u16(data, local + 28)
        raw = data[start : start + csize]
        if method == 0:
            content = raw
        elif method == 8:
            content = self._inflate(name, raw, usize)
        else:
            raise BootstrapError(f"bundle entry {name!r} uses ZIP method {method}; build with stored or deflated")
        crc32 = _optional("zlib", "crc32") or _optional("binascii", "crc32")
        # Without a C crc32 the check is skipped: a Python loop per byte costs too much at init.
        if len(content) != usize or (crc32 is not None and crc32(content) != crc):
            raise BootstrapError(f"bundle entry {name!r} is damaged (size or CRC); {_REBUILD}")
        return content

    @staticmethod
    def _inflate(name: str, raw: bytes, size: int) -> bytes:
        decompressobj = _optional("zlib", "decompressobj")
        if decompressobj is None:
            raise BootstrapError(
                f"bundle entry {name!r} is deflated but this Python has no zlib; "
                "build the bundle with --compression stored"
            )
        zlib_error: type[Exception] = _optional("zlib", "error")
        try:
            # One byte past the declared size is enough to prove the size wrong: a deflate
            # bomb never gets to inflate further.
            return decompressobj(-15).decompress(raw, size + 1)
        except zlib_error as exc:
            raise BootstrapError(f"bundle entry {name!r} does not inflate ({exc}); {_REBUILD}") from None


def _directory_bounds(data: bytes) -> tuple[int, int, int]:
    """(entry count, start, end) of the central directory, from the end record or its ZIP64 form."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65557))
    if end < 0 or len(data) < end + 22:
        raise BootstrapError(f"bundle is not a ZIP file (no end record); {_REBUILD}")
    count, size, offset = _u16(data, end + 10), _u32(data, end + 12), _u32(data, end + 16)
    if _u16(data, end + 8) != count or _u16(data, end + 4) or _u16(data, end + 6):
        raise BootstrapError(f"bundle is a multi-disk ZIP or its entry counts disagree; {_REBUILD}")
    if count == 0xFFFF or 0xFFFFFFFF in (size, offset):
        locator = end - 20
        if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
            raise BootstrapError(f"bundle ZIP64 end record is missing; {_REBUILD}")
        end = _u64(data, locator + 8)
        if end + 56 > locator or data[end : end + 4] != b"PK\x06\x06" or _u64(data, end + 24) != _u64(data, end + 32):
            raise BootstrapError(f"bundle ZIP64 end record is damaged; {_REBUILD}")
        count, size, offset = _u64(data, end + 32), _u64(data, end + 40), _u64(data, end + 48)
    if offset + size != end:
        raise BootstrapError(f"bundle ZIP directory is not where its end record says; {_REBUILD}")
    return count, offset, end


def _short(name: str) -> str:
    # A hostile name may be thousands of characters long; the message stays one readable line.
    return name if len(name) <= 100 else name[:60] + "..." + name[-30:]


def _entry_name(raw: bytes, flags: int) -> str:
    # Bit 11 marks UTF-8. Unmarked names must be ASCII: readers disagree on the code page
    # (zipfile says cp437, others latin-1), so a bundle may not depend on it.
    try:
        return raw.decode("utf-8" if flags & 0x800 else "ascii")
    except UnicodeDecodeError:
        raise BootstrapError(f"bundle entry name {raw[:80]!r} is neither ASCII nor marked UTF-8; {_REBUILD}") from None


def _zip64_sizes(sizes: "list[int]", extra: bytes) -> None:
    """Replace the saturated (0xFFFFFFFF) sizes and offset with their ZIP64 extra-field values."""
    at = 0
    while at + 4 <= len(extra):
        tag, length = _u16(extra, at), _u16(extra, at + 2)
        if tag == 1:
            field = at + 4
            for i, value in enumerate(sizes):
                if value == 0xFFFFFFFF:
                    if field + 8 > at + 4 + length:
                        raise BootstrapError(f"bundle ZIP64 extra field is too short; {_REBUILD}")
                    sizes[i] = _u64(extra, field)
                    field += 8
            return
        at += 4 + length
    if 0xFFFFFFFF in sizes:
        raise BootstrapError(f"bundle entry needs a ZIP64 extra field it lacks; {_REBUILD}")


def install(data: bytes | None = None, target: str = DEFAULT_TARGET, mode: str = "auto") -> str:
    """Make the bundle importable; return the mode used: "filesystem", "memory" or "eager".

    With data None, the bundle comes from the Wasm exports through ctypes.
    Every entry name is checked before anything is written.
    """
    if mode not in MODES:
        raise BootstrapError(f"unknown install mode {mode!r}; use one of {', '.join(MODES)}")
    bundle = BundleZip(read_passive_data() if data is None else data)
    target = target.rstrip("/") or "/"
    if mode == "filesystem" or (mode == "auto" and _path_import_works()):
        try:
            extract(bundle, target)
        except (ImportError, OSError, RecursionError) as exc:
            if mode == "filesystem":
                raise BootstrapError(f"cannot extract the bundle into {target}: {exc}") from None
        else:
            activate_path(target)
            return "filesystem"
    importer = MemoryImporter(bundle, target)
    # Kept on sys.meta_path even in eager mode: importlib.metadata walks the list itself.
    importer.register()
    if mode != "eager" and importer.consulted():
        return "memory"
    register_eager(importer)
    return "eager"


def install_files(files: "dict[str, bytes | None]", target: str = DEFAULT_TARGET,
                  code: "dict[str, Any] | None" = None) -> "MemoryImporter":
    """Register a bundle given as files (arcname -> content) into sys.modules, lazily ("eager" mode).

    `code` maps a module's arcname to its code object, compiled for this interpreter (the caller
    checked its magic number): those modules run it instead of compiling a source, and their
    content may be None (a canister's python_source ships no source beside a code object).
    """
    importer = MemoryImporter(FileBundle(files), target.rstrip("/") or "/", code)
    importer.register()  # on sys.meta_path too: importlib.metadata walks the list itself
    register_eager(importer)
    return importer


class FileBundle:
    """A bundle as a dict of files, with BundleZip's view: names, directories, read()."""

    def __init__(self, files: "dict[str, bytes | None]") -> None:
        self.files = files
        self.names = sorted(files)
        self.dirs: set[str] = set()
        for name in self.names:
            cut = name.rfind("/")
            while cut > 0 and name[:cut] not in self.dirs:
                self.dirs.add(name[:cut])
                cut = name.rfind("/", 0, cut)

    def read(self, name: str) -> bytes:
        content = self.files[name]
        if content is None:
            raise FileNotFoundError(2, "compiled into the canister, without its source", name)
        return content


def read_passive_data(lib: "Any" = None) -> bytes:
    """The bundle bytes from the two Wasm exports, as Pyodide exposes them through ctypes."""
    try:
        import ctypes

        lib = ctypes.CDLL(None) if lib is None else lib
        size_of = lib.python_bundle_passive_data_size
        init = lib.init_python_bundle_passive_data
    except (ImportError, OSError, AttributeError) as exc:
        raise BootstrapError(
            "no bundle bytes were passed and this runtime does not export "
            f"python_bundle_passive_data_size/init_python_bundle_passive_data ({exc}); "
            "pass the bytes: install(data)"
        ) from None
    size_of.restype, size_of.argtypes = ctypes.c_int, []
    init.restype, init.argtypes = None, [ctypes.c_void_p]
    size = size_of()
    if size <= 0:
        raise BootstrapError("the Wasm bundle data segment is empty; was the bundle injected?")
    buffer = ctypes.create_string_buffer(size)
    init(ctypes.addressof(buffer))
    return buffer.raw


def extract(bundle: BundleZip, target: str) -> None:
    import os

    for name in bundle.names:
        path = target.rstrip("/") + "/" + name
        os.makedirs(path.rpartition("/")[0] or "/", exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(bundle.read(name))


def activate_path(target: str) -> None:
    """Put `target` first on sys.path and drop what importers cached about it."""
    while target in sys.path:
        sys.path.remove(target)
    sys.path.insert(0, target)
    sys.path_importer_cache.pop(target, None)
    for finder in sys.meta_path:
        invalidate = getattr(finder, "invalidate_caches", None)
        if invalidate is not None:
            invalidate()


def _path_import_works() -> bool:
    # Without _Py_InitializeMain there is no PathFinder and no path hooks.
    has_finder = any(getattr(f, "__name__", "") == "PathFinder" for f in sys.meta_path)
    return has_finder and bool(sys.path_hooks)


class MemoryImporter:
    """A sys.meta_path finder and loader over the bundle's entries, with no filesystem."""

    def __init__(self, bundle: "BundleZip | FileBundle", root: str, code: "dict[str, Any] | None" = None) -> None:
        self.bundle = bundle
        self.root = root.rstrip("/")
        self.names = set(bundle.names)
        self._probe: str | None = None
        self.eager_children: dict[str, list[str]] = {}
        self.code = dict(code or {})  # arcname -> code object for this interpreter, used once
        self.compiled: list[str] = []  # modules whose source was compiled here (no code object matched)

    def _locate(self, fullname: str) -> tuple[str | None, bool] | None:
        stem = fullname.replace(".", "/")
        if fullname == self._probe:
            return None, False
        if stem + "/__init__.py" in self.names:
            return stem + "/__init__.py", True
        if stem + ".py" in self.names:
            return stem + ".py", False
        if stem in self.bundle.dirs:
            return None, True  # a namespace package: a directory without __init__.py
        return None

    def find_spec(self, fullname: str, path: object = None, target: object = None) -> "ModuleSpec | None":
        found = self._locate(fullname)
        if found is None:
            return None
        arcname, is_package = found
        origin = None if arcname is None else self.root + "/" + arcname
        spec = _ModuleSpec(fullname, self, origin=origin, is_package=is_package)
        spec.has_location = origin is not None
        if is_package:
            spec.submodule_search_locations = [self.root + "/" + fullname.replace(".", "/")]
        return spec

    def create_module(self, spec: object) -> None:
        return None

    def exec_module(self, module: _ModuleType) -> None:
        spec: Any = module.__spec__
        origin = spec.origin
        if origin is None:
            return
        code = self.code.pop(self._arcname(origin), None)
        if code is not None:
            # Compiled at build time for this interpreter: nothing to parse or compile at init.
            exec(code, module.__dict__)
            return
        try:
            source = self.get_data(origin)
        except FileNotFoundError:
            raise ImportError(f"{spec.name} was compiled for another CPython and its source is not in the "
                              "canister; build it with basilisk-trace running on the canister's CPython version",
                              name=spec.name) from None
        self.compiled.append(spec.name)
        exec(compile(source, origin, "exec", dont_inherit=True), module.__dict__)

    def _arcname(self, path: str) -> str:
        path = str(path)
        path = path[len(self.root) + 1 :] if path.startswith(self.root + "/") else path
        parts: list[str] = []
        for part in path.split("/"):  # os.path.join(dirname(__file__), "../x") must work
            if part == "..":
                parts = parts[:-1]
            elif part not in ("", "."):
                parts.append(part)
        return "/".join(parts)

    def get_data(self, path: str) -> bytes:
        arcname = self._arcname(path)
        if arcname not in self.names:
            raise FileNotFoundError(2, "not in the bundle", path)
        return self.bundle.read(arcname)

    def is_package(self, fullname: str) -> bool:
        found = self._locate(fullname)
        return bool(found and found[1])

    def get_source(self, fullname: str) -> str | None:
        found = self._locate(fullname)
        if found is None or found[0] is None:
            return None
        try:
            return self.bundle.read(found[0]).decode("utf-8", "replace")
        except FileNotFoundError:
            return None  # run from its code object; no source shipped

    def get_resource_reader(self, fullname: str) -> "_Resource | None":
        return _Resource(self, fullname.replace(".", "/")) if self.is_package(fullname) else None

    def find_distributions(self, context: object = None) -> list["Any"]:
        """importlib.metadata hook: the bundle's *.dist-info directories."""
        wanted = getattr(context, "name", None)
        found = []
        for directory in sorted(d for d in self.bundle.dirs if "/" not in d and d.endswith(".dist-info")):
            if wanted is None or _normalize(directory.partition("-")[0]) == _normalize(wanted):
                found.append(_distribution_class()(self, directory))
        return found

    def register(self) -> None:
        """Put this finder just before the path finder, as sys.path[0] would be."""
        names = [getattr(f, "__name__", "") for f in sys.meta_path]
        sys.meta_path.insert(names.index("PathFinder") if "PathFinder" in names else len(names), self)

    def consulted(self) -> bool:
        """Whether the import system asks this finder: import a module only it provides.

        An import that succeeds proves nothing by itself: ic-basilisk's preamble answers a failed
        `_`-prefixed import with an empty stub module. Only a module this finder loaded counts.
        """
        self._probe = f"_basilisk_bootstrap_probe_{id(self):x}"
        try:
            module = __import__(self._probe)
            return getattr(module, "__loader__", None) is self
        except ImportError:
            return False
        finally:
            sys.modules.pop(self._probe, None)
            self._probe = None

    def module_names(self) -> list[str]:
        """Every module the bundle can provide, parents before children."""
        found = {n[: -12 if n.endswith("/__init__.py") else -3] for n in self.names if n.endswith(".py")}
        found.update(self.bundle.dirs)  # namespace packages
        dotted = {n.replace("/", ".") for n in found if all(p.isidentifier() for p in n.split("/"))}
        return sorted(dotted, key=lambda n: (n.count("."), n))


def _normalize(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_")


_DISTRIBUTION: list["Any"] = []


def _distribution_class() -> "Any":
    # importlib.metadata is imported only when it is the one asking.
    if not _DISTRIBUTION:
        from importlib.metadata import Distribution

        class MemoryDistribution(Distribution):
            def __init__(self, importer: MemoryImporter, directory: str) -> None:
                self._importer, self._directory = importer, directory

            def read_text(self, filename: str) -> str | None:
                try:
                    return self._importer.get_data(self._directory + "/" + str(filename)).decode("utf-8")
                except FileNotFoundError:
                    return None

            def locate_file(self, path: object) -> "Path":
                import pathlib  # importlib.metadata has loaded it already

                return pathlib.Path(self._importer.root, str(path))

        _DISTRIBUTION.append(MemoryDistribution)
    return _DISTRIBUTION[0]


class _Resource:
    """A Traversable (and TraversableResources reader) over one bundle path."""

    def __init__(self, importer: MemoryImporter, path: str) -> None:
        self._importer, self._path = importer, path.strip("/")
        self.name = self._path.rpartition("/")[2]

    def files(self) -> "_Resource":
        return self

    def is_file(self) -> bool:
        return self._path in self._importer.names

    def is_dir(self) -> bool:
        return self._path in self._importer.bundle.dirs

    def iterdir(self) -> "Iterator[_Resource]":
        prefix = self._path + "/"
        children = {n[len(prefix) :].partition("/")[0] for n in self._importer.names if n.startswith(prefix)}
        return iter([_Resource(self._importer, prefix + child) for child in sorted(children)])

    def joinpath(self, *parts: str) -> "_Resource":
        return _Resource(self._importer, "/".join([self._path, *(str(p) for p in parts)]))

    __truediv__ = joinpath

    def read_bytes(self) -> bytes:
        return self._importer.get_data(self._path)

    def read_text(self, encoding: str | None = None, errors: str | None = None) -> str:
        return self.read_bytes().decode(encoding or "utf-8", errors or "strict")

    def open(self, mode: str = "r", encoding: str | None = None) -> "Any":
        import io

        stream = io.BytesIO(self.read_bytes())
        return stream if "b" in mode else io.TextIOWrapper(stream, encoding=encoding or "utf-8")



class _LazyModule(_ModuleType):
    """A module registered in sys.modules whose code runs at its first attribute lookup."""

    def __getattr__(self, attr: str) -> object:
        load(self)
        return getattr(self, attr)


def load(module: _ModuleType) -> _ModuleType:
    """Run a lazy module's code now: its parents first, then itself, then attach its children."""
    if not isinstance(module, _LazyModule):
        return module
    name = module.__name__
    parent = sys.modules.get(name.rpartition(".")[0]) if "." in name else None
    if parent is not None:
        load(parent)
    spec: Any = module.__spec__
    plain: Any = module
    # Becoming a plain module first lets circular imports see it half-initialised, as Python does.
    plain.__class__ = _ModuleType
    try:
        spec.loader.exec_module(module)
    except BaseException:
        plain.__class__ = _LazyModule
        raise
    if parent is not None and name.rpartition(".")[2] not in parent.__dict__:
        setattr(parent, name.rpartition(".")[2], module)
    for child_name in getattr(spec.loader, "eager_children", {}).get(name, ()):
        tail = child_name.rpartition(".")[2]
        if tail not in module.__dict__ and child_name in sys.modules:
            setattr(module, tail, sys.modules[child_name])
    return module


def register_eager(importer: MemoryImporter) -> list[str]:
    """Register every bundled module into sys.modules, lazily; return the names added."""
    added: list[str] = []
    for name in importer.module_names():
        if name in sys.modules:
            continue  # never shadow what the runtime already provides
        spec: Any = importer.find_spec(name)
        module: Any = _LazyModule(name)
        module.__spec__, module.__loader__ = spec, importer
        module.__package__ = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
        if spec.origin is not None:
            module.__file__ = spec.origin
        if spec.submodule_search_locations is not None:
            module.__path__ = list(spec.submodule_search_locations)
        sys.modules[name] = module
        added.append(name)
        importer.eager_children.setdefault(name.rpartition(".")[0], []).append(name)
    return added


def import_entry(name: str) -> _ModuleType:
    """Import `name` and make sure its code has run, whichever mode installed it."""
    __import__(name)
    return load(sys.modules[name])
