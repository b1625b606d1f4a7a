"""The dry run: runs in a child interpreter, records every import, writes raw JSON.

This file is executed as a script by the user's interpreter, never imported by
the tool. It uses the standard library only, imported from the standard library
alone before anything of the project can run, and hidden from the program while it
runs, so that the program's own imports of them are its own and are recorded.
Started by _load.py: python -B _load.py runner CONFIG.json OUT.json
"""

import builtins
import io
import os
import sys

_LOAD = sys.modules["_basilisk_trace_load"]
_HERE = _LOAD.CHILD_DIR
_FRAMES = _LOAD.load("frames")
_FILES = _LOAD.load("files")
_STDLIB = _LOAD.load("stdlib")
_NATIVE_SUFFIXES = (".so", ".pyd", ".dylib")
# The stdlib modules the tool uses itself, before, during and after the program.
_TOOL_MODULES = ("json", "dis", "signal", "traceback", "typing", "ast", "re", "tempfile",
                 "sysconfig", "importlib.util", "importlib.machinery", "time")
_TOOLS = {}  # name -> the tool's own copy, for every name in _TOOL_MODULES
_ADDED = {}  # the modules loading them added to sys.modules: hidden while the program runs


class _DryRunTimeout(BaseException):
    """Raised in the main thread when the dry run exceeds its time limit."""


class _State:
    """Everything recorded while the program runs."""

    def __init__(self, config):
        self.config = config
        self.active = False
        self.phase = "trace"
        self.attempts = {}  # name -> record dict, in first-attempt order
        self.specs = {}  # name -> spec returned by the other finders
        self.opened = {}  # path -> {"module": ..., "tracked": bool}
        self.read = set()  # paths read through a tracked file object
        self.events = []
        self.methods = []  # (decorator, function) registered by the runtime stub
        self.exercise = None  # the _exercise module, loaded before the program runs
        self.final_modules = {}  # sys.modules when the program stopped, before the tool's own work
        self.method_results = []  # (qualname, decorator, module, error)
        self.preloaded = set()  # modules already loaded when the entry started
        self.project_root = config["project_root"]
        self.stdlib_dirs = _STDLIB.stdlib_dirs(_TOOLS["sysconfig"])
        self.code = {}  # file -> the code object of its module body, as the import system ran it
        self.limit = None  # the limit the program's failure came from: "memory", "file-size", "scratch"
        self._real_dirs = {}

    def real(self, path):
        """os.path.realpath, resolving each directory once: most modules share a few."""
        directory, name = os.path.split(path)
        base = self._real_dirs.get(directory)
        if base is None:
            base = self._real_dirs[directory] = os.path.realpath(directory)
        joined = os.path.join(base, name)
        return os.path.realpath(joined) if os.path.islink(joined) else joined


STATE = None


def _is_stdlib_path(path):
    if not path:
        return False
    real = STATE.real(os.path.abspath(path))
    std, site = STATE.stdlib_dirs
    if any(real.startswith(s + os.sep) for s in site):
        return False
    return any(real.startswith(d + os.sep) for d in std)


# --- the sys.meta_path recorder ---------------------------------------------


def _delegate(finder_self, name, path, target):
    for finder in list(sys.meta_path):
        if finder is finder_self:
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        spec = find_spec(name, path, target)
        if spec is not None:
            return spec
    return None


def _is_native(spec):
    origin = spec.origin or ""
    return origin.endswith(_NATIVE_SUFFIXES) or type(spec.loader).__name__ == "ExtensionFileLoader"


class _Recorder:
    """First on sys.meta_path: asks the other finders, records, blocks natives."""

    def find_spec(self, name, path=None, target=None):
        state = STATE
        if not state.active:
            return None
        frame, via = _FRAMES.importer_frame(2)
        record = state.attempts.get(name)
        if record is None:
            record = {
                "name": name,
                "importer": _FRAMES.frame_module(frame),
                "how": _FRAMES.how(frame, via),
                "found_by": state.phase,
                "line": frame.f_lineno if frame is not None else None,
            }
            state.attempts[name] = record
        spec = _delegate(self, name, path, target)
        state.specs[name] = spec
        if spec is None:
            return None
        if state.config["block_natives"] and _is_native(spec) and not _is_stdlib_path(spec.origin):
            record["blocked"] = (
                f"native extension {os.path.basename(spec.origin or name)} blocked: "
                "the target cannot load native code"
            )
            if name in state.config.get("allow_natives", ()):
                return spec  # a later run lets it load, to find the natives behind it
            raise ModuleNotFoundError(
                f"No module named {name!r} (native code is blocked in the basilisk-trace dry run)",
                name=name,
            )
        if name == "basilisk":
            _wrap_exec(spec, _patch_basilisk)
        return spec

    def invalidate_caches(self):
        pass


