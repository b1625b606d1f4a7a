"""Bounded reads of the files a user names: a huge file or /dev/zero is one error, never a MemoryError."""

from __future__ import annotations

import os

from basilisk_trace.base.errors import BasiliskTraceError

MIB = 1024 * 1024


class InputTooLargeError(BasiliskTraceError):
    """A file the user named is larger than anything of its kind can be."""


def read_bounded(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of `path`, or InputTooLargeError past `limit`; OSError is the caller's to word.

    One byte past the limit tells "too large" from "exactly the limit" without
    trusting a size that devices and pipes do not have.
    """
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputTooLargeError(f"{what} {os.fspath(path)} is larger than {limit // MIB} MiB, or never ends "
                                 f"(a device such as /dev/zero); pass the right file")
    return data
