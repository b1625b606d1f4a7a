"""Time the tracer on a realistic canister against a plain import and stdlib modulefinder."""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from basilisk_trace import tracer
from basilisk_trace.tracer._dryrun import scrubbed_env

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_ENTRY = ROOT / "benchmarks" / "canisters" / "jinja_orm" / "main.py"
PYTHON = sys.executable
CLI = str(Path(sys.executable).with_name("basilisk-trace"))


# ---- helpers shared with bench_bundle.py -------------------------------------------------------

def timed(action: Callable[[], object]) -> float:
    """Seconds one call of `action` takes."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def samples_ms(action: Callable[[], object], runs: int,
               before: Callable[[], object] | None = None) -> list[float]:
    """Milliseconds of each of `runs` calls; `before` runs, untimed, ahead of each."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        times.append(timed(action) * 1000)
    return times


def drop_traces(cache: Path) -> None:
    """Forget the cached traces, keep the static cache: the state after editing the program."""
    for pattern in ("trace-*.json", "bundle-*.json"):  # a bundle remembered on a trace goes with it
        for path in (cache / "basilisk-trace").glob(pattern):
            path.unlink()


def median_ms(action: Callable[[], object], runs: int) -> float:
    """Median milliseconds of `runs` calls."""
    return statistics.median(samples_ms(action, runs))


def summary(samples: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Median and minimum of each named list of samples (the minimum shows the noise)."""
    return {name: {"median_ms": statistics.median(ms), "min_ms": min(ms), "runs": len(ms)}
            for name, ms in samples.items()}


def run(command: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command, fail loudly if it fails, return its stdout."""
    done = subprocess.run(list(command), cwd=cwd, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-800:]}")
    return done.stdout


def cache_env(cache: Path) -> dict[str, str]:
    """This process's environment with the static cache in `cache`."""
    return {**os.environ, "XDG_CACHE_HOME": str(cache)}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """benchmarks/results/<name>.json, with the machine it ran on."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    data = {"benchmark": name, "machine": machine(), **data}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d")}


# ---- the measurements -----------------------------------------------------------------------------

_MODULEFINDER = (
    "import modulefinder, sys\n"
    "finder = modulefinder.ModuleFinder(path=[sys.argv[1]] + sys.path)\n"
    "finder.run_script(sys.argv[2])\n"
)


def _cli_trace(entry: Path, cache: Path) -> None:
    run([CLI, "trace", str(entry)], env=cache_env(cache))


def _modulefinder_in_process(entry: Path) -> int:
    import modulefinder

    finder = modulefinder.ModuleFinder(path=[str(entry.parent)] + sys.path)
    finder.run_script(str(entry))
    return len(finder.modules)


PLAIN = "plain import (python -B -c 'import main')"
CLI_COLD, CLI_STATIC, CLI_WARM = ("basilisk-trace trace, cold cache", "basilisk-trace trace, static cache only",
                                   "basilisk-trace trace, warm (trace cache hit)")
LIB_COLD, LIB_STATIC, LIB_WARM = ("tracer.trace(), cold cache", "tracer.trace(), static cache only",
                                  "tracer.trace(), warm (trace cache hit)")
FINDER, FINDER_IN = "modulefinder run_script, subprocess", "modulefinder run_script, in-process"


def measure(entry: Path, runs: int, slow_runs: int, tmp: Path) -> dict[str, list[float]]:
    """Milliseconds of each way of loading or tracing `entry`, `runs` times each."""
    env = scrubbed_env()
    fresh = iter(tmp / f"cold{i}" for i in range(10 * runs))
    warm = tmp / "warm"
    _cli_trace(entry, warm)  # fills the warm cache
    warm_options = tracer.DryRunOptions(cache_dir=warm / "basilisk-trace")
    return {
        PLAIN: samples_ms(lambda: run([PYTHON, "-B", "-c", f"import {entry.stem}"], cwd=entry.parent, env=env), runs),
        CLI_COLD: samples_ms(lambda: _cli_trace(entry, next(fresh)), runs),
        CLI_STATIC: samples_ms(lambda: _cli_trace(entry, warm), runs, lambda: drop_traces(warm)),
        CLI_WARM: samples_ms(lambda: _cli_trace(entry, warm), runs),
        "basilisk-trace --help (CLI start-up)": samples_ms(lambda: run([CLI, "--help"]), runs),
        LIB_COLD: samples_ms(lambda: tracer.trace(entry, tracer.DryRunOptions(cache_dir=next(fresh))), runs),
        LIB_STATIC: samples_ms(lambda: tracer.trace(entry, warm_options), runs, lambda: drop_traces(warm)),
        LIB_WARM: samples_ms(lambda: tracer.trace(entry, warm_options), runs),
        FINDER: samples_ms(lambda: run([PYTHON, "-B", "-c", _MODULEFINDER, str(entry.parent), str(entry)],
                                       cwd=entry.parent, env=env), slow_runs),
        FINDER_IN: samples_ms(lambda: _modulefinder_in_process(entry), slow_runs),
    }


def ratios(ms: dict[str, float]) -> dict[str, float]:
    """The figures the issue sets goals for: trace/plain (<= 1.5) and modulefinder/trace (> 1)."""
    return {
        "CLI cold / plain import (goal <= 1.5x)": ms[CLI_COLD] / ms[PLAIN],
        "CLI static cache only / plain import (goal <= 1.5x)": ms[CLI_STATIC] / ms[PLAIN],
        "CLI warm / plain import (goal <= 1.5x)": ms[CLI_WARM] / ms[PLAIN],
        "tracer.trace() cold / plain import (goal <= 1.5x)": ms[LIB_COLD] / ms[PLAIN],
        "tracer.trace() static cache only / plain import (goal <= 1.5x)": ms[LIB_STATIC] / ms[PLAIN],
        "tracer.trace() warm / plain import (goal <= 1.5x)": ms[LIB_WARM] / ms[PLAIN],
        "modulefinder subprocess / CLI cold (goal > 1x)": ms[FINDER] / ms[CLI_COLD],
        "modulefinder subprocess / CLI static cache only (goal > 1x)": ms[FINDER] / ms[CLI_STATIC],
        "modulefinder in-process / tracer.trace() cold (goal > 1x)": ms[FINDER_IN] / ms[LIB_COLD],
        "modulefinder in-process / tracer.trace() static only (goal > 1x)": ms[FINDER_IN] / ms[LIB_STATIC],
    }


# ---- profiling -----------------------------------------------------------------------------------

def profile(entry: Path, tmp: Path, top: int = 20) -> str:
    """cProfile of the parent's tracer.trace() (trace cache hit) and of the child dry run."""
    cache = tmp / "profile-cache"
    tracer.trace(entry, tracer.DryRunOptions(cache_dir=cache))
    parent = cProfile.Profile()
    parent.runcall(tracer.trace, entry, tracer.DryRunOptions(cache_dir=cache))
    sections = [f"== parent: tracer.trace(), trace cache hit (top {top} by cumulative time)\n"
                f"{_stats(parent, top)}"]
    for label, cache_dir in (("cold", tmp / "profile-cold"), ("static-only", cache)):
        # A stand-in interpreter is another cache key: the trace cache misses, the static one hits.
        out = tmp / f"child-{label}.prof"
        options = tracer.DryRunOptions(cache_dir=cache_dir, python=str(_profiling_interpreter(tmp, out)))
        tracer.trace(entry, options)
        for sort in ("cumulative", "tottime"):
            sections.append(f"== child: tracer/child/runner.py, {label} cache (top {top} by {sort})\n"
                            f"{_stats(str(out), top, sort)}")
    return "\n\n".join(sections)


