"""basilisk: ic-basilisk's CPython 3.13 canister template on wasm32-wasip1, on the Internet Computer."""

from pathlib import Path

from basilisk_trace.bundler.check.runtime import IN_PYODIDE, IN_WASI, ON_HOST
from basilisk_trace.bundler.hosts import CANISTER_METHODS, Host
from basilisk_trace.tracer import Layer

HOST = Host(
    name="basilisk",
    summary="an Internet Computer canister built by ic-basilisk 0.16.1 (CPython 3.13, wasm32-wasip1)",
    folder=Path(__file__).resolve().parent,
    # The canister's own runtime, read from the installed ic-basilisk: its stdlib preamble, then
    # the shim that builds `basilisk` over `_basilisk_ic` (tracer/_layer.py, tracer/runtime/).
    layer=Layer(runtime="basilisk", preamble=True),
    exercises=CANISTER_METHODS,
    # A ZIP in a passive data segment (build), or inside the python_source (canister).
    packaging="bundle-zip",
    runtimes=(ON_HOST, IN_WASI, IN_PYODIDE),
)
