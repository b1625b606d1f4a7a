"""verify --runtime wasi: the bundle alone in a real wasm32-wasip1 CPython under wasmtime.

The guest gets one preopened directory, /basilisk: the bundle extracted under
site-packages, the tracer's child scripts and runtime stand-ins, and the run's
config. It runs the same isolated child as the host verify, with ic-basilisk's
runtime layer (preamble, shim, in-memory `_basilisk_ic`) and the target's view
of the stdlib, and writes its result beside them. A built canister's python_source
runs there too, as the template's init runs it (`run_python_source_in_wasi`).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from basilisk_trace.base.launch import RESULT_LIMIT
from basilisk_trace.base.read import UntrustedFileError, read_untrusted, tail_untrusted
from basilisk_trace.bundler.check.cost import cost_from_marks
from basilisk_trace.bundler.check.verify import (
    VerifyError,
    VerifyResult,
    extract_bundle,
    provided_view,
    result_from_raw,
    runtime_layer_json,
    stage_guest,
)
from basilisk_trace.bundler.check.wasi_python import (
    PINNED,
    compiled_module,
    wasm_path,
    wasmtime_package,
)
from basilisk_trace.bundler.plan.profile import Profile
from basilisk_trace.bundler.write.code_objects import CodeItem, CompiledCode

GUEST_ROOT = PurePosixPath("/basilisk")
_TICK = 0.25  # seconds per epoch: how often the deadline is checked
FUEL = 10**18  # the meter's budget: never spent, only counted down
METER_TAG = 0x42534B0000000000  # guest/meter.py's TAG
_MAX_MARKS = 1 << 20


def verify_in_wasi(data: bytes, entry_module: str, profile: Profile, *, exercise: bool,
                   cache_dir: Path, timeout: float = 60.0) -> VerifyResult:
    """Run the bundle's entry (and with `exercise` its methods) in the pinned WASI CPython."""
    wasmtime = wasmtime_package()
    engine = _engine()
    module = compiled_module(engine, wasm_path(cache_dir), cache_dir)
    with tempfile.TemporaryDirectory(prefix="basilisk-wasi-") as tmp:
        root = Path(tmp)
        extract_bundle(data, root / "site-packages")
        dirs, runtime_dir = _stage_child_files(root)
        config = {"bundle_dir": str(GUEST_ROOT / "site-packages"), "entry_module": entry_module,
                  "provided": provided_view(profile), "runtime_layer": runtime_layer_json(profile.stubs_missing_stdlib),
                  "runtime_dir": runtime_dir, "exercise": exercise, "meter": str(GUEST_ROOT / "config.json")}
        (root / "config.json").write_text(json.dumps(config), encoding="utf-8")
        raw = _run(engine, module, root, dirs, "isolated", timeout, wasmtime)
    result = result_from_raw(raw, entry_module, Path(str(GUEST_ROOT / "site-packages")))
    methods = [(m["name"], m["decorator"]) for m in raw["methods"]]
    return replace(result, containment="wasmtime: one preopened directory, no network, no host processes",
                   cost=cost_from_marks(raw.get("marks", []), raw.get("fuel", []), methods))


