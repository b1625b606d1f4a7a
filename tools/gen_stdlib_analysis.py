"""Write tracer/child/stdlib-analysis-3.X.json: the static pass's answers for this Python's stdlib files.

Run with the interpreter whose stdlib it reads (python tools/gen_stdlib_analysis.py [--check]):
every stdlib source file but the test suites and the GUI demos gets its import-time answer
(child/import_time.py) and, where bytecode cannot tell an import's context, its import sites
from the AST (child/static.py), each computed by the child's own code and keyed by the file's
content. --check says whether the file on disk is what this would write (exit 1 if not).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import sysconfig
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_SKIPPED = {"test", "tests", "idlelib", "turtledemo", "tkinter", "lib2to3", "site-packages", "__pycache__",
            "ensurepip", "venv"}


def child_modules() -> dict[str, ModuleType]:
    """The child's own analyzer scripts, loaded as the child loads them."""
    spec = importlib.util.spec_from_file_location("_basilisk_trace_load", ROOT / "base" / "child" / "_load.py")
    assert spec is not None and spec.loader is not None
    loader = importlib.util.module_from_spec(spec)
    sys.modules["_basilisk_trace_load"] = loader
    spec.loader.exec_module(loader)
    loader.DIRS[:] = [str(ROOT / "base" / "child"), str(ROOT / "tracer" / "child")]
    return {name: loader.load(name) for name in ("static", "sites", "import_time", "stdlib_analysis")}


def stdlib_files() -> list[tuple[str, str]]:
    """(module name, path) of every stdlib source file analyzed, in a stable order."""
    root = Path(sysconfig.get_path("stdlib"))
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if _SKIPPED.intersection(parts) or not all(p.isidentifier() for p in parts):
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, str(path)))
    return found


def analysis(modules: dict[str, ModuleType]) -> dict[str, Any]:
    static, sites, import_time, table = (modules[n] for n in ("static", "sites", "import_time", "stdlib_analysis"))
    found_sites: dict[str, Any] = {}
    found_uses: dict[str, Any] = {}
    for name, path in stdlib_files():
        source = Path(path).read_bytes()
        try:
            code = compile(source, path, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        if sites.from_code(code) is None:  # the files the static pass parses
            try:
                parsed = static.scan_source(source, path)
            except (SyntaxError, ValueError):
                parsed = []
            found_sites[table.sites_key(source)] = [
                [s.module, list(s.names), s.level, s.line, [s.type_checking, s.optional, s.function, s.fallback]]
                for s in parsed]
        package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
        used, groups = import_time.uses(source, package)
        found_uses[table.import_time_key(source, package)] = [
            sorted(used), [[sorted(branch) for branch in group] for group in groups]]
    return {"python": f"{sys.version_info[0]}.{sys.version_info[1]}", "analyzer": table.analyzer_digest(),
            "sites": dict(sorted(found_sites.items())), "import_time": dict(sorted(found_uses.items()))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the file on disk instead of writing it")
    args = parser.parse_args()
    modules = child_modules()
    text = json.dumps(analysis(modules), separators=(",", ":")) + "\n"
    path = Path(modules["stdlib_analysis"].table_path())
    if args.check:
        same = path.is_file() and path.read_text(encoding="utf-8") == text
        print(f"{path.name}: {'up to date' if same else 'out of date: run python tools/gen_stdlib_analysis.py'}")
        return 0 if same else 1
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    print(f"wrote {path.relative_to(ROOT)} ({len(text):,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
