"""Start-up of the command line: only the invoked command is built, and nothing heavy is imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import run_cli

from basilisk_trace.bundler.cli.app import COMMANDS

_IMPORTED = """
import sys
from basilisk_trace.bundler.cli.app import main
sys.argv = ["basilisk-trace", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("pydantic", "rich", "basilisk_trace.tracer._dryrun",
                           "basilisk_trace.bundler.plan.planner") if m in sys.modules)
print("IMPORTED", ",".join(heavy), file=sys.stderr)
"""


def imported(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _IMPORTED, *args], capture_output=True, text=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("IMPORTED"))
    return [m for m in line.removeprefix("IMPORTED ").split(",") if m]


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["trace", "--help"], ["bundle", "--help"],
                                  ["why", "--bundle", "missing.zip", "x"]])
def test_answers_without_pydantic_rich_or_the_tracer(args: list[str]) -> None:
    assert imported(*args) == []


def test_help_lists_every_command() -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    for name in COMMANDS:
        assert f"  {name} " in done.stdout, name


def test_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0 and done.stdout.startswith("basilisk-trace ")
    # Answered before the command line library loads, with what typer's --version prints.
    probe = subprocess.run([sys.executable, "-c", _IMPORTED.replace('"pydantic", ', '"typer", "pydantic", '),
                            "--version"], capture_output=True, text=True)
    assert "IMPORTED \n" in probe.stderr + "\n" and probe.stdout == done.stdout
    both = run_cli("--version", "--help")  # not the plain --version: typer answers it, the same way
    assert both.returncode == 0 and both.stdout == done.stdout


@pytest.mark.parametrize(("args", "words"), [
    (["trace", "main.py", "--timeout", "inf"], "--timeout must be a number of seconds between 0 and 86400"),
    (["bundle", "main.py", "--max-size", "big"], "'big' is not a valid int"),
    (["bundle", "main.py", "--max-size", "0"], "--max-size must be a positive number of bytes"),
    (["nosuch"], "No such command 'nosuch'"),
])
def test_usage_errors(args: list[str], words: str) -> None:
    done = run_cli(*args)
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_repeated_options_and_lists(tmp_path) -> None:  # type: ignore[no-untyped-def]
    entry = tmp_path / "main.py"
    entry.write_text("import json\n")
    done = run_cli("bundle", entry, "-o", tmp_path / "b.zip", "--exclude", "a", "--exclude", "b",
                   "--no-exercise", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "b.zip").exists()
