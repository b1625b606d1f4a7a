"""What a module's code needs from its imports while the module itself is being imported.

On ic-basilisk's runtime a stdlib module the target lacks is an empty stub. A module that only
imports it (pprint's `import re`, used inside functions) still imports; one whose top-level code
reads from it (pickle's `re.match(...)` at module level, ast's `from _ast import *`) fails, and
with it the import of the module. Read from the source: the statements that run on import (not
function bodies, not `if __name__ == "__main__":`), their unguarded imports, and the names their
expressions read. Stdlib only; runs in the child.
"""

import ast
import sys

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_is_main = sys.modules["_basilisk_trace_load"].load("static")._is_main  # `if __name__ == "__main__":`, as the static pass reads it
_CATCHES = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def uses(source, package):
    """(the modules the top-level code reads while the module is imported, unguarded; the groups of
    alternatives of its try/except ImportError statements: [[what the try reads], [what each
    handler reads], ...], of which one must work)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set(), []
    walk = _Walk(package)
    walk.body(tree.body, walk.top)
    groups = [[branch.modules(walk.read) for branch in group] for group in walk.groups]
    return walk.top.modules(walk.read), [g for g in groups if g[0]]


class _Scope:
    """The imports of one branch: the names plain imports bind, and what from-imports read at once."""

    def __init__(self):
        self.bound = {}  # a name `import X [as Y]` binds -> X
        self.from_modules = set()

    def modules(self, read):
        return self.from_modules | {self.bound[name] for name in read if name in self.bound}


class _Walk:
    def __init__(self, package):
        self.package = package
        self.top = _Scope()  # unguarded
        self.groups = []  # [[try-body scope, handler scope, ...]] of the top level's try/except ImportError
        self.read = set()  # names the top-level expressions load

    def body(self, statements, scope):
        for node in statements:
            self.statement(node, scope)

    def statement(self, node, scope):
        if isinstance(node, ast.Import):
            for alias in node.names if scope is not None else ():
                scope.bound[alias.asname or alias.name.partition(".")[0]] = \
                    alias.name if alias.asname else alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            module = self._resolve(node)
            if module and scope is not None:
                scope.from_modules.add(module)
                scope.from_modules.update(f"{module}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, _FUNCTIONS):
            self.expressions([*node.decorator_list, *node.args.defaults, *filter(None, node.args.kw_defaults)])
        elif isinstance(node, ast.ClassDef):
            self.expressions([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
            self.body(node.body, scope)  # a class body runs when the module is imported
        elif isinstance(node, ast.If):
            self.expressions([node.test])
            if not _is_main(node.test):
                self.body(node.body, scope)
            self.body(node.orelse, scope)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            self._try(node, scope)
        else:
            self._other(node, scope)

    def _try(self, node, scope):
        catching = [h for h in node.handlers if h.type is None or _names(h.type) & _CATCHES]
        if not catching:
            self.body(node.body, scope)
            for handler in node.handlers:
                self.body(handler.body, None)  # runs on another error only
        else:
            # Alternatives: the try's imports, or one handler's. Only the top level's are told apart.
            group = [_Scope() for _ in range(1 + len(catching))] if scope is self.top else [None] * (1 + len(catching))
            self.body(node.body, group[0])
            for handler in node.handlers:
                self.body(handler.body, group[1 + catching.index(handler)] if handler in catching else None)
            if scope is self.top:
                self.groups.append(group)
        self.body(node.orelse, scope)
        self.body(node.finalbody, scope)

    def _other(self, node, scope):
        blocks = [getattr(node, name) for name in ("body", "orelse") if isinstance(getattr(node, name, None), list)]
        if blocks:  # for, while, with: their header runs, then their bodies
            heads = [v for k, v in ast.iter_fields(node) if k not in ("body", "orelse")]
            self.expressions([h for head in heads for h in (head if isinstance(head, list) else [head])
                              if isinstance(h, ast.AST)])
            for block in blocks:
                self.body(block, scope)
            return
        self.expressions([node])

    def expressions(self, nodes):
        stack = list(nodes)
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                self.read.add(node.id)
            elif isinstance(node, ast.Lambda):
                stack.extend([*node.args.defaults, *filter(None, node.args.kw_defaults)])
            elif not isinstance(node, _FUNCTIONS):
                stack.extend(ast.iter_child_nodes(node))

    def _resolve(self, node):
        if not node.level:
            return node.module
        parts = self.package.split(".") if self.package else []
        if node.level - 1 > len(parts) or not parts:
            return None
        base = ".".join(parts[: len(parts) - (node.level - 1)])
        return f"{base}.{node.module}" if node.module else base


def _names(node):
    if isinstance(node, ast.Tuple):
        return set().union(*(_names(e) for e in node.elts))
    return {node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)}
