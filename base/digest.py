"""Keyed digests of files the tool may not trust: the trace cache's, and a replayed command's stamps.

Loaded before anything heavy (a replay answers before the command line library loads): stdlib only.
"""

from __future__ import annotations

import os
import stat
import time

try:  # blake2 alone: hashlib also loads OpenSSL
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a CPython built without it
    from hashlib import blake2b

_CHUNK = 1024 * 1024
DIGEST_LIMIT = 256 * 1024 * 1024


def keyed_digest(path: str, secret: bytes) -> str | None:
    """The keyed digest of a regular file's content; a FIFO, a device or a file past 256 MiB by its
    kind and size, never read (nor waited on); None when it cannot be opened or read."""
    hasher = blake2b(key=secret, digest_size=20)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError:
        return None
    found = os.fstat(fd)
    if not stat.S_ISREG(found.st_mode) or found.st_size > DIGEST_LIMIT:  # a folder cannot even be read
        os.close(fd)
        return f"{stat.S_IFMT(found.st_mode)}:{found.st_size}"
    # The caches and the replay record each stamp the same files after a build: read once. Any
    # write since changes the change time (a replaced file, the inode), and the file is read again;
    # one changed within the last second is always read (a clock tick may hold two writes).
    seen = (path, secret, found.st_dev, found.st_ino, found.st_size, found.st_mtime_ns, found.st_ctime_ns)
    if seen in _SEEN:
        os.close(fd)
        return _SEEN[seen]
    settled = found.st_ctime_ns < time.time_ns() - _SETTLED_NS
    with os.fdopen(fd, "rb") as handle:
        try:
            left = DIGEST_LIMIT
            while left > 0 and (chunk := handle.read(min(_CHUNK, left))):
                hasher.update(chunk)
                left -= len(chunk)
        except OSError:
            return None
    digest = hasher.hexdigest()
    if settled:
        _SEEN[seen] = digest
    return digest


_SETTLED_NS = 1_000_000_000
_SEEN: dict[tuple[str, bytes, int, int, int, int, int], str] = {}
