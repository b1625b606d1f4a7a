"""Run a canister's python_source as the template's init does, then call its methods by name.

Executed as a script by `python -I -S` (no site-packages), never imported by the tool.
Started by _load.py: python -I -S _load.py canister_init CONFIG.json OUT.json. In one
namespace, as `cpython_full_init` runs them: the runtime layer (preamble, shim, fix-ups),
with the preamble's in-memory filesystem kept, then the program text; each method is then
looked up in that namespace, as the template's `get_global(name)` does.

CONFIG: "program" (the python_source's file; with "wait", its name in the run directory, written
there while the layer runs, read once one byte on stdin says go), "runtime_layer", "calls" ([name, args] pairs
called as given), "exercise" ([name, kind] pairs called with arguments made from their
hints), "meter" (a file to mark the instruction meter through, under `--runtime wasi`).
"""

import builtins
import io
import json
import os
import sys

_LOAD = sys.modules["_basilisk_trace_load"]
# Taken before the layer runs: the preamble replaces `open` with its in-memory one, and the
# real os module's `path` with its own (which traceback's linecache cannot use).
_OPEN = io.open
_OS_PATH = os.path
_READ = os.read


def main(argv):
    with _OPEN(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    # Loaded before the layer: afterwards imports go through the preamble's __import__.
    exercise, isolated = _LOAD.load("exercise"), _LOAD.load("isolated")
    meter = _LOAD.load("meter").Meter(config.get("meter"))
    result = {"platform": sys.platform, "failure": None, "answers": [], "printed": [], "methods": []}
    namespace = {}
    requested = _record_failed_imports()
    meter.mark("start")
    meter.mark("start")  # two marks in a row: what one mark costs
    try:
        ic_api = _LOAD.load("ic", _LOAD.find("ic_api.py"))
        _LOAD.load("boot", _LOAD.find("boot.py")).install(config["runtime_layer"], ic_api,
                                                                   namespace, memfs=True)
        printed = namespace["_basilisk_ic"].printed
        meter.mark("layer")
        program = _program(config)
        if program is None:
            return  # the tool needs no run after all: no result
        exec(compile(program, config.get("filename", "python_source"), "exec"), namespace)
        meter.mark("init")
        result["compiled"] = _compiled_at_init()
    except BaseException as exc:  # a failed init is the result: the canister would trap here
        result["failure"] = _failure(isolated, exercise, exc, requested)
    else:
        result["answers"] = [_call(namespace, name, args) for name, args in config.get("calls", ())]
        for name, kind in config.get("exercise", ()):
            requested.clear()
            result["methods"].append(_exercise(exercise, isolated, namespace, name, kind, requested))
            meter.mark("call")
        result["printed"] = list(printed)
    # The layer's mark: ic-basilisk's preamble replaces __import__ and open() for the program.
    result["layer"] = {"import": getattr(builtins.__import__, "__name__", "?"),
                       "open": getattr(builtins.open, "__name__", "?")}
    result["marks"] = meter.marks
    with _OPEN(argv[2], "w", encoding="utf-8") as handle:
        handle.write(json.dumps(result, default=repr))


def _program(config):
    """The python_source's text; with "wait", once the tool says go (one byte on stdin: the file is
    written then), None when it closes the input without a word. The layer ran meanwhile."""
    if config.get("wait") and _READ(0, 1) != b"g":
        return None
    path = _OS_PATH.join(config["run_dir"], config["program"]) if config.get("wait") else config["program"]
    with _OPEN(path, encoding="utf-8") as handle:
        return handle.read()


def _call(namespace, name, args):
    try:
        return [name, namespace[name](*args)]
    except Exception as exc:  # a method's failure is an answer too
        return [name, f"raised {type(exc).__name__}: {exc}"]


def _exercise(exercise, isolated, namespace, name, kind, requested):
    """Call one exported method with arguments made from its type hints, as the template would."""
    error = None
    try:
        func = namespace.get(name)
        if not callable(func):
            raise NameError(f"the canister exports {name}, but its python_source defines no function {name}")
        exercise.run_method(func)
    except BaseException as exc:  # each method's failure is reported
        error = _failure(isolated, exercise, exc, requested)
    return {"name": name, "decorator": kind, "failure": error}


def _compiled_at_init():
    """The modules basilisk-trace's loader compiled from source (no code object for this interpreter)."""
    return sorted(name for finder in sys.meta_path for name in getattr(finder, "compiled", ()) or ())


def _failure(isolated, exercise, exc, requested):
    """The failure as isolated.py reports it, formatted over the real os.path; the imports asked for."""
    held = os.path, sys.modules.get("os"), sys.modules.get("os.path")
    os.path = sys.modules["os.path"] = _OS_PATH
    sys.modules["os"] = os
    try:
        return dict(isolated._failure(exercise, exc), requested=list(requested))
    finally:
        os.path = held[0]
        sys.modules.update((name, module) for name, module in zip(("os", "os.path"), held[1:], strict=True) if module is not None)


def _record_failed_imports():
    """The names the program's failed imports asked for (`__import__("plugins.alpha")` fails on
    `plugins`; the name asked for is the one to ship). Installed before the layer, under its
    `__import__`."""
    requested = []
    original = builtins.__import__

    def importing(name, globals=None, locals=None, fromlist=(), level=0):
        try:
            return original(name, globals, locals, fromlist, level)
        except ImportError:
            if not level:
                requested.append(name)
            raise

    builtins.__import__ = importing
    return requested


if __name__ == "__main__":
    main(sys.argv)
