"""ic-basilisk's own build steps (template lookup, method extraction, Candid, injection) run on our python_source."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from basilisk_trace.base.dist import NotInstalled, distribution_version
from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.launch import check_cancelled
from basilisk_trace.base.read import MIB, file_kind, read_bounded
from basilisk_trace.bundler.format.wasm import Module, SectionId, WasmError
from basilisk_trace.bundler.format.wasm._decode import find_exports, read_imports
from basilisk_trace.bundler.write.atomic import OutputError, check_output
from basilisk_trace.bundler.write.ic_basilisk_methods import reusing

__all__ = ["SUPPORTED_VERSIONS", "CanisterBuild", "IcBasiliskError", "build_canister", "check_entry_source",
           "build_modules", "check_environment", "ic_basilisk_version"]

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
}
_INSTALL = f"pip install ic-basilisk=={SUPPORTED_VERSIONS[-1]}"
_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
# Far above any canister module the Internet Computer accepts, and any entry's source.
TEMPLATE_LIMIT = 256 * MIB
ENTRY_LIMIT = 64 * MIB


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
    try:
        version = distribution_version("ic-basilisk")
    except NotInstalled:
        raise IcBasiliskError(f"ic-basilisk is not installed in this environment; {_INSTALL}") from None
    if version not in SUPPORTED_VERSIONS:
        raise IcBasiliskError(f"ic-basilisk {version} is installed, but canister supports only "
                              f"{', '.join(SUPPORTED_VERSIONS)}; {_INSTALL}, or build with python -m basilisk")
    return version


def build_modules() -> dict[str, ModuleType]:
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
        text = read_bounded(entry, ENTRY_LIMIT, "entry").decode("utf-8")
    except OSError as exc:
        raise IcBasiliskError(f"cannot read entry {entry}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise IcBasiliskError(f"entry {entry} is not UTF-8 text; save it as UTF-8") from None
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


def build_canister(name: str, entry: str, source: str, *, verbose: bool = False,
                   inputs: Iterable[str | os.PathLike[str]] = (),
                   sections: dict[str, bytes] | None = None, extracted: dict[str, Any] | None = None) -> CanisterBuild:
    """Run ic-basilisk's build with `source` as the python_source; outputs replace the old ones only on success.

    `entry` is the path exactly as given on the command line (ic-basilisk reads the
    methods from its directory); CANISTER_CANDID_PATH and BASILISK_TEMPLATE_WASM
    are read from the environment, as python -m basilisk reads them. No output may replace one of
    `inputs` (the files the run read); `sections` (name -> bytes) become custom sections.
    """
    modules = build_modules()
    check_environment(name, inputs)
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
        with reusing(dict(extracted or {})):  # ic_basilisk_methods.py
            log = _run(build.build_with_template, staged, name, verbose, template)
        wasm = staging / f"{name}.wasm"
        methods = _finish(wasm, source, sections or {})
        check_cancelled()  # interrupted during the build: nothing is replaced
        _publish(staging, paths, name)
    log = log.replace(str(staging), str(final))
    return CanisterBuild(name, Path(paths["wasm"]), Path(paths["did"]), Path(paths["python_source"]), template,
                         len(source.encode("utf-8")), Path(paths["wasm"]).stat().st_size, methods, log)


def check_environment(name: str, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """What can be checked before the dry run: ic-basilisk's version, the name, the environment, the outputs."""
    ic_basilisk_version()
    # The name becomes a directory under .basilisk/ and a file name: plain ASCII, and short enough
    # for the staging names beside it.
    if not _NAME.fullmatch(name):
        shown = name if len(name) <= 60 else name[:60] + "..."
        raise IcBasiliskError(f"canister name {shown!r} cannot be a file name under .basilisk/; use the name from "
                              "dfx.json or icp.yaml: ASCII letters, digits, _ and -, at most 100 of them")
    candid = os.environ.get("CANISTER_CANDID_PATH")
    if not candid:
        raise IcBasiliskError("CANISTER_CANDID_PATH is not set; set it to the Candid file to write, as for "
                              f"python -m basilisk (e.g. CANISTER_CANDID_PATH=.basilisk/{name}/{name}.did)")
    explicit = os.environ.get("BASILISK_TEMPLATE_WASM")
    if explicit and not os.path.isfile(explicit):
        # python -m basilisk would silently fall back to another template: say so instead.
        raise IcBasiliskError(f"BASILISK_TEMPLATE_WASM names {explicit}, which is not a file; "
                              "point it at ic-basilisk's canister template .wasm, or unset it")
    check_outputs(name, candid, inputs)


