"""nox sessions: lint, tests, fuzz and bench, run in the project's .venv (nothing installed)."""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
# The project's .venv: its ruff, mypy and pytest, whichever nox runs this file.
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin" / "python").exists() else Path(sys.executable).parent
PYTHON = str(BIN / "python")
BENCHMARKS = ("bench_goals.py", "bench_trace.py", "bench_bundle.py", "bench_inject.py", "bench_build.py",
              "bench_canister.py", "bench_init.py", "bench_component.py")

nox.options.sessions = ["lint", "tests"]


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff over the code, tests, benchmarks and this file; mypy over basilisk_trace."""
    session.run(str(BIN / "ruff"), "check", "base", "tracer", "bundler", "tests", "benchmarks", "tools", "noxfile.py", "setup.py")
    # mypy cannot follow setuptools' package-dir mapping: give it basilisk_trace as a link tree.
    tree = ROOT / ".nox" / "mypy-tree"
    package = tree / "basilisk_trace"
    package.mkdir(parents=True, exist_ok=True)
    for name in ("base", "tracer", "bundler"):
        if not (package / name).exists():
            (package / name).symlink_to(ROOT / name, target_is_directory=True)
    session.run(str(BIN / "mypy"), "-p", "basilisk_trace", env={"MYPYPATH": str(tree)})


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The test suite; extra arguments go to pytest (nox -s tests -- -k archive)."""
    session.run(PYTHON, "-m", "pytest", "-q", *session.posargs)


@nox.session(venv_backend="none")
def fuzz(session: nox.Session) -> None:
    """The fuzz tests, longer: the `long` hypothesis profile of tests/conftest.py, a random seed."""
    session.run(PYTHON, "-m", "pytest", "-q", "-k", "fuzz", *session.posargs,
                env={"HYPOTHESIS_PROFILE": "long"})


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """Every benchmark, the goals first (each ratio beside its baseline from the same run); results in benchmarks/results/.

    Tool and baselines run in a venv with the tool installed from its wheel, as users have it
    (benchmarks/installed_venv.py); `nox -s bench -- --dev` runs them in .venv, editable installs and all.
    """
    python = PYTHON
    if "--dev" not in session.posargs:
        python = session.run(PYTHON, str(ROOT / "benchmarks" / "installed_venv.py"), silent=True).strip().splitlines()[-1]
    for script in BENCHMARKS:
        session.run(python, str(ROOT / "benchmarks" / script))
