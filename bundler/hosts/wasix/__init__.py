"""wasix: CPython 3.13 for wasm32-wasix (Wasmer), which loads native extensions built for WASIX."""

from pathlib import Path

from basilisk_trace.bundler.check.runtime import IN_PYODIDE, IN_WASI, ON_HOST
from basilisk_trace.bundler.hosts import CANISTER_METHODS, Host
from basilisk_trace.tracer import Layer

HOST = Host(
    name="wasix",
    summary="CPython 3.13 for wasm32-wasix (Wasmer), with native wheels built for WASIX",
    folder=Path(__file__).resolve().parent,
    # Natives load in its dry run (the profile says the runtime has wheels for them), so the
    # trace sees the native modules its wasm32-wasix wheels replace.
    layer=Layer(runtime="basilisk", preamble=False),
    exercises=CANISTER_METHODS,
    packaging="bundle-zip",
    runtimes=(ON_HOST, IN_WASI, IN_PYODIDE),
)
