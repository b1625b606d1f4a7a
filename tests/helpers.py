"""Helpers for tests that drive the real CLI and bundle real fixtures."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import types
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
CLI = str(Path(sys.executable).with_name("basilisk-trace"))


def run_cli(*args: str | os.PathLike[str], cwd: Path | None = None, timeout: float = 240,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed basilisk-trace command, as a user runs it; `env` adds to the environment."""
    full = {**os.environ, **env} if env else None
    return subprocess.run([CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=full)


def zip_names(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def tree_hash(root: Path) -> str:
    """A hash of every file's path and bytes under root: proof that nothing was written there."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    dirs = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_dir())
    digest.update("\n".join(dirs).encode())
    return digest.hexdigest()


def import_tree(where: Path) -> Path:
    """A folder where `import basilisk_trace` finds this checkout without installing it (for other interpreters)."""
    package = where / "basilisk_trace"
    package.mkdir(parents=True, exist_ok=True)
    for name in ("base", "tracer", "bundler"):
        link = package / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return where


# What a canister template runs at init, after the bundle is in the Wasm passive data (as the README shows).
TEMPLATE_SNIPPET = (
    'exec(compile(BOOTSTRAP_SOURCE, "_basilisk_bootstrap.py", "exec"), '
    'boot := {"__name__": "_basilisk_bootstrap"})\n'
    'boot["install"]()\n'
)


def load_path(name: str, path: Path) -> types.ModuleType:
    """The module in the file at `path` (a tool script, a child script), loaded under `name`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_bootstrap(register: bool = False) -> types.ModuleType:
    """A fresh module built from the bootstrap's source, exactly as a runtime builds it."""
    from basilisk_trace.bundler.format.bootstrap import (
        BOOTSTRAP_ARCNAME,
        BOOTSTRAP_MODULE,
        BOOTSTRAP_SOURCE,
    )

    module = types.ModuleType(BOOTSTRAP_MODULE)
    module.__file__ = BOOTSTRAP_ARCNAME
    if register:
        sys.modules[BOOTSTRAP_MODULE] = module
    exec(compile(BOOTSTRAP_SOURCE, BOOTSTRAP_ARCNAME, "exec"), module.__dict__)
    return module
