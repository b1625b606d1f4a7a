"""Time inject_passive_data against the floor of copying the same bytes, for 1-100 MiB payloads."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from basilisk_trace.bundler.write.wasm import inject_passive_data

MIB = 1 << 20

# A minimal template in the ic-basilisk shape; used when no --template is given.
_DEFAULT_WAT = """(module
  (memory (export "memory") 1)
  (func (export "python_bundle_passive_data_size") (result i32) i32.const 0)
  (func (export "init_python_bundle_passive_data") (param i32)))"""


def _median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _default_template() -> bytes:
    import wasmtime  # only needed to compile the default template

    return wasmtime.wat2wasm(_DEFAULT_WAT)


def _row(template: bytes, payload: bytes, tmp: Path, runs: int, add_exports: bool) -> str:
    out = tmp / "out.wasm"
    src, dst = tmp / "floor.bin", tmp / "floor-copy.bin"
    src.write_bytes(template + payload)

    def inject() -> bytes:
        return inject_passive_data(template, payload, add_exports=add_exports)

    inject_ms = _median_ms(inject, runs)
    write_ms = _median_ms(lambda: out.write_bytes(inject()), runs)
    concat_ms = _median_ms(lambda: template + payload, runs)
    copy_ms = _median_ms(lambda: shutil.copyfile(src, dst), runs)
    ratio = inject_ms / concat_ms if concat_ms else float("inf")
    return (
        f"{len(payload) // MIB:>5} MiB {inject_ms:>9.1f} {write_ms:>13.1f} "
        f"{concat_ms:>16.1f} {copy_ms:>9.1f} {ratio:>13.1f}x"
    )


def bench(template: bytes, sizes_mib: list[int], runs: int, add_exports: bool) -> None:
    print(f"template: {len(template):,} bytes; median of {runs} runs; times in ms")
    header = ("payload", "inject", "inject+write", "concat (memcpy)", "copyfile", "inject/concat")
    print("{:>9} {:>9} {:>13} {:>16} {:>9} {:>14}".format(*header))
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes_mib:
            print(_row(template, os.urandom(size * MIB), Path(tmp), runs, add_exports))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", type=Path, help="template .wasm (default: a tiny one)")
    parser.add_argument(
        "--add-exports", action="store_true", help="for templates without placeholders"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="MiB")
    args = parser.parse_args()
    template = args.template.read_bytes() if args.template else _default_template()
    bench(template, args.sizes, args.runs, args.add_exports)


if __name__ == "__main__":
    main()
