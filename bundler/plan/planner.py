"""Turn a trace and a target profile into a bundle plan: no I/O but resolving links and spotting own outputs."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace

from basilisk_trace.base.limits import LIMITS
from basilisk_trace.bundler.plan.classify import Classifier, chain_text, matches
from basilisk_trace.bundler.plan.containment import escape, own_output, real_roots
from basilisk_trace.bundler.plan.model import (
    BundlePlan,
    Decision,
    PlannedFile,
    PlanOptions,
    Problem,
)
from basilisk_trace.bundler.plan.profile import Profile
from basilisk_trace.bundler.plan.stdlib_needs import problems as stub_problems
from basilisk_trace.bundler.plan.stdlib_needs import stdlib_needs
from basilisk_trace.tracer.model import FileRecord, ModuleRecord, Trace

_METADATA_FILES = ("METADATA", "entry_points.txt")
_BIGGEST = 10


def plan_bundle(trace: Trace, profile: Profile, options: PlanOptions,
                included: Iterable[ModuleRecord] = ()) -> BundlePlan:
    """Decide every module and file; errors and warnings are part of the plan, not raised."""
    needs = stdlib_needs(trace, profile, options, frozenset(r.name for r in included if r.stdlib))
    classifier = Classifier(trace, profile, options, needs)
    extra = {r.name: r for r in included if trace.module(r.name) is None}
    decisions: dict[str, Decision] = {}
    files: dict[str, PlannedFile] = {}
    problems: list[Problem] = []
    for record in [*trace.modules, *sorted(extra.values(), key=lambda r: r.name)]:
        decision, planned, found = classifier.classify(record)
        if record.name in extra and decision.included:
            decision = replace(decision, reason="included", detail="added by --include")
            planned = [replace(f, reason="included") for f in planned]
        decisions[record.name] = decision
        files.update((f.arcname, f) for f in planned)
        problems.extend(found)
    natives = _native_errors(trace, profile, decisions)
    problems.extend(natives)
    _add_parents(trace, decisions, files, classifier)
    data, data_problems = _data_files(trace, options, files)
    files.update((f.arcname, f) for f in data)
    problems.extend(data_problems)
    problems.extend(stub_problems(needs, trace, profile))
    problems.extend(_quiet_stub_summary(classifier.quiet_stubs, profile))
    problems.extend(_stdlib_version_warning(trace, profile, files))
    problems = list(dict.fromkeys(problems))  # one line for what many modules say alike
    lacking = [p for p in problems if p.severity == "error" and p.module in decisions
               and decisions[p.module].reason == "runtime-missing"]
    if not natives and not lacking:  # either explains the failed import better than its traceback
        problems[:0] = _outcome_errors(trace)
    plan = BundlePlan(
        entry_module=trace.entry_module,
        target=profile.name,
        target_python=profile.python,
        host_python=trace.python,
        files=tuple(sorted(files.values(), key=lambda f: f.arcname)),
        decisions=tuple(sorted(decisions.values(), key=lambda d: d.module)),
        problems=tuple(problems),
    )
    return _check_size(plan, options.max_size)


def _quiet_stub_summary(records: list[ModuleRecord], profile: Profile) -> list[Problem]:
    if not records:
        return []
    where = "become empty stub modules" if profile.stubs_missing_stdlib else "are missing"
    names = ", ".join(f"{r.name} ({r.importer or r.chain[0]})" for r in sorted(records, key=lambda r: r.name))
    return [Problem("warning", f"{len(records)} stdlib module(s) imported only by dependencies, or by code "
                               f"that did not run, {where} on the {profile.name} target: {names}; "
                               "verify --exercise shows whether the program needs them")]


def _stdlib_version_warning(trace: Trace, profile: Profile, files: dict[str, PlannedFile]) -> list[Problem]:
    """Shipped stdlib sources are the tracing interpreter's: say so when the target runs another Python."""
    host = ".".join(trace.python.split(".")[:2])
    shipped = sorted(f.module for f in files.values() if f.reason == "stdlib" and f.module)
    if host == profile.python or not shipped:
        return []
    names = ", ".join(shipped[:5]) + (f" and {len(shipped) - 5} more" if len(shipped) > 5 else "")
    return [Problem("warning", f"the bundle ships Python {host} stdlib sources ({names}), but the "
                               f"{profile.name} target runs Python {profile.python}; trace with Python "
                               f"{profile.python} (--python), or check the bundle with verify")]