def _wrap_exec(spec, after):
    loader = spec.loader
    exec_module = getattr(loader, "exec_module", None)
    if exec_module is None:
        return

    class _Wrapped:
        def __getattr__(self, attr):
            return getattr(loader, attr)

        def create_module(self, spec):
            create = getattr(loader, "create_module", None)
            return create(spec) if create else None

        def exec_module(self, module):
            exec_module(module)
            after(module)

    spec.loader = _Wrapped()


# --- the canister runtime ---------------------------------------------------


def _patch_basilisk(module):
    STATE.exercise.patch_basilisk(module, STATE.methods)


def _install_runtime(path):
    """Give the program its host's runtime: the host's own folders ahead of site-packages, and for a
    canister ic-basilisk's own layer, or the stand-in on `path`."""
    config = STATE.config
    path[1:1] = config.get("layer_paths") or []
    if config.get("runtime") == "none":
        return "none"
    ic_api = _LOAD.load("ic", _LOAD.find("ic_api.py"))
    layer = config.get("runtime_layer")
    if layer is not None:
        basilisk = _LOAD.load("boot", _LOAD.find("boot.py")).install(layer, ic_api, compiled=_layer_code(config))
        STATE.exercise.patch_basilisk(basilisk, STATE.methods)
        STATE.exercise.learn_shapes(layer.get("shapes") or ())
        return layer["label"]
    sys.modules["_basilisk_ic"] = builtins._basilisk_ic = ic_api.make_module()
    path.insert(1, _LOAD.find("stubs"))  # ahead of site-packages: hides an installed ic-basilisk
    return "stub"


def _layer_code(config):
    """{step index: code} the tool compiled while this interpreter started (tracer/_layer.py), once it
    says go (one byte on stdin); the steps compile here without it. No word from the tool: stop."""
    if not config.get("layer_code"):
        return {}
    if os.read(0, 1) != b"g":
        raise SystemExit(0)
    import marshal

    with _FILES.real_open(os.path.join(config["run_dir"], config["layer_code"]), "rb") as handle:
        return dict(marshal.loads(handle.read()))


# --- audit hooks: files, network, processes, writes -------------------------

def _audit(event, args):
    """Records files opened for reading and native loads; the guard refuses what must not happen."""
    state = STATE
    if state is None or not state.active:
        return
    if event == "open":
        _FILES.note_open(state, args)
    elif event == "exec":
        # The import system execs each module's code: the static pass reads its imports from
        # it instead of parsing the file again.
        code = args[0]
        if getattr(code, "co_name", None) == "<module>":
            state.code.setdefault(code.co_filename, code)
    elif event == "ctypes.dlopen":
        state.events.append({"kind": "native", "detail": f"ctypes loads {args[0]!r}",
                             "module": _FRAMES.frame_module(_FRAMES.importer_frame(2)[0])})


