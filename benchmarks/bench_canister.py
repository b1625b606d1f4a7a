"""canister against python -m basilisk on the same programs, one run: injected python_source bytes and build time."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat, read_slot  # noqa: E402

BIN = Path(sys.executable).parent
PROJECT = ROOT / "tests" / "projects" / "dfx_two_canisters"
# (label, project, canister name, entry, canister's options): the options a user needs for each program.
PROGRAMS = [
    ("canisters/hello (ic-python-logging)", ROOT / "benchmarks" / "canisters" / "hello", "hello", "main.py", []),
    ("posts (entry in src/)", PROJECT, "posts", "src/main.py", ["--exercise"]),
    ("notes (entry at the root, ORM)", PROJECT, "notes", "notes.py", ["--include", "notes_lib.plugins"]),
    ("examples/canister", ROOT / "examples" / "canister", "example", "main.py", ["--exercise"]),
    ("canisters/jinja_orm (jinja2)", ROOT / "benchmarks" / "canisters" / "jinja_orm", "jinja", "main.py", ["--exercise"]),
]
WAYS = ("python -m basilisk", "canister, cold cache", "canister, warm cache")


@dataclass
class Result:
    source: int  # bytes injected as python_source
    wall: float
    cpu: float  # of the build's processes but the sandboxed dry run's (bubblewrap's PID namespace hides it)
    candid: str


class Refused(Exception):
    """The build failed: its last line of output says why."""


def _run(command: list[str], project: Path, env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
        raise Refused(next((line for line in lines if "native" in line), lines[-1] if lines else "failed"))
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def measure(work: Path, template: Path, program: tuple, way: str, runs: int) -> Result:
    _, source, name, entry, options = program
    walls, cpus = [], []
    for run in range(runs):
        # A warm rebuild happens in the same folder: the trace cache keys on the entry's path.
        project = work / f"{name}-{WAYS.index(way)}-{0 if 'warm' in way else run}"
        if project.exists():
            shutil.rmtree(project / ".basilisk")
        else:
            shutil.copytree(source, project, ignore=shutil.ignore_patterns(".basilisk", "__pycache__"))
        cache = work / f"cache-{name}-{run if 'cold' in way else 'shared'}"
        env = dict(os.environ, BASILISK_TEMPLATE_WASM=str(template), XDG_CACHE_HOME=str(cache),
                   CANISTER_CANDID_PATH=f".basilisk/{name}/{name}.did")
        command = ([str(BIN / "python"), "-m", "basilisk", name, entry] if way == WAYS[0]
                   else [str(BIN / "basilisk-trace"), "canister", name, entry, *options])
        if "warm" in way and run == 0:
            _run(command, project, env)  # fills the cache
            shutil.rmtree(project / ".basilisk")
        wall, cpu = _run(command, project, env)
        walls.append(wall)
        cpus.append(cpu)
    built = project / ".basilisk" / name
    return Result(len(read_slot((built / f"{name}.wasm").read_bytes(), "python_source")),
                  statistics.median(walls), statistics.median(cpus), (built / f"{name}.did").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from goal_programs import compile_tool

    compile_tool()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        template = work / "template.wasm"
        template.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
        print(f"stand-in template; median of {args.runs} runs; seconds as wall (cpu)")
        print(f"{'program':32} {'python_source bytes':>22} {'ratio':>6}   " + "   ".join(f"{w:>22}" for w in WAYS))
        for program in PROGRAMS:
            results: list[Result | str] = []
            for way in WAYS:
                try:
                    results.append(measure(work, template, program, way, args.runs))
                except Refused as exc:
                    results.append(f"refused: {exc}")
            print(_row(program[0], results))


def _row(label: str, results: list[Result | str]) -> str:
    built = [r for r in results if isinstance(r, Result)]
    same = "Candid equal" if len({r.candid for r in built}) == 1 else "CANDID DIFFERS"
    theirs, ours = results[0], results[1]
    if not (isinstance(theirs, Result) and isinstance(ours, Result)):
        sizes = f"{'-' if isinstance(theirs, str) else f'{theirs.source:,}':>10} -> " \
                f"{'-' if isinstance(ours, str) else f'{ours.source:,}':>9} {'':>6}"
        notes = "; ".join(r for r in results if isinstance(r, str))
        return f"{label:32} {sizes}   " + "   ".join(
            f"{r.wall:>14.2f} ({r.cpu:.2f})" if isinstance(r, Result) else f"{'-':>22}" for r in results) + f"   {notes}"
    times = "   ".join(f"{r.wall:>14.2f} ({r.cpu:.2f})" for r in built)
    return f"{label:32} {theirs.source:>10,} -> {ours.source:>9,} {ours.source / theirs.source:>6.2f}   {times}   {same}"

if __name__ == "__main__":
    main()
