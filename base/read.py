"""Bounded reads: a huge file, /dev/zero or a FIFO is one error, never a MemoryError or a hang.

Two kinds of file are read. Those a user names (`read_bounded`): links are followed, as the
user means the file behind them. Those a contained program could have written or replaced
(`read_untrusted`): opened inside a folder the tool made, without following a link.
"""

from __future__ import annotations

import os
import stat

from basilisk_trace.base.errors import BasiliskTraceError

MIB = 1024 * 1024
# Never wait for a writer (a FIFO) nor take a terminal; never leak into a child.
_OPEN = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class InputTooLargeError(BasiliskTraceError):
    """A file the user named is larger than anything of its kind can be."""


class NotAFileError(BasiliskTraceError):
    """A file the user named is a FIFO, a device, a socket or a directory: nothing the tool reads."""


class UntrustedFileError(Exception):
    """A file a contained program wrote is not a regular file of bounded size; `reason` says what it is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bounded(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of the regular file `path`, or one error past `limit` or for anything else; OSError is the
    caller's to word.

    Opened without blocking, so that a FIFO is refused at once instead of waiting for a writer.
    One byte past the limit tells "too large" from "exactly the limit" without trusting a size
    that /proc files do not report.
    """
    fd = os.open(path, _OPEN)
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise NotAFileError(f"{what} {os.fspath(path)} is {file_kind(found.st_mode)}, not a file of at most "
                                f"{limit // MIB} MiB; pass the file itself")
        # A sparse 5 GB file is refused by its size, never read; /proc files say 0 and are read.
        too_large = found.st_size > limit
        data = b"" if too_large else _read(fd, limit + 1)
    finally:
        os.close(fd)
    if too_large or len(data) > limit:
        raise InputTooLargeError(f"{what} {os.fspath(path)} is larger than {limit // MIB} MiB; pass the right file")
    return data


def read_untrusted(name: str, limit: int, *, dir_fd: int) -> bytes | None:
    """The bytes of `name` in the folder open as `dir_fd`, read as a contained program may have left it.

    None when it does not exist; UntrustedFileError when it is a link, a FIFO, a device or
    anything but a regular file of at most `limit` bytes. The folder is held open, so that
    renaming it away and putting a link in its place changes nothing.
    """
    try:
        fd = os.open(name, _OPEN | _NOFOLLOW, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:
        # ELOOP: O_NOFOLLOW met a link. Anything else: it cannot be read, which is no better.
        raise UntrustedFileError(_why_unopened(name, dir_fd, exc)) from None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            raise UntrustedFileError(file_kind(found.st_mode))
        if found.st_size > limit:
            raise UntrustedFileError(f"larger than {limit // MIB} MiB")
        data = _read(fd, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UntrustedFileError(f"larger than {limit // MIB} MiB")
    return data


def tail_untrusted(name: str, most: int, *, dir_fd: int) -> bytes:
    """The last `most` bytes of `name` in the folder `dir_fd`, read as untrusted; b"" for anything but a
    regular file (a program's output log, which it may have made huge or replaced by a link)."""
    try:
        fd = os.open(name, _OPEN | _NOFOLLOW, dir_fd=dir_fd)
    except OSError:
        return b""
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode):
            return b""
        return os.pread(fd, most, max(0, found.st_size - most))
    finally:
        os.close(fd)


def _why_unopened(name: str, dir_fd: int, exc: OSError) -> str:
    try:
        found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return exc.strerror or str(exc)
    return file_kind(found.st_mode) if not stat.S_ISREG(found.st_mode) else exc.strerror or str(exc)


def _read(fd: int, most: int) -> bytes:
    chunks = []
    left = most
    while left > 0:
        chunk = os.read(fd, min(left, MIB))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words: "a FIFO", "a character device", ..."""
    kinds = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")
