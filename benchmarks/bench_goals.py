"""The speed goals, each ratio printed beside the baseline it is measured against, all in one run.

Baselines measured here, in the same run as what they judge: `python -c pass` (start-up), the
plain import of the same program (`python -B -c "import main"`), ic-basilisk 0.16.1's bundler
(`bundle_python_code`, a whole child process) and its whole build (`python -m basilisk NAME
ENTRY`). Every variant is timed round-robin, one sample of each in turn, so that a busy machine
slows baselines and measurements alike. The programs: goal_programs.py.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_bundle import _THEIRS, Program, run_theirs
from bench_trace import CLI, PYTHON, ROOT, cache_env, run, table, timed, write_results
from genproject import generate
from goal_programs import (
    REALM,
    GoalProgram,
    canister,
    compile_tool,
    goal_programs,
    make_template,
    peak_mib,
    python_m_basilisk,
    target,
)

from basilisk_trace.base.launch import scrubbed_env


@dataclass(frozen=True)
class Goal:
    """One ratio and the limit it must stay under."""

    what: str
    value: float
    limit: float
    baseline: str  # what the ratio divides by, and its median ms in this run

    @property
    def met(self) -> bool:
        return self.value <= self.limit


class Samples:
    """Milliseconds per named variant, taken round-robin."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {}

    def take(self, name: str, action: Callable[..., object], *args: Any) -> None:
        self.ms.setdefault(name, []).append(timed(lambda: action(*args)) * 1000)

    def median(self, name: str) -> float:
        return statistics.median(self.ms[name])


def _bundle(entry: Path, output: Path, cache: Path, exercise: bool) -> None:
    run([CLI, "bundle", str(entry), "-o", str(output), "--target", target(entry),
         "--exercise" if exercise else "--no-exercise"], env=cache_env(cache))


def _trace(entry: Path, cache: Path) -> None:
    run([CLI, "trace", str(entry)], env=cache_env(cache))


def _floor(entry: Path) -> None:
    run([PYTHON, "-B", "-c", f"import {entry.stem}"], cwd=entry.parent, env=scrubbed_env())


def measure_programs(runs: int, tmp: Path) -> tuple[Samples, dict[str, float]]:
    """Start-up; trace / bundle / ic-basilisk's bundler / plain import of each goal program; for the
    canisters, canister (cold, and with nothing changed) against python -m basilisk; peak memory."""
    samples, fresh = Samples(), iter(range(10**6))
    goals, template = goal_programs(tmp), make_template(tmp)
    warm = tmp / "warm"
    for goal in goals:
        p = goal.program
        run([CLI, "trace", str(p.entry)], env=cache_env(warm))
        _bundle(p.entry, tmp / f"{_slug(p)}.zip", warm, p.exercise)
        if goal.project is not None:
            canister(goal, template, warm, "warm")
    manifest = tmp / f"{_slug(goals[4].program)}.zip"
    for _ in range(runs):
        samples.take("python -c pass", run, [PYTHON, "-c", "pass"])
        samples.take("--help", run, [CLI, "--help"])
        samples.take("--version", run, [CLI, "--version"])
        samples.take("why --bundle", run, [CLI, "why", "--bundle", str(manifest), "jinja2"])
        for goal in goals:
            _sample_program(samples, goal, tmp, warm, fresh)
            if goal.project is not None:
                _sample_canister(samples, goal, template, tmp, warm, fresh)
    peaks = {}
    for goal in (g for g in goals if g.project is not None):
        for way in ("python -m basilisk", "canister"):
            peaks[f"{goal.label}: {way}"] = statistics.median(
                peak_mib(way, goal, template, tmp / f"peak{next(fresh)}") for _ in range(3))
    return samples, peaks


def _slug(program: Program) -> str:
    return program.entry.parent.name


