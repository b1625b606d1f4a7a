"""cpython-wasi: upstream CPython for wasm32-wasip1, with its full standard library."""

from pathlib import Path

from basilisk_trace.bundler.check.runtime import IN_PYODIDE, IN_WASI, ON_HOST
from basilisk_trace.bundler.hosts import CANISTER_METHODS, Host
from basilisk_trace.tracer import Layer

HOST = Host(
    name="cpython-wasi",
    summary="upstream CPython for wasm32-wasip1 with its standard library (python.wasm)",
    folder=Path(__file__).resolve().parent,
    # Programs written for a canister still import `basilisk`: they get its shim, not the
    # canister's stdlib preamble (this runtime has the real stdlib).
    layer=Layer(runtime="basilisk", preamble=False),
    exercises=CANISTER_METHODS,
    packaging="bundle-zip",
    runtimes=(ON_HOST, IN_WASI, IN_PYODIDE),
)
