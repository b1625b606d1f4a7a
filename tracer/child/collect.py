"""In the child, after the program ran: turn what the hooks saw into raw JSON records.

Loaded by runner.py under a private name once recording has stopped, so
nothing it imports is taken for a dependency of the program.
"""

import os
import sys


def collect(state, runtime, outcome, exit_code, tb, required):
    """The raw trace: modules, files, methods and events, plus the static pass."""
    config = state.config
    static = _load_static()
    modules = {}
    for name, record in state.attempts.items():
        modules[name] = _resolve_record(dict(record), state.final_modules.get(name), state.specs.get(name), static)
    _add_unseen(modules, state, static)
    entry = modules.get(config["entry_module"])
    if entry is not None:
        entry.update(how="import", importer=None, line=None)  # imported by the tool, not by a line of the program
    for name, record in modules.items():
        if record.get("blocked") or record["kind"] == "missing":
            record["optional"] = name not in required and name not in config.get("allow_natives", ())
    dists = _Distributions(config["project_root"])
    computed = static.run(modules, state, _is_stdlib_module)
    for record in modules.values():
        record["stdlib"] = _is_stdlib_module(record["name"], record.get("origin"), state)
        if not record["stdlib"] and not _is_stand_in(record.get("origin")):
            dist = dists.lookup(record["name"], record.get("origin"))
            if dist:
                record["distribution"], record["version"] = dist
        origin = record.get("origin")
        if origin and os.path.isfile(origin):
            record["size"] = os.path.getsize(origin)
    origins = {r.get("origin") for r in modules.values() if r.get("origin")}
    return {
        "entry": config["entry"],
        "entry_module": config["entry_module"],
        "project_root": config["project_root"],
        "python": ".".join(str(n) for n in sys.version_info[:3]),
        "executable": sys.executable,
        "site_packages": sorted(state.stdlib_dirs[1]),
        "path_dirs": sorted({os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)}),
        "outcome": outcome,
        "exit_code": exit_code,
        "traceback": tb,
        "runtime": runtime,
        "modules": list(modules.values()),
        "files": _files(state, origins, dists),
        "methods": [_method(m) for m in state.method_results],
        "events": state.events,
        "computed_imports": computed,
        "limit": state.limit,
        "entry_error": _unreadable(config["entry"]),
    }


def _unreadable(path):
    """Why the entry cannot be read here (the sandbox's own permissions), or None."""
    try:
        with open(path, "rb") as handle:
            handle.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _resolve_record(record, module, spec, static):
    """Kind and origin from what was loaded, or from the spec when the load failed."""
    if module is not None:
        spec = getattr(module, "__spec__", None) or spec
        origin = getattr(module, "__file__", None)
    else:
        origin = getattr(spec, "origin", None) if spec is not None else None
    record["kind"] = "missing" if spec is None and module is None else spec_kind(spec, origin)
    record["origin"] = origin if origin and os.path.isabs(origin) else None
    if module is None and not record.get("blocked") and record.get("found_by") != "static":
        if spec is None:
            record["kind"] = "missing"
            record["error"] = f"No module named {record['name']!r}"
        else:
            record["error"] = "the module was found but raised while importing"
    return record


def _add_unseen(modules, state, static):
    """Modules that appeared in sys.modules without passing the recorder (six.moves)."""
    for name, module in state.final_modules.items():
        if name in modules or name in state.preloaded or name.startswith("_basilisk_trace"):
            continue
        spec = getattr(module, "__spec__", None)
        if spec is not None and getattr(spec, "name", name) != name:
            continue  # an alias such as sys.modules['bsk'] = basilisk
        if getattr(module, "__name__", name) != name and spec is None:
            continue  # an alias of a module created without a spec
        parent = name.rpartition(".")[0]
        importer = parent if parent in modules else None
        record = {"name": name, "importer": importer, "how": "import", "found_by": state.phase}
        modules[name] = _resolve_record(record, module, spec, static)


def _is_stand_in(origin):
    """The dry run's own runtime stand-ins belong to no distribution."""
    runtime = os.path.dirname(sys.modules["_basilisk_trace_load"].find("ic_api.py"))
    return bool(origin) and origin.startswith(runtime + os.sep)


def _stdlib_names():
    return frozenset(sys.stdlib_module_names) | frozenset(sys.builtin_module_names)


def _is_stdlib_module(name, origin, state):
    if origin:
        return _under(origin, state.stdlib_dirs[0], state) and not _under(origin, state.stdlib_dirs[1], state)
    return name.partition(".")[0] in _stdlib_names()


def _under(path, dirs, state):
    real = state.real(os.path.abspath(path))
    return any(real.startswith(d + os.sep) for d in dirs)


def _is_stdlib_file(path, state):
    return _under(path, state.stdlib_dirs[0], state) and not _under(path, state.stdlib_dirs[1], state)


