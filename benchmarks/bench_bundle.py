"""Compare our bundle with ic-basilisk 0.16.1's bundler (bytes, runs alone, time); scale and cache."""

from __future__ import annotations

import argparse
import io
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import basilisk
from bench_trace import CLI, PYTHON, ROOT, cache_env, drop_traces, samples_ms, table, write_results
from genproject import generate

from basilisk_trace.bundler.check.verify import VerifyResult, verify_zip
from basilisk_trace.bundler.format.manifest import MANIFEST_NAME
from basilisk_trace.bundler.hosts import load_profile

TARGET = "basilisk"  # what ic-basilisk's bundler builds for: the runtime brings its own basilisk
JUDGE = "cpython-wasi"  # full stdlib view: both bundles are judged on what they carry, not on stubs
CUSTOM_MODULES = Path(basilisk.__file__).parent / "compiler" / "custom_modules"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Program:
    """A canister program to bundle, and whether its methods must be called to be judged."""

    name: str
    entry: Path
    exercise: bool


PROGRAMS = (
    Program("examples/canister", ROOT / "examples/canister/main.py", True),
    Program("fixtures/optional_natives", ROOT / "fixtures/optional_natives/main.py", True),
    Program("fixtures/dynamic_import", ROOT / "fixtures/dynamic_import/main.py", False),
    Program("fixtures/metadata_read", ROOT / "fixtures/metadata_read/main.py", False),
    Program("fixtures/opened_not_read", ROOT / "fixtures/opened_not_read/main.py", False),
    Program("fixtures/ic_python_db_canister", ROOT / "fixtures/ic_python_db_canister/main.py", True),
    Program("benchmarks/canisters/jinja_orm", ROOT / "benchmarks/canisters/jinja_orm/main.py", True),
)


@dataclass(frozen=True)
class Outcome:
    """One tool's result on one program."""

    built: bool
    reason: str  # why it was not built, or ""
    files: int
    content_bytes: int  # sum of the bundled files' sizes (our manifest excluded)
    runtime_bytes: int  # of which the runtime's own files: basilisk/ and ic-basilisk's custom modules
    zip_bytes: int
    runs_alone: bool
    methods: int  # canister methods the isolated run called
    failure: str  # the first failure of the isolated run, or ""
    ms: dict[str, float]  # median ms per way of timing it


# ---- ic-basilisk's bundler --------------------------------------------------------------------

# Runs in a child, as `basilisk` would, so its modulefinder patch and its __import__ of
# unresolved names (editable-install rescue) touch neither this process nor the others.
_THEIRS = r"""
import json, os, sys, time
import basilisk
import basilisk.__main__ as cli
entry, canister, out = sys.argv[1], sys.argv[2], sys.argv[3]
compiler = os.path.dirname(basilisk.__file__) + "/compiler"
paths = {
    "py_entry_file": entry, "py_entry_module_name": os.path.splitext(os.path.basename(entry))[0],
    "canister": canister, "python_source": canister + "/python_source",
    "py_file_names_file": canister + "/py_file_names.csv", "did": canister + "/index.did",
    "compiler": compiler, "lib": canister + "/src/lib.rs", "generated_did": canister + "/index.did",
    "wasm": canister + "/canister.wasm", "custom_modules": compiler + "/custom_modules",
}
os.makedirs(canister, exist_ok=True)
start = time.perf_counter()
try:
    cli.bundle_python_code(paths)
    code = None
except SystemExit as exc:
    code = exc.code
elapsed = time.perf_counter() - start
with open(out, "w") as handle:
    json.dump({"exit": code, "seconds": elapsed}, handle)
"""


def run_theirs(program: Program, work: Path) -> tuple[dict[str, Any], str, float]:
    """(child's result, its stdout, wall seconds) of one run of ic-basilisk's bundle_python_code."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out = work / "result.json"
    start = time.perf_counter()
    done = subprocess.run([PYTHON, "-c", _THEIRS, str(program.entry), str(work / "canister"), str(out)],
                          cwd=program.entry.parent, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    if not out.exists():
        raise RuntimeError(f"ic-basilisk's bundler crashed on {program.name}: {done.stderr[-800:]}")
    return json.loads(out.read_text()), done.stdout, wall


def _native_reason(stdout: str) -> str:
    lines = [ANSI.sub("", line).strip(" -") for line in stdout.splitlines() if "native code" in line]
    packages = ", ".join(line.split()[0] for line in lines)
    return f"sys.exit(1): native code in {packages}" if packages else "sys.exit(1)"


def _runtime_files(source: Path) -> set[Path]:
    """What ic-basilisk copies from itself: its custom modules and the basilisk package tree."""
    custom = {p.relative_to(CUSTOM_MODULES) for p in CUSTOM_MODULES.rglob("*") if p.is_file()}
    return custom | {p.relative_to(source) for p in (source / "basilisk").rglob("*") if p.is_file()}


def _zip_dir(directory: Path) -> bytes:
    """A stored ZIP of a directory, sorted, so verify_zip can run it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(directory).as_posix())
    return buffer.getvalue()


