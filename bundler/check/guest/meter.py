"""Marks for verify's instruction meter: the host notes the Wasm fuel spent at each one.

Loaded by the guest scripts (never imported by the tool). Under `verify --runtime wasi` the
host answers the WASI call `fd_advise` itself when its offset carries TAG: it records the
fuel spent so far under the mark's number and does nothing else. The guest names each mark
(`marks` in its result), so the host can tell what ran between two of them. Elsewhere (the
host runtime) a meter without a file marks nothing.
"""

import os

TAG = 0x42534B0000000000  # "BSK" in the high bytes: no file offset a program advises on
_ADVISE = getattr(os, "posix_fadvise", None)


class Meter:
    """Numbered marks, taken only where the host meters (`path` names a file the guest can open)."""

    def __init__(self, path):
        # Opened now: once ic-basilisk's preamble runs, `os` and `open` may be its in-memory ones.
        self.fd = os.open(path, os.O_RDONLY) if path and _ADVISE is not None else None
        self.marks = []

    def mark(self, label):
        if self.fd is None:
            return
        self.marks.append(label)
        _ADVISE(self.fd, TAG + len(self.marks) - 1, 0, 0)