def run_python_source_in_wasi(source: str, calls: Sequence[tuple[str, Sequence[Any]]], *, cache_dir: Path,
                              timeout: float = 60.0, exercise: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """Run a canister's python_source as the template's init does, in the pinned WASI CPython; call methods.

    In one namespace: ic-basilisk's runtime layer (preamble with its in-memory filesystem, shim,
    fix-ups, over the in-memory `_basilisk_ic`), then `source`; then each (name, args) of `calls`,
    then each (name, kind) of `exercise` with arguments made from its type hints.
    Returns {"platform": the guest's sys.platform, "failure": how the init failed (error, traceback,
    missing modules) or None, "answers": [[name, result or "raised T: msg"]], "methods": each exercised
    method with its failure, "printed": what ic.print() wrote, "layer": the names of the `__import__`
    and `open` in place, "marks" and "fuel": the meter's marks and the instructions spent at each};
    results JSON cannot hold come back as their repr.
    """
    wasmtime = wasmtime_package()
    layer = runtime_layer_json(preamble=True)
    if layer is None:
        raise VerifyError("ic-basilisk is not installed here, and a python_source runs only under its "
                          "runtime layer; pip install ic-basilisk")
    engine = _engine()
    module = compiled_module(engine, wasm_path(cache_dir), cache_dir)
    with tempfile.TemporaryDirectory(prefix="basilisk-wasi-") as tmp:
        root = Path(tmp)
        dirs, _ = _stage_child_files(root)
        (root / "python_source.py").write_text(source, encoding="utf-8")
        config = {"program": str(GUEST_ROOT / "python_source.py"), "runtime_layer": layer,
                  "calls": [[name, list(args)] for name, args in calls],
                  "exercise": [list(method) for method in exercise], "meter": str(GUEST_ROOT / "config.json")}
        (root / "config.json").write_text(json.dumps(config), encoding="utf-8")
        return _run(engine, module, root, dirs, "canister_init", timeout, wasmtime)


def compile_in_wasi(items: Sequence[CodeItem], *, cache_dir: Path, timeout: float = 60.0) -> CompiledCode:
    """Code objects of `items` ((arcname, file name, source, optimize)) made by the pinned WASI CPython itself."""
    wasmtime = wasmtime_package()

    engine = _engine()
    module = compiled_module(engine, wasm_path(cache_dir), cache_dir)
    with tempfile.TemporaryDirectory(prefix="basilisk-wasi-") as tmp:
        root = Path(tmp)
        dirs, _ = _stage_child_files(root)
        listed = []
        for index, (arcname, filename, source, optimize) in enumerate(items):
            (root / f"source-{index}.py").write_bytes(source)
            listed.append([arcname, filename, str(GUEST_ROOT / f"source-{index}.py"), optimize])
        config = {"items": listed, "blob": str(GUEST_ROOT / "code.bin")}
        (root / "config.json").write_text(json.dumps(config), encoding="utf-8")
        raw = _run(engine, module, root, dirs, "compile_code", timeout, wasmtime)
        blob = (root / "code.bin").read_bytes()
    return CompiledCode(bytes.fromhex(raw["magic"]), raw["python"], blob, tuple(raw["arcnames"]))


def _stage_child_files(root: Path) -> tuple[list[str], str]:
    """verify's scripts into the preopened folder; their guest folders, and the stand-ins' folder."""
    files, dirs, runtime_dir = stage_guest(str(GUEST_ROOT))
    for guest, content in files.items():
        path = root / PurePosixPath(guest).relative_to(GUEST_ROOT)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return dirs, runtime_dir


def _engine() -> Any:
    wasmtime = wasmtime_package()
    config = wasmtime.Config()
    config.epoch_interruption = True  # the deadline of --timeout
    config.consume_fuel = True  # the instruction meter: one unit per Wasm instruction, roughly
    return wasmtime.Engine(config)


def _run(engine: Any, module: Any, root: Path, dirs: list[str], script: str, timeout: float,
         wasmtime: Any) -> dict[str, Any]:
    """Run SCRIPT.py in the guest with root/config.json; the JSON it writes to root/result.json,
    with "fuel": the instructions spent at each of its meter's marks."""
    fuel: dict[int, int] = {}
    code = _start(engine, module, root, dirs, script, timeout, wasmtime, fuel)
    # The guest could have left a link, or megabytes, in either file: both are read as untrusted.
    held = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0))
    try:
        data = read_untrusted("result.json", RESULT_LIMIT, dir_fd=held)
        said = tail_untrusted("stderr.txt", 4096, dir_fd=held)
    except UntrustedFileError as exc:
        raise VerifyError(f"the WASI run left its result.json as {exc.reason}: the program replaced it") from None
    finally:
        os.close(held)
    if data is None:
        tail = said.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise VerifyError(f"the WASI CPython {PINNED.python} run crashed (exit {code}): "
                          f"{' / '.join(tail) or 'no output'}")
    try:
        raw = json.loads(data)
    except (ValueError, RecursionError):
        raw = None
    if not isinstance(raw, dict) or not isinstance(raw.get("marks", []), list):
        raise VerifyError("the WASI run's result.json is not the runner's JSON object: the program rewrote it")
    raw["fuel"] = [fuel.get(index) for index in range(len(raw.get("marks", ())))]
    return raw


def _start(engine: Any, module: Any, root: Path, dirs: list[str], script: str, timeout: float,
           wasmtime: Any, fuel: dict[int, int]) -> int:
    wasi = wasmtime.WasiConfig()
    wasi.argv = ["python", "-I", "-S", "-B", f"{dirs[0]}/_load.py", json.dumps(dirs), script,
                 str(GUEST_ROOT / "config.json"), str(GUEST_ROOT / "result.json")]
    wasi.preopen_dir(str(root), str(GUEST_ROOT))
    wasi.stdout_file = str(root / "stdout.txt")
    wasi.stderr_file = str(root / "stderr.txt")
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    store.set_epoch_deadline(max(1, int(timeout / _TICK)))
    store.set_fuel(FUEL)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    _define_meter(linker, store, fuel, wasmtime)
    instance = linker.instantiate(store, module)
    stop = threading.Event()
    ticker = threading.Thread(target=_tick, args=(engine, stop), daemon=True)
    ticker.start()
    try:
        instance.exports(store)["_start"](store)
    except wasmtime.ExitTrap as exit_:
        return int(exit_.code)
    except wasmtime.Trap as trap:
        if "interrupt" in str(trap):
            raise VerifyError(f"the WASI run did not finish within {timeout:.0f}s; raise --timeout") from None
        raise VerifyError(f"the WASI CPython trapped: {str(trap).splitlines()[0]}") from None
    finally:
        stop.set()
        ticker.join()
    return 0


def _define_meter(linker: Any, store: Any, fuel: dict[int, int], wasmtime: Any) -> None:
    """The guest's meter (guest/meter.py): `fd_advise` at offset METER_TAG + n records the fuel spent.

    Every other `fd_advise` succeeds and does nothing, which the call allows: advice is advice.
    """
    def advise(fd: int, offset: int, length: int, advice: int) -> int:
        if 0 <= offset - METER_TAG < _MAX_MARKS:
            fuel[offset - METER_TAG] = FUEL - store.get_fuel()
        return 0

    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    linker.allow_shadowing = True
    linker.define_func("wasi_snapshot_preview1", "fd_advise", wasmtime.FuncType([i32, i64, i64, i32], [i32]), advise)


def _tick(engine: Any, stop: threading.Event) -> None:
    while not stop.wait(_TICK):
        engine.increment_epoch()
