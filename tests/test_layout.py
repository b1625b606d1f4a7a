"""The tree shows the data flow: every import points down a layer, and the child scripts stand alone."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
from helpers import ROOT

# Each layer may import itself and the layers before it, never one after it.
LAYERS = (
    "basilisk_trace.base",
    "basilisk_trace.tracer",
    "basilisk_trace.bundler.plan",
    "basilisk_trace.bundler.format",
    "basilisk_trace.bundler.write",
    "basilisk_trace.bundler.check",
    "basilisk_trace.bundler.report",
    "basilisk_trace.bundler.hosts",
    ("basilisk_trace.bundler.pipeline", "basilisk_trace.bundler.output_cache"),
    "basilisk_trace.bundler.settings",
    "basilisk_trace.bundler.cli",
)


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = [p for p in relative.parts if p != "__init__"]
    return "basilisk_trace." + ".".join(parts)


def layer(name: str) -> int:
    matches = [i for i, prefixes in enumerate(LAYERS)
               for prefix in ((prefixes,) if isinstance(prefixes, str) else prefixes)
               if name == prefix or name.startswith(prefix + ".")]
    assert matches, f"{name} belongs to no layer; add it to LAYERS"
    return matches[-1]


def imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n.startswith("basilisk_trace.")}


SOURCES = sorted(p for folder in ("base", "tracer", "bundler") for p in (ROOT / folder).rglob("*.py")
                 if "__pycache__" not in p.parts)
LAYERED = [p for p in SOURCES if p.parent != ROOT / "bundler" or p.name != "__init__.py"]
CHILD = [p for p in SOURCES if {"child", "runtime", "guest"} & set(p.relative_to(ROOT).parts)]


@pytest.mark.parametrize("path", [p for p in LAYERED if p not in CHILD], ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    own = layer(module_name(path))
    upward = sorted(n for n in imports_of(path) if n in _known() and layer(n) > own)
    assert not upward, f"{path.relative_to(ROOT)} imports from a later layer: {upward}"


@pytest.mark.parametrize("path", CHILD, ids=lambda p: str(p.relative_to(ROOT)))
def test_child_scripts_stand_alone(path: Path) -> None:
    # They run in the program's interpreter, where basilisk_trace may not even be installed.
    assert not imports_of(path)


@cache
def _known() -> frozenset[str]:
    return frozenset({module_name(p) for p in SOURCES} | {
        f"{module_name(p)}.{n}" for p in SOURCES for n in _top_names(p)})


def _top_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {getattr(n, "name", "") for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}



# About 350 lines at most; the bootstrap is one standalone file a canister template embeds whole.
LONGEST = 350
STANDALONE = {"bundler/format/bootstrap/_bootstrap.py"}


@pytest.mark.parametrize("path", [p for p in SOURCES if str(p.relative_to(ROOT)) not in STANDALONE],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= LONGEST, f"{path.relative_to(ROOT)} has {lines} lines; split it by what its parts do"
