"""The world's real Python bindings, as componentize-py generates them, for the dry run on host CPython.

`componentize-py -d WIT -w WORLD bindings OUT` (here its Python API, `generate_bindings`)
writes `wit_world` (the Protocols the app implements, the records, variants and enums, and
the imported functions as stubs), `componentize_py_types` and the helpers it mounts at
/bundled at build time. They are generated once per WIT content, world and version into
the cache, and put ahead of site-packages in the dry run; the plan takes them as provided.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from basilisk_trace.base.errors import BasiliskTraceError

# Only where the bindings import it: componentize-py's runtime is native, inside the component.
STAND_IN = Path(__file__).resolve().parent / "child" / "stand_in"
WORLD_MODULE = "wit_world"
_WIT_LIMIT = 4096  # files under a WIT folder: more is not a WIT folder


class BindingsError(BasiliskTraceError):
    """The WIT or the world cannot be turned into bindings."""


@dataclass(frozen=True)
class Bindings:
    """A generated bindings folder and what the dry run needs to know of it."""

    folder: Path
    modules: tuple[str, ...]  # every module in it (all provided by componentize-py at build time)
    exports: tuple[tuple[str, str], ...]  # (Protocol class, its module): what the app implements
    imports: tuple[str, ...]  # the modules of the functions the world imports
    needs_runtime: bool  # some module imports componentize_py_runtime, native in the component

    @property
    def paths(self) -> tuple[Path, ...]:
        """The folders the dry run puts ahead of site-packages."""
        return (self.folder, STAND_IN) if self.needs_runtime else (self.folder,)

    def exports_json(self) -> str:
        """What the exerciser (child/exercise_exports.py) is given."""
        return json.dumps({"classes": [{"class": c, "module": m} for c, m in self.exports],
                           "imports": list(self.imports)}, sort_keys=True)


def generate(wit: Path, world: str, cache_dir: Path, version: str) -> Bindings:
    """The bindings of `world` in `wit` (a .wit file or a folder), generated once into `cache_dir`."""
    key = _key(wit, world, version)
    folder = cache_dir / "bindings" / key
    if not (folder / WORLD_MODULE / "__init__.py").is_file():
        _write(wit, world, folder)
    return read(folder)


def _key(wit: Path, world: str, version: str) -> str:
    digest = hashlib.sha256(json.dumps([world, version]).encode())
    for path in _wit_files(wit):
        digest.update(str(path.relative_to(wit)).encode() if path != wit else b"")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _wit_files(wit: Path) -> list[Path]:
    if not wit.exists():
        raise BindingsError(f"WIT path {wit} does not exist; pass -d with the folder (or .wit file) of your world")
    if wit.is_file():
        return [wit]
    files = sorted(p for p in wit.rglob("*.wit") if p.is_file())
    if len(files) > _WIT_LIMIT:
        raise BindingsError(f"{wit} holds more than {_WIT_LIMIT} .wit files; pass -d with your world's WIT folder")
    if not files:
        raise BindingsError(f"{wit} holds no .wit file; pass -d with the folder of your world's WIT")
    return files


def _write(wit: Path, world: str, folder: Path) -> None:
    import componentize_py  # the caller checked that it is installed

    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = Path(tempfile.mkdtemp(prefix=".new-", dir=folder.parent))
    try:
        componentize_py.generate_bindings([str(wit)], [world], [], False, None, str(temporary / "out"),
                                          [], [], False)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(temporary / "out", folder)
    except AssertionError as exc:  # componentize-py's error: its anyhow chain, then a Rust backtrace
        raise BindingsError(f"componentize-py cannot make bindings for world {world!r} from {wit}: "
                            f"{first_error(str(exc))}") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def first_error(text: str) -> str:
    """componentize-py's error in one line: the message and its causes, without the Rust backtrace."""
    text = text.split("\n\nStack backtrace:")[0]
    lines = [line.strip() for line in text.splitlines() if line.strip() and line.strip() != "Caused by:"]
    return "; ".join(dict.fromkeys(lines))[:2000] or "no message"


def read(folder: Path) -> Bindings:
    """What a generated bindings folder holds."""
    modules = []
    needs_runtime = False
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        needs_runtime = needs_runtime or "componentize_py_runtime" in path.read_text(encoding="utf-8")
    exports = [(name, WORLD_MODULE) for name in _protocols(folder / WORLD_MODULE / "__init__.py")]
    exports += [(name, f"{WORLD_MODULE}.exports") for name in _protocols(folder / WORLD_MODULE / "exports" / "__init__.py")]
    imports = sorted(m for m in modules if m.startswith(f"{WORLD_MODULE}.imports."))
    return Bindings(folder, tuple(sorted(modules)), tuple(exports), tuple(imports), needs_runtime)


def _protocols(path: Path) -> list[str]:
    """The Protocol classes of a generated module that declare methods (the app implements them)."""
    if not path.is_file():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)
            and any(isinstance(b, ast.Name) and b.id == "Protocol" for b in node.bases)
            and any(isinstance(item, ast.FunctionDef) for item in node.body)]
