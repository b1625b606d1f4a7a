"""Atomic output: write to a temporary file beside the target, then rename."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.launch import check_cancelled
from basilisk_trace.base.read import file_kind
from basilisk_trace.bundler.plan.containment import own_output


class OutputError(BasiliskTraceError):
    """An output file cannot be written where the user asked."""


def write_atomic(path: str | os.PathLike[str], data: bytes, *,
                 inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Write `data` to `path` so that readers see the old file or the new one, never a part.

    The temporary file lives in the same directory, so the final rename never
    crosses a filesystem. A failure leaves any existing file untouched. Only a
    regular file (or a new one) is replaced, and never one of `inputs`. Once the run is
    interrupted (Ctrl-C, SIGTERM, SIGHUP) nothing is written any more.
    """
    check_cancelled()
    target = Path(path)
    check_output(target, inputs)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise OutputError(f"cannot write {target}: directory {directory} does not exist; create it first")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}; choose a writable directory") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        check_cancelled()  # interrupted while writing: the temporary file goes, the target stays
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def check_output(target: Path, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Refuse to replace anything but a regular file, and any file this run read.

    The rename would turn a device, FIFO or symlink into a regular file: as root,
    `-o /dev/null` would destroy /dev/null. Streaming is what `-` is for, where
    a command offers it.
    """
    try:
        found = os.lstat(target)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror}") from None
    if not stat.S_ISREG(found.st_mode):
        raise OutputError(f"refusing to write {target}: it is {file_kind(found.st_mode)}, and basilisk-trace "
                          "replaces only regular files; choose a file path")
    for source in inputs:
        try:
            same = os.path.samestat(found, os.stat(source))
        except OSError:
            continue
        if same and not own_output(os.fspath(target)):
            raise OutputError(f"refusing to write {target}: it is {os.fspath(source)}, an input of this run "
                              "(the entry or a file it loads); choose another output path")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
