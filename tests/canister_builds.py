"""Real canisters built both ways, as their users build them: `basilisk-trace canister` and `python -m basilisk`.

Both run ic-basilisk 0.16.1's own build steps over a stand-in template with the exports they need
(wasm_templates.IC_BASILISK_TEMPLATE), found through BASILISK_TEMPLATE_WASM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import CLI
from wasm_templates import IC_BASILISK_TEMPLATE, compile_wat

WAYS = ("basilisk-trace canister", "python -m basilisk")


def write_template(folder: Path) -> Path:
    path = folder / "template.wasm"
    path.write_bytes(compile_wat(IC_BASILISK_TEMPLATE))
    return path


def build(project: Path, work: Path, way: str, *options: str, template: Path, entry: str = "main.py",
          name: str = "app", cli: str = CLI) -> Path:
    """A copy of `project` under `work` built `way` (ours with `cli`); the path of the canister's Wasm."""
    copy = work / f"{project.name}-{WAYS.index(way)}"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", ".basilisk"))
    env = {**{k: v for k, v in os.environ.items() if k not in ("BASILISK_TEMPLATE_WASM", "CANISTER_CANDID_PATH")},
           "BASILISK_TEMPLATE_WASM": str(template), "CANISTER_CANDID_PATH": f".basilisk/{name}/{name}.did"}
    command = [cli, "canister", name, entry, *options] if way == WAYS[0] else \
        [sys.executable, "-m", "basilisk", name, entry]
    done = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return copy / ".basilisk" / name / f"{name}.wasm"


def verify_wasm(wasm: Path, *options: str) -> tuple[int, dict[str, Any], str]:
    """verify --wasm WASM --json - OPTIONS: the exit code, the JSON document, stderr."""
    done = subprocess.run([CLI, "verify", "--wasm", str(wasm), "--json", "-", *options], capture_output=True,
                          text=True, timeout=600)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr
