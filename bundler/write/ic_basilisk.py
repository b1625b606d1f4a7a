"""ic-basilisk's own build steps (template lookup, method extraction, Candid, injection) run on our python_source."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.format.wasm import Module, SectionId, WasmError
from basilisk_trace.bundler.format.wasm._decode import find_exports, read_imports
from basilisk_trace.bundler.write.ic_basilisk_methods import reusing

__all__ = ["SUPPORTED_VERSIONS", "CanisterBuild", "IcBasiliskError", "build_canister", "check_entry_source",
           "check_environment", "ic_basilisk_version", "methods_ahead"]

# The versions whose build functions were read and tested; another layout is refused, never guessed.
SUPPORTED_VERSIONS = ("0.16.1",)
TEMPLATE_EXPORTS = (
    "execute_query_method", "execute_update_method",
    "python_source_passive_data_size", "init_python_source_passive_data",
    "method_meta_passive_data_size", "init_method_meta_passive_data",
)
_FUNCTIONS = {
    "basilisk.__main__": ("create_paths",),
    "basilisk.build_wasm_binary_or_exit": ("build_with_template", "find_template_wasm"),
    "basilisk.wasm_manipulator": ("extract_methods_from_python",),
}
_INSTALL = f"pip install ic-basilisk=={SUPPORTED_VERSIONS[-1]}"


class IcBasiliskError(BasiliskTraceError):
    """ic-basilisk is missing or unsupported, or its build cannot run on these inputs."""


@dataclass(frozen=True)
class CanisterBuild:
    """What `canister` wrote, where ic-basilisk's own build writes it."""

    name: str
    wasm: Path
    candid: Path
    python_source: Path  # the directory, as python -m basilisk leaves it
    template: Path
    python_source_size: int  # bytes injected as python_source
    wasm_size: int
    methods: tuple[str, ...]  # the exported canister methods, e.g. "canister_query greet"
    log: str  # what ic-basilisk printed


def ic_basilisk_version() -> str:
    """The installed ic-basilisk version, or an error naming the supported ones."""
    from basilisk_trace.base.dist import NotInstalled, distribution_version

    try:
        version = distribution_version("ic-basilisk")
    except NotInstalled:
        raise IcBasiliskError(f"ic-basilisk is not installed in this environment; {_INSTALL}") from None
    if version not in SUPPORTED_VERSIONS:
        raise IcBasiliskError(f"ic-basilisk {version} is installed, but canister supports only "
                              f"{', '.join(SUPPORTED_VERSIONS)}; {_INSTALL}, or build with python -m basilisk")
    return version


def _modules() -> dict[str, ModuleType]:
    version = ic_basilisk_version()
    found = {}
    for name, functions in _FUNCTIONS.items():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise IcBasiliskError(f"ic-basilisk {version} cannot be imported ({exc}); reinstall it: {_INSTALL}") from None
        missing = [f for f in functions if not callable(getattr(module, f, None))]
        if missing:
            raise IcBasiliskError(f"ic-basilisk {version} has no {name}.{missing[0]}; reinstall it: {_INSTALL}")
        found[name] = module
    return found


def check_entry_source(entry: Path) -> str:
    """The entry's text, which python_source carries verbatim after ic-basilisk's module loader."""
    try:
        text = entry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IcBasiliskError(f"cannot read entry {entry}: {exc}") from None
    try:
        tree = ast.parse(text, str(entry))
    except SyntaxError as exc:
        raise IcBasiliskError(f"{entry}:{exc.lineno}: {exc.msg}; fix the syntax error") from None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            # The canister runs the entry after ic-basilisk's loader, where this is a SyntaxError.
            raise IcBasiliskError(f"{entry}:{node.lineno}: 'from __future__ import' cannot run after ic-basilisk's "
                                  "module loader (python -m basilisk has the same limit); remove it from the entry "
                                  "and quote the annotations that need it")
    return text


def methods_ahead(entry: str) -> dict[str, Any]:
    """ic-basilisk's method extraction of the sources its build will read, done now (ic_basilisk_methods.py)."""
    from basilisk_trace.bundler.write.ic_basilisk_methods import ahead

    return ahead(entry, _modules()["basilisk.wasm_manipulator"].extract_methods_from_python)


def build_canister(name: str, entry: str, source: str, *, verbose: bool = False,
                   extracted: dict[str, Any] | None = None) -> CanisterBuild:
    """Run ic-basilisk's build with `source` as the python_source; outputs replace the old ones only on success.

    `entry` is the path exactly as given on the command line (ic-basilisk reads the
    methods from its directory); CANISTER_CANDID_PATH and BASILISK_TEMPLATE_WASM
    are read from the environment, as python -m basilisk reads them. What
    methods_ahead() extracted (`extracted`), reused where the build extracts from the same text.
    """
    modules = _modules()
    check_environment(name)
    args = {"empty": False, "flags": {"verbose": verbose}, "canister_name": name, "entry_point": entry}
    paths = modules["basilisk.__main__"].create_paths(args)
    build = modules["basilisk.build_wasm_binary_or_exit"]
    template = _template(build, paths)
    final = Path(paths["canister"])
    final.mkdir(parents=True, exist_ok=True)
    with _staging(final, name) as staging:
        staged = dict(paths, canister=str(staging), python_source=str(staging / "python_source"),
                      did=str(staging / "candid.did"))
        (staging / "python_source").mkdir()
        (staging / "python_source" / f"{paths['py_entry_module_name']}.py").write_text(source, encoding="utf-8")
        with reusing(modules["basilisk.wasm_manipulator"], dict(extracted or {})):
            log = _run(build.build_with_template, staged, name, verbose, template)
        wasm = staging / f"{name}.wasm"
        methods = _methods(wasm.read_bytes())
        try:
            _publish(staging, paths)
        except OSError as exc:
            raise IcBasiliskError(f"cannot replace the outputs in {final}: {exc.strerror or exc}; is another build "
                                  f"of {name} running? build again when it is done") from None
    log = log.replace(str(staging), str(final))
    return CanisterBuild(name, Path(paths["wasm"]), Path(paths["did"]), Path(paths["python_source"]), template,
                         len(source.encode("utf-8")), Path(paths["wasm"]).stat().st_size, methods, log)


def check_environment(name: str) -> None:
    """What can be checked before the dry run: ic-basilisk's version, the name, the environment."""
    ic_basilisk_version()
    # The name becomes a directory under .basilisk/ and a file name: it may not climb out.
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\x00" in name:
        raise IcBasiliskError(f"canister name {name!r} cannot be a file name under .basilisk/; "
                              "use the name from dfx.json or icp.yaml (letters, digits, _ and -)")
    if not os.environ.get("CANISTER_CANDID_PATH"):
        raise IcBasiliskError("CANISTER_CANDID_PATH is not set; set it to the Candid file to write, as for "
                              f"python -m basilisk (e.g. CANISTER_CANDID_PATH=.basilisk/{name}/{name}.did)")
    explicit = os.environ.get("BASILISK_TEMPLATE_WASM")
    if explicit and not os.path.isfile(explicit):
        # python -m basilisk would silently fall back to another template: say so instead.
        raise IcBasiliskError(f"BASILISK_TEMPLATE_WASM names {explicit}, which is not a file; "
                              "point it at ic-basilisk's canister template .wasm, or unset it")


def _template(build: Any, paths: dict[str, Any]) -> Path:
    found = build.find_template_wasm(paths)
    if found is None:
        raise IcBasiliskError("no ic-basilisk canister template found (nor downloaded); set BASILISK_TEMPLATE_WASM "
                              "to the template .wasm, or run python -m basilisk once to build and cache it")
    path = Path(found)
    _check_template(path)
    return path


def _check_template(path: Path) -> None:
    """Refuse what ic-basilisk's manipulate_wasm would turn into invalid Wasm without a word."""
    try:
        module = Module.parse(path.read_bytes(), str(path))
    except OSError as exc:
        raise IcBasiliskError(f"cannot read template {path}: {exc.strerror}") from None
    except WasmError as exc:
        raise IcBasiliskError(f"template {path} is not a Wasm module ({exc}); point BASILISK_TEMPLATE_WASM "
                              "at ic-basilisk's canister template") from None
    found = find_exports(module, TEMPLATE_EXPORTS)
    missing = [name for name in TEMPLATE_EXPORTS if name not in found or found[name].kind != 0]
    problem = (f"does not export the function {missing[0]}" if missing
               else "has no data section" if module.find(SectionId.DATA) is None
               else "imports a global" if read_imports(module).globals else None)
    if problem:
        raise IcBasiliskError(f"template {path} {problem}, which ic-basilisk's injection needs; "
                              "use the canister template of ic-basilisk " + ", ".join(SUPPORTED_VERSIONS))


@contextlib.contextmanager
def _staging(final: Path, name: str) -> Iterator[Path]:
    # Next to the outputs, so that publishing is a rename on one filesystem.
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=final.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run(build_with_template: Any, paths: dict[str, Any], name: str, verbose: bool, template: Path) -> str:
    captured = io.StringIO()
    env = dict(os.environ, BASILISK_TEMPLATE_WASM=str(template))
    try:
        with contextlib.redirect_stdout(captured), _environ(env):
            build_with_template(paths, name, env, verbose)
    except SystemExit:
        raise IcBasiliskError(f"ic-basilisk's build of {name} failed: {_last_line(captured.getvalue())}") from None
    except (ValueError, SyntaxError, OSError) as exc:
        raise IcBasiliskError(f"ic-basilisk's build of {name} failed: {exc}") from None
    return captured.getvalue()


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _methods(wasm: bytes) -> tuple[str, ...]:
    from basilisk_trace.bundler.format.wasm._decode import read_exports

    module = Module.parse(wasm, "canister.wasm")
    return tuple(e.name for e in read_exports(module) if e.name.startswith("canister_") and " " in e.name)


def _publish(staging: Path, paths: dict[str, Any]) -> None:
    """Each output replaced by one rename; the Candid file last, as dfx reads it after the Wasm."""
    os.replace(staging / Path(paths["wasm"]).name, paths["wasm"])
    old = Path(paths["python_source"])
    trash = staging / "old_python_source"
    if old.exists():
        os.replace(old, trash)
    os.replace(staging / "python_source", old)
    did = Path(paths["did"])
    did.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging / "candid.did", did)
    except OSError:
        # Another filesystem: copy next to it, then rename there.
        handle, temporary = tempfile.mkstemp(prefix=f".{did.name}.", dir=did.parent)
        os.close(handle)
        shutil.copyfile(staging / "candid.did", temporary)
        os.replace(temporary, did)
