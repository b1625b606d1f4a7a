"""Generate a canister project shaped like a real Basilisk backend (a Realms-sized one, by default).

The layout of public Basilisk projects: dfx.json at the repository root, the canister in
`src/NAME/` with a large `main.py` of canister methods, a `_cdk.py` shim over `basilisk`, and
packages the entry imports from its own folder (`import api`): `api` (the methods' helpers),
`core` (services) and `ggg` (ic-python-db entities by domain), and a second, small canister
beside it in `src/` (ic-basilisk's build reads its sources too). Every module logs through
ic-python-logging, as those projects do. Written by this script, the same bytes for the same
arguments: no project's code is copied.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

DOMAINS = ("finance", "governance", "identity", "land", "justice", "system")
STDLIB = ("json", "hashlib", "time", "base64", "traceback", "datetime", "typing", "re")
WORDS = ("realm", "member", "ledger", "proposal", "vote", "quarter", "budget", "fund", "policy", "record",
         "the", "each", "entry", "is", "checked", "against", "its", "owner", "and", "stored", "in", "order",
         "when", "a", "transfer", "settles", "treasury", "audit", "extension", "codex", "task", "schedule")
TYPES = ("text", "nat", "bool", "Opt[text]", "Vec[text]")
_DFX = {"canisters": {"{name}": {"type": "custom", "build": "python -m basilisk {name} src/{name}/main.py",
                                 "candid": "src/{name}/{name}.did", "wasm": ".basilisk/{name}/{name}.wasm"}}}
_CDK = '''"""The CDK in one place: the canister imports basilisk only through this module."""

from basilisk import *  # noqa: F401,F403
from basilisk import ic  # noqa: F401
'''


def _plan(total: int) -> dict[str, list[str]]:
    """Module names per package: entities ~40%, services ~40%, api ~20% of `total` files."""
    rest = total - 4 - len(DOMAINS) - 3  # main, _cdk, config, the three packages and the domains
    entities, api = rest * 2 // 5, rest // 5
    services = rest - entities - api
    plan: dict[str, list[str]] = {f"ggg.{d}": [] for d in DOMAINS}
    for i in range(entities):
        plan[f"ggg.{DOMAINS[i % len(DOMAINS)]}"].append(f"entity{i}")
    plan["core"] = [f"service{i}" for i in range(services)]
    plan["api"] = [f"endpoint{i}" for i in range(api)]
    return plan


def _header(rng: random.Random, name: str) -> list[str]:
    lines = [f'"""Generated module {name}."""', ""]
    lines += [f"import {m}" for m in sorted(rng.sample(STDLIB, 3)) if m != "typing"]
    lines += ["from typing import Any, Dict, List, Optional", "", "from ic_python_logging import get_logger", ""]
    return lines + [f'logger = get_logger("{name}")', "", ""]


def _function(rng: random.Random, name: str, calls: list[str]) -> list[str]:
    words = rng.sample(WORDS, 6)
    body = [f"def {name}(value: Any = None, limit: int = {rng.randrange(5, 500)}) -> Dict[str, Any]:",
            f'    """{name.replace("_", " ").capitalize()}: {" ".join(words)}.', "",
            *[f"    {' '.join(rng.sample(WORDS, 9))}." for _ in range(rng.randrange(8, 16))], "",
            "    Returns a summary of what was checked and recorded.", '    """',
            f"    result: Dict[str, Any] = {{'name': {name!r}, 'items': []}}"]
    for step in range(rng.randrange(1, 4)):
        body += [f"    # {' '.join(rng.sample(WORDS, 7))}",
                 f"    if isinstance(value, dict) and {step!r} in value:",
                 f"        result['items'].append(str(value[{step!r}])[:limit])",
                 f"        logger.debug('step {step} of {name}')"]
    for call in calls:
        body.append(f"    result['items'].append({call}(result.get('name')).get('name'))")
    return [*body, "    return result", "", ""]


def _entity_module(rng: random.Random, name: str, index: int) -> str:
    lines = _header(rng, name)
    lines[-3:-3] = ["from ic_python_db import Entity, Integer, ManyToOne, OneToMany, String, TimestampedMixin", ""]
    parent, child = f"Record{index}", f"Record{index}Item"
    fields = [f"    field_{i} = String(max_length={rng.randrange(16, 512)})" for i in range(rng.randrange(3, 9))]
    lines += [f"class {parent}(Entity, TimestampedMixin):", f'    """Entity {parent}."""',
              '    __alias__ = "code"', '    code = String(max_length=32)', *fields,
              "    amount = Integer()", f'    items = OneToMany("{child}", "parent")', "",
              "    def summary(self) -> Dict[str, Any]:",
              "        return {'code': self.code, 'amount': self.amount}", "", "",
              f"class {child}(Entity, TimestampedMixin):", f'    """Entity {child}."""',
              "    label = String(max_length=64)", f'    parent = ManyToOne("{parent}", "items")', "", ""]
    for i in range(rng.randrange(2, 5)):
        lines += _function(rng, f"{parent.lower()}_rule{i}", [])
    return "\n".join(lines)


