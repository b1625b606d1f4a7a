"""Canister entries from dfx.json or icp.yaml, for bundling many canisters at once."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from basilisk_trace.tracer.errors import BasiliskTraceError


class ProjectError(BasiliskTraceError):
    """dfx.json or icp.yaml cannot be read, or names no Python canister."""


@dataclass(frozen=True)
class Canister:
    name: str
    entry: Path


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
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"cannot read {path}: {exc}; fix the file or pass the entry files") from None
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
    build = spec.get("build")
    commands = build if isinstance(build, list) else [build] if isinstance(build, str) else []
    for command in commands:
        for token in shlex.split(str(command)):
            if token.endswith(".py"):
                return token
    return None


_NAME = re.compile(r"^\s*-?\s*name:\s*[\"']?([\w-]+)[\"']?\s*$")
_PY = re.compile(r"([\w./-]+\.py)\b")


def _from_icp(path: Path) -> list[Canister]:
    """A line-based reading of icp.yaml: each canister's name and the first .py path after it."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ProjectError(f"cannot read {path}: {exc.strerror}") from None
    found: dict[str, Path] = {}
    current = None
    for line in lines:
        name = _NAME.match(line)
        if name:
            current = name.group(1)
            continue
        match = _PY.search(line)
        if current and match and current not in found:
            found[current] = (path.parent / match.group(1)).resolve()
    return [Canister(name, entry) for name, entry in sorted(found.items())]