def _outcome_errors(trace: Trace) -> list[Problem]:
    if trace.ok:
        return []
    last = (trace.traceback or "").strip().splitlines()[-1:] or [trace.outcome]
    if any(f"No module named '{m.name}'" in last[0] for m in trace.modules if m.first_party):
        return []  # the project's own module on the wrong path: its own error says what to do
    site = trace.failure_site
    where = f" in {site}" if site else ""
    if trace.limit:
        return [Problem("error", f"{trace.entry} failed during the dry run ({trace.outcome}): {last[0]}{where}; it hit "
                                 f"{LIMITS.describe(trace.limit)}, which contains the dry run; a program that needs "
                                 "more cannot be traced", trace.entry_module)]
    return [Problem("error", f"{trace.entry} failed during the dry run ({trace.outcome}): {last[0]}{where}; "
                             "fix the program, then bundle again (basilisk-trace trace shows the traceback)",
                    trace.entry_module)]


def _native_errors(trace: Trace, profile: Profile, decisions: dict[str, Decision]) -> list[Problem]:
    """Every required native module at once, grouped by distribution."""
    problems = []
    for record in trace.modules:
        if record.kind != "extension" or record.name in decisions and decisions[record.name].reason in (
                "optional-native", "static-native", "provided", "excluded"):
            continue
        if record.stdlib:
            continue
        dist = f"{record.distribution} {record.version}" if record.distribution else "no distribution"
        if profile.native == "wasix-wheels" and record.distribution:
            decisions[record.name] = Decision(record.name, True, "wasix-wheel",
                                              f"native code from the wasm32-wasix wheel of {dist}",
                                              record.chain, record.distribution, record.version)
            continue
        decisions[record.name] = Decision(record.name, False, "required-native",
                                          "native code the target cannot load", record.chain,
                                          record.distribution, record.version)
        problems.append(Problem(
            "error",
            f"{record.name} ({dist}) is native code and cannot run on the {profile.name} target; "
            f"imported by {chain_text(record)}; remove it, replace it with a pure-Python package, "
            "or make the import optional (try/except ImportError)",
            record.name,
        ))
    return problems


def _add_parents(trace: Trace, decisions: dict[str, Decision], files: dict[str, PlannedFile],
                 classifier: Classifier) -> None:
    """Every included module's parent packages come along: their __init__ runs first."""
    for planned in list(files.values()):
        if planned.module is None:
            continue
        parts = planned.module.split(".")
        for end in range(1, len(parts)):
            parent = trace.module(".".join(parts[:end]))
            if parent is None or parent.kind != "package" or not parent.origin or not classifier.source_allowed(parent):
                continue
            arcname = "/".join(parts[:end]) + "/__init__.py"
            if arcname not in files and not _provided(decisions.get(parent.name)):
                files[arcname] = PlannedFile(arcname, parent.origin, parent.size, "parent", parent.name,
                                             parent.distribution, parent.version, parent.chain)
                decisions[parent.name] = Decision(parent.name, True, "parent",
                                                  f"parent package of {planned.module}", parent.chain,
                                                  parent.distribution, parent.version)


def _provided(decision: Decision | None) -> bool:
    return decision is not None and decision.reason in ("provided", "excluded", "outside")