def _service_module(rng: random.Random, name: str, imports: list[str], lazy: str | None) -> str:
    lines = _header(rng, name)
    aliases = []
    for i, target in enumerate(imports):
        package, _, module = target.rpartition(".")
        lines.insert(-3, f"from {package} import {module} as dep{i}")
        aliases.append(f"dep{i}")
    functions = [f"{name.rpartition('.')[2]}_op{i}" for i in range(rng.randrange(5, 10))]
    for i, function in enumerate(functions):
        lines += _function(rng, function, functions[:i][-2:])
    if lazy:  # loaded only when called: the static pass finds it
        lines += ["def load_extension() -> Any:", f"    from {lazy.rpartition('.')[0]} import {lazy.rpartition('.')[2]}",
                  f"    return {lazy.rpartition('.')[2]}", "", ""]
    lines += [f"DEPENDENCIES = [{', '.join(aliases)}]", ""]
    return "\n".join(lines)


def _package(modules: list[str]) -> str:
    return "".join(f"from . import {m}\n" for m in modules) or '"""Generated package."""\n'


def _main(rng: random.Random, endpoints: list[str], methods: int) -> str:
    lines = ['"""Generated canister entry: many methods over the api package."""', "import json", "",
             "import api", "from _cdk import Opt, Record, Vec, nat, query, text, update",
             "from ic_python_logging import get_logger", *[f"from api import {e}" for e in endpoints], "",
             'logger = get_logger("main")', "", "",
             "class Status(Record):", "    name: text", "    version: text", "    items: nat", "", ""]
    for i in range(methods):
        kind, ret = ("query" if i % 3 else "update"), rng.choice(TYPES)
        endpoint = endpoints[i % len(endpoints)]
        value = {"text": "json.dumps(found)", "nat": "len(found['items'])", "bool": "bool(found['items'])",
                 "Opt[text]": "found.get('name')", "Vec[text]": "[str(x) for x in found['items']]"}[ret]
        lines += [f"@{kind}", f"def method_{i}(arg: text, limit: nat) -> {ret}:",
                  f'    """Method {i}: calls {endpoint}."""', "    try:",
                  f"        found = {endpoint}.{endpoint}_op0({{'0': arg}}, limit)",
                  "    except Exception as exc:",
                  f"        logger.error(f'method_{i} failed: {{exc}}')", "        raise",
                  f"    logger.info('method_{i} done')", f"    return {value}", "", ""]
    lines += ["@query", "def status() -> Status:",
              "    return {'name': api.__name__, 'version': '1.0', 'items': len(api.__name__)}", ""]
    return "\n".join(lines)


def generate(root: Path, total: int = 200, name: str = "realm_backend", seed: int = 0, methods: int = 144) -> Path:
    """Write the project into `root` (about `total` Python files) and return the entry, src/NAME/main.py."""
    rng = random.Random(seed)
    src = root / "src" / name
    src.mkdir(parents=True, exist_ok=True)
    (root / "dfx.json").write_text(json.dumps(_DFX, indent=2).replace("{name}", name) + "\n", encoding="utf-8")
    (src / "_cdk.py").write_text(_CDK, encoding="utf-8")
    (src / "config.py").write_text(f'"""Generated configuration."""\nNAME = {name!r}\nVERSION = "1.0"\n', encoding="utf-8")
    plan = _plan(total)
    entities = [f"{p}.{m}" for p in plan if p.startswith("ggg.") for m in plan[p]]
    for package, modules in plan.items():
        folder = src.joinpath(*package.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "__init__.py").write_text(_package(modules), encoding="utf-8")
    (src / "ggg" / "__init__.py").write_text(_package(list(DOMAINS)), encoding="utf-8")
    for index, target in enumerate(entities):
        path = src.joinpath(*target.split(".")).with_suffix(".py")
        path.write_text(_entity_module(rng, target, index), encoding="utf-8")
    services = [f"core.{m}" for m in plan["core"]]
    for i, target in enumerate(services):
        imports = sorted(set(rng.sample(entities, 2) + ([rng.choice(services[:i])] if i else [])))
        lazy = rng.choice(entities) if rng.random() < 0.15 else None
        src.joinpath("core", f"{plan['core'][i]}.py").write_text(_service_module(rng, target, imports, lazy), encoding="utf-8")
    for target in (f"api.{m}" for m in plan["api"]):
        imports = sorted(set(rng.sample(services, 3)))
        src.joinpath("api", f"{target.partition('.')[2]}.py").write_text(
            _service_module(rng, target, imports, None), encoding="utf-8")
    main = src / "main.py"
    main.write_text(_main(rng, plan["api"], methods), encoding="utf-8")
    _sibling(root / "src" / "marketplace_backend", rng)
    return main


def _sibling(src: Path, rng: random.Random, total: int = 12) -> None:
    """A second canister in src/: its own main.py over an api package of `total` modules."""
    (src / "api").mkdir(parents=True, exist_ok=True)
    names = [f"listing{i}" for i in range(total)]
    (src / "api" / "__init__.py").write_text(_package(names), encoding="utf-8")
    for name in names:
        (src / "api" / f"{name}.py").write_text(_service_module(rng, f"api.{name}", [], None), encoding="utf-8")
    (src / "main.py").write_text(_main(rng, names, 20), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dest", type=Path, help="directory to write the project into")
    parser.add_argument("--modules", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(generate(args.dest, args.modules, seed=args.seed))


if __name__ == "__main__":
    main()
