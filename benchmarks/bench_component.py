"""component against componentize-py alone on the same apps, one run: component size, build time, calls that
fail in wasmtime, and whether three builds of the same input give the same bytes."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
APPS = ROOT / "tests" / "components"
# (label, folder holding wit/ and the app, python-path folder, world, the tool's options)
PROGRAMS = [
    ("lazy_stdlib", APPS / "lazy_stdlib", APPS / "lazy_stdlib" / "app", "lazy-stdlib", ["--exercise"]),
    ("lazy_helper", APPS / "lazy_helper", APPS / "lazy_helper" / "app", "lazy-helper", ["--exercise"]),
    ("resource_data", APPS / "resource_data", APPS / "resource_data" / "app", "resource-data", ["--exercise"]),
    ("computed_plugins", APPS / "computed_plugins", APPS / "computed_plugins" / "app", "computed-plugins",
     ["--include", "plugins"]),
    ("every_type", APPS / "every_type", APPS / "every_type" / "app", "every-type", ["--exercise"]),
    ("examples/component (Spin-style)", ROOT / "examples" / "component", ROOT / "examples" / "component", "http-app",
     ["--exercise"]),
]


def build(way: str, program: tuple, work: Path, out: Path, env: dict[str, str]) -> float:
    _, folder, path, world, options = program
    if way == "plain":  # componentize-py alone, on a copy (it writes bytecode into its python path)
        copy = work / "copy"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(path, copy, ignore=shutil.ignore_patterns("__pycache__"))
        command = [str(BIN / "componentize-py"), "-d", str(folder / "wit"), "-w", world, "componentize", "app",
                   "-o", str(out), "-p", str(copy)]
    else:
        command = [str(BIN / "basilisk-trace"), "component", "-d", str(folder / "wit"), "-w", world, "app",
                   "-o", str(out), "-p", str(path), *options]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{way} build of {program[0]} failed: {done.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - start


def failing_calls(path: Path, env: dict[str, str]) -> tuple[int, int]:
    """(exports that failed, calls made) by verify --component --exercise (it stops an export at its first
    missing module or file)."""
    done = subprocess.run([str(BIN / "basilisk-trace"), "verify", "--component", str(path), "--exercise",
                           "--json", "-"], env=env, capture_output=True, text=True)
    document = json.loads(done.stdout)
    return len([f for f in document["failures"] if f["caused_by_bundle"]]), document["methods"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="builds of each app each way (median)")
    parser.add_argument("--repro", type=int, default=3, help="builds of one app to compare the bytes of")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows, results = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-component-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "cache"), "VIRTUAL_ENV": str(work / "no-venv")}
        for program in PROGRAMS:
            row: dict[str, object] = {}
            for way in ("plain", "tool"):  # side by side in one run
                times = []
                for _ in range(args.runs):
                    times.append(build(way, program, work, work / f"{way}.wasm", env))
                out = work / f"{way}.wasm"
                failed, made = failing_calls(out, env)
                row[way] = {"seconds": statistics.median(times), "bytes": out.stat().st_size,
                            "failing_exports": failed, "calls": made}
            rows.append((program[0], row))
            results[program[0]] = row
        repro = reproducibility(PROGRAMS[2], work, env, args.repro)
    print("failing: exports whose calls fail in wasmtime (verify --component --exercise), of the calls made\n")
    print(f"{'app':34} {'plain size':>12} {'tool size':>12} {'plain s':>8} {'tool s':>8} {'failing plain/tool':>22}")
    for label, row in rows:
        plain, tool = row["plain"], row["tool"]
        assert isinstance(plain, dict) and isinstance(tool, dict)
        print(f"{label:34} {plain['bytes']:>12,} {tool['bytes']:>12,} {plain['seconds']:>8.1f} {tool['seconds']:>8.1f} "
              f"{plain['failing_exports']:>10}/{plain['calls']:<3} {tool['failing_exports']:>5}/{tool['calls']:<3}")
    print(f"\n{args.repro} builds of {PROGRAMS[2][0]} by the tool, the same input each time:")
    for sha, size, folder in zip(repro["component_sha256"], repro["component_bytes"], repro["python_path_sha256"],
                                 strict=True):
        print(f"  component {sha} ({size:,} bytes)  python path {folder}")
    print(f"  components identical: {len(set(repro['component_sha256'])) == 1}; "
          f"python-path folders identical: {len(set(repro['python_path_sha256'])) == 1}")
    if not args.no_write:
        document = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "system": platform.system()},
                    "apps": results, "reproducibility": repro}
        out = ROOT / "benchmarks" / "results" / "bench_component.json"
        out.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def reproducibility(program: tuple, work: Path, env: dict[str, str], runs: int) -> dict[str, list]:
    _, folder, path, world, options = program
    components: list[str] = []
    sizes: list[int] = []
    folders: list[str] = []
    for run in range(runs):
        out = work / f"repro{run}.wasm"
        done = subprocess.run([str(BIN / "basilisk-trace"), "component", "-d", str(folder / "wit"), "-w", world, "app",
                               "-o", str(out), "-p", str(path), *options], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        components.append(hashlib.sha256(out.read_bytes()).hexdigest())
        sizes.append(out.stat().st_size)
        folders.append(done.stdout.rsplit("python path sha256 ", 1)[1].strip(" )\n"))
    return {"component_sha256": components, "component_bytes": sizes, "python_path_sha256": folders}


if __name__ == "__main__":
    main()
