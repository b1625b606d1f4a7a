"""Real componentize-py builds for the component tests: plain (componentize-py alone) and by basilisk-trace.

Each build takes 5 to 20 s and ~400 MB, so every build is made once per session and kept by
the hash of its inputs (the app's and WIT's files, the arguments); verify's compiled
components are cached by wasmtime's content key under the session's XDG_CACHE_HOME. The apps
live in tests/components/<behaviour>/ (wit/ and app/); answers on the host come from the
app itself, imported on this CPython with the world's bindings.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import ROOT, run_cli

APPS = ROOT / "tests" / "components"
COMPONENTIZE_PY = str(Path(sys.executable).with_name("componentize-py"))


def tree_digest(*roots: Path) -> str:
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@dataclass
class Built:
    path: Path | None  # None when the build failed
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Builds:
    """The session's builds, each made once: keyed by the hash of what went into it."""

    root: Path
    made: dict[str, Built] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {"XDG_CACHE_HOME": str(self.root / "xdg")}

    def plain(self, app: str, *deps: Path) -> Built:
        """componentize-py alone, as its README says: -p the app's folder (a copy: it writes bytecode there)."""
        folder = APPS / app
        key = self._key("plain", app, [str(d) for d in deps], tree_digest(folder, *deps))
        if key not in self.made:
            work = self.root / key
            shutil.copytree(folder / "app", work / "app")
            paths = ["-p", str(work / "app")]
            for index, dep in enumerate(deps):
                shutil.copytree(dep, work / f"dep{index}")
                paths += ["-p", str(work / f"dep{index}")]
            out = work / "plain.wasm"
            # No VIRTUAL_ENV with site-packages: only the -p folders, as for the tool's build.
            env = {**os.environ, "VIRTUAL_ENV": str(work / "no-venv")}
            done = subprocess.run([COMPONENTIZE_PY, "-d", str(folder / "wit"), "-w", world_of(app), "componentize",
                                   "app", "-o", str(out), *paths], capture_output=True, text=True, env=env,
                                  timeout=900)
            self.made[key] = Built(out if done.returncode == 0 else None, done.returncode, done.stdout, done.stderr)
        return self.made[key]

    def tool(self, app: str, *args: str, deps: tuple[Path, ...] = ()) -> Built:
        """basilisk-trace component with componentize-py's arguments (the app's folder is never copied)."""
        folder = APPS / app
        key = self._key("tool", app, list(args), [str(d) for d in deps], tree_digest(folder, *deps))
        if key not in self.made:
            out = self.root / key / "tool.wasm"
            out.parent.mkdir(parents=True)
            paths = [a for d in deps for a in ("-p", str(d))]
            done = run_cli("component", "-d", folder / "wit", "-w", world_of(app), "app", "-p", folder / "app",
                           *paths, "-o", out, *args, env=self.env, timeout=900)
            self.made[key] = Built(out if done.returncode == 0 else None, done.returncode, done.stdout, done.stderr)
        return self.made[key]

    def verify(self, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("verify", "--component", path, *args, env=self.env, timeout=900)

    def _key(self, *parts: Any) -> str:
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def world_of(app: str) -> str:
    return app.replace("_", "-")


def call_in_wasmtime(path: Path, cache: Path, calls: list[tuple[str, list[Any]]]) -> list[tuple[str, Any]]:
    """Each (export, args): ("ok", the answer as plain data) or ("trap", the guest's error line)."""
    from basilisk_trace.bundler.hosts.componentize_py.failures import guest_error
    from basilisk_trace.bundler.hosts.componentize_py.instance import Session
    from basilisk_trace.bundler.hosts.componentize_py.values import plain

    answers: list[tuple[str, Any]] = []
    with Session(path, cache) as session:
        exports = {e.name: e for e in session.exports}
        for name, args in calls:
            outcome = session.call(exports[name], args)
            if outcome.trap is None:
                answers.append(("ok", plain(outcome.value)))
            else:
                answers.append(("trap", guest_error(outcome.stderr, outcome.trap).error))
    return answers


def call_on_host(app: str, expressions: list[str], bindings: Path, *deps: Path) -> list[Any]:
    """Each expression's value, evaluated on this CPython with the app and the world's bindings importable."""
    return evaluate_on_host(APPS / app / "wit", world_of(app), (APPS / app / "app", *deps), expressions, bindings)


def evaluate_on_host(wit: Path, world: str, paths: tuple[Path, ...], expressions: list[str],
                     bindings: Path) -> list[Any]:
    import componentize_py

    if not (bindings / "wit_world").is_dir():
        componentize_py.generate_bindings([str(wit)], [world], [], False, None, str(bindings), [], [], False)
    script = ("import json, sys\n"
              "sys.path[:0] = json.loads(sys.argv[1])\n"
              "import app, wit_world\n"
              "print(json.dumps([eval(e) for e in json.loads(sys.argv[2])]))\n")
    path = json.dumps([str(bindings), *map(str, paths)])
    done = subprocess.run([sys.executable, "-B", "-c", script, path, json.dumps(expressions)], capture_output=True,
                          text=True, timeout=120, cwd=bindings)
    assert done.returncode == 0, done.stderr
    answers: list[Any] = json.loads(done.stdout)
    return answers


def readme_recipe(kind: str) -> str:
    """The code block after `<!-- recipe: KIND -->` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text.split(f"<!-- recipe: {kind} -->\n", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]
