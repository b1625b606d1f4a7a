"""Which stdlib modules the target lacks and the program needs: shipped from the host's source, or not at all.

ic-basilisk's runtime turns a stdlib module it lacks into an empty stub: `from pprint import
pformat` fails at start, `ast.literal_eval` is an AttributeError. A module the program's own code
imports, or whose import ran, is needed; so are the stdlib modules a needed module's top-level
code imports (as the static pass read them, child/stdlib_follow.py), transitively. A needed
module with pure-Python source ships in the bundle. One that cannot ship stays a stub there: native
code the target lacks is an error when the program cannot start or run without it (its import ran,
or its importer's top-level code needs it, unguarded); anything else is a warning. What nothing
needs (a dependency's import that never ran) stays a stub, as before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from basilisk_trace.bundler.plan.model import PlanOptions
from basilisk_trace.bundler.plan.profiles import Profile
from basilisk_trace.tracer.model import ModuleRecord, Trace

_NATIVE = ("extension", "builtin")


@dataclass(frozen=True)
class Need:
    """One stdlib module the program needs: through which imports, and whether it can ship."""

    record: ModuleRecord
    chain: tuple[str, ...]  # entry -> ... -> the module, through the imports that need it
    hard: bool  # its import runs unguarded: without it the program (or its importer) fails
    ships: bool  # pure-Python source the bundle can carry
    included: bool = False  # named by --include
    edge: bool = False  # needed by a stdlib module that ships, not by the program's own imports
    guarded: bool = False  # the import that needs it is guarded (try/except ImportError)

    @property
    def native(self) -> bool:
        return self.record.kind in _NATIVE


def stdlib_needs(trace: Trace, profile: Profile, options: PlanOptions,
                 included: frozenset[str] = frozenset()) -> dict[str, Need]:
    """Every stdlib module the target lacks that the program needs, by name."""
    if profile.stdlib == "full":
        return {}
    lacking = {r.name: r for r in trace.modules if r.stdlib and profile.provides(r.name, is_stdlib=True) is None}
    by_importer: dict[str, list[ModuleRecord]] = defaultdict(list)
    for record in lacking.values():
        if record.importer and record.found_by != "static":
            by_importer[record.importer].append(record)  # imports that ran, wherever they sit
    needs: dict[str, Need] = {}
    queue = [_root(r, trace, profile, options, r.name in included) for r in lacking.values()]
    pending = [n for n in queue if n is not None]
    while pending:
        need = pending.pop()
        if need.record.name in needs and (needs[need.record.name].hard or not need.hard):
            continue
        needs[need.record.name] = need
        if not need.ships:
            continue  # a stub there: its own imports never run
        record = need.record
        for names, guarded in ((record.imports, False), (record.guarded_imports, True)):
            pending.extend(_edge(need, lacking[name], profile, guarded) for name in names if name in lacking)
        pending.extend(_edge(need, child, profile, child.guarded) for child in by_importer.get(record.name, ()))
    return needs


def _root(record: ModuleRecord, trace: Trace, profile: Profile, options: PlanOptions,
          included: bool) -> Need | None:
    """The record's need when the project's own code imports it, or its import ran outside the stdlib."""
    if record.type_checking and record.found_by == "static":
        return None
    importer = trace.module(record.importer) if record.importer else None
    if included:
        return Need(record, record.chain, hard=False, ships=_ships(record, profile), included=True)
    if importer is not None and profile.provides(importer.name, is_stdlib=importer.stdlib) is not None:
        return None  # the runtime's own modules import what they need
    if options.bundle_stdlib and _ships(record, profile):
        return Need(record, record.chain, hard=False, ships=True)  # every stdlib source the trace saw
    if importer is None or importer.stdlib:
        return None  # needed only through a module that ships (the edges of stdlib_needs)
    local = is_local(importer, trace)
    if not local and record.found_by == "static":
        return None  # a dependency's import that never ran: nothing needs it
    hard = record.found_by != "static" and not record.guarded
    return Need(record, record.chain, hard=hard, ships=_ships(record, profile), guarded=record.guarded)


def _edge(parent: Need, record: ModuleRecord, profile: Profile, guarded: bool) -> Need:
    return Need(record, (*parent.chain, record.name), hard=parent.hard and not guarded,
                ships=_ships(record, profile), edge=True, guarded=guarded)


def _ships(record: ModuleRecord, profile: Profile) -> bool:
    """Pure-Python source that can run there: not native, and not a module the target cannot run."""
    return (record.kind in ("source", "package") and record.origin is not None
            and profile.unavailable_reason(record.name) is None)


def is_local(record: ModuleRecord, trace: Trace) -> bool:
    """The project's own code: under its root, no distribution, not in a virtual environment inside it."""
    import os

    origin = record.origin or ""
    return (origin.startswith(trace.project_root + os.sep) and record.distribution is None
            and not any(origin.startswith(site + os.sep) for site in trace.site_packages))
