"""Where the static pass gets a file's import sites, cheapest first, kept by content.

The code object the dry run executed (child/runner.py keeps it from the `exec` audit event),
else the file's cached .pyc when it matches the source, else a compile; read by child/sites.py.
The source's AST only where bytecode cannot tell an import's context. Sites worked out from a
file are cached under the hash of its content, shared by every program traced with the same
interpreter version. Stdlib only; runs on the traced program's interpreter.
"""

import os
import sys

_DYNAMIC_NAMES = frozenset(("import_module", "__import__"))


class Sites:
    """Import sites per file: from the code the dry run ran, else from the file, cached by content."""

    def __init__(self, code, cache, static):
        self.code = code
        self.cache = cache
        self.static = static  # the AST scan, where bytecode cannot answer
        self.sites_module = sys.modules["_basilisk_trace_load"].load("sites")

    def sites(self, path):
        code = self.code.get(path)
        source = None
        if code is None:
            source = _read(path)
            if source is None:
                return []
            cached = self.cache.get(source)
            if cached is not None:
                return cached
            code = _code_of(path, source)
        found = self._from_code(code, path, source) if code is not None else None
        if found is None:
            source = source if source is not None else _read(path)
            cached = self.cache.get(source) if source is not None else []
            if cached is not None:
                return cached
            found = self.cache.shipped_sites(source)
            if found is None:
                found = self._parse(source, path)
        self.cache.put(source, found)
        return found

    def _from_code(self, code, path, source):
        sites = self.sites_module.from_code(code)
        if sites is None:
            return None
        found = [self.static.StaticImport(*site) for site in sites]
        if _DYNAMIC_NAMES.intersection(self.sites_module.names_of(code)):
            text = source if source is not None else _read(path)
            found.extend(self.static.dynamic(text or b""))
        return found

    def _parse(self, source, path):
        try:
            return self.static.scan_source(source, path)
        except (SyntaxError, ValueError):
            return []


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _code_of(path, source):
    """The module's code: its cached .pyc when that matches the source, else a compile."""
    code = _cached_pyc(path, source)
    if code is not None:
        return code
    try:
        return compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None


def _cached_pyc(path, source):
    import importlib.util
    import marshal

    try:
        with open(importlib.util.cache_from_source(path), "rb") as handle:
            data = handle.read()
        stat = os.stat(path)
    except (OSError, ValueError, NotImplementedError):
        return None
    flags = int.from_bytes(data[4:8], "little")
    if data[:4] != importlib.util.MAGIC_NUMBER or flags & ~3:
        return None
    if flags & 1:
        valid = data[8:16] == importlib.util.source_hash(source)
    else:
        valid = (int.from_bytes(data[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
                 and int.from_bytes(data[12:16], "little") == len(source) & 0xFFFFFFFF)
    try:
        return marshal.loads(data[16:]) if valid else None
    except (EOFError, ValueError, TypeError):
        return None


def _scanner_identity():
    """The size and mtime of the files that read import sites, as bytes for the cache key."""
    here = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for name in ("static.py", "sites.py", "branches.py", "site_sources.py"):
        try:
            stat = os.stat(os.path.join(here, name))
        except OSError:
            continue
        parts.append(f"{name}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts).encode()


_SCANNER = _scanner_identity()


class Cache:
    """Import sites by the content of a file, kept between runs and shared by every program."""

    LIMIT = 50_000  # entries; past it, a save keeps only what this run used

    def __init__(self, path, record, target=None):
        self.record = record  # the class of an import site
        # The child cannot write the cache (the sandbox has it read-only): it reads this project's
        # file at `path` and writes the new one to `target`, in its run directory, which the tool
        # checks and takes into the cache afterwards.
        self.path = path
        self.target = target
        self.entries = self._load() if path else {}
        self.used = set()
        self.dirty = False
        self.shipped = None  # the stdlib's own answers, shipped with the tool: read when first asked

    def _load(self):
        import json

        try:
            with open(self.path, "rb") as handle:
                data = json.loads(handle.read())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError, RecursionError):
            return {}

    @staticmethod
    def key(source):
        import hashlib

        # The scanner's own files are part of the key: a change to how sites are read
        # invalidates every entry.
        return hashlib.sha256(source + _SCANNER).hexdigest()

    def get(self, source):
        key = self.key(source)
        entry = self.entries.get(key)
        if entry is None:
            return None
        found = self._decoded(entry)
        if found is not None:
            self.used.add(key)
        return found  # a damaged entry is a miss: the file is scanned again

    def _table(self):
        if self.shipped is None:
            self.shipped = sys.modules["_basilisk_trace_load"].load("stdlib_analysis").Table()
        return self.shipped

    def shipped_sites(self, source):
        """The import sites the tool ships for a stdlib file with this content (child/stdlib_analysis.py), or None."""
        entry = self._table().sites(source)
        return self._decoded(entry) if entry is not None else None

    def _decoded(self, entry):
        """The import sites of a cache entry, or None when it is not the shape put() writes."""
        if not isinstance(entry, list):
            return None
        found = []
        for site in entry:
            if not (isinstance(site, list) and len(site) == 5):
                return None
            module, names, level, line, context = site
            if not (isinstance(module, str) and isinstance(names, list) and all(isinstance(n, str) for n in names)
                    and type(level) is int and type(line) is int and isinstance(context, list)
                    and len(context) == 4 and all(type(c) is bool for c in context)):
                return None
            found.append(self.record(module, tuple(names), level, line, tuple(context)))
        return found

    def put(self, source, found):
        if source is None:
            return  # from the code the dry run ran: no parse to save
        key = self.key(source)
        self.entries[key] = [[f.module, list(f.names), f.level, f.line,
                              [f.type_checking, f.optional, f.function, f.fallback]] for f in found]
        self.used.add(key)
        self.dirty = True

    def import_time(self, source, package, compute):
        """What a module reads while it is imported (child/import_time.py), kept by content as sites are."""
        key = "import-time:" + self.key(package.encode() + b"\0" + source)
        entry = self.entries.get(key)
        if _is_import_time(entry):
            self.used.add(key)
            return set(entry[0]), [[set(branch) for branch in group] for group in entry[1]]
        shipped = self._table().import_time(source, package)
        if _is_import_time(shipped):
            return set(shipped[0]), [[set(branch) for branch in group] for group in shipped[1]]
        used, groups = compute(source, package)
        self.entries[key] = [sorted(used), [[sorted(branch) for branch in group] for group in groups]]
        self.used.add(key)
        self.dirty = True
        return used, groups

    def save(self):
        if not (self.target and self.dirty):
            return
        import json

        if len(self.entries) > self.LIMIT:
            self.entries = {k: v for k, v in self.entries.items() if k in self.used}
        text = json.dumps(self.entries)
        try:
            with open(self.target, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError:
            pass  # a cache that cannot be written only costs time


def _is_import_time(entry):
    def names(value):
        return isinstance(value, list) and all(isinstance(n, str) for n in value)

    return (isinstance(entry, list) and len(entry) == 2 and names(entry[0]) and isinstance(entry[1], list)
            and all(isinstance(g, list) and all(names(b) for b in g) for g in entry[1]))