def bench_theirs(program: Program, tmp: Path, runs: int) -> Outcome:
    work = tmp / "theirs"
    results = [run_theirs(program, work) for _ in range(runs)]
    raw, stdout, _ = results[-1]
    ms = {"bundle_python_code()": statistics.median(r[0]["seconds"] for r in results) * 1000,
          "whole subprocess": statistics.median(r[2] for r in results) * 1000}
    if raw["exit"] is not None:
        return Outcome(False, _native_reason(stdout), 0, 0, 0, 0, False, 0, "not built", ms)
    source = work / "canister" / "python_source"
    files = [p for p in source.rglob("*") if p.is_file()]
    runtime = _runtime_files(source)
    data = _zip_dir(source)
    result = verify(data, program.exercise)
    return Outcome(True, "", len(files), sum(p.stat().st_size for p in files),
                   sum(p.stat().st_size for p in files if p.relative_to(source) in runtime), len(data),
                   result.ok, result.methods, _first_failure(result), ms)


# ---- ours -----------------------------------------------------------------------------------------

def bundle_command(entry: Path, output: Path, exercise: bool) -> list[str]:
    return [CLI, "bundle", str(entry), "-o", str(output), "--target", TARGET,
            "--exercise" if exercise else "--no-exercise"]


def run_ours(entry: Path, output: Path, exercise: bool, cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(bundle_command(entry, output, exercise), env=cache_env(cache),
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def bench_ours(program: Program, tmp: Path, runs: int) -> Outcome:
    output, warm = tmp / "ours.zip", tmp / "warm-cache"
    fresh = iter(tmp / f"cold-{i}" for i in range(runs))
    last: list[subprocess.CompletedProcess[str]] = []

    def once(cache: Path) -> None:
        last[:] = [run_ours(program.entry, output, program.exercise, cache)]

    ms = {"bundle, cold cache": statistics.median(samples_ms(lambda: once(next(fresh)), runs))}
    once(warm)
    ms["bundle, static cache only"] = statistics.median(
        samples_ms(lambda: once(warm), runs, lambda: drop_traces(warm)))
    ms["bundle, warm cache"] = statistics.median(samples_ms(lambda: once(warm), runs))
    if last[0].returncode != 0:
        return Outcome(False, last[0].stderr.strip()[-300:], 0, 0, 0, 0, False, 0, "not built", ms)
    data = output.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = [i for i in archive.infolist() if i.filename != MANIFEST_NAME and not i.is_dir()]
    result = verify(data, program.exercise)
    runtime = sum(i.file_size for i in infos if i.filename.startswith("basilisk/"))
    return Outcome(True, "", len(infos), sum(i.file_size for i in infos), runtime, len(data),
                   result.ok, result.methods, _first_failure(result), ms)


# ---- judging --------------------------------------------------------------------------------------

def verify(data: bytes, exercise: bool) -> VerifyResult:
    """The same isolated runner for both tools: `python -I -S`, the bundle alone plus the runtime stand-in."""
    return verify_zip(data, "main", load_profile(JUDGE), exercise=exercise)


def _first_failure(result: VerifyResult) -> str:
    if result.ok:
        return ""
    failure = result.failures[0]
    return f"{failure.where}: {failure.error}"[:100]


# ---- synthetic projects -----------------------------------------------------------------------

def bench_scale(sizes: list[int], runs: int, tmp: Path) -> list[dict[str, Any]]:
    """Our bundle of generated projects of each size, cold and warm cache."""
    rows = []
    for size in sizes:
        entry = generate(tmp / f"project-{size}", size)
        rows.append(_scale_row(entry, size, runs, tmp / f"scale-{size}"))
    return rows


def _scale_row(entry: Path, size: int, runs: int, tmp: Path) -> dict[str, Any]:
    output, warm = tmp / "bundle.zip", tmp / "warm"
    fresh = iter(tmp / f"cold-{i}" for i in range(runs))

    def once(cache: Path) -> None:
        done = run_ours(entry, output, False, cache)
        if done.returncode != 0:
            raise RuntimeError(f"bundle of {size} modules failed: {done.stderr[-500:]}")

    plain = samples_ms(lambda: subprocess.run([PYTHON, "-B", "-c", "import main"], cwd=entry.parent,
                                              check=True), runs)
    cold = samples_ms(lambda: once(next(fresh)), runs)
    once(warm)
    static = samples_ms(lambda: once(warm), runs, lambda: drop_traces(warm))
    warm_ms = samples_ms(lambda: once(warm), runs)
    with zipfile.ZipFile(output) as archive:
        bundled = sum(1 for name in archive.namelist() if name.endswith(".py"))
    return {"modules": size, "bundled_py_files": bundled, "zip_bytes": output.stat().st_size, "runs": runs,
            "plain_import_ms": statistics.median(plain), "cold_ms": statistics.median(cold),
            "static_only_ms": statistics.median(static), "warm_ms": statistics.median(warm_ms),
            "cold_min_ms": min(cold), "static_only_min_ms": min(static), "warm_min_ms": min(warm_ms)}


# ---- report ---------------------------------------------------------------------------------------

def compare(runs: int, tmp: Path, only: set[str] | None) -> dict[str, dict[str, Outcome]]:
    results = {}
    for program in PROGRAMS:
        if only and program.name not in only:
            continue
        work = tmp / program.name.replace("/", "_")
        results[program.name] = {"ours": bench_ours(program, work, runs),
                                 "ic-basilisk": bench_theirs(program, work, runs)}
        print(f"  measured {program.name}", file=sys.stderr)
    return results


def _runs_cell(outcome: Outcome) -> str:
    if not outcome.built:
        return f"FAILED, not built: {outcome.reason}"
    if outcome.runs_alone:
        return f"ok ({outcome.methods} methods called)" if outcome.methods else "ok (import)"
    return f"FAILED: {outcome.failure}"


def _ratio(ours: int, theirs: int) -> str:
    return f"{ours / theirs:.3f}" if theirs else "-"


def render_compare(results: dict[str, dict[str, Outcome]]) -> str:
    size_rows, run_rows, time_rows = [], [], []
    for name, pair in results.items():
        ours, theirs = pair["ours"], pair["ic-basilisk"]
        theirs_app = theirs.content_bytes - theirs.runtime_bytes
        size_rows.append((name, ours.files, ours.content_bytes, ours.zip_bytes, theirs.files,
                          theirs.content_bytes, theirs_app, _ratio(ours.content_bytes, theirs.content_bytes),
                          _ratio(ours.content_bytes - ours.runtime_bytes, theirs_app)))
        run_rows.append((name, _runs_cell(ours), _runs_cell(theirs)))
        time_rows.append((name, ours.ms["bundle, cold cache"], ours.ms["bundle, static cache only"],
                          ours.ms["bundle, warm cache"],
                          theirs.ms["bundle_python_code()"], theirs.ms["whole subprocess"]))
    return "\n\n".join([
        "Bytes bundled (goal: ours <= 1/4 of theirs)",
        table(("program", "ours files", "ours bytes", "ours ZIP", "theirs files", "theirs bytes",
               "theirs w/o basilisk", "ours/theirs", "same w/o basilisk"), size_rows),
        f"Runs from the bundle alone (bundler.verify.verify_zip, {JUDGE} profile, python -I -S)",
        table(("program", "ours", "ic-basilisk 0.16.1"), run_rows),
        "Time, median ms (ours: basilisk-trace bundle CLI, subprocess; theirs: in-child call and whole child)",
        table(("program", "ours cold", "ours static-only", "ours warm", "theirs call", "theirs subprocess"),
              time_rows),
    ])


def render_scale(rows: list[dict[str, Any]]) -> str:
    lines = [(r["modules"], r["bundled_py_files"], r["plain_import_ms"], r["cold_ms"], r["static_only_ms"],
              r["warm_ms"], r["cold_ms"] / r["modules"], r["static_only_ms"] / r["modules"],
              r["warm_ms"] / r["modules"], f"{r['static_only_ms'] / r['plain_import_ms']:.2f}x")
             for r in rows]
    return ("Generated projects: basilisk-trace bundle, median ms (static-only: the trace cache dropped, "
            "as after an edit; warm: nothing changed)\n" + table(
                ("modules", "bundled .py", "plain import", "cold", "static-only", "warm", "cold/module",
                 "static/module", "warm/module", "static/plain"), lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gen-runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 2000, 5000])
    parser.add_argument("--only", nargs="*", help="program names to compare (default: all)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args()
    from goal_programs import compile_tool

    compile_tool()  # as an install leaves it
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        results = compare(args.runs, Path(tmp), set(args.only) if args.only else None)
        print(render_compare(results))
        scale = bench_scale(args.sizes, args.gen_runs, Path(tmp)) if args.sizes else []
        if scale:
            print("\n" + render_scale(scale))
    if not args.no_write:
        data = {"target": TARGET, "judged_with": JUDGE, "runs": args.runs, "scale": scale,
                "programs": {n: {k: asdict(v) for k, v in pair.items()} for n, pair in results.items()}}
        path = write_results("bench_bundle", data)
        print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
