"""Regenerate bundler/hosts/basilisk/profile.json by reading (never running) an installed ic-basilisk."""

from __future__ import annotations

import argparse
import ast
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bundler" / "hosts" / "basilisk" / "profile.json"
PREAMBLE = "frozen_stdlib_preamble.py"
TEMPLATE_SRC = "compiler/cpython_canister_template/src"
CONFIG_C = "compiler/basilisk_cpython/src/cpython_config.c"
INIT_C = "compiler/basilisk_cpython/src/cpython_init_helper.c"
ENCODINGS = "compiler/basilisk_cpython/stdlib/encodings"
BUILD_SH = "compiler/cpython/build_cpython_wasm.sh"
SHIM = re.compile(r'const BASILISK_PYTHON_SHIM: &str = r#"(.*?)"#;', re.S)
# A row and its same-line comment only: [ \t], so the next row's comment is not taken.
INITTAB_ROW = re.compile(r'\{"(\w+)",\s*\w+\},?[ \t]*(?:/\*[ \t]*(.*?)[ \t]*\*/)?')
NATIVE_NAME = re.compile(r'm_name = b"(\w+)\\0"')
EMPTY_STUB = re.compile(r"static PyMethodDef (\w+)_stub_methods\[\] = \{\{NULL")
# Present in every CPython but created by the core, so no inittab lists them.
CORE = ("builtins", "sys")
# Test-only frozen modules of CPython (Tools/build/freeze_modules.py); nothing imports them.
TEST_FROZEN = ("__hello", "__phello")
# Pure-Python stdlib modules that cannot work when the named native module is an inert stub.
NEEDS_REAL = {"re": "_sre"}


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


class _Registrations(ast.NodeVisitor):
    """Collect ``<x>.modules[<name>] = ...`` with the function and line that do it."""

    def __init__(self, where: str, line_offset: int = 0) -> None:
        self.where = where
        self.line_offset = line_offset
        self.found: dict[str, str] = {}
        self._funcs: list[str] = ["<module>"]
        self._loops: list[ast.For] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._funcs.append(node.name)
        self.generic_visit(node)
        self._funcs.pop()

    def visit_For(self, node: ast.For) -> None:
        self._loops.append(node)
        self.generic_visit(node)
        self._loops.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            if isinstance(target, ast.Subscript) and _is_sys_modules(target.value):
                for name in self._names(target.slice):
                    line = node.lineno + self.line_offset
                    self.found.setdefault(
                        name,
                        f"{self.where}:{line} in {self._funcs[-1]}(): sys.modules[{name!r}] = ...",
                    )
        self.generic_visit(node)

    def _names(self, key: ast.expr) -> Iterator[str]:
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            yield key.value
        elif isinstance(key, ast.JoinedStr):
            yield from self._expand(key)
        # A plain variable key (the empty-stub fallback, the memfs loader) names no module.

    def _expand(self, key: ast.JoinedStr) -> Iterator[str]:
        """Expand f'pkg.{var}' over an enclosing ``for var in ('a', 'b')`` loop."""
        for loop in reversed(self._loops):
            if not (
                isinstance(loop.target, ast.Name) and isinstance(loop.iter, ast.Tuple | ast.List)
            ):
                continue
            values = [e.value for e in loop.iter.elts if isinstance(e, ast.Constant)]
            for value in values:
                yield "".join(
                    str(value) if isinstance(part, ast.FormattedValue) else str(part.value)  # type: ignore[attr-defined]
                    for part in key.values
                )
            return


def _is_sys_modules(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "modules"
        and isinstance(node.value, ast.Name)
    )


def preamble_modules(root: Path, label: str) -> dict[str, str]:
    tree = ast.parse((root / PREAMBLE).read_text(encoding="utf-8"))
    collector = _Registrations(f"{label}/{PREAMBLE}")
    collector.visit(tree)
    return {
        k: v + " (pure-Python replacement; the preamble runs before user code)"
        for k, v in collector.found.items()
    }


def shim_modules(root: Path, label: str) -> dict[str, str]:
    path = root / TEMPLATE_SRC / "python_init.rs"
    text = path.read_text(encoding="utf-8")
    match = SHIM.search(text)
    if match is None:
        raise SystemExit(f"{path}: BASILISK_PYTHON_SHIM not found; the template changed")
    collector = _Registrations(
        f"{label}/{TEMPLATE_SRC}/python_init.rs", _line(text, match.start(1)) - 1
    )
    collector.visit(ast.parse(match.group(1)))
    return {
        k: v + " (BASILISK_PYTHON_SHIM, run at canister init)" for k, v in collector.found.items()
    }


