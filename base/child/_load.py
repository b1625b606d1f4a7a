"""Where every child interpreter starts: loads the named child script under a private name and runs it.

Usage: python [-B|-I -S] _load.py DIRS SCRIPT CONFIG.json OUT.json. DIRS is a JSON list of the
folders searched, in order, for every script a child loads by name (this folder first: the
loader and the guard; then the stage's own scripts, and the runtime stand-ins). Scripts are
loaded by path under `_basilisk_trace_<name>`, so a program's own `runner.py` or `static.py`
never shadows them and they never shadow the program's.
"""

import os
import sys

CHILD_DIR = os.path.dirname(os.path.abspath(__file__))
DIRS = [CHILD_DIR]
PREFIX = "_basilisk_trace_"


def find(*parts):
    """The file or folder `parts` in the first folder of DIRS that has it."""
    for folder in DIRS:
        path = os.path.join(folder, *parts)
        if os.path.exists(path):
            return path
    raise ImportError(f"basilisk-trace: child file {os.path.join(*parts)} not found in {DIRS}")


def load(name, path=None):
    """The child module `name` (a script found in DIRS, or the file at `path`), loaded once."""
    private = PREFIX + name
    if private in sys.modules:
        return sys.modules[private]
    import importlib.util

    spec = importlib.util.spec_from_file_location(private, path or find(name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module
    spec.loader.exec_module(module)
    return module


def main(argv):
    import json

    DIRS[:] = [CHILD_DIR, *(d for d in json.loads(argv[0]) if d != CHILD_DIR)]
    load(argv[1]).main(argv[1:])


if __name__ == "__main__":
    # Registered under its private name so the scripts reach this same loader (also when a
    # harness execs this file in a namespace of its own, as the Pyodide run does).
    _self = type(sys)(PREFIX + "load")
    _self.__dict__.update((k, v) for k, v in globals().items() if not k.startswith("__"))
    sys.modules[PREFIX + "load"] = _self
    _self.main(sys.argv[1:])
