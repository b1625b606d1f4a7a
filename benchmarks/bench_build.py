"""Time `build`: injection of 1-100 MiB into pyodide.asm.wasm vs a file copy, and build --trace of the example canister."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_inject import _median_ms, bench

from basilisk_trace import tracer
from basilisk_trace.bundler.check.pyodide import WASM_NAME, Pyodide
from basilisk_trace.bundler.pipeline import Request, build, make_bundle
from basilisk_trace.bundler.write.atomic import write_atomic
from basilisk_trace.bundler.write.wasm import inject_passive_data

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "canister" / "main.py"
# What a user waits for: a fresh interpreter that imports the tool and builds, no dry-run cache.
_PROCESS = """
import sys, tracer
from pathlib import Path
from basilisk_trace.bundler.pipeline import build
from basilisk_trace.bundler.pipeline import Request
request = Request(entry=Path(sys.argv[1]), dry_run=tracer.DryRunOptions(exercise=True, use_cache=False))
build(request, Path(sys.argv[2]), Path(sys.argv[3]), add_exports=True, run_dry_run=True)
"""


def _process(template: Path, out: Path) -> None:
    subprocess.run([sys.executable, "-c", _PROCESS, str(EXAMPLE), str(template), str(out)], check=True)


def build_table(template: Path, runs: int) -> None:
    """build --trace --exercise --add-exports of the example canister, and its steps."""
    warm = Request(entry=EXAMPLE, dry_run=tracer.DryRunOptions(exercise=True))
    cold = dataclasses.replace(warm, dry_run=dataclasses.replace(warm.dry_run, use_cache=False))
    data = template.read_bytes()
    zip_bytes = make_bundle(warm)[2]
    injected = inject_passive_data(data, zip_bytes, add_exports=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "canister.wasm")
        rows = [
            ("trace + plan + zip, cold cache", _median_ms(lambda: make_bundle(cold), runs)),
            ("trace + plan + zip, warm cache", _median_ms(lambda: make_bundle(warm), runs)),
            ("read template", _median_ms(template.read_bytes, runs)),
            ("inject", _median_ms(lambda: inject_passive_data(data, zip_bytes, add_exports=True), runs)),
            ("write output (atomic, fsync)", _median_ms(lambda: write_atomic(out, injected), runs)),
            ("build() total, cold cache", _median_ms(
                lambda: build(cold, template, out, add_exports=True, run_dry_run=True), runs)),
            ("build() total, warm cache", _median_ms(
                lambda: build(warm, template, out, add_exports=True, run_dry_run=True), runs)),
            ("fresh process, cold cache", _median_ms(lambda: _process(template, out), runs)),
        ]
    print(f"\nbuild --trace --exercise --add-exports {EXAMPLE.relative_to(ROOT)} into {template.name} "
          f"({len(data):,} bytes); bundle {len(zip_bytes):,} bytes; median of {runs} runs")
    print(f"{'step':<32} {'ms':>9}")
    for label, ms in rows:
        print(f"{label:<32} {ms:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", type=Path, help="template .wasm (default: Pyodide's pyodide.asm.wasm)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100], help="MiB")
    args = parser.parse_args()
    template = args.template or Pyodide.locate().index / WASM_NAME
    print(f"injection into {template} with --add-exports, vs copying the same bytes")
    bench(template.read_bytes(), args.sizes, args.runs, add_exports=True)
    build_table(template, args.runs)


if __name__ == "__main__":
    main()
