"""pyodide: CPython compiled with Emscripten, in a browser or Node.js."""

from pathlib import Path

from basilisk_trace.bundler.check.runtime import IN_PYODIDE, IN_WASI, ON_HOST
from basilisk_trace.bundler.hosts import CANISTER_METHODS, Host
from basilisk_trace.tracer import Layer

HOST = Host(
    name="pyodide",
    summary="Pyodide 0.28 (CPython 3.13 compiled with Emscripten, in a browser or Node.js)",
    folder=Path(__file__).resolve().parent,
    layer=Layer(runtime="basilisk", preamble=False),  # `basilisk`'s shim only, as for cpython-wasi
    exercises=CANISTER_METHODS,
    # A ZIP the bootstrap unpacks into Pyodide's file system.
    packaging="bundle-zip",
    runtimes=(ON_HOST, IN_WASI, IN_PYODIDE),
)
