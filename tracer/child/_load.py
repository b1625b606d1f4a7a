"""Where every child interpreter starts: loads the named child script under a private name and runs it.

Usage: python [-B|-I -S] _load.py SCRIPT CONFIG.json OUT.json. The scripts beside this file
(runner, isolated, collect, static, exercise) and the runtime stand-ins are loaded by path
under `_basilisk_trace_<name>`, so a program's own `runner.py` or `static.py` never shadows them
and they never shadow the program's.
"""

import os
import sys

CHILD_DIR = os.path.dirname(os.path.abspath(__file__))
RUNTIME_DIR = os.path.join(os.path.dirname(CHILD_DIR), "runtime")
PREFIX = "_basilisk_trace_"


def load(name, path=None):
    """The child module `name` (a sibling script, or the file at `path`), loaded once."""
    private = PREFIX + name
    if private in sys.modules:
        return sys.modules[private]
    import importlib.util

    spec = importlib.util.spec_from_file_location(private, path or os.path.join(CHILD_DIR, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[private] = module
    spec.loader.exec_module(module)
    return module


def runtime_path(*parts):
    """A file or folder of the runtime stand-ins given to the program."""
    return os.path.join(RUNTIME_DIR, *parts)


if __name__ == "__main__":
    # Registered under its private name so the scripts reach this same loader (also when a
    # harness execs this file in a namespace of its own, as the Pyodide run does).
    _self = type(sys)(PREFIX + "load")
    _self.__dict__.update((k, v) for k, v in globals().items() if not k.startswith("__"))
    sys.modules[PREFIX + "load"] = _self
    load(sys.argv[1]).main(sys.argv[1:])
