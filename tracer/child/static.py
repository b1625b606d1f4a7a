"""The static pass: imports in traced source files that did not run.

Run in the child after the dry run, so that names resolve against the program's own
environment without executing anything new. Import sites come from bytecode (the code the
import system ran, a valid cached .pyc, or a compile), and from the source's AST only where
bytecode cannot tell the context (child/sites.py). Imports under `if TYPE_CHECKING:` are
recorded as such and never followed; imports in an `except ImportError:` clause are the
program's fallback (`fallback`), which runs only when the import in its `try` failed.
"""

import ast
import os
import re
import sys

_CATCHES_IMPORT = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


class StaticImport:
    """One import site: the names it may bind, and the context it sits in."""

    __slots__ = ("module", "names", "level", "line", "type_checking", "optional", "function", "fallback")

    def __init__(self, module, names, level, line, context):
        self.module = module
        self.names = names
        self.level = level
        self.line = line
        self.type_checking, self.optional, self.function, self.fallback = context


# Only a whole literal first argument names a module: in __import__("accel_" + name) it is a prefix.
_DYNAMIC = re.compile(rb"""(?:import_module|__import__)\(\s*(?:"|')([A-Za-z_][\w.]*)(?:"|')\s*[,)]""")


def _walk(body, context, found):
    """Import statements in a statement list; expressions are never descended into."""
    type_checking, optional, function, fallback = context
    for node in body:
        kind = type(node)
        if kind is ast.Import:
            found.extend(StaticImport(a.name, (), 0, node.lineno, context) for a in node.names)
        elif kind is ast.ImportFrom:
            names = tuple(a.name for a in node.names if a.name != "*")
            found.append(StaticImport(node.module or "", names, node.level, node.lineno, context))
        elif kind in (ast.FunctionDef, ast.AsyncFunctionDef):
            _walk(node.body, (type_checking, optional, True, fallback), found)
        elif kind is ast.ClassDef:
            _walk(node.body, context, found)
        elif kind is ast.If and _is_main(node.test):
            # `if __name__ == "__main__":` never runs when the module is imported, as a canister imports it.
            _walk(node.body, (type_checking, optional, True, fallback), found)
            _walk(node.orelse, context, found)
        elif kind is ast.If:
            checking = _is_type_checking(node.test)
            negated = (isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not)
                       and _is_type_checking(node.test.operand))
            _walk(node.body, (True, optional, function, fallback) if checking else context, found)
            _walk(node.orelse, (True, optional, function, fallback) if negated else context, found)
        elif kind in _TRY:
            catches = any(_catches_import_error(h.type) for h in node.handlers)
            _walk(node.body, (type_checking, True, function, fallback) if catches else context, found)
            for handler in node.handlers:
                # The clause that catches ImportError holds the fallback of the imports in the try
                # (a try with nothing to run, `try: pass`, has no handler that ever runs).
                caught = fallback or (_catches_import_error(handler.type) and not all(
                    type(s) is ast.Pass or (type(s) is ast.Expr and type(s.value) is ast.Constant) for s in node.body))
                _walk(handler.body, (type_checking, optional, function, caught), found)
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


def _is_main(test):
    """`__name__ == "__main__"` (either way round), alone or as one of an `and`'s terms: false on import."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_is_main(value) for value in test.values)
    return isinstance(test, ast.Compare) and ast.unparse(test) in ("__name__ == '__main__'", "'__main__' == __name__")


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
    _walk(ast.parse(source, filename).body, (False, False, False, False), found)
    found.extend(dynamic(source))
    return found


COMPUTED = -1  # the level of a site whose module name is computed at run time
_IMPORT_CALLS = ("import_module", "__import__")


def computed_in(path):
    """The computed-name import calls in the source file at `path` (none when it does not parse).

    ASCII text holds an identifier only as its own bytes: without either name it has none, and is
    not parsed. Other text always is (NFKC folds other characters into an identifier)."""
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        if source.isascii() and not any(name.encode() in source for name in _IMPORT_CALLS):
            return []
        return list(_computed(ast.parse(source, path)))
    except (OSError, SyntaxError, ValueError, RecursionError):
        return []


def _computed(tree):
    """Calls of import_module or __import__ whose first argument is not a literal name."""
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        first = node.args[0]
        if name in _IMPORT_CALLS and not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
            text = ast.unparse(node)
            text = text if len(text) <= 80 else text[:77] + "..."
            yield StaticImport(None, (text, _literal_prefix(first)), COMPUTED, node.lineno, (False, False, True, False))


def _literal_prefix(node):
    """The constant start of a computed name: f"plugins.{name}" and "plugins." + name give "plugins."."""
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Constant):
        return str(node.left.value)
    return ""


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
    """Add static-only records to `modules` for the imports that did not run.

    Returns the computed-name import calls found in the project's own code.
    """
    load = sys.modules["_basilisk_trace_load"].load
    sources, follow = load("site_sources"), load("stdlib_follow")
    config = state.config
    out = os.path.join(config["run_dir"], config["static_out"]) if config.get("static_out") else None
    cache = sources.Cache(config.get("static_cache"), StaticImport, out)
    pass_ = _Pass(modules, state, is_stdlib, sources.Sites(state.code, cache, sys.modules[__name__]), follow)
    for pattern in config.get("include_stdlib") or ():
        follow.include(pass_, pattern)
    pass_.walk()
    pass_.follow.importers(lambda name, origin: is_stdlib(name, origin, state), pass_.import_time)
    cache.save()
    return sorted(pass_.computed, key=lambda c: (c["path"], c["line"]))


def dynamic(source):
    """Literal import_module("...") and __import__("...") calls in a module's source."""
    for match in _DYNAMIC.finditer(source):
        line = source.count(b"\n", 0, match.start()) + 1
        yield StaticImport(match.group(1).decode(), (), 0, line, (False, False, True, False))


