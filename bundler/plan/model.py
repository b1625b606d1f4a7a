"""The bundle plan: which files go in, which modules stay out, and why, as frozen records."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

Severity = Literal["error", "warning"]
# Why a file is in the bundle.
Inclusion = Literal[
    "entry", "traced", "exercised", "static", "parent", "included", "stdlib", "data",
    "probed", "metadata", "wasix-wheel",
]
# Why a module is not.
Exclusion = Literal[
    "provided", "stdlib-stub", "stdlib-cannot-ship", "type-checking", "optional-native", "static-native",
    "required-native", "excluded", "missing", "virtual", "namespace", "outside", "bytecode",
    "runtime-missing",
]


class Reason(StrEnum):
    """Why a module is in the bundle or out of it: one closed set, each out-reason with its fix.

    The values are Inclusion's and Exclusion's (a test keeps them equal); manifests, JSON
    documents and `why` carry them as these strings.
    """

    ENTRY = "entry"
    TRACED = "traced"
    EXERCISED = "exercised"
    STATIC = "static"
    PARENT = "parent"
    INCLUDED = "included"
    STDLIB = "stdlib"
    DATA = "data"
    PROBED = "probed"
    METADATA = "metadata"
    WASIX_WHEEL = "wasix-wheel"
    PROVIDED = "provided"
    STDLIB_STUB = "stdlib-stub"
    STDLIB_CANNOT_SHIP = "stdlib-cannot-ship"
    TYPE_CHECKING = "type-checking"
    OPTIONAL_NATIVE = "optional-native"
    STATIC_NATIVE = "static-native"
    REQUIRED_NATIVE = "required-native"
    EXCLUDED = "excluded"
    MISSING = "missing"
    VIRTUAL = "virtual"
    NAMESPACE = "namespace"
    OUTSIDE = "outside"
    BYTECODE = "bytecode"
    RUNTIME_MISSING = "runtime-missing"

    def fix(self, module: str, *, guarded: bool = False) -> str:
        """What to do about a module left out for this reason (`guarded`: its import is in a try)."""
        if guarded and self in (Reason.MISSING, Reason.RUNTIME_MISSING):
            return _GUARDED
        return _FIXES.get(self, "nothing to do").format(module=module, top=module.partition(".")[0])


_FIXES = {
    Reason.PROVIDED: "nothing to do: the target runtime provides it",
    Reason.STDLIB_STUB: "if the program needs it where the dry run did not see it, pass --exercise or --include "
                        "{module} (its host source ships); native code cannot ship: use something else there",
    Reason.STDLIB_CANNOT_SHIP: "no bundle can make it work there (its `why` says what it needs): stop using it on "
                               "this target, or guard the code that does",
    Reason.TYPE_CHECKING: "nothing to do unless it is needed at run time; then import it outside "
                          "`if TYPE_CHECKING:` or pass --include {module}",
    Reason.OPTIONAL_NATIVE: "nothing to do: its pure-Python fallback is bundled instead",
    Reason.STATIC_NATIVE: "nothing to do unless the code path that imports it runs on the canister; "
                          "then replace it with a pure-Python package",
    Reason.REQUIRED_NATIVE: "replace it with a pure-Python package, make the import optional, "
                            "or build for --target wasix with a wasm32-wasix wheel",
    Reason.EXCLUDED: "remove the --exclude pattern (or the exclude entry in pyproject.toml) that matches it",
    Reason.MISSING: "install it into the environment you trace with (pip install {top})",
    Reason.VIRTUAL: "nothing to do: the module that creates it is bundled",
    Reason.NAMESPACE: "nothing to do: its modules carry the files",
    Reason.OUTSIDE: "move it into the project or install it as a package",
    Reason.BYTECODE: "ship its source (.py) instead of bytecode",
    Reason.RUNTIME_MISSING: "remove the import or guard it (try/except ImportError): the runtime has no such module",
}
# A guarded import whose module is absent: the program's fallback runs, nothing to install.
_GUARDED = "nothing to do: the import is guarded and the program runs its fallback"


@dataclass(frozen=True)
class PlanOptions:
    """What the user asked of the bundle (command line and [tool.basilisk-trace])."""

    exclude: tuple[str, ...] = ()
    bundle_stdlib: bool = False
    max_size: int | None = None


@dataclass(frozen=True)
class PlannedFile:
    """One file to write: where it comes from, where it goes, and why."""

    arcname: str
    source: str | None  # None for an empty placeholder (a file probed but never read)
    size: int
    reason: Inclusion
    module: str | None = None
    distribution: str | None = None
    version: str | None = None
    chain: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", Reason(self.reason))  # an unknown reason fails here

    @property
    def reason_text(self) -> str:
        via = f" ({' -> '.join(self.chain)})" if self.chain else ""
        return f"{self.reason}{via}"


@dataclass(frozen=True)
class Decision:
    """Whether a traced module is in the bundle, and the reason in words."""

    module: str
    included: bool
    reason: Inclusion | Exclusion
    detail: str
    chain: tuple[str, ...] = ()
    distribution: str | None = None
    version: str | None = None
    guarded: bool = False  # its import is inside try/except ImportError: the program has a fallback

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", Reason(self.reason))  # an unknown reason fails here

    @property
    def fix(self) -> str:
        """What to do about it when it is left out."""
        return Reason(self.reason).fix(self.module, guarded=self.guarded)


@dataclass(frozen=True)
class Problem:
    """Something the user must fix (error) or should know (warning)."""

    severity: Severity
    message: str
    module: str | None = None


@dataclass(frozen=True)
class BundlePlan:
    """A trace turned into exactly the files a target needs."""

    entry_module: str
    target: str
    target_python: str
    host_python: str
    files: tuple[PlannedFile, ...]
    decisions: tuple[Decision, ...]
    problems: tuple[Problem, ...] = ()
    _by_module: dict[str, Decision] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_module.update((d.module, d) for d in self.decisions)

    def decision(self, module: str) -> Decision | None:
        return self._by_module.get(module)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == "warning")

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)