def _load_static():
    return sys.modules["_basilisk_trace_load"].load("static")


def _files(state, origins, dists):
    files = []
    for path, info in sorted(state.opened.items()):
        if path in origins or not os.path.isfile(path) or _is_stdlib_file(path, state):
            continue
        role = "metadata" if _in_dist_info(path) else "data"
        entry = {
            "path": path,
            "role": role,
            "read": not info["tracked"] or path in state.read,
            "module": info["module"],
            "size": os.path.getsize(path),
        }
        dist = dists.for_metadata(path) if role == "metadata" else dists.lookup(info["module"] or "", path)
        if dist:
            entry["distribution"], entry["version"] = dist
        files.append(entry)
    return files


def _in_dist_info(path):
    parent = os.path.basename(os.path.dirname(path))
    return parent.endswith((".dist-info", ".egg-info"))


def _method(result):
    return {"name": result[0], "decorator": result[1], "module": result[2], "error": result[3]}


class _Distributions:
    """Which installed distribution a file or module belongs to.

    Reads the *.dist-info folders on sys.path with plain string work: going
    through importlib.metadata would stat every file of every distribution.
    """

    def __init__(self, project_root):
        self._by_top = {}  # top-level name -> [dist-info dir]
        self._info = {}  # dist-info dir -> (name, version)
        self._records = {}  # dist-info dir -> set of recorded file paths (absolute, real)
        for directory in _search_dirs(project_root):
            for entry in sorted(os.listdir(directory)):
                if entry.endswith((".dist-info", ".egg-info")):
                    info = os.path.join(directory, entry)
                    for top in _top_levels(info, entry):
                        self._by_top.setdefault(top, []).append(info)

    def lookup(self, module, origin):
        candidates = self._by_top.get(module.partition(".")[0], ())
        if len(candidates) > 1 and origin:
            real = os.path.realpath(origin)
            for info in candidates:
                if real in self._recorded(info):
                    return self._identity(info)
        return self._identity(candidates[0]) if candidates else None

    def for_metadata(self, path):
        return self._identity(os.path.dirname(path))

    def _identity(self, info):
        if info not in self._info:
            self._info[info] = _name_version(info)
        return self._info[info]

    def _recorded(self, info):
        if info not in self._records:
            base = os.path.dirname(info)
            self._records[info] = {os.path.realpath(os.path.join(base, line.split(",")[0]))
                                   for line in _lines(os.path.join(info, "RECORD"))}
        return self._records[info]


def _search_dirs(project_root):
    root = os.path.realpath(project_root)
    for entry in sys.path:
        if entry and os.path.isdir(entry) and os.path.realpath(entry) != root:
            yield entry


def _lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return [line.strip() for line in handle if line.strip()]
    except OSError:
        return []


def _text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _top_levels(info, entry):
    tops = set(_lines(os.path.join(info, "top_level.txt")))
    if not tops:
        # Each recorded path's first part, once: a RECORD lists thousands of files under a few.
        firsts = {line.strip().split(",")[0].split("/")[0] for line in _text(os.path.join(info, "RECORD")).splitlines()}
        for first in firsts:
            if first.endswith(".py"):
                tops.add(first[:-3])
            elif first.isidentifier():
                tops.add(first)
    # An editable install records only its .pth and finder: its name is the best guess.
    tops.add(entry.split("-")[0].lower().replace(".", "_"))
    return sorted(tops)


def _name_version(info):
    name = version = None
    for file in ("METADATA", "PKG-INFO"):
        for line in _lines(os.path.join(info, file)):
            if line.startswith("Name:") and name is None:
                name = line[5:].strip()
            elif line.startswith("Version:") and version is None:
                version = line[8:].strip()
            if name and version:
                return name, version
    return (name, version) if name else None


def limit_hit(failure):
    """Which of the dry run's limits (base/limits.py) the failure comes from, if any: the tool names it."""
    import errno

    seen = set()
    while failure is not None and id(failure) not in seen:
        seen.add(id(failure))
        if isinstance(failure, MemoryError):
            return "memory"
        kind = {errno.EFBIG: "file-size", errno.ENOSPC: "scratch", errno.ENOMEM: "memory"}.get(
            getattr(failure, "errno", None)) if isinstance(failure, OSError) else None
        if kind:
            return kind
        failure = failure.__cause__ or failure.__context__
    return None


def spec_kind(spec, origin):
    """What a module is, by its spec and file: builtin, frozen, extension, package, source, namespace, virtual."""
    if spec is not None and spec.origin in ("built-in", "frozen"):
        return "builtin" if spec.origin == "built-in" else "frozen"
    if origin and origin.endswith((".so", ".pyd", ".dylib")):
        return "extension"
    if origin and os.path.basename(origin).startswith("__init__."):
        return "package"
    if origin and os.path.isabs(origin):
        return "source"
    if spec is not None and spec.submodule_search_locations:
        return "namespace"
    return "virtual"
