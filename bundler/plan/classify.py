"""Classify every traced module against a target profile: in with a reason, or out with one."""

from __future__ import annotations

import fnmatch
import os

from basilisk_trace.bundler.plan.containment import escape, real_roots
from basilisk_trace.bundler.plan.model import Decision, PlannedFile, PlanOptions, Problem, Severity
from basilisk_trace.bundler.plan.profile import Profile
from basilisk_trace.bundler.plan.stdlib_needs import Need, is_local, why_not
from basilisk_trace.tracer.model import ModuleRecord, Trace

_FOUND = {"trace": "traced", "exercise": "exercised", "static": "static"}
OPTIONAL_MISSING = "optional import that failed"
GUARDED_IMPORT = "the import is guarded, so the program's fallback runs there"


def arcname_for(record: ModuleRecord) -> str | None:
    """A module's path in the bundle comes from its name, never from where its file lives."""
    parts = record.name.split(".")
    if record.kind == "package":
        return "/".join(parts) + "/__init__.py"
    if record.kind == "source":
        return "/".join(parts) + ".py"
    return None


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    """`pkg` matches the package and everything under it; globs match module names."""
    for pattern in patterns:
        if fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + "."):
            return True
    return False


def chain_text(record: ModuleRecord) -> str:
    return " -> ".join(record.chain)


