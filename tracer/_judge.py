"""The dry run's report is the program's to forge: its shape is checked, and its paths judged by what the tool knows.

The child writes its result where the program can reach it, so nothing in it is taken on
trust: a field of the wrong type or a name that is no module name makes the whole result
malformed (one line, never a traceback); what the tool knows itself (the entry, the project,
the interpreter's stdlib and site-packages) replaces what the child says of them; and whether a
module is stdlib is decided again from its file. The planner then bundles a file only when it
lies under the project or a folder the interpreter imports from, with every link resolved.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from basilisk_trace.base.limits import KINDS
from basilisk_trace.tracer._interpreter import Interpreter

Check = Callable[[Any], bool]
_MAX_ITEMS = 200_000  # modules, files, events, ...: far above any real program


class Malformed(ValueError):
    """Where the child's result breaks its shape: "modules[3].name"."""


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _maybe(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _one_of(*values: str) -> Check:
    return lambda value: value in values


def _int(value: Any) -> bool:
    return type(value) is int


def _flag(value: Any) -> bool:
    return type(value) is bool


def _path(value: Any) -> bool:
    return isinstance(value, str) and os.path.isabs(value) and "\x00" not in value


def module_name(value: Any) -> bool:
    """A dotted name of identifiers: it becomes a path in the bundle (a/b.py), so never `..` or `/`."""
    return isinstance(value, str) and bool(value) and all(part.isidentifier() for part in value.split("."))


def _names(value: Any) -> bool:
    return isinstance(value, list) and all(module_name(n) for n in value)


_MODULE: dict[str, Check] = {
    "name": module_name, "kind": _one_of("source", "package", "namespace", "extension", "builtin", "frozen",
                                         "virtual", "missing"),
    "origin": _maybe(_path), "distribution": _maybe(_text), "version": _maybe(_text),
    "importer": _maybe(module_name), "found_by": _one_of("trace", "exercise", "static"),
    "how": _one_of("import", "function", "import_module", "__import__", "getattr", "parent", "preloaded", "static"),
    "optional": _flag, "blocked": _maybe(_text), "type_checking": _flag, "size": _int, "error": _maybe(_text),
    "line": _maybe(_int), "fallback": _flag, "imports": _names, "guarded_imports": _names,
    "uses_at_import": _names,
    "import_alternatives": lambda v: isinstance(v, list) and all(
        isinstance(g, list) and all(_names(b) for b in g) for g in v),
}
_FILE: dict[str, Check] = {"path": _path, "role": _one_of("data", "metadata"), "read": _flag,
                           "module": _maybe(_text), "distribution": _maybe(_text), "version": _maybe(_text),
                           "size": _int}
_METHOD: dict[str, Check] = {"name": _text, "decorator": _text, "module": _text, "error": _maybe(_text)}
_EVENT: dict[str, Check] = {"kind": _text, "detail": _text, "module": _maybe(_text)}
_COMPUTED: dict[str, Check] = {"module": _text, "path": _text, "line": _int, "call": _text, "prefix": _text}
_TOP: dict[str, Check] = {"outcome": _one_of("ok", "exception", "exit", "timeout"), "exit_code": _maybe(_int),
                          "traceback": _maybe(_text), "runtime": _text, "limit": _maybe(_one_of(*KINDS)),
                          "entry_error": _maybe(_text)}
# Each list's records: their fields, and those a record cannot lack.
_LISTS = {"modules": (_MODULE, {"name", "kind"}), "files": (_FILE, {"path", "role"}),
          "methods": (_METHOD, {"name", "decorator", "module"}), "events": (_EVENT, {"kind", "detail"}),
          "computed_imports": (_COMPUTED, {"module", "path", "line", "call"})}


def checked(raw: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the tracer uses, each of the type it expects; Malformed names the first that is not."""
    document: dict[str, Any] = {}
    for key, check in _TOP.items():
        value = raw.get(key)
        if (key == "outcome" or value is not None) and not check(value):
            raise Malformed(key)
        document[key] = value
    for key, (fields, required) in _LISTS.items():
        document[key] = _records(raw.get(key, []), fields, required, key)
    dirs = raw.get("path_dirs", [])
    if not isinstance(dirs, list) or len(dirs) > _MAX_ITEMS or not all(_path(d) for d in dirs):
        raise Malformed("path_dirs")
    document["path_dirs"] = dirs
    if not document["modules"] and raw.get("outcome") == "ok":
        raise Malformed("modules")  # the entry itself is always a module of a run that went well
    return document


def _records(items: Any, fields: dict[str, Check], required: set[str], where: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or len(items) > _MAX_ITEMS:
        raise Malformed(where)
    records = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise Malformed(f"{where}[{index}]")
        record = {}
        for key, check in fields.items():
            if key not in item:
                if key in required:
                    raise Malformed(f"{where}[{index}].{key}")
                continue
            if not check(item[key]):
                raise Malformed(f"{where}[{index}].{key}")
            record[key] = item[key]
        records.append(record)
    return records


def judge(raw: dict[str, Any], config: dict[str, Any], known: Interpreter) -> dict[str, Any]:
    """The child's result with what the tool knows put in place of what the child says.

    Raises Malformed when the result is not the shape the child writes.
    """
    document = checked(raw)
    document.update(
        entry=config["entry"], entry_module=config["entry_module"], project_root=config["project_root"],
        python=known.version, executable=known.executable, site_packages=list(known.site_packages),
        # The host's own folders (generated bindings) are on the child's path, ahead of site-packages.
        source_roots=[*known.sources, *config.get("layer_paths", ())],
    )
    names = {m["name"] for m in document["modules"]}
    if document["outcome"] == "ok" and config["entry_module"] not in names:
        raise Malformed("modules (the entry is not among them)")
    for module in document["modules"]:
        module["stdlib"] = known.is_stdlib(module["name"], module.get("origin"))
        if module["name"] == config["entry_module"]:
            # The entry's file is the one the tool was given, whatever the result says.
            module.update(origin=config["entry"], kind="source", stdlib=False)
    return document


_KNOWN = ("entry", "entry_module", "project_root", "python", "executable", "containment")


def stored(raw: dict[str, Any]) -> dict[str, Any]:
    """A trace kept in the cache, as judge() left it; Malformed when it is damaged (a miss, then)."""
    document = checked(raw)
    for key in _KNOWN:
        if not isinstance(raw.get(key), str):
            raise Malformed(key)
        document[key] = raw[key]
    for key in ("site_packages", "source_roots"):
        if not isinstance(raw.get(key), list) or not all(_path(p) for p in raw[key]):
            raise Malformed(key)
        document[key] = raw[key]
    for module, kept in zip(document["modules"], raw["modules"], strict=True):
        if not _flag(kept.get("stdlib")):
            raise Malformed("modules.stdlib")
        module["stdlib"] = kept["stdlib"]
    return document


def mark_first_party(raw: dict[str, Any]) -> None:
    """Note where a missing module's top-level name is project code: beside or above the entry."""
    entry_dir = Path(raw["entry"]).parent
    for module in raw["modules"]:
        if module.get("kind") != "missing" or module.get("origin"):
            continue
        top = module["name"].partition(".")[0]
        for folder in (entry_dir, *entry_dir.parents):
            package = folder / top
            if (folder / f"{top}.py").is_file() or (package.is_dir() and any(package.glob("*.py"))):
                module["first_party"] = str(folder)
                break


def forged(entry: Path, what: str) -> str:
    """The one line for a result the child could not have written itself: the program changed it."""
    return (f"the dry run of {entry} handed back what the tool cannot use ({what}), and nothing it reported is "
            f"used; unless the disk of {tempfile.gettempdir()} is full, the program (or a package it imports) "
            "rewrote the dry run's own files: find the code that writes into the folder on its command line")


def temp_dir_failure(exc: OSError | ValueError) -> str:
    """The one line for a child that could not be prepared or read back: almost always a full TMPDIR."""
    what = exc.strerror if isinstance(exc, OSError) and exc.strerror else "its result was cut short"
    return (f"the child interpreter's temporary files failed ({what}) in {tempfile.gettempdir()}; "
            "free some space there, or point TMPDIR at a disk that has it")
