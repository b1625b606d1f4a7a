"""What a module's code needs from its imports while the module itself is being imported.

On ic-basilisk's runtime a stdlib module the target lacks is an empty stub. A module that only
imports it (pprint's `import re`, used inside functions) still imports; one whose top-level code
reads from it (pickle's `re.match(...)` at module level, ast's `from _ast import *`) fails, and
with it the import of the module. Read from the source: the statements that run on import (not
function bodies, not `if __name__ == "__main__":`), their unguarded imports, and the names their
expressions read. Stdlib only; runs in the child.
"""

import ast

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_CATCHES = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}


def uses(source, package):
    """The modules the top-level code of this module reads while it is imported, unguarded."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return set()
    walk = _Walk(package)
    walk.body(tree.body, guarded=False)
    return walk.from_modules | {walk.bound[name] for name in walk.read if name in walk.bound}


class _Walk:
    def __init__(self, package):
        self.package = package
        self.bound = {}  # a name an unguarded `import X [as Y]` binds -> X
        self.from_modules = set()  # what unguarded from-imports read at once
        self.read = set()  # names the top-level expressions load

    def body(self, statements, guarded):
        for node in statements:
            self.statement(node, guarded)

    def statement(self, node, guarded):
        if isinstance(node, ast.Import):
            if not guarded:
                for alias in node.names:
                    self.bound[alias.asname or alias.name.partition(".")[0]] = \
                        alias.name if alias.asname else alias.name.partition(".")[0]
        elif isinstance(node, ast.ImportFrom):
            module = self._resolve(node)
            if module and not guarded:
                self.from_modules.add(module)
                self.from_modules.update(f"{module}.{a.name}" for a in node.names if a.name != "*")
        elif isinstance(node, _FUNCTIONS):
            self.expressions([*node.decorator_list, *node.args.defaults, *filter(None, node.args.kw_defaults)])
        elif isinstance(node, ast.ClassDef):
            self.expressions([*node.decorator_list, *node.bases, *(k.value for k in node.keywords)])
            self.body(node.body, guarded)  # a class body runs when the module is imported
        elif isinstance(node, ast.If):
            self.expressions([node.test])
            if not _is_main(node.test):
                self.body(node.body, guarded)
            self.body(node.orelse, guarded)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            catches = any(h.type is None or _names(h.type) & _CATCHES for h in node.handlers)
            self.body(node.body, guarded or catches)
            for handler in node.handlers:
                self.body(handler.body, guarded or catches)
            self.body(node.orelse, guarded)
            self.body(node.finalbody, guarded)
        else:
            self._other(node, guarded)

    def _other(self, node, guarded):
        blocks = [getattr(node, name) for name in ("body", "orelse") if isinstance(getattr(node, name, None), list)]
        if blocks:  # for, while, with: their header runs, then their bodies
            heads = [v for k, v in ast.iter_fields(node) if k not in ("body", "orelse")]
            self.expressions([h for head in heads for h in (head if isinstance(head, list) else [head])
                              if isinstance(h, ast.AST)])
            for block in blocks:
                self.body(block, guarded)
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


def _is_main(test):
    return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and {_plain(test.left), _plain(test.comparators[0])} == {"__name__", "'__main__'"})


def _plain(node):
    return node.id if isinstance(node, ast.Name) else repr(node.value) if isinstance(node, ast.Constant) else None
