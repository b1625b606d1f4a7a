"""The trace: frozen records of what a dry run loaded, opened and found, and why."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

SCHEMA = 1

Kind = Literal[
    "source",  # a plain .py module
    "package",  # a regular package (__init__.py)
    "namespace",  # a PEP 420 namespace package
    "extension",  # native code (.so / .pyd)
    "builtin",  # compiled into the interpreter
    "frozen",  # frozen into the interpreter
    "virtual",  # created at run time with no file behind it (six.moves)
    "missing",  # the import failed
]
FoundBy = Literal["trace", "exercise", "static"]
How = Literal[
    "import",  # an import statement at module level
    "function",  # an import statement inside a function body
    "import_module",  # importlib.import_module(...)
    "__import__",  # an explicit __import__(...) call
    "getattr",  # a PEP 562 module __getattr__
    "parent",  # the parent package of an imported submodule
    "preloaded",  # loaded before the entry ran, used by the program
    "static",  # seen by the static pass only
]
FileRole = Literal["data", "metadata"]
Outcome = Literal["ok", "exception", "exit", "timeout"]


R = TypeVar("R")
# A frame line of a Python traceback: File "/path/helper.py", line 1, in <module>
_FRAME = re.compile(r'^  File "(.+)", line (\d+)', re.MULTILINE)


def _known_fields(cls: type[R], data: dict[str, Any]) -> R:
    """A record from JSON, ignoring keys a newer or older writer added."""
    return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ModuleRecord:
    """One module the program loaded, tried to load, or could load."""

    name: str
    kind: Kind
    origin: str | None = None
    distribution: str | None = None
    version: str | None = None
    importer: str | None = None
    chain: tuple[str, ...] = ()
    found_by: FoundBy = "trace"
    how: How = "import"
    optional: bool = False
    blocked: str | None = None
    type_checking: bool = False
    stdlib: bool = False
    size: int = 0
    error: str | None = None
    line: int | None = None
    first_party: str | None = None  # missing, yet its top-level name is a folder or .py of this one
    # Seen by the static pass only in an `except ImportError:` clause: the program's fallback for an
    # import in its try, which runs only when that import fails.
    fallback: bool = False
    # A stdlib module the target lacks, whose imports the static pass followed: the modules its
    # top-level code imports (they run whenever it is imported), unguarded and guarded.
    imports: tuple[str, ...] = ()
    guarded_imports: tuple[str, ...] = ()
    # Stdlib modules the target lacks that its top-level code reads while it is imported (pickle: re;
    # `from zlib import compress`): without them working there, importing it fails.
    uses_at_import: tuple[str, ...] = ()
    # Its top-level try/except ImportError statements: [[what the try reads], [what a handler reads], ...],
    # of which one must work there (`from _decimal import *`, else `from _pydecimal import *`).
    import_alternatives: tuple[tuple[tuple[str, ...], ...], ...] = ()

    @property
    def top(self) -> str:
        return self.name.partition(".")[0]

    @property
    def guarded(self) -> bool:
        """The program copes without it: its import is optional, or a fallback that never ran."""
        return self.optional or (self.fallback and self.found_by == "static")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModuleRecord:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("chain", "imports", "guarded_imports", "uses_at_import"):
            if key in known:
                known[key] = tuple(known[key])
        if "import_alternatives" in known:
            known["import_alternatives"] = tuple(tuple(tuple(b) for b in g) for g in known["import_alternatives"])
        return cls(**known)


@dataclass(frozen=True)
class FileRecord:
    """A file the program opened: package data, or distribution metadata."""

    path: str
    role: FileRole
    read: bool = True
    module: str | None = None
    distribution: str | None = None
    version: str | None = None
    size: int = 0


@dataclass(frozen=True)
class MethodRecord:
    """A canister method called by --exercise, and how the call went."""

    name: str
    decorator: str
    module: str
    error: str | None = None


@dataclass(frozen=True)
class Event:
    """Something the dry run refused or noticed: a network connection, a write, ..."""

    kind: str
    detail: str
    module: str | None = None


@dataclass(frozen=True)
class ComputedImport:
    """A call in the project's code that imports a name computed at run time: no scan can follow it."""

    module: str
    path: str
    line: int
    call: str  # the call's source text, shortened
    prefix: str = ""  # the name's literal start ("plugins." for f"plugins.{name}"), when it has one

    def matches(self, name: str) -> bool:
        """Whether `name` could be what the call imports, judging by the literal prefix."""
        return bool(self.prefix) and name.startswith(self.prefix)


