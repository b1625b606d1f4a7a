"""--include: find the modules a pattern names, on disk, without importing them."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterator

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.tracer.model import ModuleRecord, Trace


class IncludeError(BasiliskTraceError):
    """An --include pattern matched nothing."""


def resolve_includes(trace: Trace, patterns: tuple[str, ...]) -> list[ModuleRecord]:
    """ModuleRecords for every module matching the patterns, found under the search roots.

    A pattern under a standard-library name (pprint, email.mime) matches the stdlib modules the
    dry run found for it (DryRunOptions.include_stdlib): they are in the trace already.
    """
    found: dict[str, ModuleRecord] = {}
    for pattern in patterns:
        matched = [r for r in trace.modules if r.stdlib and _matches(r.name, pattern)] \
            if pattern.partition(".")[0] in sys.stdlib_module_names else []
        matched = matched or [r for r in _candidates(trace, pattern) if _matches(r.name, pattern)]
        if not matched:
            raise IncludeError(f"--include {pattern!r} matches no module under {trace.project_root}, "
                               "site-packages or the standard library; check the module name (dotted, "
                               "e.g. plugins.gamma or pprint)")
        found.update((r.name, r) for r in matched)
    return sorted(found.values(), key=lambda r: r.name)


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern) or name.startswith(pattern + ".") or name == pattern


def _candidates(trace: Trace, pattern: str) -> Iterator[ModuleRecord]:
    top = pattern.split(".")[0]
    for root in (trace.project_root, *trace.site_packages):
        if any(c in top for c in "*?["):
            tops = [name for name in sorted(os.listdir(root)) if fnmatch.fnmatchcase(name.removesuffix(".py"), top)]
        else:
            tops = [top + ".py", top]
        for name in tops:
            path = os.path.join(root, name)
            if os.path.isfile(path) and name.endswith(".py"):
                yield _record(trace, name[:-3], path, "source")
            elif os.path.isdir(path):
                yield from _walk(trace, name, path)


def _walk(trace: Trace, package: str, directory: str) -> Iterator[ModuleRecord]:
    init = os.path.join(directory, "__init__.py")
    if os.path.isfile(init):
        yield _record(trace, package, init, "package")
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if entry == "__pycache__" or entry.startswith("."):
            continue
        if os.path.isdir(path) and entry.isidentifier():
            yield from _walk(trace, f"{package}.{entry}", path)
        elif entry.endswith(".py") and entry != "__init__.py" and entry[:-3].isidentifier():
            yield _record(trace, f"{package}.{entry[:-3]}", path, "source")


def _record(trace: Trace, name: str, path: str, kind: str) -> ModuleRecord:
    parent = trace.module(name.rpartition(".")[0]) if "." in name else None
    chain = (*parent.chain, name) if parent else (trace.entry_module, name)
    return ModuleRecord(name=name, kind=kind, origin=path, found_by="static", how="static",  # type: ignore[arg-type]
                        importer=parent.name if parent else None, chain=chain,
                        distribution=parent.distribution if parent else None,
                        version=parent.version if parent else None,
                        size=os.path.getsize(path))