class _Pass:
    def __init__(self, modules, state, is_stdlib, sites, follow):
        self.sites = sites
        self.modules = modules
        self.state = state
        self.is_stdlib = is_stdlib
        self.locations = {}
        self.scanned = set()
        self.computed = []
        root = state.config["project_root"] + os.sep
        self.in_project = lambda path: path.startswith(root) and os.sep + "site-packages" + os.sep not in path
        self.follow = follow.Follow(state.config, modules, self.in_project)
        uses = sys.modules["_basilisk_trace_load"].load("import_time").uses
        self.import_time = lambda source, package: sites.cache.import_time(source, package, uses)

    def scannable(self, record):
        origin = record.get("origin")
        if not (record["kind"] in ("source", "package") and origin and origin.endswith(".py")
                and not record.get("type_checking") and not record["name"].startswith("_basilisk_trace")):
            return False
        # The stdlib only where the target lacks it and the program may need it (stdlib_follow.py).
        return not self.is_stdlib(record["name"], origin, self.state) or self.follow.wants(record)

    def walk(self):
        # The program's own modules and its dependencies first, the stdlib it may need last: who
        # imported a module first is who the trace names, and that should be the program's code.
        first, later = [], []

        def push(records):
            for r in records:
                (later if self.is_stdlib(r["name"], r["origin"], self.state) else first).append(r)

        push(r for r in list(self.modules.values()) if self.scannable(r))
        while first or later:
            record = (first or later).pop()
            if record["origin"] in self.scanned:
                continue
            self.scanned.add(record["origin"])
            push(self.scan(record))

    def scan(self, record):
        sites = self.sites.sites(record["origin"])
        if self.in_project(record["origin"]):
            # Calls that import a computed name: only the source tells their text, and the
            # project's own files are few, so they are parsed whatever answered the sites.
            sites = [*sites, *computed_in(record["origin"])]
        package = record["name"] if record["kind"] == "package" else record["name"].rpartition(".")[0]
        followed = self.is_stdlib(record["name"], record["origin"], self.state)
        if followed:
            self.follow.start(record)
        new = []
        for site in sites:
            if site.level == COMPUTED:
                if self.in_project(record["origin"]):
                    self.computed.append({"module": record["name"], "path": record["origin"], "line": site.line,
                                          "call": site.names[0], "prefix": site.names[1]})
                continue
            for name, must_exist in targets(site, package):
                added = self.visit(name, must_exist, site, record)
                if followed and name in self.modules:
                    self.follow.note(record, site, name)
                if added is not None and self.scannable(added):
                    new.append(added)
        if followed:
            self.follow.finish(record, self.import_time)
        return new

    def visit(self, name, must_exist, site, importer):
        existing = self.modules.get(name)
        if existing is not None:
            if existing.get("importer") == importer["name"]:
                self.follow.guard(existing, site, self.is_stdlib(name, existing.get("origin"), self.state))
            return self._seen_again(existing, site)
        base = {"name": name, "importer": importer["name"], "line": site.line, "type_checking": site.type_checking,
                "optional": site.optional, "fallback": site.fallback}
        # What the program had loaded when it stopped: the tool's own later imports do not count.
        module = self.state.final_modules.get(name)
        if module is not None and (name not in self.state.preloaded
                                   or getattr(module, "__name__", name) != name):
            return None  # the same module under another name: an alias (bsk)
        if module is not None:
            ran = importer["found_by"] != "static" and not (site.function or site.type_checking)
            base.update(found_by="trace" if ran else "static", how="preloaded")
            return self.add(base, module, getattr(module, "__spec__", None))
        spec = self.find(name)
        if spec is None:
            if must_exist and not site.type_checking:
                base.update(found_by="static", how="static", kind="missing", origin=None,
                            error=f"No module named {name!r}")
                self.modules[name] = base
            return None
        base.update(found_by="static", how="static")
        return self.add(base, None, spec)

    @staticmethod
    def _seen_again(existing, site):
        """A module the pass already has, imported once more: a plainer site makes it plainer."""
        if existing["found_by"] != "static":
            return None
        if existing.get("type_checking") and not site.type_checking:
            existing["type_checking"] = False
            return existing  # now imported at run time: its own imports count
        if not site.type_checking and not (site.optional or site.fallback):
            # Imported unguarded somewhere: its absence is no longer handled.
            existing["optional"] = existing["fallback"] = False
        return None

    def add(self, base, module, spec):
        origin = getattr(module, "__file__", None) if module is not None else getattr(spec, "origin", None)
        base["kind"] = sys.modules["_basilisk_trace_load"].load("collect").spec_kind(spec, origin)
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