def _sample_program(samples: Samples, goal: GoalProgram, tmp: Path, warm: Path, fresh: Any) -> None:
    p = goal.program
    name, output = p.name, tmp / f"{_slug(p)}.zip"
    samples.take(f"{name}: plain import", _floor, p.entry)
    samples.take(f"{name}: trace cold", _trace, p.entry, tmp / f"cold{next(fresh)}")
    samples.take(f"{name}: trace warm", _trace, p.entry, warm)
    samples.take(f"{name}: bundle cold", _bundle, p.entry, tmp / "cold.zip", tmp / f"cold{next(fresh)}", p.exercise)
    samples.take(f"{name}: bundle warm", _bundle, p.entry, output, warm, p.exercise)
    samples.take(f"{name}: ic-basilisk bundler", run_theirs, p, tmp / "theirs")


def _sample_canister(samples: Samples, goal: GoalProgram, template: Path, tmp: Path, warm: Path, fresh: Any) -> None:
    name = goal.label
    samples.take(f"{name}: python -m basilisk", python_m_basilisk, goal, template, tmp / "basilisk-cache")
    samples.take(f"{name}: canister cold", canister, goal, template, tmp / f"cold{next(fresh)}", "cold")
    samples.take(f"{name}: canister, nothing changed", canister, goal, template, warm, "warm")


def _run_theirs_deep(program: Program, work: Path) -> None:
    """ic-basilisk's bundler on a generated project: its modulefinder recurses once per import
    level and overflows Python's default recursion limit there, so the child raises it first."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    source = "import sys\nsys.setrecursionlimit(1_000_000)\n" + _THEIRS
    run([PYTHON, "-c", source, str(program.entry), str(work / "canister"), str(work / "result.json")],
        cwd=program.entry.parent)


def measure_scale(sizes: list[int], runs: int, tmp: Path, theirs_max: int) -> Samples:
    """Generated projects: plain import, bundle cold and warm, ic-basilisk's bundler up to `theirs_max`."""
    samples, fresh = Samples(), iter(range(10**6))
    for size in sizes:
        entry = generate(tmp / f"project-{size}", size)
        program, output, warm = Program(f"{size} modules", entry, False), tmp / f"{size}.zip", tmp / f"warm{size}"
        _bundle(entry, output, warm, False)
        for _ in range(runs):
            samples.take(f"{size}: plain import", _floor, entry)
            samples.take(f"{size}: bundle cold", _bundle, entry, tmp / "cold.zip", tmp / f"cold{next(fresh)}", False)
            samples.take(f"{size}: bundle warm", _bundle, entry, output, warm, False)
            if size <= theirs_max:
                samples.take(f"{size}: ic-basilisk bundler", _run_theirs_deep, program, tmp / "theirs")
        shutil.rmtree(tmp / f"project-{size}", ignore_errors=True)
    return samples


def goals(programs: Samples, scale: Samples, sizes: list[int], peaks: dict[str, float]) -> list[Goal]:
    m = programs.median
    found = []
    names = [k.removesuffix(": trace cold") for k in programs.ms if k.endswith(": trace cold")]
    for name in names:
        floor = f"plain import {m(f'{name}: plain import'):,.0f} ms"
        found.append(Goal(f"{name}: trace warm / plain import", m(f"{name}: trace warm") / m(f"{name}: plain import"), 1.5, floor))
        found.append(Goal(f"{name}: trace cold / plain import", m(f"{name}: trace cold") / m(f"{name}: plain import"), 2.5, floor))
    for name in names:
        theirs = f"ic-basilisk {m(f'{name}: ic-basilisk bundler'):,.0f} ms"
        found.append(Goal(f"{name}: bundle cold / ic-basilisk", m(f"{name}: bundle cold") / m(f"{name}: ic-basilisk bundler"), 0.8, theirs))
        found.append(Goal(f"{name}: bundle warm / bundle cold", m(f"{name}: bundle warm") / m(f"{name}: bundle cold"),
                          0.2, f"bundle cold {m(f'{name}: bundle cold'):,.0f} ms"))
    found += _canister_goals(programs, peaks)
    start = f"python -c pass {m('python -c pass'):,.1f} ms"
    for command in ("--help", "--version", "why --bundle"):
        found.append(Goal(f"basilisk-trace {command} / python -c pass", m(command) / m("python -c pass"), 5.0, start))
    s = scale.median
    for size in sizes:
        if f"{size}: ic-basilisk bundler" in scale.ms:
            theirs = f"ic-basilisk {s(f'{size}: ic-basilisk bundler'):,.0f} ms"
            found.append(Goal(f"{size} modules: bundle cold / ic-basilisk",
                              s(f"{size}: bundle cold") / s(f"{size}: ic-basilisk bundler"), 0.8, theirs))
        found.append(Goal(f"{size} modules: bundle warm / bundle cold", s(f"{size}: bundle warm") / s(f"{size}: bundle cold"),
                          0.2, f"bundle cold {s(f'{size}: bundle cold'):,.0f} ms"))
    if sizes:
        top = max(sizes)
        found.append(Goal(f"{top} modules: bundle cold / plain import", s(f"{top}: bundle cold") / s(f"{top}: plain import"),
                          1.7, f"plain import {s(f'{top}: plain import'):,.0f} ms"))
    if len(sizes) > 1:
        low, top = min(sizes), max(sizes)
        per = [s(f"{n}: bundle cold") / n for n in (low, top)]
        found.append(Goal(f"linear: cold ms per module at {top} / at {low}", per[1] / per[0], 1.3,
                          f"{per[0]:.2f} ms per module at {low}"))
    return found


