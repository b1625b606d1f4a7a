"""Code objects compiled at build time for the runtime's CPython, so that a canister's init skips compile.

Compiling a module's source is most of what importing it costs inside the canister (in the WASI
CPython verify meters, about 20,000 Wasm instructions per byte of source, against a few hundred
to carry the compiled bytes in the python_source and unmarshal them). So the modules the dry run
saw imported at init ship as code objects; the others ship as sources, which cost less to carry
and are compiled only if a call imports them. Code objects are only valid for the CPython that
made them: they are made by this interpreter only when its version is the runtime's, and the
canister's loader runs them only when its own magic number is the same.
"""

from __future__ import annotations

import io
import marshal
import sys
import threading
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_ARCNAME, BOOTSTRAP_SOURCE
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME

__all__ = ["CodeItem", "CompiledCode", "bundle_files", "code_items", "compile_ahead", "compile_bundle", "compile_items"]

# (arcname, file name the loader compiles it under, source, optimize): what one code object is made of.
CodeItem = tuple[str, str, bytes, int]


@dataclass(frozen=True)
class CompiledCode:
    """Code objects by arcname, for the CPython whose magic number this is."""

    magic: bytes
    python: str  # its version, "3.13": what the python_source says they are for
    blob: bytes  # marshal.dumps({arcname: code object}): one marshal, so names and constants are shared
    arcnames: tuple[str, ...]  # what the blob holds: a source that does not compile is not among them


def bundle_files(zip_bytes: bytes) -> dict[str, bytes]:
    """Every file of the bundle by arcname, in order, except its manifest."""
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist())
                if name != MANIFEST_NAME and not name.endswith("/")}


def code_items(files: dict[str, bytes], root: str, wanted: Collection[str],
               bootstrap: str = BOOTSTRAP_SOURCE) -> list[CodeItem]:
    """The bootstrap (its docstrings dropped: it is ours), then each wanted module the bundle carries."""
    items = [(BOOTSTRAP_ARCNAME, BOOTSTRAP_ARCNAME, bootstrap.encode("utf-8"), 2)]
    for name in sorted(set(wanted) & set(files)):
        if name.endswith(".py"):
            items.append((name, f"{root.rstrip('/')}/{name}", files[name], 0))
    return items


# Items compiled ahead of knowing which are wanted: the code object, or None where the source does not compile.
Ahead = dict[CodeItem, CodeType | None]


def compile_items(items: Iterable[CodeItem], ahead: Ahead | None = None) -> dict[str, CodeType]:
    """{arcname: code object} for each source this interpreter compiles; a source that does not
    compile is left to the runtime, which raises the same SyntaxError when it is imported.

    An item compiled `ahead` is taken from there (and out of it: marshal writes an object that
    something else holds with a back-reference, so the bytes are the same only without one).
    """
    compiled = {}
    for item in items:
        code = ahead.pop(item, None) if ahead is not None and item in ahead else _compiled(item)
        if code is not None:
            compiled[item[0]] = code
    return compiled


def _compiled(item: CodeItem) -> CodeType | None:
    _arcname, filename, source, optimize = item
    try:
        code = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
    except (SyntaxError, ValueError):
        return None
    return _interned(code, {})


def _interned(value: Any, done: dict[int, Any]) -> Any:
    """`value` with every string in it interned (code objects, and the tuples and frozensets of their
    constants, rebuilt where a string changes; what was shared stays shared).

    marshal writes whether each string is interned, and a fresh compile interns some constants only
    when no equal string was interned before (a nested function's qualname, say): the bytes would
    depend on what this process did before. With every string interned, they depend on the sources.
    A code object's qualname too: a nested one is built by the compiler, uninterned, and shared with the
    class body's `__qualname__` constant only in the compile that interned that constant first."""
    if id(value) in done:
        return done[id(value)]
    new = value
    if type(value) is str:
        new = sys.intern(value)
    elif type(value) in (tuple, frozenset):
        items = [_interned(item, done) for item in value]
        if any(a is not b for a, b in zip(items, value, strict=True)):
            new = type(value)(items)
    elif isinstance(value, CodeType):
        new = value.replace(co_consts=_interned(value.co_consts, done), co_filename=sys.intern(value.co_filename),
                            co_name=sys.intern(value.co_name), co_qualname=sys.intern(value.co_qualname))
    done[id(value)] = new
    return new


def compile_ahead(files: dict[str, bytes], root: str, python: str, likely: Collection[str],
                  stop: threading.Event) -> Ahead:
    """The code objects compile_bundle may want, compiled while it is not yet known which (the `likely`
    modules' first, then the other sources), until `stop` is set; nothing where this interpreter is
    not the runtime's CPython `python`."""
    found: Ahead = {}
    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        return found
    items = code_items(files, root, files)
    items[1:] = sorted(items[1:], key=lambda item: item[0] not in likely)
    for item in items:
        if stop.is_set():
            break
        found[item] = _compiled(item)
    return found


def compile_bundle(files: dict[str, bytes], root: str, python: str, wanted: Collection[str],
                   ahead: Ahead | None = None) -> CompiledCode | None:
    """Code objects of the bootstrap and the `wanted` modules when this interpreter is the runtime's
    CPython `python` ("3.13"), else None; those compiled `ahead` are not compiled again."""
    import importlib.util

    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        return None
    compiled = compile_items(code_items(files, root, wanted), ahead)
    return CompiledCode(importlib.util.MAGIC_NUMBER, python, marshal.dumps(compiled), tuple(compiled))
