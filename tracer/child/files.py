"""The program's file reads (runs in the child): opens the audit hook sees, and an open() that
tells a file that was read from one only opened to test that it exists (pytz probes ~600)."""

import io
import os
import sys

_FRAMES = sys.modules["_basilisk_trace_load"].load("frames")


def note_open(state, args):
    """The audit hook's `open` event: a file opened for reading, and the module that opened it."""
    path, mode, flags = args
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, (str, bytes)) or not path:
        return
    path = os.path.abspath(os.fsdecode(path))
    writing = (mode is not None and any(c in mode for c in "wax+")) or (
        mode is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
    )
    if writing:
        return
    if path.endswith((".py", ".pyc")) or path in state.opened:
        return
    state.opened[path] = {"module": _FRAMES.frame_module(_FRAMES.importer_frame(3)[0]), "tracked": False}


class TrackedReader(io.BufferedReader):
    """A read-only binary file that notes whether it was ever read."""

    def _note(self):
        self._bt_state.read.add(self._bt_path)

    def read(self, *args):
        self._note()
        return super().read(*args)

    def read1(self, *args):
        self._note()
        return super().read1(*args)

    def readinto(self, *args):
        self._note()
        return super().readinto(*args)

    def readinto1(self, *args):
        self._note()
        return super().readinto1(*args)

    def readline(self, *args):
        self._note()
        return super().readline(*args)

    def readlines(self, *args):
        self._note()
        return super().readlines(*args)

    def peek(self, *args):
        self._note()
        return super().peek(*args)

    def __next__(self):
        self._note()
        return super().__next__()


real_open = io.open
STATE = None  # the runner's state, bound while the program runs


def tracked_open(file, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
                  closefd=True, opener=None):
    """open() for read-only paths returns a file that records whether it was read."""
    if (STATE is None or not STATE.active or mode not in ("r", "rb", "rt", "br", "tr")
            or buffering == 0 or not isinstance(file, (str, bytes, os.PathLike))):
        return real_open(file, mode, buffering, encoding, errors, newline, closefd, opener)
    raw = io.FileIO(file, "r", closefd=closefd, opener=opener)
    try:
        size = buffering if buffering > 1 else io.DEFAULT_BUFFER_SIZE
        buffered = TrackedReader(raw, size)
        buffered._bt_state = STATE
        buffered._bt_path = os.path.abspath(os.fsdecode(os.fspath(file)))
        entry = STATE.opened.get(buffered._bt_path)
        if entry is not None:
            entry["tracked"] = True
        if "b" in mode:
            return buffered
        text = io.TextIOWrapper(buffered, io.text_encoding(encoding), errors, newline)
        text.mode = "r"
        return text
    except BaseException:
        raw.close()
        raise