def _refused(kind, detail):
    """The guard's report of a refusal: an event naming the program's module that tried."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in _FRAMES.TOOL_FILES:
        frame = frame.f_back
    STATE.events.append({"kind": kind, "detail": detail, "module": _FRAMES.frame_module(frame)})


# --- running the program ----------------------------------------------------


def _purge_preloaded():
    """Drop third-party modules that site or .pth hooks loaded before the entry."""
    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    for name in list(sys.modules):
        top = name.partition(".")[0]
        if top in names or name in ("__main__",) or name.startswith("_basilisk_trace_"):
            continue
        module = sys.modules[name]
        if _is_stdlib_path(getattr(module, "__file__", None)):
            continue
        del sys.modules[name]


def _on_alarm(signum, frame):
    raise _DryRunTimeout(f"the dry run exceeded its time limit of {STATE.config['timeout']}s")


def _run(config, out):
    global STATE
    STATE = _State(config)
    state = STATE
    # The entry's folder, as before the project root was known: only the import path grows.
    os.chdir(os.path.dirname(config["entry"]))
    _purge_preloaded()
    exercise = _LOAD.load("exercise")
    state.exercise = exercise
    # The host's own caller of its entry points (WIT exports), else the canister methods'.
    entry_points = _LOAD.load("entry_points", config["exerciser"]) if config.get("exerciser") else exercise
    entry_dir = os.path.dirname(config["entry"])
    # The project root after the entry's folder: `from src.posts import ...` in src/main.py.
    roots = [entry_dir] + ([config["project_root"]] if config["project_root"] != entry_dir else [])
    entry_path = roots + [p for p in sys.path if os.path.abspath(p) != _HERE]
    runtime = _install_runtime(entry_path)
    protected = config.get("protected") or [config["project_root"]]
    guard = _LOAD.load("guard").Guard(protected, _refused, [os.path.dirname(out)])
    guard.install()
    sys.addaudithook(_audit)
    _FILES.STATE = state
    builtins.open = io.open = _FILES.tracked_open
    sys.meta_path.insert(0, _Recorder())
    signal = _TOOLS["signal"]
    signal.signal(signal.SIGALRM, _on_alarm)
    if config.get("static_only"):
        _seed_static(state, config)
        sys.path[:] = entry_path  # the static pass finds the project's modules; none of them runs
        state.preloaded = set(sys.modules)
        state.final_modules = dict(sys.modules)
        _finish(state, runtime, "ok", None, None, set(), out)
        return
    # Only now may the project's modules be found, and the program's imports are its own.
    for name in _ADDED:
        sys.modules.pop(name, None)
    sys.path[:] = entry_path
    state.preloaded = set(sys.modules)
    failure, required = None, set()
    signal.setitimer(signal.ITIMER_REAL, config["timeout"])
    state.active = True
    try:
        __import__(config["entry_module"])
        if config["exercise"]:
            state.phase = "exercise"
            required |= entry_points.call_methods(state)
    except BaseException as exc:  # the program's own failure is data, not ours
        failure = exc
    finally:
        state.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        state.final_modules = dict(sys.modules)
        builtins.open = io.open = _FILES.real_open
        sys.modules.update(_ADDED)  # the tool's own work uses its own copies from here on
    outcome, exit_code, tb = _outcome(failure)
    if outcome == "exception":
        required.update(exercise.failed_imports(failure))
    state.limit = _LOAD.load("collect").limit_hit(failure)  # recording has stopped: loading counts for nothing
    _finish(state, runtime, outcome, exit_code, tb, required, out)



def _outcome(failure):
    if failure is None:
        return "ok", None, None
    text = _FRAMES.user_traceback(_TOOLS["traceback"], failure)
    if isinstance(failure, _DryRunTimeout):
        return "timeout", None, text
    if isinstance(failure, SystemExit):
        return "exit", failure.code if isinstance(failure.code, int) else 1, text
    return "exception", None, text


def _seed_static(state, config):
    """Static-only mode: nothing runs; the static pass starts from the entry file."""
    importlib = _TOOLS["importlib.util"]

    name = config["entry_module"]
    state.phase = "static"
    state.attempts[name] = {"name": name, "importer": None, "how": "import", "found_by": "static", "line": None}
    state.specs[name] = importlib.spec_from_file_location(name, config["entry"])


def _finish(state, runtime, outcome, exit_code, tb, required, out):
    collect = _LOAD.load("collect")
    result = collect.collect(state, runtime, outcome, exit_code, tb, required)
    json = _TOOLS["json"]
    text = json.dumps(result)  # one C-level encode and one write: json.dump writes piece by piece
    with _FILES.real_open(out, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(argv):
    tools, added = _STDLIB.load_tools(_TOOL_MODULES)
    _TOOLS.update(tools)
    _ADDED.update(added)
    _FRAMES.IMPORT_NAME = _TOOLS["dis"].opmap["IMPORT_NAME"]
    with open(argv[1], encoding="utf-8") as handle:
        config = _TOOLS["json"].load(handle)
    _run(config, argv[2])


if __name__ == "__main__":
    main(sys.argv)