def _profiling_interpreter(tmp: Path, out: Path) -> Path:
    """An executable standing in for python that runs the dry-run child under cProfile."""
    wrapper = tmp / f"python-profiled-{out.stem}"
    # The tracer calls `python -B RUNNER CONFIG OUT`; drop -B and insert the profiler. It first asks
    # the interpreter where it imports from (`python -I -S -B SCRIPT`): that passes through.
    wrapper.write_text(f'#!/bin/sh\nif [ "$1" = -I ]; then exec "{PYTHON}" "$@"; fi\n'
                       f'shift\nexec "{PYTHON}" -B -m cProfile -o "{out}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _stats(source: cProfile.Profile | str, top: int, sort: str = "cumulative") -> str:
    buffer = io.StringIO()
    stats = pstats.Stats(source, stream=buffer)  # type: ignore[arg-type]
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    lines = buffer.getvalue().splitlines()
    total = next((line.strip() for line in lines if "function calls" in line), "")
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return "\n".join([total, *lines[start:]])


# ---- main ----------------------------------------------------------------------------------------

def report(entry: Path, stats: dict[str, dict[str, float]], ratio: dict[str, float]) -> str:
    plain = stats[PLAIN]["median_ms"]
    rows = [(name, s["runs"], s["median_ms"], s["min_ms"], f"{s['median_ms'] / plain:.2f}x")
            for name, s in stats.items()]
    return "\n".join([
        f"entry: {_shown(entry)}; Python {platform.python_version()}; {os.cpu_count()} CPUs",
        table(("what", "runs", "median ms", "min ms", "vs plain import"), rows), "",
        table(("ratio of medians", "value"), [(k, f"{v:.2f}x") for k, v in ratio.items()]),
    ])


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entry", type=Path, default=DEFAULT_ENTRY)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--slow-runs", type=int, default=3, help="runs of modulefinder (seconds each)")
    parser.add_argument("--profile", action="store_true", help="also print cProfile top costs")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/results/")
    parser.add_argument("--profile-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from goal_programs import compile_tool

    compile_tool()  # as an install leaves it
    entry = args.entry.resolve()
    if args.profile_only:
        with tempfile.TemporaryDirectory(prefix="bench-trace-profile-") as tmp:
            print(profile(entry, Path(tmp)))
        return
    with tempfile.TemporaryDirectory(prefix="bench-trace-") as tmp:
        stats = summary(measure(entry, args.runs, args.slow_runs, Path(tmp)))
        ratio = ratios({name: s["median_ms"] for name, s in stats.items()})
        print(report(entry, stats, ratio))
        if args.profile:
            # The profiled child's stand-in interpreter and its output live in this process's /tmp,
            # which the sandbox hides: the profile runs with the audit hooks alone, in a process of its own.
            print("\n(profiled with the audit hooks alone: BASILISK_TRACE_SANDBOX=0)\n" + subprocess.run(
                [PYTHON, __file__, "--profile-only", "--entry", str(entry)], env={**os.environ, "BASILISK_TRACE_SANDBOX": "0"},
                capture_output=True, text=True, check=True).stdout)
    if not args.no_write:
        path = write_results("bench_trace", {"entry": _shown(entry), "timings": stats, "ratios": ratio})
        print(f"\nwrote {_shown(path)}")


if __name__ == "__main__":
    main()
