"""componentize-py: a Python app as a WebAssembly component (CPython 3.14, WASI preview 2), its memory
snapshotted after the app's import at build time; verify runs it in wasmtime."""

from pathlib import Path

from basilisk_trace.bundler.hosts import Host
from basilisk_trace.bundler.hosts.componentize_py.runtime import IN_COMPONENT
from basilisk_trace.tracer import Layer

_HERE = Path(__file__).resolve().parent

HOST = Host(
    name="componentize-py",
    summary="a WebAssembly component built by componentize-py 0.25.1 (CPython 3.14, WASI preview 2)",
    folder=_HERE,
    # No canister runtime: the app runs against the world's real bindings, generated for each
    # build (bindings.py adds their folder to `paths`), and calls the world's exports.
    layer=Layer(runtime="none", preamble=False, exerciser=_HERE / "child" / "exercise_exports.py"),
    exercises="every export of the app's WitWorld and exported-interface classes, with arguments from "
              "the bindings' types",
    # A folder on componentize-py's python path, with a generated module that imports at
    # build time everything the app needs at call time (build.py).
    packaging="python-path",
    runtimes=(IN_COMPONENT,),
    command="component",  # componentize-py's own arguments; verify --component runs what it built
)
