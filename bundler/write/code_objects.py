"""Code objects compiled at build time for the runtime's CPython, so that a canister's init skips compile.

Compiling a module's source is most of what importing it costs inside the canister (in the WASI
CPython verify meters, about 20,000 Wasm instructions per byte of source, against a few hundred
to carry the compiled bytes in the python_source and unmarshal them). Code objects are only valid
for the CPython that made them: they are made by this interpreter only when its version is the
runtime's, they carry its magic number, and the canister's loader uses them only when its own
magic number is the same; otherwise it compiles the sources, which always ship beside them.
"""

from __future__ import annotations

import io
import marshal
import sys
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass

from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_ARCNAME, BOOTSTRAP_SOURCE
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME

__all__ = ["CompiledCode", "compile_bundle", "compile_items", "code_items"]


@dataclass(frozen=True)
class CompiledCode:
    """Marshalled code objects by arcname, for the CPython whose magic number this is."""

    magic: bytes
    python: str  # its version, "3.13": what the python_source says they are for
    blob: bytes  # marshal.dumps({arcname: marshal.dumps(code object)})


def code_items(zip_bytes: bytes, root: str) -> list[tuple[str, str, bytes]]:
    """(arcname, file name the loader compiles it under, source) of every module the bundle carries,
    and of the bootstrap that loads them."""
    items = [(BOOTSTRAP_ARCNAME, BOOTSTRAP_ARCNAME, BOOTSTRAP_SOURCE.encode("utf-8"))]
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        for name in sorted(archive.namelist()):
            if name.endswith(".py") and name != MANIFEST_NAME:
                items.append((name, f"{root.rstrip('/')}/{name}", archive.read(name)))
    return items


def compile_items(items: Iterable[tuple[str, str, bytes]]) -> dict[str, bytes]:
    """{arcname: marshalled code} for each source this interpreter compiles; a source that does
    not compile is left to the runtime, which raises the same SyntaxError when it is imported."""
    compiled = {}
    for arcname, filename, source in items:
        try:
            code = compile(source, filename, "exec", dont_inherit=True, optimize=0)
        except (SyntaxError, ValueError):
            continue
        compiled[arcname] = marshal.dumps(code)
    return compiled


def compile_bundle(zip_bytes: bytes, root: str, python: str) -> CompiledCode | None:
    """The bundle's code objects when this interpreter is the runtime's CPython `python` ("3.13"), else None."""
    import importlib.util

    if f"{sys.version_info.major}.{sys.version_info.minor}" != python:
        return None
    compiled = compile_items(code_items(zip_bytes, root))
    return CompiledCode(importlib.util.MAGIC_NUMBER, python, marshal.dumps(compiled))
