"""Code objects compiled ahead (while the init check runs) make the same bytes as compiled when wanted."""

from __future__ import annotations

import subprocess
import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_SOURCE
from basilisk_trace.bundler.write.code_objects import compile_ahead, compile_bundle

ROOT = "/lib/site-packages"
PYTHON = "{0.major}.{0.minor}".format(__import__("sys").version_info)
# Real-shaped modules: shared names and constants across modules, a nested function, a class, one
# that does not compile (left to the runtime, which raises the same SyntaxError).
SOURCES = {
    "app/__init__.py": b"from app.models import User\nVERSION = (1, 2)\n",
    "app/models.py": b"class User:\n    name: str = 'x'\n    def greet(self):\n        return f'hi {self.name}'\n",
    "app/util.py": b"import os\nVERSION = (1, 2)\ndef join(*parts):\n    return os.path.join(*parts)\n",
    "app/broken.py": b"def broken(:\n",
    "data/words.txt": b"not python\n",
}


@settings(max_examples=60, deadline=None)
@given(wanted=st.sets(st.sampled_from(sorted(SOURCES))), likely=st.sets(st.sampled_from(sorted(SOURCES))),
       stop_after=st.integers(min_value=0, max_value=7))
def test_ahead_or_not_the_same_bytes(wanted: set[str], likely: set[str], stop_after: int) -> None:
    """Whatever was compiled ahead (all, some, none: stopped at any point), the blob is the same bytes."""
    stop = threading.Event()
    if stop_after == 0:
        stop.set()
    ahead = compile_ahead(dict(SOURCES), ROOT, PYTHON, likely, stop)
    for item in list(ahead)[stop_after:]:
        del ahead[item]  # stopped part way
    plain = compile_bundle(dict(SOURCES), ROOT, PYTHON, wanted)
    reused = compile_bundle(dict(SOURCES), ROOT, PYTHON, wanted, ahead)
    assert plain is not None and reused is not None
    assert reused.blob == plain.blob and reused.arcnames == plain.arcnames
    assert "app/broken.py" not in plain.arcnames


def test_the_loader_and_the_likely_modules_come_first() -> None:
    stop = threading.Event()
    order = [item[0] for item in compile_ahead(dict(SOURCES), ROOT, PYTHON, {"app/util.py"}, stop)]
    assert order[:2] == ["_basilisk_bootstrap.py", "app/util.py"] and "data/words.txt" not in order
    assert BOOTSTRAP_SOURCE  # the loader is compiled from its own source
    assert compile_ahead(dict(SOURCES), ROOT, "3.0", set(), stop) == {}  # another CPython: nothing


def test_the_first_compile_of_a_process_makes_the_same_bytes() -> None:
    """In a fresh interpreter, the first compile (which interns its strings itself) and the next one
    (which finds them interned) give the same bytes: a nested class's qualname once differed there."""
    script = (
        "import sys, threading\n"
        "from basilisk_trace.bundler.write.code_objects import compile_bundle\n"
        f"sources = {SOURCES!r}\n"
        f"first = compile_bundle(dict(sources), {ROOT!r}, {PYTHON!r}, set(sources))\n"
        f"again = compile_bundle(dict(sources), {ROOT!r}, {PYTHON!r}, set(sources))\n"
        "sys.exit(0 if first.blob == again.blob else 1)\n"
    )
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 0