def template_natives(root: Path, label: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted((root / TEMPLATE_SRC).glob("*.rs")):
        text = path.read_text(encoding="utf-8")
        for match in NATIVE_NAME.finditer(text):
            where = f"{label}/{TEMPLATE_SRC}/{path.name}:{_line(text, match.start())}"
            found[match.group(1)] = (
                f"{where}: native module created by the canister template (m_name)"
            )
    return found


def inittab(root: Path, label: str) -> dict[str, str]:
    text = (root / CONFIG_C).read_text(encoding="utf-8")
    start = text.index("_PyImport_Inittab[]")
    end = text.index("{0, 0}", start)
    empty = set(EMPTY_STUB.findall(text))
    found: dict[str, str] = {}
    for match in INITTAB_ROW.finditer(text, start, end):
        comment = match.group(2)
        note = f" — {comment}" if comment else ""
        if match.group(1) in empty:
            note += " (importable but inert: its method table is empty)"
        where = f"{label}/{CONFIG_C}:{_line(text, match.start())}"
        found[match.group(1)] = f"{where}: builtin in _PyImport_Inittab{note}"
    return found


def frozen_modules(root: Path, label: str) -> dict[str, str]:
    import _imp

    init = (root / INIT_C).read_text(encoding="utf-8")
    pos = init.find("config.use_frozen_modules = 1")
    if pos < 0:
        return {}
    why = (
        f"frozen: in CPython {sys.version_info[0]}.{sys.version_info[1]}'s frozen module table "
        f"(read from this interpreter's _imp._frozen_module_names()), enabled by "
        f"{label}/{INIT_C}:{_line(init, pos)} config.use_frozen_modules = 1"
    )
    frozen = _imp._frozen_module_names()  # type: ignore[attr-defined]  # private, 3.11+
    names = [n for n in frozen if not n.startswith(TEST_FROZEN)]
    return {n: why for n in sorted(names)}


def frozen_encodings(root: Path, label: str) -> dict[str, str]:
    init = (root / INIT_C).read_text(encoding="utf-8")
    pos = init.find("patch 0002-freeze-encodings")
    claim = (
        f"{label}/{INIT_C}:{_line(init, pos)} says the encodings package is frozen into libpython"
    )
    found: dict[str, str] = {}
    for path in sorted((root / ENCODINGS).glob("*.py")):
        name = "encodings" if path.stem == "__init__" else f"encodings.{path.stem}"
        found[name] = f"inferred: {claim}; {label}/{ENCODINGS}/{path.name} ships with the compiler"
    return found


def disabled_in_build(root: Path, label: str) -> dict[str, str]:
    text = (root / BUILD_SH).read_text(encoding="utf-8")
    start = text.index("*disabled*")
    block = text[start : text.index("EOF", start)].splitlines()[1:]
    where = f"{label}/{BUILD_SH}:{_line(text, start)}"
    return {
        n.strip(): f"{where}: listed under *disabled* in Setup.local" for n in block if n.strip()
    }


def readme_unavailable(version: str) -> dict[str, str]:
    meta = importlib.metadata.distribution("ic-basilisk").read_text("METADATA") or ""
    for number, line in enumerate(meta.splitlines(), 1):
        if "are not available" in line:
            names = re.findall(r"`(\w+)`", line.partition("e.g.")[2])
            quote = "'requiring native OS threads or sockets ... are not available'"
            where = f"ic-basilisk {version} README (dist-info METADATA:{number})"
            return {n: f"{where} says {quote}" for n in names}
    return {}


def host_natives() -> set[str]:
    """Stdlib modules that are native code on a regular CPython (this interpreter)."""
    natives = set(sys.builtin_module_names)
    for name in sys.stdlib_module_names:
        spec = importlib.util.find_spec(name) if name not in natives else None
        if spec is not None and isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
            natives.add(name)
    return natives


def merge(*sources: dict[str, str]) -> dict[str, str]:
    merged: dict[str, list[str]] = {}
    for source in sources:
        for name, why in source.items():
            merged.setdefault(name, []).append(why)
    return {name: " | ".join(whys) for name, whys in sorted(merged.items())}


def without_orphans(provided: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Split off submodules whose parent package the runtime lacks: they cannot be imported.

    CPython 3.13 freezes importlib.util and importlib.machinery but not importlib itself, and
    `import importlib.util` imports importlib first.
    """
    kept: dict[str, str] = {}
    orphans: dict[str, str] = {}
    for name in sorted(provided, key=lambda n: n.count(".")):
        parent = name.rpartition(".")[0]
        if parent and parent not in kept:
            orphans[name] = (f"inferred: its parent package {parent} is not provided, and importing "
                             f"{name} imports {parent} first ({name}: {provided[name]})")
        else:
            kept[name] = provided[name]
    return dict(sorted(kept.items())), orphans


def unavailable(root: Path, version: str, provided: dict[str, str]) -> dict[str, str]:
    label = f"ic-basilisk {version} basilisk"
    text = (root / CONFIG_C).read_text(encoding="utf-8")
    pos = text.find("_PyImport_DynLoadFiletab[] = { NULL }")
    dynload = f"{label}/{CONFIG_C}:{_line(text, pos)}" if pos >= 0 else f"{label}/{CONFIG_C}"
    native = {
        n: f"native on CPython but not in _PyImport_Inittab, and the template loads no "
        f"extension modules (_PyImport_DynLoadFiletab is empty, {dynload})"
        for n in host_natives()
    }
    tab = inittab(root, label)
    broken = {
        mod: f"inferred: needs real {stub}, but {tab[stub]}"
        for mod, stub in NEEDS_REAL.items()
        if "inert" in tab.get(stub, "")
    }
    found = merge(native, disabled_in_build(root, label), readme_unavailable(version), broken)
    return {k: v for k, v in found.items() if k not in provided}


def build(root: Path) -> dict[str, object]:
    version = importlib.metadata.version("ic-basilisk")
    label = f"ic-basilisk {version} basilisk"
    shim = shim_modules(root, label)
    core = {n: "inferred: created by the interpreter core (not an inittab entry)" for n in CORE}
    provided = merge(
        core,
        inittab(root, label),
        template_natives(root, label),
        frozen_modules(root, label),
        frozen_encodings(root, label),
        preamble_modules(root, label),
        shim,
    )
    provided, orphans = without_orphans(provided)
    runtime_packages = sorted({n.partition(".")[0] for n in shim} - set(sys.stdlib_module_names))
    return {
        "schema": 1,
        "name": "basilisk",
        "description": "CPython 3.13 on wasm32-wasip1 inside an Internet Computer canister (ic-basilisk CPython template)",
        "python": "3.13",
        "native": "refuse",
        "stdlib": "partial",
        "describes": f"ic-basilisk {version}",
        "generated_by": "tools/gen_basilisk_profile.py",
        "stubs_missing_stdlib": True,
        "runtime_packages": runtime_packages,
        "notes": [
            f"Derived by reading ic-basilisk {version}'s files with ast and regexes; nothing was run in a canister.",
            "A stdlib import that fails in the canister returns an EMPTY module (__file__ == '<wasi-stub>', "
            f"{label}/{PREAMBLE} _wasi_safe_import), so `except ImportError` fallbacks never run there.",
            "Entries match exactly: the preamble's json is one module, so json.decoder is not provided.",
            "The README promises re; the code stubs _sre, so re is listed unavailable. Check with docs/runtime-modules.md.",
            "The user-file memfs finder (_MemFSFinder) only loads top-level names; bundled submodules need their parent first.",
        ],
        "provided": provided,
        "unavailable": dict(sorted({**unavailable(root, version, provided), **orphans}.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--basilisk-dir", type=Path, help="the installed basilisk package directory"
    )
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default: {OUT})")
    args = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 13):
        raise SystemExit(
            "run this with Python 3.13: it reads that interpreter's frozen module table"
        )
    root = args.basilisk_dir
    if root is None:
        spec = importlib.util.find_spec("basilisk")  # finds the package without importing it
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("ic-basilisk is not installed here; pass --basilisk-dir")
        root = Path(next(iter(spec.submodule_search_locations)))
    data = build(root)
    args.out.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = {key: len(data[key]) for key in ("provided", "unavailable")}  # type: ignore[arg-type]
    print(f"wrote {args.out}: {counts['provided']} provided, {counts['unavailable']} unavailable")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
