"""What a successful `trace`, `bundle` or `canister` run leaves for replay.py: its output and its stamps.

A command calls `remember(...)` once it has succeeded, naming what only it knows (the
outputs it wrote, the files it bundled, the sources ic-basilisk's build read); the rest is
stamped here: the trace's fingerprint, the settings files and project markers above the
entry and the working directory, the entry's real path, the interpreter, ic-basilisk's
files, bubblewrap, typer. `finish()` stores the record when the command exits with 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from basilisk_trace.bundler.cli import replay

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request

# Where settings and the project's root are looked up: every ancestor's, present or absent.
_MARKERS = ("pyproject.toml", "dfx.json", "icp.yaml")


class _Tee:
    """A text stream that also keeps what is written to it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.kept: list[str] = []

    def write(self, text: str) -> int:
        written = self.stream.write(text)  # click probes with bytes: a text stream refuses them
        self.kept.append(text)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


class Recorder:
    """One command's run: what it printed, and what it depended on once it says so."""

    def __init__(self, args: list[str], prog: str) -> None:
        self.args, self.prog = list(args), prog
        self.stamps: list[list[Any]] | None = None
        self.trace: dict[str, Any] | None = None
        self.out, self.err = _Tee(sys.stdout), _Tee(sys.stderr)
        sys.stdout, sys.stderr = self.out, self.err

    def finish(self, code: object) -> None:
        sys.stdout, sys.stderr = self.out.stream, self.err.stream
        if code in (0, None) and self.stamps is not None and self.trace is not None:
            with contextlib.suppress(Exception):  # a record not kept only costs time next run
                self._store()

    def _store(self) -> None:
        from basilisk_trace.tracer import _cache

        directory = Path(replay.cache_dir())
        if not _cache.prepare(directory):
            return
        stderr = "".join(line for line in "".join(self.err.kept).splitlines(keepends=True) if not _said_while_running(line))
        record = {"schema": replay.SCHEMA, "stdout": "".join(self.out.kept), "stderr": stderr,
                  "stamps": self.stamps, "trace": self.trace}
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".replay-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(record))
            os.replace(tmp, directory / f"replay-{replay.key(self.args, self.prog)}.json")
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _said_while_running(line: str) -> bool:
    """A note that a program runs unsandboxed, or a progress line: a replay runs nothing."""
    text = line.rstrip("\n")
    return text.startswith("basilisk-trace: ") and (
        text.startswith("basilisk-trace: note: ") or text.endswith("...") or _PROGRESS_DONE.search(text) is not None)


_PROGRESS_DONE = re.compile(r": done in \d+\.\ds$")
RECORDER: Recorder | None = None


def start(args: list[str], prog: str) -> None:
    """Keep what this command prints, if it is one that can be replayed."""
    global RECORDER
    if args and args[0] in replay.COMMANDS and not any(a in ("--help", "-h") for a in args):
        RECORDER = Recorder(args, prog)


def finish(code: object) -> None:
    if RECORDER is not None:
        RECORDER.finish(code)


def remember(request: Request, *, outputs: Iterable[str | Path] = (), sources: Iterable[str | Path] = (),
             folders: Iterable[str | Path] = (), checked: Iterable[str | Path] = ()) -> None:
    """The command succeeded: stamp what it wrote (`outputs`), read (`sources`, `folders`' listings)
    and looked for (`checked`: present or not), and everything its request depended on."""
    if RECORDER is None:
        return
    from basilisk_trace import tracer
    from basilisk_trace.bundler.pipeline.bundle import host_dry_run

    found = tracer.cache_entry(request.entry, host_dry_run(request)[1])
    secret = _secret(found[0]) if found else None
    trace = tracer.saved_fingerprint(*found) if found else None
    if found is None or secret is None or trace is None:
        return  # the trace is not cached: nothing proves it would be the same
    stamps: list[list[Any]] = [["sha", str(p), replay.digest(str(p), secret)] for p in (*outputs, *sources)]
    stamps += [["ls", str(p), replay.listing(str(p), secret)] for p in folders]
    stamps += [["exists", str(p), os.path.lexists(p)] for p in checked]
    stamps += _request_stamps(request, secret)
    RECORDER.stamps, RECORDER.trace = stamps, trace


def _secret(directory: Path) -> bytes | None:
    from basilisk_trace.tracer import _cache

    return _cache._secret(directory)


def _request_stamps(request: Request, secret: bytes) -> list[list[Any]]:
    """What turned the command line into this request and its trace's key, besides the key's own parts."""
    entry = os.path.abspath(request.entry)
    stamps: list[list[Any]] = [["real", entry, os.path.realpath(entry)], ["which", "bwrap", replay.which("bwrap")]]
    for folder in _ancestors(entry, os.path.realpath(entry), os.getcwd()):
        stamps += [["sha", os.path.join(folder, m), replay.digest(os.path.join(folder, m), secret)] for m in _MARKERS]
        stamps.append(["exists", os.path.join(folder, ".git"), os.path.lexists(os.path.join(folder, ".git"))])
    if request.runtime_modules is not None:
        stamps.append(["sha", str(request.runtime_modules), replay.digest(str(request.runtime_modules), secret)])
    if request.dry_run.python:
        python = os.path.realpath(request.dry_run.python)
        stamps.append(["stat", python, replay.stamp("stat", python, secret)])
    return stamps + _code_stamps()


def _ancestors(*paths: str) -> list[str]:
    found: list[str] = []
    for path in paths:
        folder = os.path.dirname(path) if not os.path.isdir(path) else path
        while folder not in found:
            found.append(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return found


def _code_stamps() -> list[list[Any]]:
    """Code outside the tool that decided the result: typer's (the parse), ic-basilisk's (its layer, its build)."""
    import typer

    from basilisk_trace.tracer._layer import find_basilisk_dir

    files = [Path(typer.__file__).parent / name for name in ("__init__.py", "main.py", "core.py")]
    basilisk = find_basilisk_dir()
    if basilisk is not None:
        files += sorted(basilisk.glob("*.py")) + sorted((basilisk / "compiler" / "cpython_canister_template" / "src").glob("*"))
    return [["stat", str(p), replay.stamp("stat", str(p), b"")] for p in files]
