"""ic-basilisk's method extraction, run ahead of its build (while the dry run runs) and reused by it.

ic-basilisk 0.16.1's `build_with_template` extracts the canister's methods from the sources of
the entry's folder and again from those of the whole `src/` tree: on a large canister that is
most of `python -m basilisk`'s time. Its `extract_methods_from_python` only reads the text it is
given, so its results can be computed before the build, and the same text's result reused.
The build still calls it; a text computed ahead (the same bytes) gets that result, a copy;
any other text is extracted then, as without this module.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import marshal
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from basilisk_trace.base.processes import tracked

__all__ = ["Ahead", "ahead", "load_build", "methods_ahead", "read_by_build", "reusing", "start_early",
           "start_methods_ahead"]

Results = dict[str, Any]  # source text -> extract_methods_from_python(text)
# From this many bytes of sources on, the extraction pays for a process of its own (about 30 ms to
# start), where it runs beside this one's work instead of holding its interpreter.
OWN_PROCESS = 64 * 1024
_SCRIPT = Path(__file__).resolve().with_name("child") / "extract_methods.py"


def _trees(entry: str) -> list[tuple[str, str | None]]:
    """The folders the build walks for sources, as (top, skipped subtree): none for an entry at the root."""
    folder = os.path.dirname(entry)
    if not folder or not os.path.isdir(folder):
        return []
    parts = os.path.normpath(entry).split(os.sep)
    root = folder
    if "src" in parts:
        candidate = os.sep.join(parts[: parts.index("src") + 1])
        if os.path.isdir(candidate):
            root = candidate
    return [(folder, None), (root, os.path.normpath(folder))]


def read_by_build(entry: str) -> tuple[list[str], list[str]]:
    """The .py files ic-basilisk's build reads to find the methods, and every folder it walks."""
    own, rest, folders = _walk(entry)
    return own + rest, folders


def _walk(entry: str) -> tuple[list[str], list[str], list[str]]:
    """The .py files of the entry's folder, then those of the rest of the `src/` tree, in the order
    the build reads them, and the folders it walks."""
    found: list[list[str]] = [[], []]
    folders = []
    for index, (top, skip) in enumerate(_trees(entry)):
        for root, _dirs, names in os.walk(top):
            if skip is None or not os.path.normpath(root).startswith(skip):
                folders.append(root)
                found[index] += [os.path.join(root, n) for n in sorted(names) if n.endswith(".py")]
    return found[0], found[1], folders


def sources(entry: str) -> list[str]:
    """The texts build_with_template gives extract_methods_from_python, assembled as it does.

    Mirrors ic-basilisk 0.16.1 (entry folder first, then the rest of the `src/` tree, each
    folder's .py files sorted, joined by newlines). A difference only costs the reuse.
    """
    if not _trees(entry):
        return []  # ic-basilisk extracts from the python_source text, which is ours to make
    own, rest, _folders = _walk(entry)
    own_texts = [_read(path) for path in own]
    return ["\n".join(own_texts), "\n".join(own_texts + [_read(path) for path in rest])]


def _read(path: str) -> str:
    with open(path) as handle:
        return handle.read()


def ahead(entry: str, extract: Callable[[str], Any], texts: list[str] | None = None) -> Results:
    """extract() of every text the build will extract from (`texts`, else the entry's sources); what
    cannot be read or parsed is left to it."""
    found: Results = {}
    try:
        texts = sources(entry) if texts is None else texts
    except (OSError, UnicodeDecodeError):
        return found
    for text in texts:
        if text not in found:
            try:
                found[text] = extract(text)
            except Exception:  # noqa: BLE001 - the build raises it again, and words it
                break
    return found


def methods_ahead(entry: str) -> Results:
    """ahead() with the installed ic-basilisk's own extract_methods_from_python."""
    return ahead(entry, _manipulator().extract_methods_from_python)


class Ahead:
    """methods_ahead's results on their way: `result()` waits for them, and first writes what
    ic-basilisk's extraction said on stderr in a process of its own (its warnings), as it would here."""

    def __init__(self) -> None:
        self.done: Future[tuple[Results, str]] = Future()
        self.told = False

    def result(self) -> Results:
        found, said = self.done.result()
        if said and not self.told:
            self.told = True
            sys.stderr.write(said)
        return found


