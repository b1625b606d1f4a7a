"""Where the standard library is, and the tool's own copies of the stdlib modules it uses (runs in the child)."""

import os
import sys


def stdlib_dirs(sysconfig):
    """(the stdlib's folders, site-packages folders): the base interpreter's, not the venv's."""
    base = {"installed_base": sys.base_prefix, "base": sys.base_prefix,
            "platbase": sys.base_exec_prefix, "installed_platbase": sys.base_exec_prefix}
    dirs = set()
    for key in ("stdlib", "platstdlib"):
        try:  # noqa: SIM105 (contextlib would be one more module loaded before the program)
            dirs.add(os.path.realpath(sysconfig.get_path(key, vars=base)))
        except (KeyError, TypeError):
            pass
    dirs.add(os.path.realpath(os.path.dirname(os.__file__)))
    site_dirs = [os.path.realpath(p) for p in sys.path if "site-packages" in p or "dist-packages" in p]
    return tuple(sorted(dirs)), tuple(sorted(site_dirs))


def load_tools(names):
    """Import `names` from the standard library alone (PYTHONPATH may hold the project).

    Returns (name -> module, every module loading them added to sys.modules).
    """
    before = set(sys.modules)
    saved = sys.path[:]
    stdlib = os.path.realpath(os.path.dirname(os.__file__))
    sys.path[:] = [p for p in saved if _within_stdlib(os.path.realpath(p or "."), stdlib)]
    tools = {}
    try:
        for name in names:
            __import__(name)
            tools[name] = sys.modules[name]
    finally:
        sys.path[:] = saved
    return tools, {name: sys.modules[name] for name in set(sys.modules) - before}


def _within_stdlib(path, stdlib):
    # lib/python3.X and lib-dynload inside it, or lib/python3X.zip beside it
    return path == stdlib or path.startswith(stdlib + os.sep) or (
        path.endswith(".zip") and os.path.dirname(path) == os.path.dirname(stdlib))
