"""Generate a synthetic canister project: a package tree of N modules with realistic imports."""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass
from pathlib import Path

PER_PACKAGE = 20  # leaf modules per package
PACKAGES_PER_AREA = 10
LAZY_SHARE = 0.15  # leaf modules reachable only through imports inside functions
STDLIB = ("json", "re", "collections", "functools", "dataclasses", "itertools", "typing",
          "enum", "datetime", "decimal", "textwrap", "string", "math", "operator")


@dataclass(frozen=True)
class Module:
    """One generated module: its dotted name and whether it is a package's __init__."""

    name: str
    package: bool

    @property
    def parent(self) -> str:
        return self.name if self.package else self.name.rpartition(".")[0]

    def path(self, root: Path) -> Path:
        parts = self.name.split(".")
        return root.joinpath(*parts, "__init__.py") if self.package else root.joinpath(*parts[:-1], parts[-1] + ".py")


def layout(total: int) -> list[Module]:
    """`total` modules (packages included) under `app`: app.areaA.pkgP.modM, in import order."""
    modules = [Module("app", True)]
    area = package = 0
    while len(modules) < total:
        if package % PACKAGES_PER_AREA == 0:
            modules.append(Module(f"app.area{area}", True))
            area += 1
        pkg = f"app.area{area - 1}.pkg{package}"
        modules.append(Module(pkg, True))
        package += 1
        room = min(PER_PACKAGE, total - len(modules))
        modules.extend(Module(f"{pkg}.mod{i}", False) for i in range(room))
    return modules[:total]


def _leaf_imports(module: Module, done: list[Module], rng: random.Random) -> list[str]:
    """Top-level import lines of one leaf: stdlib, a sibling (relative) and other packages."""
    lines = [f"import {name}" for name in sorted(rng.sample(STDLIB, 2))]
    siblings = [m for m in done[-PER_PACKAGE:] if m.parent == module.parent]
    if siblings:
        lines.append(f"from . import {rng.choice(siblings).name.rpartition('.')[2]}")
    others = [m for m in (rng.choice(done) for _ in range(4) if done) if m.parent != module.parent]
    for target in sorted(set(others), key=lambda m: m.name)[:2]:
        lines.append(_absolute_import(target, rng))
    return lines


def _absolute_import(target: Module, rng: random.Random) -> str:
    parent, _, leaf = target.name.rpartition(".")
    style = rng.randrange(3)
    if style == 0:
        return f"from {parent} import {leaf}"
    if style == 1:
        return f"import {target.name} as {leaf}_{rng.randrange(1000)}"
    return f"from {target.name} import helper as {leaf}_helper"


def _local_import(lazy: list[Module], rng: random.Random) -> str:
    if not lazy:
        return "    import json as loaded\n"
    target = rng.choice(lazy)
    parent, _, leaf = target.name.rpartition(".")
    return f"    from {parent} import {leaf} as loaded\n"


def _leaf_source(module: Module, done: list[Module], lazy: list[Module], rng: random.Random) -> str:
    imports = "\n".join(_leaf_imports(module, done, rng))
    local = _local_import(lazy, rng) if rng.random() < 0.3 else "    loaded = None\n"
    fields = "\n".join(f"    field_{i}: int = {rng.randrange(100)}" for i in range(rng.randrange(3, 8)))
    table = ", ".join(f"'k{i}': {rng.randrange(10_000)}" for i in range(rng.randrange(5, 15)))
    # Dataclasses cost ~1 ms each to create: only some modules use them, as in real code.
    header, decorator = ("from dataclasses import dataclass\n", "@dataclass\n") if rng.random() < 0.2 else ("", "")
    return (
        f'"""Generated module {module.name}."""\n{imports}\n{header}\n'
        f"TABLE = {{{table}}}\n\n\n"
        f"{decorator}class Record:\n{fields}\n\n"
        "    def total(self) -> int:\n"
        "        return sum(v for v in vars(self).values() if isinstance(v, int))\n\n\n"
        "def helper(value: int = 0) -> int:\n"
        "    acc = value\n"
        "    for key, item in sorted(TABLE.items()):\n"
        "        acc = (acc * 31 + item + len(key)) % 1_000_003\n"
        "    return acc\n\n\n"
        "def lazy_feature():\n"
        "    # A local import: it runs only when this function is called.\n"
        f"{local}"
        "    return loaded\n"
    )


def _package_source(module: Module, children: list[Module], lazy: set[str]) -> str:
    lines = [f'"""Generated package {module.name}."""']
    for child in children:
        if child.name not in lazy:
            lines.append(f"from . import {child.name.rpartition('.')[2]}")
    lines.append(f"NAME = {module.name!r}")
    return "\n".join(lines) + "\n"


_MAIN = '''"""Generated canister entry: imports the package tree and exposes one query."""
import app

from basilisk import query, text


@query
def name() -> text:
    return app.NAME
'''


def _children(modules: list[Module]) -> dict[str, list[Module]]:
    children: dict[str, list[Module]] = {m.name: [] for m in modules if m.package}
    for module in modules[1:]:
        children[module.name.rpartition(".")[0]].append(module)
    return children


def generate(root: Path, total: int, seed: int = 0) -> Path:
    """Write a project of `total` modules into `root` and return its main.py."""
    rng = random.Random(seed)
    modules = layout(total)
    leaves = [m for m in modules if not m.package]
    lazy = {m.name for m in rng.sample(leaves, int(len(leaves) * LAZY_SHARE))}
    lazy_modules = [m for m in leaves if m.name in lazy]
    children = _children(modules)
    done: list[Module] = []  # leaves already written that load at import time
    for module in modules:
        path = module.path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        if module.package:
            text = _package_source(module, children[module.name], lazy)
        else:
            text = _leaf_source(module, done, lazy_modules, rng)
            if module.name not in lazy:
                done.append(module)
        path.write_text(text, encoding="utf-8")
    main = root / "main.py"
    main.write_text(_MAIN, encoding="utf-8")
    return main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("modules", type=int, help="number of modules (packages included)")
    parser.add_argument("dest", type=Path, help="directory to write the project into")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate(args.dest, args.modules, args.seed))


if __name__ == "__main__":
    main()
