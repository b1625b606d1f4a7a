"""Which stdlib modules the target lacks and the program needs: shipped from the host's source, or not at all.

ic-basilisk's runtime turns a stdlib module it lacks into an empty stub: `from pprint import
pformat` fails at start, `ast.literal_eval` is an AttributeError. A module the program's own code
imports, or whose import ran, is needed; so are the stdlib modules a needed module's top-level
code imports (as the static pass read them, child/stdlib_follow.py), transitively. A needed
module ships when its pure-Python source can run there: not native, not a module the target
cannot run, and nothing its top-level code reads while importing is either (pickle reads `re` at
module level, so it stays a stub there; pprint only imports it, so it ships). What cannot ship
stays a stub: an error when native code is the cause and the canister cannot start without it
(an unguarded import that runs at start, by code that reads it while importing: `from ast import
literal_eval`), a warning otherwise (`import ast` and `ast.literal_eval` in a method: that method
fails there). What nothing needs (a dependency's import that never ran) stays a stub, as before.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass

from basilisk_trace.bundler.plan.model import PlanOptions, Problem
from basilisk_trace.bundler.plan.profile import Profile
from basilisk_trace.tracer.model import ModuleRecord, Trace

_NATIVE = ("extension", "builtin")


@dataclass(frozen=True)
class Need:
    """One stdlib module the program needs: through which imports, and whether it can work there."""

    record: ModuleRecord
    chain: tuple[str, ...]  # entry -> ... -> the module, through the imports that need it
    # Without it the canister cannot start: an unguarded import that runs when the program is
    # imported, by code that reads it while importing (`from zlib import compress`).
    at_start: bool
    ships: bool  # its pure-Python source goes into the bundle and works there
    frozen: bool = False  # frozen into the interpreter, there too (its parent package ships or is provided)
    blocker: str | None = None  # why it cannot work: the module it needs there that cannot (itself, if none)
    cause: str | None = None  # the module at the end of the blockers: the one that cannot work by itself
    native_cause: bool = False  # native code the target lacks is why
    included: bool = False  # named by --include
    edge: bool = False  # needed by a stdlib module that ships, not by the program's own imports
    guarded: bool = False  # the import that needs it is guarded (try/except ImportError)


def stdlib_needs(trace: Trace, profile: Profile, options: PlanOptions,
                 included: frozenset[str] = frozenset()) -> dict[str, Need]:
    """Every stdlib module the target lacks that the program needs, by name."""
    if profile.stdlib == "full":
        return {}
    lacking = {r.name: r for r in trace.modules if r.stdlib and profile.provides(r.name, is_stdlib=True) is None}
    works = _Works(lacking, profile)
    by_importer: dict[str, list[ModuleRecord]] = defaultdict(list)
    for record in lacking.values():
        if record.importer and record.found_by != "static":
            by_importer[record.importer].append(record)  # imports that ran, wherever they sit
    needs: dict[str, Need] = {}
    roots = (_root(r, trace, profile, options, r.name in included, works) for r in lacking.values())
    pending = [root for root in roots if root is not None]
    while pending:
        need = pending.pop()
        if need.record.name in needs and (needs[need.record.name].at_start or not need.at_start):
            continue
        needs[need.record.name] = need
        if not need.ships:
            continue  # a stub there, or frozen: its imports are not the bundle's business
        record, edge = need.record, {"edge": True}
        start = need.at_start and not need.guarded
        for names, guarded in ((record.imports, False), (record.guarded_imports, True)):
            pending.extend(works.need(lacking[n], (*need.chain, n), start and n in record.uses_at_import,
                                      guarded=guarded, **edge) for n in names if n in lacking)
        pending.extend(works.need(child, (*need.chain, child.name), False, guarded=child.guarded, **edge)
                       for child in by_importer.get(record.name, ()))
    return needs


def _root(record: ModuleRecord, trace: Trace, profile: Profile, options: PlanOptions, included: bool,
          works: _Works) -> Need | None:
    """Its need when the project's own code imports it, its import ran outside the stdlib, --include
    names it, or --bundle-stdlib ships every stdlib source the trace saw."""
    if record.type_checking and record.found_by == "static":
        return None
    importer = trace.module(record.importer) if record.importer else None
    if included:
        return works.need(record, record.chain, False, included=True)
    if importer is not None and profile.provides(importer.name, is_stdlib=importer.stdlib) is not None:
        return None  # the runtime's own modules import what they need
    if options.bundle_stdlib and record.kind in ("source", "package"):
        return works.need(record, record.chain, False)
    if importer is None or importer.stdlib:
        return None  # needed only through a module that ships (the edges of stdlib_needs)
    if not is_local(importer, trace) and record.found_by == "static":
        return None  # a dependency's import that never ran: nothing needs it
    start = record.found_by == "trace" and not record.guarded and record.name in importer.uses_at_import
    return works.need(record, record.chain, start, guarded=record.guarded)


class _Works:
    """Whether a stdlib module can work on the target, and if not, which module it needs there that cannot."""

    def __init__(self, lacking: dict[str, ModuleRecord], profile: Profile) -> None:
        self.lacking = lacking
        self.blockers = self._blockers(profile)  # module -> None when it works, else the module that cannot

    def need(self, record: ModuleRecord, chain: tuple[str, ...], at_start: bool, **flags: bool) -> Need:
        blocker = self.blockers.get(record.name)
        frozen = record.kind == "frozen" and blocker is None
        cause = self.root_cause(record.name)
        return Need(record, chain, at_start, ships=blocker is None and not frozen, frozen=frozen, blocker=blocker,
                    cause=cause, native_cause=self._native(cause), **flags)

    def root_cause(self, name: str) -> str | None:
        """The module at the end of the chain of blockers: the one that cannot work by itself."""
        seen = {name}
        while (blocker := self.blockers.get(name)) is not None and blocker not in seen:
            seen.add(blocker)
            name = blocker
        return None if self.blockers.get(name) is None else name

    def _blockers(self, profile: Profile) -> dict[str, str | None]:
        """Every lacking module's blocker, to a fixed point: import cycles work unless something in them cannot."""
        blockers: dict[str, str | None] = {}
        for name, record in self.lacking.items():
            parent = name.rpartition(".")[0]
            if record.kind == "frozen":
                # Found by name there too, once its package imports: one the bundle carries, not a
                # runtime's own single-module replacement (ic-basilisk's collections has no submodules).
                itself = bool(parent) and parent not in self.lacking
            else:
                itself = (record.kind not in ("source", "package") or not record.origin
                          or profile.unavailable_reason(name) is not None)
            blockers[name] = name if itself else None
        changed = True
        while changed:
            changed = False
            for name, record in self.lacking.items():
                if blockers[name] is not None:
                    continue
                parent = name.rpartition(".")[0]
                # Frozen there as here: only its parent package must import. Source: also what it reads on import.
                needed = [parent] * bool(parent) + ([] if record.kind == "frozen" else list(record.uses_at_import))
                blocked = [n for n in needed if blockers.get(n) is not None]
                for group in record.import_alternatives if record.kind != "frozen" else ():
                    if not any(all(blockers.get(n) is None for n in branch) for branch in group):
                        blocked += [n for n in group[0] if blockers.get(n) is not None]  # none works: say the first
                if blocked:
                    # Native code is the surer reason: what the profile infers (re needs a real _sre) comes second.
                    native = [n for n in blocked if self._native(self._cause(blockers, n))]
                    blockers[name] = (native or blocked)[0]
                    changed = True
        return blockers

    def _cause(self, blockers: dict[str, str | None], name: str) -> str:
        seen = {name}
        while (blocker := blockers.get(name)) is not None and blocker not in seen:
            seen.add(blocker)
            name = blocker
        return name

    def _native(self, name: str | None) -> bool:
        record = self.lacking.get(name or "")
        return record is not None and record.kind in _NATIVE


