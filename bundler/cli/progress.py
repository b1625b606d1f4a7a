"""Progress on the terminal for any step that takes more than a second."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

DELAY = 1.0


@contextmanager
def progress(label: str, *, enabled: bool | None = None) -> Iterator[None]:
    """Say `label...` on stderr if the step is still running after a second, then how long it took."""
    show = sys.stderr.isatty() if enabled is None else enabled
    started = time.monotonic()
    shown = threading.Event()

    def announce() -> None:
        shown.set()
        sys.stderr.write(f"basilisk-trace: {label}...\n")
        sys.stderr.flush()

    timer = threading.Timer(DELAY, announce) if show else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.cancel()
        if shown.is_set():
            sys.stderr.write(f"basilisk-trace: {label}: done in {time.monotonic() - started:.1f}s\n")
