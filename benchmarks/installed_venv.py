"""A venv with basilisk-trace installed as a user installs it: from its wheel, without editable finders.

The development venv (.venv) holds two editable installs, the tool's own and a test fixture's;
their finders load at every interpreter start there (pathlib, glob and re: about 10 ms a start).
A user's venv has neither, and the tool starts two interpreters where a baseline starts one. So
`nox -s bench` runs every benchmark, tool and baselines alike, in a venv holding .venv's packages
but those, with the tool built from this checkout and installed from its wheel:

    .venv/bin/python benchmarks/installed_venv.py [TARGET]   # prints TARGET/bin/python
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / ".nox" / "bench-installed"
_LEFT_OUT = ("__editable__", "basilisk_trace", "editable_demo")


def build(target: Path = TARGET) -> Path:
    """Make `target` anew from this interpreter's venv; return its python."""
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    ours = Path(sysconfig.get_path("purelib"))
    theirs = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    for entry in sorted(ours.iterdir()):
        if entry.name.startswith(_LEFT_OUT) or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            shutil.copytree(entry, theirs / entry.name, copy_function=_link, symlinks=True)
        else:
            _link(entry, theirs / entry.name)
    with tempfile.TemporaryDirectory(prefix="bench-wheel-") as out:
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "-w", out, str(ROOT)], check=True)
        [wheel] = Path(out).glob("basilisk_trace-*.whl")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    return python


def _link(source: os.PathLike[str] | str, dest: os.PathLike[str] | str) -> None:
    """A hard link where the filesystem allows one (fast, no space), else a copy."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET))
