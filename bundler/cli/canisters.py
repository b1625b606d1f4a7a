"""Canister entries from dfx.json or icp.yaml, for bundling many canisters at once."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, read_bounded

__all__ = ["Canister", "ProjectError", "check_canister_name", "find_canisters"]

# A canister name becomes a file name (<name>.zip, .basilisk/<name>/): no separators, no leading dot.


class ProjectError(BasiliskTraceError):
    """dfx.json or icp.yaml cannot be read, or names no Python canister."""


@dataclass(frozen=True)
class Canister:
    name: str
    entry: Path


_PROJECT_FILE_LIMIT = 16 * MIB  # far above any dfx.json or icp.yaml
# A canister's name becomes <name>.zip inside -o: one plain file name, never a path.
_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}")


def check_canister_name(name: str, where: str) -> str:
    """`name` if it can name a file inside the output directory; ProjectError otherwise."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ProjectError(f"{where}: canister name {name[:100]!r} cannot name a file in the output directory "
                           "(it must be letters, digits, '_', '-' or '.', without '..'); rename the canister")
    return name


def find_canisters(directory: Path) -> list[Canister]:
    """The Python canisters that dfx.json or icp.yaml in `directory` define, sorted by name."""
    dfx, icp = directory / "dfx.json", directory / "icp.yaml"
    if dfx.is_file():
        return _from_dfx(dfx)
    if icp.is_file():
        return _from_icp(icp)
    return []



def _from_dfx(path: Path) -> list[Canister]:
    try:
        document = json.loads(_read(path).decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        reason = "it is nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ProjectError(f"cannot read {path}: {reason}; fix the file or pass the entry files") from None
    canisters = document.get("canisters") if isinstance(document, dict) else None
    if not isinstance(canisters, dict):
        raise ProjectError(f"{path} has no \"canisters\" object; pass the entry files instead")
    found = []
    for name, spec in sorted(canisters.items()):
        entry = _python_entry(spec) if isinstance(spec, dict) else None
        if entry:
            found.append(Canister(check_canister_name(name, str(path)), (path.parent / entry).resolve()))
    return found


def _python_entry(spec: dict[str, Any]) -> str | None:
    main = spec.get("main")
    if isinstance(main, str) and main.endswith(".py"):
        return main
    return _entry_in_commands(_strings(spec.get("build")))


def _entry_in_commands(commands: list[str]) -> str | None:
    """The first .py argument of a build command (python -m basilisk NAME ENTRY, or our canister)."""
    for command in commands:
        try:
            tokens = shlex.split(command, comments=True)
        except ValueError:
            continue  # an unbalanced quote: not a command we can read, and not ours
        for token in tokens:
            if token.endswith(".py") and "=" not in token:
                return token
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _from_icp(path: Path) -> list[Canister]:
    """icp.yaml: each canister's name and the entry its build commands name."""
    document = _load_yaml(path)
    canisters = document.get("canisters") if isinstance(document, dict) else None
    found: dict[str, Path] = {}
    for name, spec in _icp_canisters(canisters, path):
        entry = _entry_in_commands(list(_icp_commands(spec)))
        if entry and name not in found:
            found[check_canister_name(name, str(path))] = (path.parent / entry).resolve()
    return [Canister(name, entry) for name, entry in sorted(found.items())]


def _read(path: Path) -> bytes:
    """A project file's bytes, bounded; a FIFO, a device or a huge file is one line."""
    try:
        return read_bounded(path, _PROJECT_FILE_LIMIT, "project file")
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}") from None


def _load_yaml(path: Path) -> object:
    import yaml

    try:
        return yaml.safe_load(_read(path).decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProjectError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except RecursionError:
        raise ProjectError(f"{path} is nested too deeply to read; fix the file or pass the entry files") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProjectError(f"{path}{where}: not valid YAML ({problem}); fix the file or pass the entry files") from None


def _icp_canisters(canisters: object, path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    # A list of canister mappings, or a mapping of name to canister.
    if isinstance(canisters, dict):
        canisters = [dict(spec, name=name) for name, spec in canisters.items() if isinstance(spec, dict)]
    if not isinstance(canisters, list):
        return
    for spec in canisters:
        if isinstance(spec, dict) and isinstance(spec.get("name"), str):
            yield spec["name"], spec


def _icp_commands(spec: dict[str, Any]) -> Iterator[str]:
    build = spec.get("build")
    steps = build.get("steps") if isinstance(build, dict) else build
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            yield from _strings(step.get("commands"))
            yield from _strings(step.get("command"))
        elif isinstance(step, str):
            yield step
