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
import zipfile
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from types import CodeType

from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_ARCNAME, BOOTSTRAP_SOURCE
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME

__all__ = ["CodeItem", "CompiledCode", "bundle_files", "code_items", "compile_bundle", "compile_items"]

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


def compile_items(items: Iterable[CodeItem]) -> dict[str, CodeType]:
    """{arcname: code object} for each source this interpreter compiles; a source that does not
    compile is left to the runtime, which raises the same SyntaxError when it is imported."""
    compiled = {}
    for arcname, filename, source, optimize in items:
        try:
            compiled[arcname] = compile(source, filename, "exec", dont_inherit=True, optimize=optimize)
        except (SyntaxError, ValueError):
            continue
    return compiled


def compile_bundle(files: dict[str, bytes], root: str, python: str, wanted: Collection[str]) -> CompiledCode | None:
    """Code objects of the bootstrap and the `wanted` modules when this interpreter is the runtime's
    CPython `python` ("3.13"), else None."""
    import importlib.util

    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        return None
    compiled = compile_items(code_items(files, root, wanted))
    return CompiledCode(importlib.util.MAGIC_NUMBER, python, marshal.dumps(compiled), tuple(compiled))
