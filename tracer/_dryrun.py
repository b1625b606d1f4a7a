"""Run the dry run in a child interpreter and read back its trace."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from basilisk_trace.base.errors import DryRunError, EntryError
from basilisk_trace.base.launch import (
    ChildResultError,
    ChildStartError,
    ChildTimeout,
    passed_names,
    scrubbed_env,
    start_child,
)
from basilisk_trace.base.limits import LIMITS, limit_of_exit
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.base.sandbox import wanted as wanted_containment
from basilisk_trace.tracer import _cache
from basilisk_trace.tracer._interpreter import Interpreter, interpreter
from basilisk_trace.tracer._judge import (
    Malformed,
    forged,
    judge,
    mark_first_party,
    stored,
    temp_dir_failure,
)
from basilisk_trace.tracer._layer import (
    LAYER_CODE,
    installed_layer,
    steps_to_compile,
    write_layer_code,
)

if TYPE_CHECKING:
    from basilisk_trace.tracer.model import Trace

_GRACE = 15.0
# The dry run's child scripts, and the runtime stand-ins given to the program (verify's guests use them too).
CHILD_DIR = Path(__file__).resolve().with_name("child")
RUNTIME_DIR = CHILD_DIR.parent / "runtime"
STUB_RUNTIME = RUNTIME_DIR / "stubs"
CHILD_SCRIPTS = (CHILD_DIR, RUNTIME_DIR)
_STATIC_OUT = "static.json"  # the static pass's new cache, in the child's run directory
_ENTRY_LIMIT = 64 * MIB


@dataclass(frozen=True)
class Layer:
    """The host's runtime the program runs under in the dry run, and how its entry points are called."""

    # "basilisk": ic-basilisk's own runtime layer (the stand-in where ic-basilisk is not installed);
    # "stand-in": always ours; "none": no canister runtime at all (a host that is not a canister).
    runtime: Literal["basilisk", "stand-in", "none"] = "basilisk"
    preamble: bool = True  # ic-basilisk's stdlib preamble before its shim: only the basilisk runtime runs it
    paths: tuple[Path, ...] = ()  # folders ahead of site-packages: the host's own modules (generated bindings)
    exerciser: Path | None = None  # the child script that calls the entry points (default: canister methods)
    exports: str = ""  # JSON text the exerciser is given (a host's exports and their types)


@dataclass(frozen=True)
class DryRunOptions:
    """How to run the program: which interpreter, what to call, how long to wait."""

    exercise: bool = False
    timeout: float = 60.0
    python: str | None = None
    project_root: Path | None = None
    block_natives: bool = True
    layer: Layer = field(default_factory=Layer)  # the host's runtime, given by the host (bundler/hosts/)
    cache_dir: Path | None = None  # default: the user's cache directory; see default_cache_dir()
    use_cache: bool = True
    static_only: bool = False  # run nothing: the static pass alone, from the entry file
    # Where the target lacks part of the stdlib: the modules it provides, and the stdlib modules it
    # cannot run. The static pass follows the imports of the others the program may need, and notes
    # which lacking ones the program's code reads while importing (child/stdlib_follow.py).
    stdlib_provided: tuple[str, ...] | None = None
    stdlib_unavailable: tuple[str, ...] = ()
    include_stdlib: tuple[str, ...] = ()  # stdlib modules --include names: in the trace, never imported


