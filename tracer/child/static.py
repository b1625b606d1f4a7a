"""The static pass: imports in traced source files that did not run.

An AST scan, run in the child after the dry run, so that names resolve
against the program's own environment without executing anything new.
Imports under `if TYPE_CHECKING:` are recorded as such and never followed.
"""

import ast
import os
import re
import sys

_CATCHES_IMPORT = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class StaticImport:
    """One import site: the names it may bind, and the context it sits in."""

    __slots__ = ("module", "names", "level", "line", "type_checking", "optional", "function")

    def __init__(self, module, names, level, line, context):
        self.module = module
        self.names = names
        self.level = level
        self.line = line
        self.type_checking, self.optional, self.function = context


# Only a whole literal first argument names a module: in __import__("accel_" + name) it is a prefix.
_DYNAMIC = re.compile(rb"""(?:import_module|__import__)\(\s*(?:"|')([A-Za-z_][\w.]*)(?:"|')\s*[,)]""")


def _walk(body, context, found):
    """Import statements in a statement list; expressions are never descended into."""
    type_checking, optional, function = context
    for node in body:
        kind = type(node)
        if kind is ast.Import:
            found.extend(StaticImport(a.name, (), 0, node.lineno, context) for a in node.names)
        elif kind is ast.ImportFrom:
            names = tuple(a.name for a in node.names if a.name != "*")
            found.append(StaticImport(node.module or "", names, node.level, node.lineno, context))
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            _walk(node.body, (type_checking, optional, True), found)
        elif kind is ast.ClassDef:
            _walk(node.body, context, found)
        elif kind is ast.If:
            checking = _is_type_checking(node.test)
            negated = (isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
                       and _is_type_checking(node.test.operand))
            _walk(node.body, (True, optional, function) if checking else context, found)
            _walk(node.orelse, (True, optional, function) if negated else context, found)
        elif kind in _TRY:
            catches = any(_catches_import_error(h.type) for h in node.handlers)
            _walk(node.body, (type_checking, True, function) if catches else context, found)
            for handler in node.handlers:
                _walk(handler.body, context, found)
            _walk(node.orelse, context, found)
            _walk(node.finalbody, context, found)
        elif kind in _BLOCKS:
            _walk(node.body, context, found)
            _walk(getattr(node, "orelse", ()), context, found)
        elif kind is _MATCH:
            for case in node.cases:
                _walk(case.body, context, found)


_TRY = tuple(t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None)
_BLOCKS = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)
_MATCH = getattr(ast, "Match", None)


def _is_type_checking(test):
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _catches_import_error(handler_type):
    if handler_type is None:
        return True
    if isinstance(handler_type, ast.Tuple):
        return any(_catches_import_error(e) for e in handler_type.elts)
    name = handler_type.attr if isinstance(handler_type, ast.Attribute) else getattr(handler_type, "id", None)
    return name in _CATCHES_IMPORT


def scan_source(source, filename="<source>"):
    """Every import site in a module's source, plus literal import_module("...") calls."""
    found = []
    _walk(ast.parse(source, filename).body, (False, False, False), found)
    for match in _DYNAMIC.finditer(source):
        line = source.count(b"\n", 0, match.start()) + 1
        found.append(StaticImport(match.group(1).decode(), (), 0, line, (False, False, True)))
    return found


def targets(site, package):
    """(module name, must exist) pairs an import site refers to."""
    if site.level:
        parts = package.split(".") if package else []
        if site.level - 1 > len(parts) or not parts:
            return []
        base = ".".join(parts[: len(parts) - (site.level - 1)])
        module = f"{base}.{site.module}" if site.module else base
    else:
        module = site.module
    if not module:
        return []
    pieces = module.split(".")
    found = [(".".join(pieces[: i + 1]), True) for i in range(len(pieces))]
    found.extend((f"{module}.{name}", False) for name in site.names)
    return found


def run(modules, state, is_stdlib):
    """Add static-only records to `modules` for the imports that did not run."""
    cache = _Cache(state.config.get("cache_dir"), state.config.get("run_dir"))
    pass_ = _Pass(modules, state, is_stdlib, cache)
    pass_.walk()
    cache.save()


def _scanner_identity():
    """This file's size and mtime: a change to how sources are scanned invalidates every entry."""
    try:
        stat = os.stat(__file__)
    except (NameError, OSError):
        return None
    return [stat.st_size, stat.st_mtime_ns]


_SCANNER = _scanner_identity()