def _data_files(trace: Trace, options: PlanOptions,
                modules: dict[str, PlannedFile]) -> tuple[list[PlannedFile], list[Problem]]:
    """Package data the program read, placeholders for files it only probed, metadata it read."""
    packages = _package_dirs(modules)
    inside = real_roots((trace.project_root, *trace.site_packages, *(d for d, _ in packages)))
    planned, problems = [], []
    metadata_dirs: dict[str, list[FileRecord]] = defaultdict(list)
    for record in trace.files:
        escaped = escape(record.path, inside) if _data_arcname(record.path, trace, packages)[0] else None
        if record.role == "data" and record.read and own_output(record.path):
            problems.append(Problem("warning", f"{record.path} was read by {record.module or 'the program'} but "
                                    "is a bundle or canister basilisk-trace wrote; its own outputs are never bundled"))
            continue
        if escaped is not None:
            if record.read:
                problems.append(Problem("warning", f"{record.path} was read by {record.module or 'the program'} "
                                        f"but is a symbolic link to {escaped}, outside the project and "
                                        "site-packages; it is not bundled"))
            continue
        if record.role == "metadata":
            metadata_dirs[os.path.dirname(record.path)].append(record)
            continue
        arcname, owner = _data_arcname(record.path, trace, packages)
        if arcname is not None and not _is_utf8(arcname):
            if record.read:
                problems.append(Problem("warning", f"{record.path!r} was read by {record.module or 'the program'} "
                                        "but its name is not valid UTF-8, which a bundle cannot hold; it is not "
                                        "bundled (rename the file)"))
            continue
        if arcname is not None and any(part.startswith(".") for part in arcname.split("/")):
            if record.read:
                problems.append(Problem("warning", f"{record.path} was read by {record.module or 'the program'} "
                                        "but is a hidden file (.env, credentials, ...); it is not bundled"))
            continue
        if arcname is None:
            if record.read:
                problems.append(Problem("warning", f"{record.path} was read by {record.module or 'the program'} "
                                        "but lies outside the project and site-packages; it is not bundled"))
            continue
        if owner and matches(owner, options.exclude):
            continue
        reason = "data" if record.read else "probed"
        planned.append(PlannedFile(arcname, record.path if record.read else None,
                                   record.size if record.read else 0, reason,  # type: ignore[arg-type]
                                   owner, record.distribution, record.version))
    for directory, records in sorted(metadata_dirs.items()):
        planned.extend(_metadata(directory, records, trace))
    return planned, problems


def _is_utf8(name: str) -> bool:
    # A name read from disk in another encoding arrives with surrogate escapes.
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _package_dirs(modules: dict[str, PlannedFile]) -> list[tuple[str, str]]:
    """(directory on disk, package name) of every bundled package, deepest first."""
    dirs = [(os.path.dirname(f.source), f.module) for f in modules.values()
            if f.source and f.module and f.arcname.endswith("/__init__.py")]
    return sorted(dirs, key=lambda item: -len(item[0]))


def _data_arcname(path: str, trace: Trace, packages: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    for directory, package in packages:
        if path.startswith(directory + os.sep):
            rel = os.path.relpath(path, directory).replace(os.sep, "/")
            return package.replace(".", "/") + "/" + rel, package
    # The deepest root first: a project's own .venv sits inside the project.
    for root in sorted((trace.project_root, *trace.site_packages), key=len, reverse=True):
        if path.startswith(root + os.sep):
            return os.path.relpath(path, root).replace(os.sep, "/"), None
    return None, None


def _metadata(directory: str, records: list[FileRecord], trace: Trace) -> list[PlannedFile]:
    """A minimal dist-info: METADATA, plus entry_points.txt when the program read it."""
    if not any(directory.startswith(root + os.sep) for root in trace.site_packages):
        return []
    name = os.path.basename(directory)
    first = records[0]
    wanted = {os.path.basename(r.path): r for r in records if os.path.basename(r.path) in _METADATA_FILES}
    if "METADATA" not in wanted:
        # The size is unknown without reading the file; the writer takes the real one.
        wanted["METADATA"] = FileRecord(os.path.join(directory, "METADATA"), "metadata", True,
                                        first.module, first.distribution, first.version, 0)
    return [PlannedFile(f"{name}/{base}", r.path, r.size, "metadata", None, r.distribution, r.version)
            for base, r in sorted(wanted.items())]


def _check_size(plan: BundlePlan, max_size: int | None) -> BundlePlan:
    if max_size is None or plan.size <= max_size:
        return plan
    biggest = sorted(plan.files, key=lambda f: -f.size)[:_BIGGEST]
    listing = "; ".join(f"{f.arcname} {f.size} B via {' -> '.join(f.chain) or f.reason}" for f in biggest)
    message = (f"the bundle would be {plan.size} bytes, over --max-size {max_size}; "
               f"biggest contributors: {listing}; --exclude what the canister does not need")
    return replace(plan, problems=(*plan.problems, Problem("error", message)), _by_module={})
