"""Run ic-basilisk's runtime layer in this interpreter, in the order the canister template runs it.

Loaded by path in child interpreters (standard library only). `layer` is the JSON
the tool read from the installed ic-basilisk (preamble, shim, fix-ups, and the
names of `_basilisk_ic`'s functions).
"""

import builtins
import os
import sys

# Code of the layer runs under this file name prefix: the dry run's import recorder
# skips those frames, as it skips the import machinery's own.
FILENAME_PREFIX = "<basilisk runtime "
_PREAMBLE = "FROZEN_STDLIB_PREAMBLE"


def filename(step):
    return f"{FILENAME_PREFIX}{step['origin']}>"


def install(layer, ic_api, namespace=None, memfs=False, compiled=None):
    """Register `_basilisk_ic`, then run every step; return the `basilisk` module the layer built.

    The steps run in `namespace` (the template's `__main__` globals, where it also runs the
    program and finds its methods). The preamble's in-memory filesystem (it always replaces
    `open` and `os`) is taken out again, unless `memfs`: the bundle's files and the project's
    data live on this machine's disk here, where the canister's bootstrap puts them in its
    own. A python_source carries its bundle in its text, and runs with `memfs` as on the canister.
    """
    api = ic_api.make_module(layer["api"])
    sys.modules["_basilisk_ic"] = api
    namespace = {} if namespace is None else namespace
    namespace.update({"__name__": "__main__", "__builtins__": builtins, "_basilisk_ic": api})
    # Read before the preamble runs: afterwards `open` may be its in-memory one.
    # `compiled`: {step index: code} the tool compiled ahead from the same text, for this interpreter.
    compiled = compiled or {}
    codes = [(step, _renamed(compiled[i], filename(step)) if i in compiled else _code(step))
             for i, step in enumerate(layer["steps"])]
    for step, code in codes:
        kept = _host_files() if step["name"] == _PREAMBLE and not memfs else None
        exec(code, namespace)
        if kept is not None:
            _restore(kept)
    return sys.modules["basilisk"]


def _code(step):
    """The step's code: from the bytecode installed beside its file when that is current
    (compiling the preamble takes longer than importing most programs), else compiled."""
    code = _installed_code(step.get("path"), step["text"])
    if code is None:
        return compile(step["text"], filename(step), "exec")
    return _renamed(code, filename(step))


def _installed_code(path, text):
    """The code object of `path`'s valid .pyc, if `path` still holds `text`; None otherwise."""
    if not path:
        return None
    import _imp
    import marshal

    external = sys.modules["_frozen_importlib_external"]  # always loaded: no import here
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        with open(external.cache_from_source(path), "rb") as handle:
            data = handle.read()
        found = os.stat(path)
    except (OSError, NotImplementedError, ValueError):
        return None
    if source.decode("utf-8", "replace").replace("\r\n", "\n") != text or data[:4] != external.MAGIC_NUMBER:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if flags & 1:  # hash-based
        current = data[8:16] == _imp.source_hash(external._RAW_MAGIC_NUMBER, source)
    else:
        current = (flags == 0 and int.from_bytes(data[8:12], "little") == int(found.st_mtime) & 0xFFFFFFFF
                   and int.from_bytes(data[12:16], "little") == found.st_size & 0xFFFFFFFF)
    try:
        return marshal.loads(data[16:]) if current else None
    except (EOFError, ValueError, TypeError):
        return None


def _renamed(code, name):
    """`code` and every code object inside it, under the file name `name`."""
    consts = tuple(_renamed(c, name) if isinstance(c, type(code)) else c for c in code.co_consts)
    return code.replace(co_filename=name, co_consts=consts)


def _host_files():
    return builtins.open, dict(sys.modules)


def _restore(kept):
    """Put back the host's `open`, `os` and `os.path`, and drop the modules that hold the others.

    Modules the preamble imported while its in-memory `os` was in place keep it, and its
    memfs stand-ins (tempfile, pathlib: made without a spec where the real import failed
    over that `os`) are built on it; dropped here, the real ones load on first use. The rest
    stay loaded, as on the canister.
    """
    open_, before = kept
    replaced = [sys.modules[n] for n in ("os", "os.path") if n in sys.modules and sys.modules[n] is not before.get(n)]
    builtins.open = open_
    for name in [n for n in sys.modules if n not in before]:
        module = sys.modules[name]
        values = getattr(module, "__dict__", {}).values()
        if getattr(module, "__spec__", None) is None or any(v is m for v in values for m in replaced):
            del sys.modules[name]
    sys.modules.update((n, before[n]) for n in ("os", "os.path") if n in before)

