"""Who imported what, and how: read from the frames of an import in progress (runs in the child)."""

import os
import sys

_LOAD = sys.modules["_basilisk_trace_load"]
FROZEN = "<frozen importlib"
# The canister runtime layer's code (its import wrapper sits between every import and the
# importlib machinery); the file name prefix is the one runtime/boot.py compiles it under.
LAYER = "<basilisk runtime "
IMPORTLIB_DIR = os.path.dirname(os.__file__) + os.sep + "importlib" + os.sep
# The tool's own frames: never the importer of anything.
TOOL_FILES = {_LOAD.find(name) for name in ("runner.py", "_load.py", "guard.py", "frames.py", "files.py", "stdlib.py")}
IMPORT_NAME = 108  # the runner sets it from dis once the program has run
_LAYER_IMPORT = "in _wasi_safe_import"


def importer_frame(depth):
    """The first frame outside the import machinery, and how it imported."""
    frame = sys._getframe(depth)
    via = None
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename.startswith((FROZEN, LAYER)):
            frame = frame.f_back
            continue
        if filename.startswith(IMPORTLIB_DIR):
            if frame.f_code.co_name == "import_module":
                via = "import_module"
            frame = frame.f_back
            continue
        break
    return frame, via


def frame_module(frame):
    if frame is None or frame.f_code.co_filename in TOOL_FILES:
        return None
    spec = frame.f_globals.get("__spec__")
    if spec is not None and getattr(spec, "name", None):
        return spec.name
    return frame.f_globals.get("__name__")


def how(frame, via):
    if frame is None:
        return via or "import"
    code = frame.f_code
    if code.co_name == "__getattr__":
        return "getattr"
    if via:
        return via
    statement = code.co_code[frame.f_lasti] == IMPORT_NAME if frame.f_lasti >= 0 else True
    if not statement:
        return "__import__"
    return "import" if code.co_name == "<module>" else "function"


def user_traceback(traceback, exc):
    """The program's traceback, without the tool's frames or the import machinery's."""
    tb = exc.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename in TOOL_FILES
                              or tb.tb_frame.f_code.co_filename.startswith((FROZEN, IMPORTLIB_DIR))):
        tb = tb.tb_next
    lines = traceback.format_exception(type(exc), exc, tb)
    return "".join(line for line in lines if FROZEN not in line and _LAYER_IMPORT not in line)
