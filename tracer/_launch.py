"""Start a child interpreter on one of the child scripts: the one way user code is run."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHILD_DIR = Path(__file__).resolve().with_name("child")
RUNTIME_DIR = CHILD_DIR.parent / "runtime"
STUB_RUNTIME = RUNTIME_DIR / "stubs"
# Variables the child keeps; everything else is scrubbed from its environment.
PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "VIRTUAL_ENV",
              "PYTHONPATH", "SYSTEMROOT")


class ChildTimeout(Exception):
    """The child did not finish in time and was killed."""


class ChildStartError(Exception):
    """The interpreter could not be started."""

    def __init__(self, python: str, reason: str) -> None:
        super().__init__(reason)
        self.python = python
        self.reason = reason


@dataclass(frozen=True)
class ChildRun:
    """What a child left: its result document (None when it crashed first) and its stderr tail."""

    result: dict[str, Any] | None
    returncode: int
    stderr_tail: tuple[str, ...]


def passed_names() -> list[str]:
    """The names (never the values) of the caller's variables the child sees."""
    return sorted(k for k in PASSED_ENV if k in os.environ)


def scrubbed_env() -> dict[str, str]:
    """The child's environment: the passed variables only, with deterministic hashing."""
    env = {k: v for k, v in os.environ.items() if k in PASSED_ENV}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8")
    return env


def child_files() -> dict[str, bytes]:
    """The child scripts and runtime stand-ins, by path relative to the tracer, for staging elsewhere."""
    root = CHILD_DIR.parent
    files = {}
    for folder in (CHILD_DIR, RUNTIME_DIR):
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                files[path.relative_to(root).as_posix()] = path.read_bytes()
    return files


def run_child(script: str, config: dict[str, Any], *, python: str, flags: tuple[str, ...],
              cwd: Path | None, timeout: float, tail: int = 5) -> ChildRun:
    """Run child/SCRIPT.py with CONFIG in a fresh interpreter and read back the JSON it writes."""
    import tempfile  # only when a child runs: a cached trace never needs it

    with tempfile.TemporaryDirectory(prefix="basilisk-trace-") as tmp:
        config_path, out_path = Path(tmp, "config.json"), Path(tmp, "result.json")
        config_path.write_text(json.dumps(config), encoding="utf-8")
        command = [python, *flags, str(CHILD_DIR / "_load.py"), script, str(config_path), str(out_path)]
        try:
            done = subprocess.run(command, cwd=cwd or tmp, env=scrubbed_env(), capture_output=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ChildTimeout(script) from None
        except OSError as exc:
            raise ChildStartError(python, exc.strerror or str(exc)) from None
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()[-tail:]
        result = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else None
    return ChildRun(result, done.returncode, tuple(lines))
