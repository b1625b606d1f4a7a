"""Whether a traced path really lies inside the project or site-packages, with every link resolved."""

from __future__ import annotations

import os
from collections.abc import Iterable


def real_roots(roots: Iterable[str]) -> tuple[str, ...]:
    """The roots with their own links resolved, so that a linked site-packages still counts."""
    return tuple(sorted({os.path.realpath(root) for root in roots}))


def escape(path: str, roots: tuple[str, ...]) -> str | None:
    """Where `path` really is when a symbolic link takes it out of every root; None when it stays in.

    Deciding on the path as the program named it would let `key.txt -> ~/.ssh/id_rsa`
    in the project put the key into the bundle.
    """
    real = os.path.realpath(path)
    for root in roots:
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return None
    return real


# The name write/archive.py gives the manifest inside every bundle (a test keeps them equal).
BUNDLE_MANIFEST = b"basilisk-bundle.json"
_WASM_MAGIC = b"\0asm"
_ZIP_MAGIC = b"PK\x03\x04"


def own_output(path: str) -> bool:
    """Whether `path` is a bundle, or a canister holding one, that basilisk-trace wrote.

    A program that reads every file of its folder would otherwise put last run's
    bundle.zip into this one, which then grows on every run.
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
            if head not in (_ZIP_MAGIC, _WASM_MAGIC):
                return False
            handle.seek(0)
            # Every bundle names its manifest in its ZIP directory, and a canister carries the bundle whole.
            return BUNDLE_MANIFEST in handle.read()
    except OSError:
        return False