def check_entry(entry: Path) -> tuple[Path, str]:
    """The entry's absolute path and module name, or an error saying what is wrong."""
    if not entry.exists():
        raise EntryError(f"entry file {entry} does not exist; pass the path to your canister's main.py")
    if entry.is_dir():
        raise EntryError(f"entry {entry} is a directory; pass the canister's entry file, e.g. {entry / 'main.py'}")
    if entry.suffix != ".py":
        raise EntryError(f"entry {entry} is not a .py file; pass the canister's Python entry file")
    name = entry.stem
    if not name.isidentifier():
        raise EntryError(f"entry {entry}: {name!r} is not a valid module name; rename the file")
    if name in sys.stdlib_module_names or name in sys.builtin_module_names:
        raise EntryError(f"entry {entry} has the name of the standard library module {name!r}, which the "
                         f"interpreter imports instead, so the program would never run; rename the file "
                         "(e.g. main.py)")
    try:
        read_bounded(entry, _ENTRY_LIMIT, "entry")  # not blocking: a FIFO is refused, never waited on
    except OSError as exc:
        raise EntryError(f"cannot read entry {entry}: {exc.strerror}") from None
    return entry.resolve(), name


def _runtime_layer(options: DryRunOptions) -> dict[str, Any] | None:
    """ic-basilisk's runtime layer for the child, or None for the stand-in package."""
    if options.layer.runtime != "basilisk":
        return None
    layer = installed_layer()
    return layer.to_json(preamble=options.layer.preamble) if layer is not None else None


def default_cache_dir() -> Path:
    """Where the dry run keeps what it can reuse: $XDG_CACHE_HOME or ~/.cache, /basilisk-trace.

    A relative XDG_CACHE_HOME is ignored, as the XDG spec asks: it would put the
    cache inside whatever project is traced.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "basilisk-trace")


# A project's root holds one of these; its modules import each other from there (from src.posts import ...).
PROJECT_FILES = ("dfx.json", "icp.yaml", "pyproject.toml")


def find_project_root(entry: Path) -> Path:
    """The nearest folder above the entry with a project file; else the working directory, as for
    python -m basilisk, when the entry is inside it; else the entry's own folder."""
    for folder in entry.parents:
        if any((folder / name).is_file() for name in PROJECT_FILES):
            return folder
    cwd = Path.cwd().resolve()
    # Not / nor the home folder: running from there says nothing about where the project is.
    broad = cwd == cwd.parent or cwd == Path.home().resolve()
    return cwd if cwd in entry.parents and not broad else entry.parent


def run_dry_run(entry: Path, options: DryRunOptions) -> Trace:
    """Trace `entry` in a child process; the program's own failures are in the trace."""
    config, root, python, env = _child_setup(entry, options)
    cache = _cache_entry(config, python, env)
    cached = _from_cache(*cache) if cache else None
    if cached is not None:
        return cached
    known = interpreter(python)  # asked before the program runs: what its report is judged by
    started = time.time_ns()
    raw = _run_until_all_natives_seen(entry, config, root, python, options.timeout, known)
    if cache and raw["outcome"] == "ok":
        _cache.store(*cache, raw, started)
    raw["environment"] = passed_names()
    mark_first_party(raw)
    return build_trace(raw)


def cache_entry(entry: Path, options: DryRunOptions) -> tuple[Path, str] | None:
    """(cache directory, key) of the trace `run_dry_run(entry, options)` makes, or None without a cache."""
    config, _, python, env = _child_setup(entry, options)
    return _cache_entry(config, python, env)


def _cache_entry(config: dict[str, Any], python: str, env: dict[str, str]) -> tuple[Path, str] | None:
    if not config["cache_dir"]:
        return None
    # A trace made without the sandbox is not reused under it, nor the other way round.
    contained = {**config, "containment": wanted_containment()}
    if config["exerciser"]:  # a host's own script: a change to it retraces, as one to ours does
        import hashlib

        contained["exerciser"] = [config["exerciser"], hashlib.sha256(Path(config["exerciser"]).read_bytes()).hexdigest()]
    key = _cache.cache_key({k: v for k, v in contained.items() if k != "timeout"}, python, env)
    return Path(config["cache_dir"]), key