def is_local(record: ModuleRecord, trace: Trace) -> bool:
    """The project's own code: under its root, no distribution, not in a virtual environment inside it."""
    origin = record.origin or ""
    return (origin.startswith(trace.project_root + os.sep) and record.distribution is None
            and not any(origin.startswith(site + os.sep) for site in trace.site_packages))


def problems(needs: dict[str, Need], trace: Trace, profile: Profile) -> list[Problem]:
    """What the stubs that stay mean: an error for each the canister cannot start without, and a
    warning per cause (re, a native module) naming what stays a stub because of it."""
    found, by_cause = [], defaultdict(list)
    for need in sorted(needs.values(), key=lambda n: n.record.name):
        if need.ships or need.frozen or (need.edge and need.guarded):
            continue  # shipped; or the stdlib's own fallback for an accelerator (from _pickle import ...)
        if need.native_cause and need.at_start:
            at = next(i for i, n in enumerate(need.chain) if (m := trace.module(n)) is not None and m.stdlib)
            user, used = need.chain[at - 1] if at else need.chain[0], need.chain[at]
            found.append(Problem("error", (
                f"{why_not(need, trace, profile)}; {user} reads {used} while the program is imported "
                f"({' -> '.join(need.chain)}), so the canister cannot start there; stop importing {used} in {user}, "
                "or guard the import (try/except ImportError) and do without it"), need.record.name))
        elif not (need.blocker and need.blocker == need.record.name.rpartition(".")[0] and need.blocker in needs):
            by_cause[need.cause or need.record.name].append(need)  # a package's modules go with the package
    for cause, stubs in sorted(by_cause.items()):
        names = ", ".join(f"{n.record.name} ({n.chain[-2] if len(n.chain) > 1 else n.chain[0]})" for n in stubs)
        found.append(Problem("warning", (
            f"{_cause_text(cause, trace, profile)}; so these stay empty stub modules there, and code that uses them "
            f"fails: {names}"), stubs[0].record.name if len(stubs) == 1 else None))
    return found


def why_not(need: Need, trace: Trace, profile: Profile) -> str:
    """Why a needed module cannot work on the target: what it is, or what it reads while importing."""
    name, blocker, cause = need.record.name, need.blocker or need.record.name, need.cause or need.record.name
    what = _cause_text(cause, trace, profile)
    if blocker == name:
        return what
    head = f"{name} cannot work on the {profile.name} target"
    if blocker == name.rpartition(".")[0]:
        return f"{head}: its package {blocker} cannot ({what})"
    if blocker == cause:
        return f"{head}: it reads {blocker} while it is imported, and {what}"
    return f"{head}: it reads {blocker} while it is imported, which cannot work there ({what})"


def _cause_text(cause: str, trace: Trace, profile: Profile) -> str:
    record = trace.module(cause)
    unavailable = profile.unavailable_reason(cause)
    why = f" ({unavailable})" if unavailable else ""
    if record is not None and record.kind in _NATIVE:
        return f"{cause} is native code the {profile.name} target lacks{why}"
    if record is not None and record.kind == "frozen":
        return (f"{cause} is frozen into the interpreter, but its package {cause.rpartition('.')[0]} is the "
                f"{profile.name} runtime's own module there, without submodules")
    if unavailable:
        return f"{cause} cannot run on the {profile.name} target{why}"
    return f"{cause} has no Python source the bundle could carry"
