"""The static pass: imports in traced source files that did not run.

An AST scan, run in the child after the dry run, so that names resolve
against the program's own environment without executing anything new.
Imports under `if TYPE_CHECKING:` are recorded as such and never followed.
"""

import ast
import os
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


class _Visitor(ast.NodeVisitor):
    def __init__(self):
        self.found = []
        self.context = (False, False, False)  # type_checking, optional, function

    def _with(self, nodes, type_checking=None, optional=None, function=None):
        saved = self.context
        tc, opt, fn = saved
        self.context = (
            tc if type_checking is None else type_checking,
            opt if optional is None else optional,
            fn if function is None else function,
        )
        for node in nodes:
            self.visit(node)
        self.context = saved

    def visit_If(self, node):
        self.visit(node.test)
        checking = _is_type_checking(node.test)
        negated = isinstance(node.test, ast.UnaryOp) and isinstance(node.test.op, ast.Not) and _is_type_checking(node.test.operand)
        self._with(node.body, type_checking=True if checking else None)
        self._with(node.orelse, type_checking=True if negated else None)

    def visit_Try(self, node):
        catches = any(_catches_import_error(h.type) for h in node.handlers)
        self._with(node.body, optional=True if catches else None)
        for part in (node.handlers, node.orelse, node.finalbody):
            self._with(part)

    visit_TryStar = visit_Try

    def visit_FunctionDef(self, node):
        for item in node.decorator_list:
            self.visit(item)
        self._with(node.body, function=True)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._with([node.body], function=True)

    def visit_Import(self, node):
        for alias in node.names:
            self.found.append(StaticImport(alias.name, (), 0, node.lineno, self.context))

    def visit_ImportFrom(self, node):
        names = tuple(a.name for a in node.names if a.name != "*")
        self.found.append(StaticImport(node.module or "", names, node.level, node.lineno, self.context))

    def visit_Call(self, node):
        # importlib.import_module("literal") and __import__("literal")
        func = node.func
        callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if callee in ("import_module", "__import__") and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                self.found.append(StaticImport(first.value, (), 0, node.lineno, self.context))
        self.generic_visit(node)


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
    """Every import site in a module's source."""
    visitor = _Visitor()
    visitor.visit(ast.parse(source, filename))
    return visitor.found


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


def run(modules, state, stdlib_names, is_stdlib):
    """Add static-only records to `modules` for the imports that did not run."""
    pass_ = _Pass(modules, state, is_stdlib)
    pass_.walk()


class _Pass:
    def __init__(self, modules, state, is_stdlib):
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
        try:
            with open(record["origin"], "rb") as handle:
                sites = scan_source(handle.read(), record["origin"])
        except (SyntaxError, ValueError, OSError):
            return []
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
        module = sys.modules.get(name)
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
            module = sys.modules.get(parent)
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
