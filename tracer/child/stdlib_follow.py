"""The stdlib modules a bundle may have to carry: which the static pass follows, and what they import.

A target that lacks part of the standard library (ic-basilisk's runtime) gets those modules
from the bundle when the program needs them, together with the stdlib modules their own code
imports. The dry run does not see those imports when the module they name was loaded before
the program ran (`types`, `re`), so the static pass reads them from the module's code. It
follows a stdlib module only when the target lacks it (it is not a leaf: provided there, or
unable to run there) and the program may need it: its import ran, the project's own code
imports it, a followed module imports it, or `--include` names it. Stdlib only; runs in the child.
"""

import fnmatch
import os


class Follow:
    """Which stdlib modules the static pass follows, and the top-level imports of each."""

    def __init__(self, config, modules, in_project):
        provided = config.get("stdlib_provided")
        self.provided = None if provided is None else frozenset(provided)
        # Followed no further: what the target provides, or cannot run whatever the bundle holds.
        self.leaves = None if provided is None else self.provided | frozenset(config.get("stdlib_unavailable") or ())
        self.modules = modules
        self.in_project = in_project
        self.followed = set()
        self.guards = {}  # stdlib module -> whether every import of it in its importer is guarded

    def wants(self, record):
        """Whether the imports of this stdlib module decide what the bundle carries with it."""
        if self.leaves is None or record["name"] in self.leaves:
            return False
        if record.get("included"):
            return True
        importer = self.modules.get(record.get("importer") or "")
        if importer is None or importer["name"] in self.leaves:
            return False  # the runtime's own modules import what they need
        if importer["name"] in self.followed:
            # Only what its top-level code imports: a function's imports (ast's main() and argparse) never ran.
            return record["name"] in importer["imports"] or record["name"] in importer["guarded_imports"] \
                or record["found_by"] != "static"
        return record["found_by"] != "static" or self.in_project(importer.get("origin") or "")

    def start(self, record):
        self.followed.add(record["name"])
        record["imports"], record["guarded_imports"] = [], []

    @staticmethod
    def finish(record, import_time):
        """Of its unguarded top-level imports, those its top-level code reads while it is imported."""
        used, groups = _uses(record, import_time)
        known = set(record["imports"]) | set(record["guarded_imports"])
        record["uses_at_import"] = [name for name in record["imports"] if name in used]
        # try: from _decimal import * / except ImportError: from _pydecimal import *: one must work there.
        record["import_alternatives"] = [[sorted(n for n in branch if n in known) for branch in group]
                                         for group in groups]

    def importers(self, is_stdlib, import_time):
        """For each stdlib module the target lacks that the program's code imported: whether that
        importer's top-level code reads it while importing (`from zlib import compress`), so that
        the program cannot start without it. Noted on the importer, as for a followed module."""
        if self.leaves is None:
            return
        used = {}
        for record in list(self.modules.values()):
            importer = self.modules.get(record.get("importer") or "")
            if (importer is None or record["name"] in self.provided or importer["name"] in self.followed
                    or not (importer.get("origin") or "").endswith(".py")
                    or not is_stdlib(record["name"], record.get("origin")) or is_stdlib(importer["name"], importer["origin"])):
                continue
            if importer["name"] not in used:
                used[importer["name"]] = _uses(importer, import_time)[0]
            if record["name"] in used[importer["name"]]:
                importer.setdefault("uses_at_import", []).append(record["name"])

    def guard(self, existing, site, stdlib):
        """A stdlib module the program loaded, imported again by its importer: optional when each
        import of it there is guarded (zlib in try/except ImportError). The dry run loaded it, so
        no failure told; on a target that lacks it, only the import's own guard keeps the program going."""
        if not stdlib or existing["found_by"] == "static" or existing["kind"] == "missing" \
                or existing.get("blocked") or site.type_checking:
            return
        guarded = (site.optional or site.fallback) and self.guards.get(existing["name"], True)
        existing["optional"] = self.guards[existing["name"]] = guarded

    @staticmethod
    def note(record, site, name):
        """`name` is imported by the top-level code of the followed `record` (its import runs with it)."""
        if site.function or site.type_checking:
            return
        edges = record["guarded_imports"] if site.optional or site.fallback else record["imports"]
        if name not in edges and name != record["name"]:
            edges.append(name)


def _uses(record, import_time):
    """import_time(source, package) of the record's file: child/import_time.py's `uses`, cached by content."""
    try:
        with open(record["origin"], "rb") as handle:
            source = handle.read()
    except OSError:
        return set(), []
    package = record["name"] if record["kind"] == "package" else record["name"].rpartition(".")[0]
    return import_time(source, package)


def include(pass_, pattern):
    """Records for the stdlib modules `pattern` names (--include pprint, --include email.mime):
    found on the path, never imported; returns how many it names."""
    parts = pattern.split(".")
    record = None
    for end in range(1, len(parts) + 1):
        name = ".".join(parts[:end])
        if any(c in name for c in "*?["):
            break
        record = _included(pass_, name)
        if record is None:
            return 0
    if record is None:
        return 0
    count = 1 if fnmatch.fnmatchcase(record["name"], pattern) or record["name"] == pattern else 0
    if record["kind"] == "package":
        for name in _submodules(pass_, record["name"]):
            if fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "."):
                count += _included(pass_, name) is not None
    return count


def _included(pass_, name):
    record = _record(pass_, name)
    if record is not None:
        record["included"] = True
    return record


def _record(pass_, name):
    record = pass_.modules.get(name)
    if record is None:
        spec = pass_.find(name)
        if spec is None:
            return None
        parent = name.rpartition(".")[0] or None
        record = pass_.add({"name": name, "importer": parent, "line": None, "type_checking": False,
                            "optional": False, "fallback": False, "found_by": "static", "how": "static"},
                           None, spec)
    return record


def _submodules(pass_, package):
    """Every module under a package, found by listing its folders (names a dotted import can reach)."""
    found = []
    for folder in pass_.locations.get(package, ()):
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            stem = entry[:-3] if entry.endswith(".py") else entry
            if not stem.isidentifier() or stem == "__init__":
                continue
            if entry.endswith(".py") and os.path.isfile(path):
                found.append(f"{package}.{stem}")
            elif os.path.isfile(os.path.join(path, "__init__.py")):
                name = f"{package}.{stem}"
                found.append(name)
                if _record(pass_, name) is not None:
                    found.extend(_submodules(pass_, name))
    return found
