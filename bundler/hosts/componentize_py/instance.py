"""A built component run in wasmtime (WASI preview 2): compiled once and cached, instantiated, its exports called.

Any trap poisons a component instance (every later call fails with "cannot enter component
instance"), so a call that traps is followed by a fresh instance (a few milliseconds). The
guest's stderr is captured per call: that is where a Python traceback goes, the trap itself
carries only the Wasm backtrace. Functions the component imports, other than WASI's, answer a
value of their result type. Stores and instances are dropped in `close()`: wasmtime panics at
interpreter exit while a store with captured output is alive.
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.hosts.componentize_py import tools
from basilisk_trace.bundler.hosts.componentize_py.values import value_for

_TICK = 0.25  # seconds per epoch: how often a call's deadline is checked
_KEPT = 256 * 1024  # of the guest's stdout and stderr, per call
COMPONENT_LIMIT = 512 * 1024 * 1024  # componentize-py's components are 18 to 25 MB; 512 MiB is not one
INTERNAL_EXPORT = "exports"  # componentize-py's own init interface, in every component: never called


class ComponentError(BasiliskTraceError):
    """The component cannot be read, compiled or instantiated."""


@dataclass(frozen=True)
class Export:
    """One exported function: its name in the world, and its WIT types as wasmtime reports them."""

    function: str
    interface: str | None  # the exported interface ("wasi:cli/run@0.2.0"), None for a world function
    params: tuple[tuple[str, Any], ...]
    result: Any

    @property
    def name(self) -> str:
        return f"{self.interface}#{self.function}" if self.interface else self.function


@dataclass(frozen=True)
class Outcome:
    """What one call did: its value, or the trap; and what the guest wrote meanwhile."""

    value: Any = None
    trap: str | None = None  # wasmtime's reason, when the call trapped
    stderr: str = ""
    stdout: str = ""
    refused: str | None = None  # the arguments could not be passed (a conversion wasmtime-py refused)


class Session:
    """One component, compiled, with a live instance; `call` an export, `close` when done."""

    def __init__(self, path: Path, cache_dir: Path, timeout: float = 60.0) -> None:
        self.wasmtime = tools.wasmtime()
        self.timeout = timeout
        config = self.wasmtime.Config()
        config.epoch_interruption = True  # the deadline of --timeout
        self.engine = self.wasmtime.Engine(config)
        self.component = _compiled(self.engine, path, cache_dir, self.wasmtime)
        self.exports = _exports(self.engine, self.component, self.wasmtime.component)
        self.linker = self._linker()
        self._out: list[bytes] = []
        self._err: list[bytes] = []
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()
        self.store: Any = None
        self.instance: Any = None
        self._fresh()

    def call(self, export: Export, args: list[Any]) -> Outcome:
        """Call `export` with `args`; a fresh instance follows a trap."""
        func = self._func(export)
        self.store.set_epoch_deadline(max(1, int(self.timeout / _TICK)))
        try:
            value = func(self.store, *args)
        except (TypeError, ValueError, AttributeError) as exc:  # wasmtime-py's conversion, before entering Wasm
            return Outcome(refused=f"{type(exc).__name__}: {exc}", **self._output())
        except self.wasmtime.WasmtimeError as exc:
            output = self._output()
            self._fresh()
            return Outcome(trap=_reason(str(exc)), **output)
        return Outcome(value=value, **self._output())

    def close(self) -> None:
        self._stop.set()
        self._ticker.join()
        self.instance = self.store = self.linker = self.component = self.engine = None
        gc.collect()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _func(self, export: Export) -> Any:
        if export.interface is None:
            return self.instance.get_func(self.store, export.function)
        where = self.instance.get_export_index(self.store, export.interface)
        return self.instance.get_func(self.store, self.instance.get_export_index(self.store, export.function, where))

    def _fresh(self) -> None:
        wasi = self.wasmtime.WasiConfig()
        wasi.stdout_custom = lambda data: _keep(self._out, data)
        wasi.stderr_custom = lambda data: _keep(self._err, data)
        self.instance = None
        self.store = self.wasmtime.Store(self.engine)
        self.store.set_wasi(wasi)
        self.store.set_epoch_deadline(max(1, int(self.timeout / _TICK)))
        try:
            self.instance = self.linker.instantiate(self.store, self.component)
        except self.wasmtime.WasmtimeError as exc:
            raise ComponentError(f"wasmtime cannot instantiate the component: {_reason(str(exc))}") from None

    def _linker(self) -> Any:
        component = self.wasmtime.component
        linker = component.Linker(self.engine)
        linker.add_wasip2()
        with linker.root() as root:
            for name, item in sorted(self.component.type.imports(self.engine).items()):
                if not name.startswith("wasi:"):
                    _answer_import(root, name, item.ty, self.engine, component)
        return linker

    def _output(self) -> dict[str, str]:
        out = b"".join(self._out).decode("utf-8", "replace")
        err = b"".join(self._err).decode("utf-8", "replace")
        self._out.clear()
        self._err.clear()
        return {"stdout": out, "stderr": err}

    def _tick(self) -> None:
        while not self._stop.wait(_TICK):
            if self.engine is not None:
                self.engine.increment_epoch()


def _keep(chunks: list[bytes], data: bytes) -> None:
    chunks.append(bytes(data))
    while len(chunks) > 1 and sum(map(len, chunks)) > _KEPT:
        chunks.pop(0)


def _answer_import(where: Any, name: str, ty: Any, engine: Any, component: Any) -> None:
    """Define an imported function (or every function of an imported interface) to answer a value."""
    if isinstance(ty, component.FuncType):
        where.add_func(name, _answering(ty.result))
    elif isinstance(ty, component.ComponentInstanceType):
        with where.add_instance(name) as instance:
            for function, item in sorted(ty.exports(engine).items()):
                if isinstance(item.ty, component.FuncType):
                    instance.add_func(function, _answering(item.ty.result))


def _answering(result: Any) -> Callable[..., Any]:
    answer = None if result is None else value_for(result)
    return lambda store, *args: answer


def _compiled(engine: Any, path: Path, cache_dir: Path, wasmtime: Any) -> Any:
    """The compiled component, from the cache when this wasmtime wrote it there (keyed by content)."""
    from basilisk_trace.bundler.write.atomic import write_atomic

    data = read_component(path)
    if data[:8] != b"\0asm\x0d\0\x01\0":
        raise ComponentError(f"{path} is not a WebAssembly component; build it with basilisk-trace component "
                             "or componentize-py")
    cached = cache_dir / f"{hashlib.sha256(data).hexdigest()}-wasmtime-{tools.wasmtime_version()}.cwasm"
    if cached.is_file():
        try:
            return wasmtime.component.Component.deserialize_file(engine, str(cached))
        except wasmtime.WasmtimeError:
            pass  # another engine configuration: compile again
    try:
        component = wasmtime.component.Component(engine, data)
    except wasmtime.WasmtimeError as exc:
        raise ComponentError(f"wasmtime cannot compile {path}: {_reason(str(exc))}") from None
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_atomic(cached, bytes(component.serialize()))
    return component


def read_component(path: Path) -> bytes:
    """The component's bytes (bounded: a device or a huge file is one error)."""
    from basilisk_trace.base.read import read_bounded

    try:
        return read_bounded(path, COMPONENT_LIMIT, "component")
    except OSError as exc:
        raise ComponentError(f"cannot read component {path}: {exc.strerror}; pass the .wasm that "
                             "componentize-py or basilisk-trace component wrote") from None


def _exports(engine: Any, component: Any, types: Any) -> tuple[Export, ...]:
    """Every exported function, world-level ones and those of each exported interface, by name."""
    found = []
    for name, item in sorted(component.type.exports(engine).items()):
        if isinstance(item.ty, types.FuncType):
            found.append(Export(name, None, tuple(item.ty.params), item.ty.result))
        elif isinstance(item.ty, types.ComponentInstanceType) and name != INTERNAL_EXPORT:
            for function, inner in sorted(item.ty.exports(engine).items()):
                if isinstance(inner.ty, types.FuncType):
                    found.append(Export(function, name, tuple(inner.ty.params), inner.ty.result))
    return tuple(found)


def _reason(text: str) -> str:
    """wasmtime's error in one line: its cause ("wasm trap: ..."), without the Wasm backtrace."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    caused = [line for line in lines if not line.startswith(("error while executing", "Caused by"))
              and not line[:1].isdigit()]
    return (caused[-1] if caused else lines[-1] if lines else "no message")[:500]
