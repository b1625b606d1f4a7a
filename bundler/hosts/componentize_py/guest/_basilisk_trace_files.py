"""The app's data files, served from memory inside a component built by basilisk-trace.

componentize-py mounts the python path at /0 while it builds and snapshots the app; at call time
no directory exists. This module (copied as is into the python path, imported at build time by
the generated entry module, standard library only) keeps the files the trace saw the app read
as bytes in memory and serves them: `open()` and `io.open()` of a path under /0 for reading,
`importlib.resources.files(...)`, a loader's `get_data` (pkgutil.get_data), and
`importlib.metadata` for the dist-info files. `os.path.exists` and `os.listdir` still see nothing.
"""

import builtins
import io
import posixpath
import sys
from importlib.resources.abc import Traversable, TraversableResources

ROOT = "/0"  # where componentize-py mounts the first python-path folder at build time
FILES = {}  # relative path -> bytes, set by install()
_REAL_OPEN = builtins.open


def install(files):
    """Serve `files` ({relative path: bytes}) from now on."""
    FILES.update(files)
    builtins.open = io.open = _open
    sys.meta_path.append(_Distributions())


def _key(path):
    """The FILES key of a path under ROOT, or None."""
    try:
        path = path.__fspath__() if hasattr(path, "__fspath__") else path
    except Exception:
        return None
    if isinstance(path, bytes):
        path = path.decode("utf-8", "surrogateescape")
    if not isinstance(path, str):
        return None
    path = posixpath.normpath(path)
    return path[len(ROOT) + 1:] if path.startswith(ROOT + "/") else None


def _open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None, closefd=True, opener=None):
    key = _key(file) if not isinstance(file, int) and isinstance(mode, str) and not set(mode) & set("wax+") else None
    if key is None or key not in FILES:
        return _REAL_OPEN(file, mode, buffering, encoding, errors, newline, closefd, opener)
    data = io.BytesIO(FILES[key])
    if "b" in mode:
        return data
    return io.TextIOWrapper(data, encoding=encoding or "utf-8", errors=errors, newline=newline)


def patch_loaders():
    """Every module loaded from ROOT reads its resources from FILES (call after every import)."""
    for module in list(sys.modules.values()):
        spec = getattr(module, "__spec__", None)
        key = _key(getattr(spec, "origin", None) or "")
        if spec is None or key is None or isinstance(spec.loader, _Loader):
            continue
        folder = posixpath.dirname(key)
        spec.loader = _Loader(spec.loader, folder)
        try:  # noqa: SIM105 - contextlib is not imported for this alone, in the app's snapshot
            module.__loader__ = spec.loader
        except (AttributeError, TypeError):
            pass


class _Loader:
    """A module's own loader, with its resources and data read from FILES."""

    def __init__(self, loader, folder):
        self._loader = loader
        self._folder = folder

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def get_resource_reader(self, fullname=None):
        return _Reader(self._folder)

    def get_data(self, path):
        key = _key(path)
        if key in FILES:
            return FILES[key]
        return self._loader.get_data(path)


class _Reader(TraversableResources):
    def __init__(self, folder):
        self.folder = folder

    def files(self):
        return _Path(self.folder)


class _Path(Traversable):
    """A file or folder of FILES, for importlib.resources."""

    def __init__(self, key):
        self.key = key

    @property
    def name(self):
        return posixpath.basename(self.key)

    def __fspath__(self):
        return posixpath.join(ROOT, self.key) if self.key else ROOT

    __str__ = __fspath__

    def __repr__(self):
        return f"<file {self.__fspath__()!r} in memory>"

    def is_file(self):
        return self.key in FILES

    def is_dir(self):
        prefix = self.key + "/" if self.key else ""
        return any(k.startswith(prefix) for k in FILES)

    def iterdir(self):
        prefix = self.key + "/" if self.key else ""
        names = sorted({k[len(prefix):].split("/")[0] for k in FILES if k.startswith(prefix)})
        return iter([_Path(prefix + n) for n in names])

    def joinpath(self, *parts):
        joined = posixpath.normpath(posixpath.join(self.key, *parts))
        return _Path("" if joined == "." else joined)

    def __truediv__(self, part):
        return self.joinpath(part)

    def open(self, mode="r", *args, **kwargs):
        if self.key not in FILES:
            raise FileNotFoundError(2, "No such file or directory", self.__fspath__())
        return _open(self.__fspath__(), mode, -1, *args, **kwargs)


class _Distributions:
    """A finder of the dist-info folders in FILES, for importlib.metadata."""

    def find_spec(self, *args, **kwargs):
        return None

    def find_distributions(self, context=None):
        import importlib.metadata as metadata

        wanted = getattr(context, "normalized", None) if getattr(context, "name", None) else None
        for folder in sorted({k.split("/")[0] for k in FILES if k.split("/")[0].endswith(".dist-info")}):
            name = folder[:-len(".dist-info")].rpartition("-")[0] or folder[:-len(".dist-info")]
            if wanted is None or name.replace("-", "_").replace(".", "_").lower() == wanted:
                yield _distribution(metadata, folder)


def _distribution(metadata, folder):
    class Distribution(metadata.Distribution):
        def read_text(self, filename):
            data = FILES.get(f"{folder}/{filename}")
            return None if data is None else data.decode("utf-8")

        def locate_file(self, path):
            return posixpath.join(ROOT, str(path))

    return Distribution()
