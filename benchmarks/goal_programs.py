"""The programs the speed goals are measured on, and how `canister` and `python -m basilisk` are run on them.

Small real-sized canisters (a hello world with ic-python-logging, an ORM with logging, a program
reading data files, one with optional natives), the example, two larger ones, and a Realms-sized
backend of 200 modules (genrealm.py) in its real layout. Each `canister` build runs in a copy of
its project, on the stand-in template with the exports ic-basilisk's injection patches.
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench_bundle import Program
from bench_trace import CLI, PYTHON, ROOT, cache_env, run
from genrealm import generate as generate_realm

sys.path.insert(0, str(ROOT / "tests"))
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat  # noqa: E402

REALM = "realm-sized backend (200 modules)"
# simplejson imports decimal, which needs the native _decimal the basilisk runtime lacks: bundle refuses
# these two for basilisk, so they are bundled for a full-stdlib Wasm CPython (the same trace and plan).
_FULL_STDLIB = ("optional_natives", "larger")


def target(entry: Path) -> str:
    """The --target a goal program is bundled for."""
    return "cpython-wasi" if entry.parent.name in _FULL_STDLIB else "basilisk"


@dataclass(frozen=True)
class GoalProgram:
    """A program of the goals: how to trace and bundle it, and, for a canister, its project and name."""

    program: Program
    project: Path | None = None  # a canister project: built by canister and python -m basilisk
    name: str = ""  # the canister's name
    small: bool = True  # a small canister (goal <= 1.0x) rather than a large one (<= 0.8x)

    @property
    def label(self) -> str:
        return self.program.name

    def entry_arg(self) -> str:
        assert self.project is not None
        return str(self.program.entry.relative_to(self.project))

    def copy(self, way: str) -> Path:
        """The project's own copy for one way of building it: a build never finds another's outputs."""
        assert self.project is not None
        copy = self.project.with_name(f"{self.project.name}-{way}")
        if not copy.exists():
            shutil.copytree(self.project, copy, ignore=shutil.ignore_patterns(".basilisk"))
        return copy


def compile_tool() -> None:
    """Bytecode for the tool's own files, as installing it from a wheel leaves: the figures are an
    installed tool's, also where PYTHONDONTWRITEBYTECODE keeps an editable checkout from writing it."""
    for folder in ("base", "tracer", "bundler"):
        compileall.compile_dir(str(ROOT / folder), quiet=1)


def goal_programs(tmp: Path) -> list[GoalProgram]:
    """Every goal program; the canisters among them copied into `tmp` (their builds write .basilisk/)."""
    hello = _copy(ROOT / "benchmarks/canisters/hello", tmp / "hello")
    orm = _copy(ROOT / "fixtures/ic_python_db_canister", tmp / "orm", ignore=("expected*.json",))
    realm = generate_realm(tmp / "realm")
    return [
        GoalProgram(Program("canisters/hello (ic-python-logging)", hello / "main.py", False), hello, "hello"),
        GoalProgram(Program("fixtures/ic_python_db_canister (ORM, logging)", orm / "main.py", True), orm, "orm"),
        GoalProgram(Program("fixtures/opened_not_read (data files)", ROOT / "fixtures/opened_not_read/main.py", False)),
        GoalProgram(Program("fixtures/optional_natives", ROOT / "fixtures/optional_natives/main.py", True)),
        GoalProgram(Program("examples/canister", ROOT / "examples/canister/main.py", True)),
        GoalProgram(Program("benchmarks/canisters/jinja_orm", ROOT / "benchmarks/canisters/jinja_orm/main.py", True)),
        GoalProgram(Program("benchmarks/canisters/larger", ROOT / "benchmarks/canisters/larger/main.py", True)),
        GoalProgram(Program(REALM, realm, False), tmp / "realm", "realm_backend", small=False),
    ]


def _copy(source: Path, dest: Path, ignore: tuple[str, ...] = ()) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", ".basilisk", *ignore))
    return dest


def make_template(tmp: Path) -> Path:
    path = tmp / "template.wasm"
    path.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return path


def build_env(goal: GoalProgram, template: Path, cache: Path, **extra: str) -> dict[str, str]:
    return {**cache_env(cache), "BASILISK_TEMPLATE_WASM": str(template),
            "CANISTER_CANDID_PATH": f".basilisk/{goal.name}/{goal.name}.did", **extra}


def python_m_basilisk(goal: GoalProgram, template: Path, cache: Path) -> None:
    """ic-basilisk's own build, from a clean .basilisk/ as a CI build starts."""
    project = goal.copy("python-m-basilisk")
    shutil.rmtree(project / ".basilisk", ignore_errors=True)
    run([PYTHON, "-m", "basilisk", goal.name, goal.entry_arg()], cwd=project, env=build_env(goal, template, cache))


def canister(goal: GoalProgram, template: Path, cache: Path, way: str, **extra: str) -> None:
    """basilisk-trace canister NAME ENTRY in the copy for `way`; "cold" starts from an empty .basilisk/
    (give it an empty cache), "warm" rebuilds where it built before."""
    project = goal.copy(way)
    if way == "cold":
        shutil.rmtree(project / ".basilisk", ignore_errors=True)
    run([CLI, "canister", goal.name, goal.entry_arg(), *(["--exercise"] if goal.program.exercise else [])],
        cwd=project, env=build_env(goal, template, cache, **extra))


def peak_mib(action: str, goal: GoalProgram, template: Path, cache: Path) -> float:
    """The largest resident set of any one process of a cold build (the tool's dry run included:
    it runs without the sandbox here, whose PID namespace hides its child from wait4)."""
    project = goal.copy("peak")
    shutil.rmtree(project / ".basilisk", ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    if action == "python -m basilisk":
        command = [PYTHON, "-m", "basilisk", goal.name, goal.entry_arg()]
    else:
        command = [CLI, "canister", goal.name, goal.entry_arg(), *(["--exercise"] if goal.program.exercise else [])]
    env = build_env(goal, template, cache, BASILISK_TRACE_SANDBOX="0")
    # A forked child starts with its parent's peak: this process is large, so a small launcher
    # (python -S, about 7 MiB) forks the command and reports what wait4 says of it.
    done = subprocess.run([PYTHON, "-S", "-c", _LAUNCHER, *command], cwd=project, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-800:]}")
    return int(done.stdout.split()[-1]) / 1024


_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
if os.waitstatus_to_exitcode(status):
    sys.exit(f"exit {os.waitstatus_to_exitcode(status)}")
print(usage.ru_maxrss)
"""