def _canister_goals(programs: Samples, peaks: dict[str, float]) -> list[Goal]:
    m, found = programs.median, []
    for name in [k.removesuffix(": canister cold") for k in programs.ms if k.endswith(": canister cold")]:
        theirs = m(f"{name}: python -m basilisk")
        baseline = f"python -m basilisk {theirs:,.0f} ms"
        large = name == REALM
        found.append(Goal(f"{name}: canister cold / python -m basilisk", m(f"{name}: canister cold") / theirs,
                          0.8 if large else 1.0, baseline))
        found.append(Goal(f"{name}: canister, nothing changed / python -m basilisk",
                          m(f"{name}: canister, nothing changed") / theirs, 0.3, baseline))
        peak = peaks[f"{name}: python -m basilisk"]
        found.append(Goal(f"{name}: canister peak memory / python -m basilisk", peaks[f"{name}: canister"] / peak, 1.5,
                          f"python -m basilisk {peak:,.1f} MiB"))
    return found


def render(programs: Samples, scale: Samples, found: list[Goal], peaks: dict[str, float]) -> str:
    timings = [(name, len(ms), statistics.median(ms), min(ms))
               for samples in (programs, scale) for name, ms in samples.ms.items()]
    rows = [(g.what, f"{g.value:.2f}x", f"<= {g.limit}x", g.baseline, "yes" if g.met else "NO") for g in found]
    return "\n\n".join([
        table(("what (round-robin)", "runs", "median ms", "min ms"), timings),
        table(("peak memory of a cold build, one process", "median MiB"), list(peaks.items())),
        table(("goal", "ratio", "goal", "baseline, same run", "met"), rows),
        f"{sum(g.met for g in found)} of {len(found)} goals met",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--gen-runs", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--theirs-max", type=int, default=1000,
                        help="largest generated size to run ic-basilisk's bundler on (about 9 s at 1,000)")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    args = parser.parse_args()
    compile_tool()
    with tempfile.TemporaryDirectory(prefix="bench-goals-") as tmp:
        programs, peaks = measure_programs(args.runs, Path(tmp))
        print("  measured the programs", file=sys.stderr)
        scale = measure_scale(args.sizes, args.gen_runs, Path(tmp), args.theirs_max)
    found = goals(programs, scale, args.sizes, peaks)
    print(render(programs, scale, found, peaks))
    if not args.no_write:
        data: dict[str, Any] = {
            "runs": args.runs, "gen_runs": args.gen_runs, "sizes": args.sizes,
            "timings_ms": {name: {"median": statistics.median(ms), "min": min(ms), "runs": len(ms)}
                           for samples in (programs, scale) for name, ms in samples.ms.items()},
            "peak_mib": peaks,
            "goals": [{"what": g.what, "ratio": round(g.value, 3), "limit": g.limit, "baseline": g.baseline,
                       "met": g.met} for g in found],
        }
        path = write_results("bench_goals", data)
        print(f"\nwrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