class Classifier:
    """Decides for one trace, one profile and one set of options."""

    def __init__(self, trace: Trace, profile: Profile, options: PlanOptions,
                 needs: dict[str, Need] | None = None) -> None:
        self.trace = trace
        self.profile = profile
        self.options = options
        self.needs = needs or {}  # the stdlib modules the target lacks and the program needs
        # Where code may come from: the project and the folders the interpreter imports from, as the
        # tool found them itself. Never what the dry run says a module belongs to: it could forge it.
        self.roots = (trace.project_root, *trace.site_packages, *trace.source_roots)
        self.real_roots = real_roots(self.roots)
        # Stdlib modules that become stubs where only a dependency (or an import that never ran)
        # would notice: summarised in one line by the planner.
        self.quiet_stubs: list[ModuleRecord] = []

    def classify(self, record: ModuleRecord) -> tuple[Decision, list[PlannedFile], list[Problem]]:
        for rule in (self._entry, self._runtime, self._excluded, self._type_checking,
                     self._stdlib, self._native, self._missing, self._fileless):
            outcome = rule(record)
            if outcome is not None:
                return outcome
        return self._code(record)

    # --- the rules, in order --------------------------------------------------

    def _entry(self, record: ModuleRecord) -> _Outcome | None:
        if record.name != self.trace.entry_module:
            return None
        return self._include(record, "entry", "the entry module, at the bundle's root")

    def _runtime(self, record: ModuleRecord) -> _Outcome | None:
        if record.stdlib:
            return None
        reason = self.profile.provides(record.name, is_stdlib=False)
        if reason is not None:
            return self._exclude(record, "provided", f"provided by the {self.profile.name} runtime: {reason}")
        lacks = self.profile.runtime_lacks(record.name)
        if lacks is None:
            return None
        guarded = record.optional or record.found_by == "static"
        detail = f"{lacks}; {GUARDED_IMPORT}" if record.optional else lacks
        decision, files, _ = self._exclude(record, "runtime-missing", detail)
        severity: Severity = "warning" if guarded else "error"
        fix = ("the import is guarded or never ran here; it fails there" if guarded else
               "the canister fails at start there; remove the import or guard it (try/except ImportError)")
        return decision, files, [Problem(severity, f"{record.name}: {lacks}; imported by {chain_text(record)}; "
                                                   f"{fix}", record.name)]

    def _excluded(self, record: ModuleRecord) -> _Outcome | None:
        if not matches(record.name, self.options.exclude):
            return None
        return self._exclude(record, "excluded", "matched by --exclude")

    def _type_checking(self, record: ModuleRecord) -> _Outcome | None:
        if not (record.type_checking and record.found_by == "static"):
            return None
        return self._exclude(record, "type-checking", "imported only under `if TYPE_CHECKING:`, never at run time")

    def _stdlib(self, record: ModuleRecord) -> _Outcome | None:
        if not record.stdlib:
            return None
        reason = self.profile.provides(record.name, is_stdlib=True)
        if reason is not None:
            return self._exclude(record, "provided", f"provided by the {self.profile.name} runtime: {reason}")
        need = self.needs.get(record.name)
        if need is not None:
            return self._needed(record, need)
        importer = self.trace.module(record.importer) if record.importer else None
        if importer is not None and self.profile.provides(importer.name, is_stdlib=importer.stdlib) is not None:
            # The runtime's own modules import what they need: the runtime's business, not the program's.
            return self._exclude(record, "provided", f"imported by {importer.name}, which the runtime provides")
        if importer is not None and importer.stdlib and importer.name not in self.needs:
            return self._exclude(record, "stdlib-stub", f"imported only by {importer.name}, an empty stub on "
                                                        f"the {self.profile.name} target: the import never runs")
        return self._stub_warning(record)

    def _needed(self, record: ModuleRecord, need: Need) -> _Outcome:
        """A stdlib module the target lacks and the program needs: shipped, or a stub (stdlib_needs.problems says why)."""
        chain = " -> ".join(need.chain)
        if need.ships:
            why = "named by --include" if need.included else f"needed by {chain}"
            return self._include(record, "stdlib", f"host stdlib source the {self.profile.name} target lacks; {why}")
        if need.frozen:
            return self._exclude(record, "provided", "frozen into the interpreter, there as here")
        return self._exclude(record, "stdlib-cannot-ship", f"needed by {chain}, but {why_not(need, self.trace, self.profile)}: "
                                                    f"it stays an empty stub on the {self.profile.name} target")

    def _stub_warning(self, record: ModuleRecord) -> _Outcome:
        """What nothing needs stays a stub: a dependency's import that never ran, summarised in one line."""
        where = "becomes an empty stub module" if self.profile.stubs_missing_stdlib else "is missing"
        detail = f"stdlib module not provided by the {self.profile.name} target: it {where} there"
        outcome = self._exclude(record, "stdlib-stub", detail)
        importer = self.trace.module(record.importer) if record.importer else None
        if importer is not None and importer.stdlib:
            return outcome  # inside a function of a stdlib module that ships, and never ran: its own business
        if not (record.found_by == "static" and record.optional):
            self.quiet_stubs.append(record)  # imported by a dependency, or never ran: verify settles it
        return outcome

    def _native(self, record: ModuleRecord) -> _Outcome | None:
        if record.kind != "extension":
            return None
        dist = f" ({record.distribution} {record.version})" if record.distribution else ""
        if record.optional:
            return self._exclude_warn(record, "optional-native",
                                      f"{record.name}{dist} is an optional native accelerator; left out, "
                                      f"its pure-Python fallback is bundled")
        if record.found_by == "static":
            return self._exclude_warn(record, "static-native",
                                      f"{record.name}{dist} is native code seen only by the static pass; "
                                      f"left out (imported by {chain_text(record)})")
        return None  # required natives are resolved by the planner (error or wasix wheel)

    def _missing(self, record: ModuleRecord) -> _Outcome | None:
        if record.kind != "missing":
            return None
        detail = f"{OPTIONAL_MISSING}; the program handles its absence" if record.optional else "not installed"
        outcome = self._exclude(record, "missing", detail)
        if record.first_party and (not record.optional or record.found_by == "static"):
            return outcome[:2] + (self._first_party_problem(record),)
        importer = self.trace.module(record.importer) if record.importer else None
        if not record.optional and importer is not None and self._is_local(importer):
            return outcome[:2] + ([Problem(
                "warning",
                f"{record.name} is imported by {chain_text(record)} but is not installed; "
                f"install it (pip install ...) or guard the import",
                record.name,
            )],)
        return outcome

    def _first_party_problem(self, record: ModuleRecord) -> list[Problem]:
        """Project code the import path misses: an error, unless the program never needs it.

        A guarded import the static pass alone saw (in a try, or the fallback in its except
        ImportError clause) is the program's own host-test layout (`from realm_backend.ggg import
        ...`): on the canister the other branch runs, so it is a warning.
        """
        folder = record.first_party or ""
        severity: Severity = "warning" if record.guarded else "error"
        if folder in (os.path.dirname(self.trace.entry), self.trace.project_root):
            return [Problem(severity, f"{record.name} is imported by {chain_text(record)}, but "
                                      f"{os.path.join(folder, record.top)} has no such module; "
                                      "fix the import or add the file", record.name)]
        top = self.trace.module(record.top)
        if record.name != record.top and top is not None and top.first_party == folder and \
                (record.guarded or not top.guarded):
            return []  # said once, for the top-level package (an error says it for all)
        names = sorted(m.name for m in self.trace.modules if m.top == record.top and m.first_party == folder)
        where = f"{', '.join(names)} (imported by {chain_text(record)}) are in {folder}, which is not on the import path"
        if record.guarded:
            how = "the fallback in an except ImportError clause" if record.fallback else "guarded by try/except"
            return [Problem("warning", f"{where}; the import is {how} and did not run, so they are left out "
                                       "(the program's other branch runs on the canister)", record.name)]
        # Never "pip install": this is the project's own code, in a folder the import path misses.
        return [Problem("error", f"{where} (project root: {self.trace.project_root}); put the project's dfx.json, "
                                 f"icp.yaml or pyproject.toml in {folder}, or run from there", record.name)]

    def _fileless(self, record: ModuleRecord) -> _Outcome | None:
        if record.kind == "virtual":
            return self._exclude(record, "virtual", "created at run time by its importer; no file behind it")
        if record.kind == "namespace":
            return self._exclude(record, "namespace", "a namespace package; its modules carry the files")
        if record.kind in ("builtin", "frozen"):
            return self._exclude(record, "provided", f"{record.kind} module of the interpreter")
        if record.origin and not record.origin.endswith(".py"):
            return self._exclude(record, "bytecode", "only compiled bytecode or an unknown file type")
        return None

    def _code(self, record: ModuleRecord) -> _Outcome:
        escaped = self._escaped(record)
        if escaped is not None:
            return self._exclude_warn(record, "outside",
                                      f"{record.name} comes from {record.origin}, a symbolic link to {escaped} "
                                      f"outside the project and site-packages; not bundled, so that a link "
                                      f"never carries a file off the machine")
        if not self._allowed(record):
            return self._exclude_warn(record, "outside",
                                      f"{record.name} comes from {record.origin}, outside the project and "
                                      f"every folder the interpreter imports from; not bundled")
        return self._include(record, _FOUND[record.found_by], f"{_FOUND[record.found_by]} by basilisk-trace")

    # --- helpers --------------------------------------------------------------

    def _is_local(self, record: ModuleRecord) -> bool:
        # A project's own .venv sits inside the project: its packages are not the project's code.
        return is_local(record, self.trace)

    def _escaped(self, record: ModuleRecord) -> str | None:
        origin = record.origin or ""
        if not any(origin.startswith(r + os.sep) for r in self.roots):
            return None  # judged by _allowed
        return escape(origin, self.real_roots)

    def _allowed(self, record: ModuleRecord) -> bool:
        origin = record.origin or ""
        return any(origin.startswith(r.rstrip(os.sep) + os.sep) for r in self.roots)

    def source_allowed(self, record: ModuleRecord) -> bool:
        """Whether the file of an included module may be copied: the entry, a stdlib file (the tool
        judged it so), or one under the project or a folder the interpreter imports from, links resolved."""
        if record.name == self.trace.entry_module or record.stdlib or not record.origin:
            return True
        return self._allowed(record) and self._escaped(record) is None

    def _include(self, record: ModuleRecord, reason: str, detail: str) -> _Outcome:
        if not self.source_allowed(record):
            return self._code(record)  # says why it stays out
        arcname = arcname_for(record)
        files = []
        if arcname and record.origin:
            files.append(PlannedFile(arcname, record.origin, record.size, reason,  # type: ignore[arg-type]
                                     record.name, record.distribution, record.version, record.chain))
        return self._decision(record, True, reason, detail), files, []

    def _exclude(self, record: ModuleRecord, reason: str, detail: str) -> _Outcome:
        return self._decision(record, False, reason, detail), [], []

    def _exclude_warn(self, record: ModuleRecord, reason: str, message: str) -> _Outcome:
        decision, files, _ = self._exclude(record, reason, message)
        return decision, files, [Problem("warning", message, record.name)]

    @staticmethod
    def _decision(record: ModuleRecord, included: bool, reason: str, detail: str) -> Decision:
        return Decision(record.name, included, reason, detail, record.chain,  # type: ignore[arg-type]
                        record.distribution, record.version, guarded=record.optional)


_Outcome = tuple[Decision, list[PlannedFile], list[Problem]]
