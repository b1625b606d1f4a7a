"""Trace reports: a readable terminal summary and the versioned JSON document."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from basilisk_trace.bundler.report.schema import TRACE as TRACE_SCHEMA
from basilisk_trace.tracer.model import ModuleRecord, Trace


def display_path(path: str | None, trace: Trace) -> str | None:
    """A path relative to where it lives (project, site-packages), with `/`."""
    if path is None:
        return None
    roots = [(trace.project_root, "")] + [(site, "site-packages/") for site in trace.site_packages]
    # The deepest root first: a project's own .venv sits inside the project.
    for root, prefix in sorted(roots, key=lambda item: -len(item[0])):
        if path.startswith(root.rstrip(os.sep) + os.sep):
            return prefix + os.path.relpath(path, root).replace(os.sep, "/")
    return path.replace(os.sep, "/")


def to_json(trace: Trace) -> str:
    """The machine-readable report: sorted, relative paths, stable across machines."""
    data: dict[str, Any] = {
        "schema": TRACE_SCHEMA,
        "entry": display_path(trace.entry, trace),
        "entry_module": trace.entry_module,
        "python": trace.python,
        "runtime": trace.runtime,
        "environment": list(trace.environment),
        "containment": trace.containment,
        "outcome": trace.outcome,
        "exit_code": trace.exit_code,
        "traceback": trace.traceback,
        "modules": [_module_json(m, trace) for m in trace.modules],
        "files": [
            {**_plain(f), "path": display_path(f.path, trace)} for f in trace.files
        ],
        "methods": [_plain(m) for m in trace.methods],
        "events": [_plain(e) for e in trace.events],
        "computed_imports": [{**_plain(c), "path": display_path(c.path, trace)} for c in trace.computed_imports],
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def _module_json(module: ModuleRecord, trace: Trace) -> dict[str, Any]:
    data = _plain(module)
    data["origin"] = display_path(module.origin, trace)
    data["chain"] = list(module.chain)
    return data


def _plain(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def runtime_text(trace: Trace) -> str:
    """Which basilisk the program saw: the canister's own runtime layer, or the stand-in."""
    if trace.runtime == "stub":
        return ("basilisk-trace's stand-in basilisk, not the canister's runtime "
                "(install ic-basilisk to trace with its own)")
    return f"the canister runtime of {trace.runtime} (its preamble and shim)"


def render_text(trace: Trace, *, show_stdlib: bool = False) -> str:
    """The terminal report: modules grouped by distribution, with flags and sizes."""
    cached = ", reused from the trace cache" if trace.cached else ""
    lines = [f"Trace of {display_path(trace.entry, trace)} (Python {trace.python}, runtime: {runtime_text(trace)}{cached})",
             "environment passed to the dry run: " + (", ".join(trace.environment) or "none")
             + " (names only; everything else is scrubbed)",
             f"containment: {trace.containment or 'not recorded'}"]
    groups: dict[str, list[ModuleRecord]] = defaultdict(list)
    for module in trace.modules:
        if module.stdlib and not show_stdlib:
            continue
        groups[_group(module, trace)].append(module)
    for group in sorted(groups, key=_group_order):
        members = groups[group]
        size = sum(m.size for m in members)
        lines.append("")
        lines.append(f"{group}  ({len(members)} modules, {_size(size)})")
        lines.extend(f"  {_module_line(m)}" for m in members)
    stdlib = [m for m in trace.modules if m.stdlib]
    lines.append("")
    lines.append(f"standard library: {len(stdlib)} modules (left to the target)")
    lines.extend(_files_summary(trace))
    lines.extend(_methods_summary(trace))
    lines.extend(_computed_summary(trace))
    lines.extend(f"refused: {e.kind}: {e.detail}" + (f" (from {e.module})" if e.module else "")
                 for e in trace.events)
    if trace.outcome != "ok":
        lines.append("")
        lines.append(f"the program did not import cleanly ({trace.outcome}):")
        lines.append((trace.traceback or "").rstrip())
    return "\n".join(lines) + "\n"


def computed_sites(trace: Trace) -> list[str]:
    """Each import of a computed name in the project's code: file:line and the call."""
    return [f"{display_path(c.path, trace)}:{c.line}  {c.call}" for c in trace.computed_imports]


def include_hint(prefix: str) -> str:
    """The --include that bundles what a call with this literal prefix can load."""
    if prefix.endswith(".") and prefix.strip("."):
        return f"--include {prefix.rstrip('.')}"
    return f"--include '{prefix}*'" if prefix else "--include MODULE for each module it can load"


def _computed_summary(trace: Trace) -> list[str]:
    if not trace.computed_imports:
        return []
    lines = ["", "imports of computed names in your project (the dry run follows only the names its calls make):"]
    for site, record in zip(computed_sites(trace), trace.computed_imports, strict=True):
        lines.append(f"  {site}")
        lines.append(f"    bundle what it can load: {include_hint(record.prefix)}")
    return lines


def _group(module: ModuleRecord, trace: Trace) -> str:
    if module.distribution:
        return f"{module.distribution} {module.version or ''}".rstrip()
    if module.origin and module.origin.startswith(trace.project_root + os.sep):
        return "your project"
    if module.kind == "missing":
        return "not found"
    return "other"


def _group_order(group: str) -> tuple[int, str]:
    order = {"your project": 0, "not found": 2, "other": 3}
    return order.get(group, 1), group.lower()


def _module_line(module: ModuleRecord) -> str:
    flags = list(_flags(module))
    size = f"{_size(module.size):>8}" if module.size else " " * 8
    text = f"{module.name:<44} {module.kind:<9} {size}"
    if flags:
        text += "  [" + ", ".join(flags) + "]"
    return text


def _flags(module: ModuleRecord) -> Iterable[str]:
    if module.blocked:
        yield "native, blocked"
    if module.kind == "missing":
        yield "missing"
    if module.optional:
        yield "optional"
    if module.found_by == "static":
        yield "static only"
    if module.found_by == "exercise":
        yield "exercised"
    if module.type_checking:
        yield "TYPE_CHECKING"
    if module.how in ("import_module", "__import__", "getattr"):
        yield f"via {module.how}"
    if module.kind == "missing" and not module.optional and module.found_by != "static":
        yield "chain: " + " -> ".join(module.chain)


def _files_summary(trace: Trace) -> list[str]:
    read = [f for f in trace.files if f.read]
    probed = len(trace.files) - len(read)
    if not trace.files:
        return []
    lines = ["", f"files: {len(read)} read, {probed} opened without being read"]
    lines.extend(f"  {display_path(f.path, trace)}  ({f.role}, {_size(f.size)})" for f in read)
    return lines


def _methods_summary(trace: Trace) -> list[str]:
    if not trace.methods:
        return []
    failed = [m for m in trace.methods if m.error]
    lines = ["", f"exercised {len(trace.methods)} methods, {len(failed)} raised"]
    lines.extend(f"  {m.name} ({m.decorator}): {m.error}" for m in failed)
    return lines


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"
