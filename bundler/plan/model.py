"""The bundle plan: which files go in, which modules stay out, and why, as frozen records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]
# Why a file is in the bundle.
Inclusion = Literal[
    "entry", "traced", "exercised", "static", "parent", "included", "stdlib", "data",
    "probed", "metadata", "wasix-wheel",
]
# Why a module is not.
Exclusion = Literal[
    "provided", "stdlib-stub", "type-checking", "optional-native", "static-native",
    "required-native", "excluded", "missing", "virtual", "namespace", "outside", "bytecode",
    "runtime-missing",
]


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
