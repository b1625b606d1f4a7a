"""What the tool itself knows of the interpreter a dry run uses, asked before the run.

The dry run's own report names its site-packages and stdlib, but the program could have
rewritten it: every path it reports is judged by these answers instead (tracer/_judge.py).
"""

from __future__ import annotations

import ast
import functools
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from basilisk_trace.base.errors import DryRunError
from basilisk_trace.base.launch import ChildStartError, ask_interpreter, ask_interpreter_ahead
from basilisk_trace.base.sandbox import broad

_SCRIPT = Path(__file__).resolve().with_name("child") / "interpreter.py"
_SITE_NAMES = ("site-packages", "dist-packages")


@dataclass(frozen=True)
class Interpreter:
    """Where one interpreter imports from: each folder as named and with its links resolved."""

    version: str
    executable: str
    stdlib: tuple[str, ...]
    site_packages: tuple[str, ...]
    sources: tuple[str, ...]  # folders .pth files, editable finders and PYTHONPATH add
    stdlib_names: frozenset[str]

    def is_stdlib(self, name: str, origin: str | None) -> bool:
        """A module of the standard library: its file under the stdlib and not in site-packages, or
        no file and a stdlib name."""
        if origin:
            return under(origin, self.stdlib) and not under(origin, self.site_packages)
        return name.partition(".")[0] in self.stdlib_names


def under(path: str, roots: tuple[str, ...]) -> bool:
    """Whether `path` lies in one of `roots`, as named and with every link resolved."""
    named, real = os.path.abspath(path), os.path.realpath(path)
    return any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in roots for p in (named, real))


def interpreter(python: str) -> Interpreter:
    """The answers of `python` (asked once per interpreter file and process), or a DryRunError."""
    real = os.path.realpath(python)
    try:
        stamp = os.stat(real).st_mtime_ns
    except OSError:
        stamp = 0
    try:
        with _ASKING:  # one question at a time
            return _ask(python, stamp, os.environ.get("PYTHONPATH", ""))
    except ChildStartError as exc:
        raise DryRunError(f"cannot start the interpreter {python}: {exc.reason}; check --python") from None
    except (ValueError, KeyError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise DryRunError(f"the interpreter {python} did not say where its packages are; check --python") from None


_ASKING = threading.Lock()


def ask_ahead(python: str) -> None:
    """Start the question `interpreter(python)` asks, for its answer to be there when asked
    (unless this process knows it already)."""
    if not _ask.cache_info().currsize:
        ask_interpreter_ahead(python, _SCRIPT)


@functools.cache
def _ask(python: str, stamp: int, pythonpath: str) -> Interpreter:
    answer = ast.literal_eval(ask_interpreter(python, _SCRIPT).decode("utf-8", "surrogateescape").strip())
    # PYTHONPATH reaches the dry run (it is passed on), so its folders are where code comes from too;
    # one named like site-packages counts as one, as the dry run counts it.
    extra = [p for p in pythonpath.split(os.pathsep) if p and os.path.isabs(p) and not broad(p)]
    sites = [*answer["site_packages"], *(p for p in extra if any(n in p for n in _SITE_NAMES))]
    return Interpreter(
        version=str(answer["version"]),
        executable=str(answer["executable"]),
        stdlib=_both(answer["stdlib"]),
        site_packages=_both(sites),
        sources=_both([*answer["sources"], *extra]),
        stdlib_names=frozenset(str(n) for n in answer["stdlib_names"]),
    )


def _both(paths: list[str]) -> tuple[str, ...]:
    """Each path as named and with its links resolved, once, in order."""
    found: dict[str, None] = {}
    for path in paths:
        if isinstance(path, str) and os.path.isabs(path):
            found.setdefault(os.path.abspath(path).rstrip(os.sep) or os.sep, None)
            found.setdefault(os.path.realpath(path), None)
    return tuple(found)
