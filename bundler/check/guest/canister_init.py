"""Run a canister's python_source as the template's init does, then call its methods by name.

Executed as a script by `python -I -S` (no site-packages), never imported by the tool.
Started by _load.py: python -I -S _load.py canister_init CONFIG.json OUT.json. In one
namespace, as `cpython_full_init` runs them: the runtime layer (preamble, shim, fix-ups),
with the preamble's in-memory filesystem kept, then the program text; each method is then
looked up in that namespace, as the template's `get_global(name)` does.
"""

import builtins
import io
import json
import sys
import traceback

_LOAD = sys.modules["_basilisk_trace_load"]
# Taken before the layer runs: the preamble replaces `open` with its in-memory one.
_OPEN = io.open


def main(argv):
    with _OPEN(argv[1], encoding="utf-8") as handle:
        config = json.load(handle)
    with _OPEN(config["program"], encoding="utf-8") as handle:
        program = handle.read()
    result = {"platform": sys.platform, "failure": None, "answers": [], "printed": []}
    namespace = {}
    try:
        ic_api = _LOAD.load("ic", _LOAD.find("ic_api.py"))
        _LOAD.load("boot", _LOAD.find("boot.py")).install(config["runtime_layer"], ic_api,
                                                                   namespace, memfs=True)
        printed = namespace["_basilisk_ic"].printed
        exec(compile(program, config.get("filename", "python_source"), "exec"), namespace)
    except BaseException:  # a failed init is the result: the canister would trap here
        result["failure"] = traceback.format_exc()
    else:
        result["answers"] = [_call(namespace, name, args) for name, args in config["calls"]]
        result["printed"] = list(printed)
    # The layer's mark: ic-basilisk's preamble replaces __import__ and open() for the program.
    result["layer"] = {"import": getattr(builtins.__import__, "__name__", "?"),
                       "open": getattr(builtins.open, "__name__", "?")}
    with _OPEN(argv[2], "w", encoding="utf-8") as handle:
        handle.write(json.dumps(result, default=repr))


def _call(namespace, name, args):
    try:
        return [name, namespace[name](*args)]
    except Exception as exc:  # a method's failure is an answer too
        return [name, f"raised {type(exc).__name__}: {exc}"]


if __name__ == "__main__":
    main(sys.argv)