def start_methods_ahead(entry: str, own_process: int = OWN_PROCESS, *, skeleton: str = "") -> Ahead:
    """methods_ahead(entry), started now beside the caller's work: in a process of its own when the
    sources it reads hold `own_process` bytes or more; for an entry at the root, whose python_source
    the build extracts from, its `skeleton` (canister_source.skeleton). Nothing (the build extracts)
    where it cannot run. One started earlier for the same entry and working folder (start_early) is that one."""
    ahead = _STARTED.pop((os.getcwd(), entry), None)
    if ahead is None:
        ahead = Ahead()
        threading.Thread(target=_ahead, args=(entry, own_process, skeleton, ahead.done), daemon=True).start()
    return ahead


def start_early(entry: str) -> None:
    """Start methods_ahead(entry) before the command line is even parsed, where it takes a process of its
    own (in this one it would hold the interpreter the command line library loads in); the build's
    own call gets it."""
    with contextlib.suppress(OSError):
        own, rest, _folders = _walk(entry)
        if own and sum(os.path.getsize(f) for f in own + rest) >= OWN_PROCESS:
            _STARTED[(os.getcwd(), entry)] = start_methods_ahead(entry)


_STARTED: dict[tuple[str, str], Ahead] = {}


def _ahead(entry: str, own_process: int, skeleton: str, done: Future[tuple[Results, str]]) -> None:
    found: Results = {}
    said = ""
    try:
        own, rest, _folders = _walk(entry)
        if not own:  # an entry at the root: the build extracts from the python_source, ours to make
            found = ahead(entry, _manipulator().extract_methods_from_python, [skeleton] if skeleton else [])
        elif sum(os.path.getsize(f) for f in own + rest) < own_process:
            found = ahead(entry, _manipulator().extract_methods_from_python)
        else:
            found, said = _extract_in_own_process(own, rest)
    except BaseException:  # noqa: BLE001, S110 - cancelled, the tool exiting, or it cannot run: the build
        pass  # extracts those texts itself (or stops, cancelled), and says what is wrong
    finally:
        done.set_result((found, said))


def _extract_in_own_process(own: list[str], rest: list[str]) -> tuple[Results, str]:
    """What the child script extracts from the build's texts, each under the text it read (a file
    changed since is another text, which the build extracts itself; none where it fails), and what
    it wrote on stderr."""
    spec = importlib.util.find_spec("basilisk")  # found, not run: the child imports it
    if spec is None or not spec.submodule_search_locations:
        return {}, ""
    folder = os.path.dirname(os.path.abspath(list(spec.submodule_search_locations)[0]))
    process = subprocess.Popen([sys.executable, "-I", "-S", "-B", "-X", "utf8", str(_SCRIPT), folder],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               start_new_session=True)
    with tracked(process):
        out, err = process.communicate(marshal.dumps([own, rest]))
    said = err.decode("utf-8", "replace")
    try:
        answers = marshal.loads(out) if process.returncode == 0 else []
        return {text: result for text, ok, result in answers if ok and isinstance(text, str)}, said
    except (ValueError, EOFError, TypeError):
        return {}, said


def load_build() -> None:
    """Import ic-basilisk's build modules now (they take longer to import than most programs): while
    the dry run runs, rather than when the build needs them. An error waits for the build."""
    from basilisk_trace.bundler.write.ic_basilisk import IcBasiliskError, build_modules

    with contextlib.suppress(IcBasiliskError):
        build_modules()


def _manipulator() -> Any:
    from basilisk_trace.bundler.write.ic_basilisk import IcBasiliskError, ic_basilisk_version

    version = ic_basilisk_version()  # a supported one, or the error that says so
    try:
        import basilisk.wasm_manipulator as module
    except ImportError as exc:
        raise IcBasiliskError(f"ic-basilisk {version} cannot be imported ({exc}); reinstall it") from None
    if not callable(getattr(module, "extract_methods_from_python", None)):
        raise IcBasiliskError(f"ic-basilisk {version} has no basilisk.wasm_manipulator.extract_methods_from_python; "
                              "reinstall it")
    return module


@contextlib.contextmanager
def reusing(found: Results) -> Iterator[None]:
    """While the build runs, ic-basilisk's extract_methods_from_python answers a text seen before with a
    copy of its result (the build changes what it gets). A python_source of ours is seen as its
    elided form (canister_source.elided: the same text for the extraction), which is known before it."""
    from basilisk_trace.bundler.write.canister_source import elided

    module = _manipulator()
    original = module.extract_methods_from_python

    def extract(text: str) -> Any:
        key = elided(text) or text
        if key not in found:
            found[key] = original(text)
        return copy.deepcopy(found[key])

    module.extract_methods_from_python = extract
    try:
        yield
    finally:
        module.extract_methods_from_python = original