def check_outputs(name: str, candid: str, inputs: Iterable[str | os.PathLike[str]] = ()) -> None:
    """Every output of `canister` gets the checks -o gets: the Wasm and the Candid file only over a regular
    file or a new path, never over an input; .basilisk and its folders real folders, not links."""
    inputs = tuple(inputs)
    folder = Path(".basilisk", name)
    wasm, source = folder / f"{name}.wasm", folder / "python_source"
    for path in (folder.parent, folder, source):
        _real_folder(path)
    for path, what in ((wasm, "the Wasm output"), (Path(candid), "CANISTER_CANDID_PATH")):
        try:
            check_output(path, inputs)
        except OutputError as exc:
            raise IcBasiliskError(f"{what}: {exc}") from None
    did = os.path.realpath(candid)
    if did == os.path.realpath(wasm) or did.startswith(os.path.realpath(source) + os.sep):
        raise IcBasiliskError(f"CANISTER_CANDID_PATH={candid} names {wasm if did == os.path.realpath(wasm) else source}, "
                              f"an output of the build itself; point it at a .did file (e.g. {folder}/{name}.did)")


def _real_folder(path: Path) -> None:
    """A folder the build writes into must be one, not a link that takes the outputs elsewhere."""
    try:
        found = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise IcBasiliskError(f"cannot use {path}: {exc.strerror}") from None
    if not stat.S_ISDIR(found.st_mode):
        raise IcBasiliskError(f"refusing to build into {path}: it is {file_kind(found.st_mode)}, not a folder, "
                              "and the outputs would land wherever it points; remove it")


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
        module = Module.parse(read_bounded(path, TEMPLATE_LIMIT, "template"), str(path))
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


def _finish(wasm: Path, source: str, sections: dict[str, bytes]) -> tuple[str, ...]:
    """Check that the Wasm carries `source` as written, add `sections`; the exported canister methods."""
    from basilisk_trace.bundler.format.wasm._decode import read_exports
    from basilisk_trace.bundler.format.wasm.custom import set_custom_section
    from basilisk_trace.bundler.format.wasm.slots import read_slot

    module = Module.parse(wasm.read_bytes(), "canister.wasm")
    if source.encode("utf-8") not in (read_slot(module, "python_source") or b""):
        # ic-basilisk reads the python_source in the locale's encoding: on a non-UTF-8 locale it re-encodes it.
        raise IcBasiliskError("ic-basilisk did not inject the python_source as written (is the locale's encoding "
                              "UTF-8?); build again with PYTHONUTF8=1")
    for section, payload in sections.items():
        set_custom_section(module, section, payload)
    if sections:
        wasm.write_bytes(module.to_bytes())
    return tuple(e.name for e in read_exports(module) if e.name.startswith("canister_") and " " in e.name)


def _publish(staging: Path, paths: dict[str, Any], name: str) -> None:
    """All outputs replaced together, only now that the build succeeded.

    The Candid file is staged beside its target first (it may live on another filesystem): what can
    fail, fails before anything is replaced. Then each output replaces the old one by a rename, the
    Candid file last, as dfx reads it after the Wasm; should one rename fail, the ones done are undone.
    """
    did = Path(paths["did"])
    try:
        did.parent.mkdir(parents=True, exist_ok=True)
        staged_did = _beside(did, staging / "candid.did")
    except OSError as exc:
        raise IcBasiliskError(f"cannot write the Candid file {did}: {exc.strerror or exc}; the previous outputs "
                              f"of {name} are kept") from None
    moves = [(staging / Path(paths["wasm"]).name, Path(paths["wasm"])),
             (staging / "python_source", Path(paths["python_source"])), (Path(staged_did), did)]
    done: list[tuple[Path, Path | None]] = []
    try:
        for new, target in moves:
            old = target.with_name(f".{target.name}.{os.getpid()}.old") if os.path.lexists(target) else None
            if old is not None:
                os.replace(target, old)
            done.append((target, old))
            os.replace(new, target)
    except OSError as exc:
        _undo(done)
        raise IcBasiliskError(f"cannot replace the outputs of {name} ({exc.filename}: {exc.strerror or exc}); "
                              "the previous outputs are kept") from None
    finally:
        _remove(Path(staged_did))
    for _, old in done:
        if old is not None:
            _remove(old)


def _beside(target: Path, source: Path) -> str:
    """A copy of `source` in a temporary file next to `target`, to be renamed over it."""
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
    except BaseException:
        _remove(Path(temporary))
        raise
    return temporary


def _undo(done: list[tuple[Path, Path | None]]) -> None:
    for target, old in reversed(done):
        _remove(target)
        if old is not None:
            with contextlib.suppress(OSError):
                os.replace(old, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            os.unlink(path)
