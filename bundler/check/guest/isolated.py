"""Run an extracted bundle the way the target will: alone, with the target's view of the stdlib.

Executed as a script by `python -I -S` (no site-packages), never imported by
the tool. Started by _load.py: python -I -S _load.py isolated CONFIG.json OUT.json
"""

import builtins
import importlib.machinery
import importlib.util
import json
import os
import sys
import traceback  # loaded before the stubs go in: the runner's own needs are not the program's

_LOAD = sys.modules["_basilisk_trace_load"]
_STUB_FILE = "<wasi-stub>"


class _Stubs:
    """The target's view of the stdlib, as the program sees it through import statements.

    On the basilisk runtime a stdlib module it lacks comes back as an empty module
    (ic-basilisk's `_wasi_safe_import`). Here the real module may well be loaded for
    the stdlib's own use, so the program's import statements are answered with a stub
    whatever sys.modules holds.
    """

    def __init__(self, provided, bundle_dir):
        self.provided = provided
        self.bundle_dir = os.path.realpath(bundle_dir) + os.sep
        self.modules = {}

    def wanted(self, name, globals_, level):
        if self.provided is None or level or not name:
            return False
        if name.partition(".")[0] not in sys.stdlib_module_names or name in self.provided:
            return False
        caller = (globals_ or {}).get("__file__") or ""
        if not os.path.realpath(caller).startswith(self.bundle_dir):
            return False
        # What the bundle ships itself (--bundle-stdlib) is imported for real.
        return importlib.machinery.PathFinder.find_spec(name.partition(".")[0], [self.bundle_dir]) is None

    def module(self, name, fromlist):
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            self._stub(".".join(parts[:end]))
        return self.modules[name] if fromlist else self.modules[parts[0]]

    def _stub(self, name):
        if name not in self.modules:
            module = type(sys)(name)
            module.__file__ = _STUB_FILE
            module.__path__ = []
            self.modules[name] = module
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(self.modules[parent], child, module)
        return self.modules[name]


class _Runtime:
    """Only the runtime's own package (basilisk) from outside the bundle."""

    def __init__(self, directory):
        self.directory = directory

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] != "basilisk" or "." in name:
            return None
        return importlib.machinery.PathFinder.find_spec(name, [self.directory])



class _State:
    def __init__(self):
        self.methods = []
        self.method_results = []


def _failure(exercise, exc):
    missing = exercise.failed_imports(exc)
    stub = None
    if isinstance(exc, AttributeError) and getattr(getattr(exc, "obj", None), "__file__", None) == _STUB_FILE:
        stub = exc.obj.__name__
    elif isinstance(exc, ImportError) and _STUB_FILE in str(exc):
        stub = exc.name  # "cannot import name 'X' from 'M' (<wasi-stub>)"
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    frames = [f.filename for f in traceback.extract_tb(exc.__traceback__)]
    return {"error": f"{type(exc).__name__}: {exc}", "traceback": text, "missing": missing,
            "stub": stub, "frames": frames}


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    bundle = config["bundle_dir"]
    provided = set(config["provided"]) if config["provided"] is not None else None
    stubs = _Stubs(provided, bundle)
    exercise = _LOAD.load("exercise")
    meter = _LOAD.load("meter").Meter(config.get("meter"))
    meter.mark("start")
    meter.mark("start")  # two marks in a row: what one mark costs
    if config.get("protected") is not None:  # on the host; Pyodide has its own walls
        _LOAD.load("guard").Guard(config["protected"], _refused).install()
    sys.path.insert(0, bundle)  # only now: the tool's own modules never come from the bundle
    state = _State()
    _install_runtime(config, exercise, state)
    _hook_imports(exercise, state, stubs)
    result = {"outcome": "ok", "failure": None, "methods": []}
    meter.mark("layer")
    try:
        __import__(config["entry_module"])
        meter.mark("init")
    except BaseException as exc:  # the program's failure is the result
        result.update(outcome="exception", failure=_failure(exercise, exc))
    else:
        if config["exercise"]:
            _call(exercise, state, result, meter)
    result["stubbed"] = sorted(stubs.modules)
    result["marks"] = meter.marks
    with open(argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def _refused(kind, detail):
    pass  # the PermissionError the guard raises is the program's failure, and says it all


def _install_runtime(config, exercise, state):
    """The canister's runtime: ic-basilisk's own layer when given, else the stand-in package."""
    ic_api = _LOAD.load("ic", _LOAD.find("ic_api.py"))
    layer = config.get("runtime_layer")
    if layer is None:
        sys.modules["_basilisk_ic"] = builtins._basilisk_ic = ic_api.make_module()
        if config.get("runtime_dir"):
            sys.meta_path.append(_Runtime(config["runtime_dir"]))
        return
    basilisk = _LOAD.load("boot", _LOAD.find("boot.py")).install(layer, ic_api)
    exercise.patch_basilisk(basilisk, state.methods)
    exercise.learn_shapes(layer.get("shapes") or ())
    basilisk._basilisk_trace_patched = True


def _hook_imports(exercise, state, stubs):
    """Answer the program's stdlib imports as the target would; learn the methods from basilisk."""
    original = builtins.__import__

    def importing(name, globals=None, locals=None, fromlist=(), level=0):
        if stubs.wanted(name, globals, level):
            return stubs.module(name, fromlist)
        module = original(name, globals, locals, fromlist, level)
        basilisk = sys.modules.get("basilisk")
        initializing = getattr(getattr(basilisk, "__spec__", None), "_initializing", False)
        if basilisk is not None and not initializing and not getattr(basilisk, "_basilisk_trace_patched", False):
            exercise.patch_basilisk(basilisk, state.methods)
            basilisk._basilisk_trace_patched = True
        return module

    builtins.__import__ = importing


def _call(exercise, state, result, meter):
    for kind, func in state.methods:
        try:
            exercise.run_method(func)
            error = None
        except BaseException as exc:  # each method's failure is reported
            error = _failure(exercise, exc)
        result["methods"].append({"name": getattr(func, "__qualname__", "?"), "decorator": kind,
                                  "failure": error})
        meter.mark("call")


if __name__ == "__main__":
    main(sys.argv)
