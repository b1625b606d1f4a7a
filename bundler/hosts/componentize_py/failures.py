"""What a guest's stderr says about a failed call: the Python traceback, the module or file it missed.

componentize-py prints an uncaught exception's traceback to the guest's stderr and then panics
("Python function threw an unexpected exception"); wasmtime reports only the trap. Paths in the
guest name where each file was mounted at build time: /0, /1, ... the python path, /python
the stdlib, /world the bindings, /bundled componentize-py's helpers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BLOCK = "Traceback (most recent call last):"
_FRAME = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)')
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning))(?::\s?(.*))?$")
_MISSING = re.compile(r"No module named '([^']+)'")
_FROM = re.compile(r"cannot import name '([^']+)' from '([^']+)'")
_CODEC = re.compile(r"unknown encoding: ([\w.-]+)")
_NO_FILE = re.compile(r"No such file or directory: '([^']+)'")
_MOUNTS = re.compile(r"^/(?:\d+|world|bundled|python(?:/lib/python3\.\d+)?)/")
_OWN = re.compile(r"^/\d+/")
_PANIC = re.compile(r"^thread '.*' .*panicked at (.*)$")


@dataclass(frozen=True)
class Frame:
    module: str  # the module, from the file's path under its mount
    line: int
    function: str
    own: bool = True  # the app's (its python path's), not the stdlib's or componentize-py's

    def __str__(self) -> str:
        return f"{self.module} (line {self.line}, in {self.function})"


@dataclass(frozen=True)
class GuestError:
    """The exception a call ended with, as the guest printed it."""

    error: str  # "ModuleNotFoundError: No module named 'json'"
    frames: tuple[Frame, ...]
    module: str | None = None  # the module that could not be imported
    file: str | None = None  # the file that could not be opened (relative to its mount when it had one)
    traceback: str = ""

    @property
    def importer(self) -> Frame | None:
        """The app's own frame nearest the failure (else the last one): who needed what was missing."""
        own = [f for f in self.frames if f.own]
        return own[-1] if own else self.frames[-1] if self.frames else None

    @property
    def chain(self) -> str:
        """Where it happened, outermost first, ending at what was missing."""
        steps = [str(f) for f in self.frames]
        missing = self.module or self.file
        return " -> ".join([*steps, missing] if missing else steps)


def guest_error(stderr: str, trap: str) -> GuestError:
    """The call's failure from the guest's stderr; the trap (or a guest panic) when it printed no traceback."""
    blocks = _blocks(stderr)
    found = [_error(block) for block in blocks]
    # An import that failed inside an `except` (or as the cause) explains the rest: prefer it.
    for error in reversed(found):
        if error.module or error.file:
            return error
    if found:
        return found[-1]
    panic = next((line.strip() for line in stderr.splitlines()[::-1] if line.strip() and not _PANIC.match(line)), "")
    return GuestError(f"{trap}" + (f" ({panic})" if panic else ""), ())


def _blocks(stderr: str) -> list[list[str]]:
    blocks: list[list[str]] = []
    for line in stderr.splitlines():
        if line.startswith(_BLOCK):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    return blocks


def _error(block: list[str]) -> GuestError:
    frames = []
    error = ""
    end = len(block)
    for index, line in enumerate(block[1:], 1):
        frame = _FRAME.match(line)
        if frame and not frame.group(1).startswith("<frozen "):  # the import machinery: never the importer
            path = frame.group(1)
            frames.append(Frame(module_of(path), int(frame.group(2)), frame.group(3), bool(_OWN.match(path))))
        elif _EXCEPTION.match(line.strip()):
            error, end = line.strip(), index + 1
            break
    module = file = None
    codec = _CODEC.search(error) if error.startswith("LookupError") else None
    if error.startswith(("ModuleNotFoundError", "ImportError")):
        named = _FROM.search(error)
        missing = _MISSING.search(error)
        module = missing.group(1) if missing else f"{named.group(2)}.{named.group(1)}" if named else None
    elif codec is not None:
        module = codec_module(codec.group(1))
    elif error.startswith("FileNotFoundError"):
        path = _NO_FILE.search(error)
        file = _MOUNTS.sub("", path.group(1)) if path else None
    text = "\n".join(line for line in block[:end] if line.strip())
    return GuestError(error or block[-1].strip(), tuple(frames), module, file, text)


def module_of(path: str) -> str:
    """/0/helperpkg/lazy.py -> helperpkg.lazy; /python/json/__init__.py -> json; other paths as they are."""
    if not _MOUNTS.match(path) or not path.endswith(".py"):
        return path
    parts = _MOUNTS.sub("", path).removesuffix(".py").split("/")
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def codec_module(name: str) -> str:
    """The encodings module a codec's lookup imports: its search function swallows the ImportError, and
    says "unknown encoding" instead."""
    from encodings import aliases, normalize_encoding

    normal = normalize_encoding(name).lower()
    return f"encodings.{aliases.aliases.get(normal, normal)}"