def _child_setup(entry: Path, options: DryRunOptions) -> tuple[dict[str, Any], Path, str, dict[str, str]]:
    """The child's config, working directory, interpreter and environment."""
    path, module = check_entry(entry)
    root = (options.project_root or find_project_root(path)).resolve()
    config: dict[str, Any] = {
        "entry": str(path),
        "entry_module": module,
        "project_root": str(root),
        "exercise": options.exercise,
        "timeout": options.timeout,
        "block_natives": options.block_natives,
        "runtime_layer": _runtime_layer(options),
        "runtime": options.layer.runtime,
        "layer_paths": [str(p) for p in options.layer.paths],
        "exerciser": str(options.layer.exerciser) if options.layer.exerciser else None,
        "exports": options.layer.exports,
        "static_only": options.static_only,
        "stdlib_provided": list(options.stdlib_provided) if options.stdlib_provided is not None else None,
        "stdlib_unavailable": list(options.stdlib_unavailable),
        "include_stdlib": list(options.include_stdlib),
        "cache_dir": _usable_cache_dir(options),
        "protected": [str(p) for p in protected_dirs(path, root)],
    }
    python = options.python or sys.executable
    # The static pass's cache of this project and interpreter: what one program's dry run puts
    # there never reaches another project's.
    config["static_cache"] = (str(Path(config["cache_dir"], _cache.static_name(root, python)))
                              if config["cache_dir"] else None)
    config["static_out"] = _STATIC_OUT if config["cache_dir"] else None
    return config, root, python, scrubbed_env()


def _usable_cache_dir(options: DryRunOptions) -> str | None:
    if not options.use_cache:
        return None
    directory = options.cache_dir or default_cache_dir()
    return str(directory) if _cache.usable(directory) else None


def _from_cache(cache_dir: Path | None, key: str) -> Trace | None:
    raw = _cache.load(cache_dir, key) if cache_dir else None
    if raw is None:
        return None
    try:
        raw = stored(raw)
        raw.update(cached=True, environment=passed_names())
        mark_first_party(raw)
        return build_trace(raw)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError):
        return None  # a damaged entry is a miss: the dry run writes a good one


_MAX_NATIVE_RUNS = 8


def _run_until_all_natives_seen(entry: Path, config: dict[str, Any], root: Path, python: str,
                                timeout: float, known: Interpreter) -> dict[str, Any]:
    """Dry-run again while a required native stops the program, letting the ones found load.

    The first blocked native that is not optional ends the import; the user wants every native
    package listed at once, so the next run lets it load and goes on to find the next.
    """
    allowed: list[str] = []
    first: dict[str, Any] | None = None
    for _ in range(_MAX_NATIVE_RUNS):
        raw = _run_child(entry, {**config, "allow_natives": allowed}, root, python, timeout, known)
        first = first or raw
        found = [m["name"] for m in raw["modules"]
                 if m.get("blocked") and not m.get("optional") and m["name"] not in allowed]
        if raw["outcome"] == "ok" or not found:
            break
        allowed += found
    if allowed and first is not None and first is not raw:
        # On the target the program stops at the first one: that failure is the outcome.
        raw.update(outcome=first["outcome"], traceback=first["traceback"], exit_code=first["exit_code"])
        raw["events"].append({"kind": "native", "module": None, "detail": (
            f"dry run repeated with {', '.join(allowed)} allowed to load, to find every native module")})
    return raw