class _Cache:
    """Import sites per file content, kept between runs; keyed on a digest of the bytes, never on a path.

    Size and mtime are not enough: an edit that keeps both (a tool that restores
    mtimes, an edit within one timestamp tick) would keep stale imports for good.
    """

    _LIMIT = 50000  # entries kept across runs; this run's come first

    def __init__(self, directory, save_in=None):
        self.path = self.target = None
        self.entries = {}
        self.used = {}
        self.dirty = False
        if directory:
            version = "%d.%d" % sys.version_info[:2]  # noqa: UP031 (runs on old interpreters too)
            self.path = os.path.join(directory, f"static-py{version}-v2.json")
            # The child cannot write the cache (the sandbox has it read-only): the tool
            # takes the file from the child's run directory into the cache afterwards.
            self.target = os.path.join(save_in, os.path.basename(self.path)) if save_in else self.path
            self.entries = self._load()

    def _load(self):
        import json

        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError, RecursionError):
            return {}

    def sites(self, path):
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return []
        key = _content_key(data)
        found = _decoded(self.entries.get(key)) if key else None
        if found is None:
            try:
                found = scan_source(data, path)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                found = []
            self.dirty = True
        if key:
            self.used[key] = [[f.module, list(f.names), f.level, f.line,
                               [f.type_checking, f.optional, f.function]] for f in found]
        return found

    def save(self):
        if not (self.target and self.dirty):
            return
        import contextlib
        import json
        import tempfile

        kept = dict(self.used)
        for key, value in self.entries.items():
            if len(kept) >= self._LIMIT:
                break
            kept.setdefault(key, value)
        tmp = None
        try:
            os.makedirs(os.path.dirname(self.target), mode=0o700, exist_ok=True)  # the cache is private
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.target), suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(kept, handle)
            os.replace(tmp, self.target)
        except OSError:
            # A cache that cannot be written only costs time; a full disk keeps no temporary file.
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def _content_key(data):
    try:
        import hashlib

        # The scanner's own identity is part of the key: a change to how sources are scanned
        # invalidates every entry.
        return hashlib.sha256(repr(_SCANNER).encode() + b"\0" + data).hexdigest()
    except (ImportError, AttributeError, ValueError):
        return None  # no usable hashlib here: scan every time rather than trust a weaker key


def _decoded(entry):
    """The import sites of a cache entry, or None when it is not the shape save() writes."""
    if not isinstance(entry, list):
        return None
    found = []
    for site in entry:
        if not (isinstance(site, list) and len(site) == 5):
            return None
        module, names, level, line, context = site
        if not (isinstance(module, str) and isinstance(names, list) and all(isinstance(n, str) for n in names)
                and type(level) is int and type(line) is int and isinstance(context, list)
                and len(context) == 3 and all(type(c) is bool for c in context)):
            return None
        found.append(StaticImport(module, tuple(names), level, line, tuple(context)))
    return found


class _Pass:
    def __init__(self, modules, state, is_stdlib, cache):
        self.cache = cache
        self.modules = modules
        self.state = state
        self.is_stdlib = is_stdlib
        self.locations = {}
        self.scanned = set()

    def scannable(self, record):
        origin = record.get("origin")
        return (
            record["kind"] in ("source", "package")
            and origin
            and origin.endswith(".py")
            and not record.get("type_checking")
            and not self.is_stdlib(record["name"], origin, self.state)
            and not record["name"].startswith("_basilisk_trace")
        )

    def walk(self):
        queue = [r for r in self.modules.values() if self.scannable(r)]
        while queue:
            record = queue.pop()
            if record["origin"] in self.scanned:
                continue
            self.scanned.add(record["origin"])
            queue.extend(self.scan(record))

    def scan(self, record):
        sites = self.cache.sites(record["origin"])
        package = record["name"] if record["kind"] == "package" else record["name"].rpartition(".")[0]
        new = []
        for site in sites:
            for name, must_exist in targets(site, package):
                added = self.visit(name, must_exist, site, record)
                if added is not None and self.scannable(added):
                    new.append(added)
        return new

    def visit(self, name, must_exist, site, importer):
        existing = self.modules.get(name)
        if existing is not None:
            if existing["found_by"] == "static" and existing.get("type_checking") and not site.type_checking:
                existing["type_checking"] = False
                return existing
            return None
        base = {
            "name": name,
            "importer": importer["name"],
            "line": site.line,
            "type_checking": site.type_checking,
            "optional": site.optional,
        }
        module = self.state.final_modules.get(name)
        if module is not None and name not in self.state.preloaded:
            return None  # loaded during the run under another name: an alias (bsk)
        if module is not None:
            ran = importer["found_by"] != "static" and not (site.function or site.type_checking)
            base.update(found_by="trace" if ran else "static", how="preloaded")
            return self._add(base, module, getattr(module, "__spec__", None))
        spec = self.find(name)
        if spec is None:
            if must_exist and not site.type_checking:
                base.update(found_by="static", how="static", kind="missing", origin=None,
                            error=f"No module named {name!r}")
                self.modules[name] = base
            return None
        base.update(found_by="static", how="static")
        return self._add(base, None, spec)

    def _add(self, base, module, spec):
        origin = getattr(module, "__file__", None) if module is not None else getattr(spec, "origin", None)
        base["kind"] = spec_kind(spec, origin)
        base["origin"] = origin if origin and os.path.isabs(origin) else None
        if spec is not None and spec.submodule_search_locations is not None:
            self.locations[base["name"]] = list(spec.submodule_search_locations)
        self.modules[base["name"]] = base
        return base

    def find(self, name):
        parent = name.rpartition(".")[0]
        path = None
        if parent:
            module = self.state.final_modules.get(parent)
            path = getattr(module, "__path__", None) if module is not None else self.locations.get(parent)
            if path is None:
                return None
            path = list(path)
        elif name in sys.builtin_module_names:
            import importlib.machinery

            return importlib.machinery.BuiltinImporter.find_spec(name)
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            try:
                spec = find_spec(name, path)
            except Exception:
                continue
            if spec is not None:
                return spec
        return None


def spec_kind(spec, origin):
    if spec is not None and spec.origin in ("built-in", "frozen"):
        return "builtin" if spec.origin == "built-in" else "frozen"
    if origin and origin.endswith((".so", ".pyd", ".dylib")):
        return "extension"
    if origin and os.path.basename(origin).startswith("__init__."):
        return "package"
    if origin and os.path.isabs(origin):
        return "source"
    if spec is not None and spec.submodule_search_locations:
        return "namespace"
    return "virtual"
