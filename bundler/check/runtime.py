"""Where verify runs a program: one protocol that every runtime implements (host, wasi, pyodide, and
the hosts' own, such as componentize-py's component runtime).

A runtime gets a `Program` (what to run, for which profile) and `RunOptions`, and returns a
`VerifyResult`; it raises VerifyError only when the run itself could not be made. Each
runtime loads its machinery (wasmtime, node) only when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from basilisk_trace.bundler.check.verify import VerifyResult
    from basilisk_trace.bundler.plan.profile import Profile

__all__ = ["IN_PYODIDE", "IN_WASI", "ON_HOST", "Program", "RunOptions", "Runtime"]


@dataclass(frozen=True)
class Program:
    """What verify runs: a bundle ZIP and its entry module, or a built artifact its host runs as is.

    A canister Wasm's program is its `python_source` (read out of the Wasm), run as the template's
    init runs it; `methods` are its exported methods, (name, kind), called with --exercise. For a
    canister of ours, `bundle` is the one its custom section carries and `bootstrap` its loader's source.
    """

    entry_module: str
    profile: Profile
    bundle: bytes = b""  # the bundle ZIP (empty when `artifact` is what runs)
    artifact: Path | None = None  # a built component or canister Wasm
    python_source: str | None = None
    methods: tuple[tuple[str, str], ...] = ()
    bootstrap: str | None = None


@dataclass(frozen=True)
class RunOptions:
    """How to run it: call the entry points too, within `timeout` seconds."""

    exercise: bool = False
    timeout: float = 60.0
    python: str | None = None  # the host runtime's interpreter (default: this one)
    protected: tuple[Path, ...] = ()  # folders the run may not change (the project the bundle came from)
    cache_dir: Path | None = None  # where a runtime keeps what it fetched or compiled


class Runtime(Protocol):
    """A place verify can run a program in."""

    @property
    def name(self) -> str:
        """Its name on the command line (--runtime NAME)."""
        ...

    def describe(self) -> str:
        """What it is, for the one-line result: "host", "WASI CPython 3.12", ..."""
        ...

    def view(self, profile: Profile) -> str:
        """Whose standard library the program sees there."""
        ...

    def run(self, program: Program, options: RunOptions) -> VerifyResult:
        """Run the program (and its entry points with `options.exercise`); its failures are in the result."""
        ...


@dataclass(frozen=True)
class HostRuntime:
    """This machine's CPython, `-I -S`, the bundle alone on its path, the target's view of the stdlib."""

    name: str = "host"

    def describe(self) -> str:
        return "host"

    def view(self, profile: Profile) -> str:
        return f"target {profile.name}"

    def run(self, program: Program, options: RunOptions) -> VerifyResult:
        from basilisk_trace.bundler.check.verify import verify_zip

        if program.python_source is not None:
            from basilisk_trace.bundler.check.canister import verify_canister_on_host

            return verify_canister_on_host(program.python_source, program.methods if options.exercise else (),
                                           python=options.python, timeout=options.timeout,
                                           sources=(program.bundle, program.bootstrap))
        return verify_zip(program.bundle, program.entry_module, program.profile, exercise=options.exercise,
                          python=options.python, timeout=options.timeout, protected=options.protected)


@dataclass(frozen=True)
class WasiRuntime:
    """A real wasm32-wasip1 CPython under wasmtime (check/wasi_python.py pins which)."""

    name: str = "wasi"

    def describe(self) -> str:
        from basilisk_trace.bundler.check.wasi_python import PINNED

        return f"WASI CPython {PINNED.python}"

    def view(self, profile: Profile) -> str:
        return f"target {profile.name}"

    def ready(self) -> None:
        """One line naming the extra that installs wasmtime, when it is not installed."""
        from basilisk_trace.bundler.check.wasi_python import wasmtime_package

        wasmtime_package()

    def run(self, program: Program, options: RunOptions) -> VerifyResult:
        from basilisk_trace.bundler.check.wasi import verify_in_wasi
        from basilisk_trace.tracer import default_cache_dir

        cache = options.cache_dir or default_cache_dir()
        if program.python_source is not None:
            from basilisk_trace.bundler.check.canister import verify_canister_in_wasi

            return verify_canister_in_wasi(program.python_source, program.methods if options.exercise else (),
                                           cache_dir=cache / "wasi", timeout=options.timeout,
                                           sources=(program.bundle, program.bootstrap))
        return verify_in_wasi(program.bundle, program.entry_module, program.profile, exercise=options.exercise,
                              cache_dir=cache / "wasi", timeout=options.timeout)


@dataclass(frozen=True)
class PyodideRuntime:
    """Pyodide (npm) under node: the bundle installed by the bootstrap, as in a page."""

    name: str = "pyodide"

    def describe(self) -> str:
        return "pyodide"

    def view(self, profile: Profile) -> str:
        return "Pyodide's own stdlib"

    def run(self, program: Program, options: RunOptions) -> VerifyResult:
        from basilisk_trace.bundler.check.pyodide import verify_in_pyodide
        from basilisk_trace.bundler.check.verify import VerifyError

        if program.python_source is not None:
            raise VerifyError("a canister's python_source runs under ic-basilisk's runtime layer, which verify "
                              "provides on host and wasi; use --runtime host or --runtime wasi")

        return verify_in_pyodide(program.bundle, program.entry_module, exercise=options.exercise,
                                 timeout=options.timeout)


ON_HOST: Runtime = HostRuntime()
IN_WASI: Runtime = WasiRuntime()
IN_PYODIDE: Runtime = PyodideRuntime()