def _run_child(entry: Path, config: dict[str, Any], root: Path, python: str,
               timeout: float, known: Interpreter) -> dict[str, Any]:
    outputs = (_STATIC_OUT,) if config["static_out"] else ()
    steps = steps_to_compile(config["runtime_layer"], python)  # compiled here while the child starts
    try:
        with start_child("runner", {**config, "layer_code": LAYER_CODE if steps else None}, scripts=CHILD_SCRIPTS,
                         python=python, flags=("-B",), cwd=root, visible=_visible(entry, config, known),
                         outputs=outputs, hidden=_hidden(config), waits=bool(steps)) as child:
            if steps:
                write_layer_code(child.run_dir / LAYER_CODE, steps)
            run = child.finish(timeout + _GRACE)
    except ChildTimeout:
        raise DryRunError(f"the dry run of {entry} did not stop within {timeout:.0f}s "
                          "and was killed; raise --timeout or find the loop at import time") from None
    except ChildStartError as exc:
        raise DryRunError(f"cannot start the interpreter {python}: {exc.reason}; check --python") from None
    except ChildResultError as exc:
        raise DryRunError(forged(entry, f"its {exc.name} is {exc.reason}")) from None
    except (OSError, ValueError) as exc:
        raise DryRunError(temp_dir_failure(exc)) from None
    if run.result is None:
        hit = limit_of_exit(run.returncode)
        limit = f"; it hit {LIMITS.describe(hit)}" if hit else ""
        raise DryRunError(f"the dry run of {entry} crashed (exit {run.returncode}) before writing "
                          f"a trace{limit}: {' / '.join(run.stderr_tail) or 'no output'}")
    try:
        raw = judge(run.result, config, known)
    except Malformed as exc:
        raise DryRunError(forged(entry, f"its result has a malformed {exc}")) from None
    unreadable = raw.pop("entry_error", None)
    if unreadable is not None:
        # Root reads a file whose owner may not; the sandbox, without that privilege, cannot.
        raise DryRunError(f"the dry run cannot read the entry {entry} ({unreadable}), though this process can; "
                          "give its owner read permission (chmod u+r) and run as its owner")
    raw["containment"] = run.containment.describe()
    if config["static_out"] and _STATIC_OUT in run.kept:
        _cache.store_static(Path(config["cache_dir"]), Path(config["static_cache"]).name, run.kept[_STATIC_OUT])
    return raw


def protected_dirs(entry: Path, root: Path) -> list[Path]:
    """The project and the repository around the entry: the program may change neither."""
    dirs = [root, entry.parent]
    repository = next((d for d in entry.parents if (d / ".git").exists()), None)
    return dirs + ([repository] if repository else [])


def _visible(entry: Path, config: dict[str, Any], known: Interpreter) -> list[Path]:
    # What the child reads besides its interpreter: the project, the host's folders, this project's
    # static-pass cache, and where the interpreter imports from (a user site-packages or an editable
    # install's sources in the home folder, which is otherwise hidden).
    paths = [Path(p) for p in config["protected"]] + [entry.parent] + [Path(p) for p in config["layer_paths"]]
    if config["exerciser"]:
        paths.append(Path(config["exerciser"]).parent)
    paths += [Path(p) for p in (*known.stdlib, *known.site_packages, *known.sources)]
    return paths + ([Path(config["static_cache"])] if config["static_cache"] else [])


def _hidden(config: dict[str, Any]) -> list[Path]:
    # The cache holds its secret and every other project's traces: hidden wherever it lives.
    return [Path(config["cache_dir"])] if config["cache_dir"] else []


def build_trace(raw: dict[str, Any]) -> Trace:
    """A Trace from the child's raw records: sorted, with import chains."""
    from basilisk_trace.tracer.model import Trace  # not needed to find a cache entry

    importers = {m["name"]: m.get("importer") for m in raw["modules"]}
    entry = raw["entry_module"]
    # Each record is built once, chain included: at thousands of modules, copies add up.
    modules = [{**m, "chain": chain_of(m["name"], importers, entry)}
               for m in sorted(raw["modules"], key=lambda m: m["name"])]
    files = sorted(raw.get("files", ()), key=lambda f: f["path"])
    return Trace.from_dict({**raw, "modules": modules, "files": files})


def chain_of(name: str, importers: Mapping[str, str | None], entry: str) -> tuple[str, ...]:
    """entry -> ... -> name, following each module's first importer."""
    chain = [name]
    seen = {name}
    importer = importers.get(name)
    while importer and importer not in seen:
        chain.append(importer)
        seen.add(importer)
        importer = importers.get(importer)
    if chain[-1] != entry:
        chain.append(entry)
    return tuple(reversed(chain))