@dataclass(frozen=True)
class Trace:
    """Everything one dry run of an entry file learned."""

    entry: str
    entry_module: str
    project_root: str
    python: str
    executable: str
    site_packages: tuple[str, ...]
    outcome: Outcome
    modules: tuple[ModuleRecord, ...]
    files: tuple[FileRecord, ...] = ()
    methods: tuple[MethodRecord, ...] = ()
    events: tuple[Event, ...] = ()
    computed_imports: tuple[ComputedImport, ...] = ()
    traceback: str | None = None
    exit_code: int | None = None
    runtime: str = "stub"
    environment: tuple[str, ...] = ()  # names (never values) of variables passed to the child
    containment: str = ""  # what contained the program: the bubblewrap sandbox, or the audit hooks alone
    # Folders besides the project and site-packages that the interpreter imports code from
    # (editable installs, PYTHONPATH), as the tool found them itself.
    source_roots: tuple[str, ...] = ()
    limit: str | None = None  # the containment limit the program's failure came from (base/limits.py)
    cached: bool = False
    schema: int = SCHEMA
    _index: dict[str, ModuleRecord] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update((m.name, m) for m in self.modules)

    def module(self, name: str) -> ModuleRecord | None:
        return self._index.get(name)

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def failure_site(self) -> str | None:
        """Where the program's own code failed: "helper.py, line 1", from the last frame in the project."""
        root = self.project_root.rstrip(os.sep) + os.sep
        # A virtual environment inside the project is not the user's code.
        installed = tuple(site.rstrip(os.sep) + os.sep for site in self.site_packages)
        for path, line in reversed(_FRAME.findall(self.traceback or "")):
            if path.startswith(root) and not path.startswith(installed):
                return f"{path[len(root):]}, line {line}"
        return None

    def inputs(self) -> tuple[str, ...]:
        """Every file the program ran from, imported or opened: what no output may replace."""
        paths = {self.entry, *(m.origin for m in self.modules if m.origin), *(f.path for f in self.files)}
        return tuple(sorted(paths))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["_index"]
        return {"schema": data.pop("schema"), **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        return cls(
            entry=data["entry"],
            entry_module=data["entry_module"],
            project_root=data["project_root"],
            python=data["python"],
            executable=data["executable"],
            site_packages=tuple(data.get("site_packages", ())),
            outcome=data["outcome"],
            modules=tuple(ModuleRecord.from_dict(m) for m in data["modules"]),
            files=tuple(_known_fields(FileRecord, f) for f in data.get("files", ())),
            methods=tuple(_known_fields(MethodRecord, m) for m in data.get("methods", ())),
            events=tuple(_known_fields(Event, e) for e in data.get("events", ())),
            computed_imports=tuple(_known_fields(ComputedImport, c) for c in data.get("computed_imports", ())),
            traceback=data.get("traceback"),
            exit_code=data.get("exit_code"),
            runtime=data.get("runtime", "stub"),
            environment=tuple(data.get("environment", ())),
            containment=str(data.get("containment", "")),
            source_roots=tuple(data.get("source_roots", ())),
            limit=data.get("limit"),
            cached=bool(data.get("cached", False)),
            schema=data.get("schema", SCHEMA),
        )
