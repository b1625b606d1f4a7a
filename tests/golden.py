"""Golden files of fixtures/<behaviour>/: read and check them, and turn a real run into one."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
REGEN = os.environ.get("BASILISK_TRACE_REGEN") == "1"

# What a golden may say, and in this order. `about`, `options`, `stdlib` and `known_issues` are
# written by hand; `trace`, `plan` and `verify` are the tool's output, written by regeneration.
TOP = ("about", "options", "stdlib", "known_issues", "trace", "plan", "verify")
OPTIONS = {
    "exercise": bool, "timeout": (int, float), "stub_runtime": bool, "target": str,
    "include": list, "exclude": list, "bundle_stdlib": bool, "verify": dict,
}
VERIFY_OPTIONS = {"exercise": bool}
SECTIONS = {
    "trace": ("outcome", "exit_code", "runtime", "error", "frames", "modules", "files", "events", "methods"),
    "plan": ("files", "probed", "left_out", "problems"),
    "verify": ("ok", "methods", "failures"),
}
# Module fields pinned when they differ from the usual value (kind is always pinned).
MODULE_DEFAULTS: dict[str, Any] = {
    "found_by": "trace", "how": "import", "optional": False, "blocked": False,
    "type_checking": False, "importer": None, "distribution": None, "version": None,
}


class GoldenError(Exception):
    """A golden file that cannot be used: it names the file and what to change."""


@dataclass(frozen=True)
class Case:
    """One golden: `dir` for dir/expected.json, `dir:variant` for dir/expected.variant.json."""

    name: str

    @property
    def folder(self) -> Path:
        return FIXTURES / self.name.partition(":")[0]

    @property
    def path(self) -> Path:
        variant = self.name.partition(":")[2]
        return self.folder / (f"expected.{variant}.json" if variant else "expected.json")

    @property
    def where(self) -> str:
        return self.path.relative_to(FIXTURES.parent).as_posix()


def case_names() -> list[str]:
    names = []
    for path in sorted(FIXTURES.glob("*/expected*.json")):
        variant = path.name.removeprefix("expected").removesuffix(".json").lstrip(".")
        names.append(f"{path.parent.name}:{variant}" if variant else path.parent.name)
    return names


def wants_verify(case: Case) -> bool:
    """Whether the golden asks for verify (False when it cannot be read: its other tests say why)."""
    try:
        options = json.loads(case.path.read_text(encoding="utf-8")).get("options", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(options, dict) and "verify" in options


def read(case: Case) -> dict[str, Any]:
    """The golden, checked: unknown keys, wrong types and missing sections are errors."""
    try:
        data = json.loads(case.path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoldenError(f"{case.where}: cannot read it as JSON ({exc})") from None
    if not isinstance(data, dict):
        raise GoldenError(f"{case.where}: must hold a JSON object")
    _check_hand_written(case, data)
    if not REGEN:
        _check_sections(case, data)
    return data


def _check_hand_written(case: Case, data: dict[str, Any]) -> None:
    # Regeneration converts an older golden: it keeps what is written by hand and drops the rest.
    unknown = sorted(set(data) - set(TOP))
    if unknown and not REGEN:
        raise GoldenError(f"{case.where}: unknown key {unknown[0]!r}; allowed: {', '.join(TOP)} "
                          "(an older format? see fixtures/README.md)")
    if not isinstance(data.get("about"), str) or not data["about"].strip():
        raise GoldenError(f"{case.where}: 'about' must say which behaviour the fixture pins")
    _check_types(case, data.get("options", {}), OPTIONS, "options")
    _check_types(case, data.get("options", {}).get("verify", {}), VERIFY_OPTIONS, "options.verify")
    for key in ("stdlib", "known_issues"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GoldenError(f"{case.where}: '{key}' must be a list of strings")


def _check_types(case: Case, given: Any, allowed: dict[str, Any], where: str) -> None:
    if not isinstance(given, dict):
        raise GoldenError(f"{case.where}: '{where}' must be an object")
    for key, value in given.items():
        if key not in allowed:
            raise GoldenError(f"{case.where}: unknown {where} key {key!r}; allowed: {', '.join(allowed)}")
        if not isinstance(value, allowed[key]) or isinstance(value, bool) is not (allowed[key] is bool):
            raise GoldenError(f"{case.where}: {where}.{key} has the wrong type ({type(value).__name__})")


def _check_sections(case: Case, data: dict[str, Any]) -> None:
    """Every golden pins a trace and a plan, and verify's outcome exactly when it asks for it."""
    wanted = ["trace", "plan"] + (["verify"] if "verify" in data.get("options", {}) else [])
    for section in SECTIONS:
        if section in wanted and not isinstance(data.get(section), dict):
            raise GoldenError(f"{case.where}: no '{section}' section; write it from a real run "
                              "with BASILISK_TRACE_REGEN=1, then review it")
        if section not in wanted and section in data:
            raise GoldenError(f"{case.where}: a '{section}' section without options.verify; "
                              "add \"verify\": {} to options or remove the section")
        if section in data:
            keys = set(data[section])
            if keys != set(SECTIONS[section]):
                odd = sorted(keys ^ set(SECTIONS[section]))
                raise GoldenError(f"{case.where}: '{section}' must have exactly the keys "
                                  f"{', '.join(SECTIONS[section])} (not {', '.join(odd)})")


def write(case: Case, data: dict[str, Any]) -> None:
    ordered = {key: data[key] for key in TOP if key in data}
    text = dumps(ordered) + "\n"
    if not case.path.exists() or case.path.read_text(encoding="utf-8") != text:
        case.path.write_text(text, encoding="utf-8")


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with short records on one line, so a golden reads like a table and diffs by line."""
    if isinstance(value, (dict, list)) and value and not _short(value):
        pad = " " * (indent + 1)
        if isinstance(value, dict):
            items = [f"{pad}{json.dumps(k)}: {dumps(v, indent + 1)}" for k, v in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        items = [pad + dumps(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _short(value: dict[str, Any] | list[Any]) -> bool:
    children = value.values() if isinstance(value, dict) else value
    scalar = all(not isinstance(v, (dict, list)) for v in children)
    return scalar and len(json.dumps(value, ensure_ascii=False)) <= 100


def is_stdlib(name: str, trace: Any) -> bool:
    record = trace.module(name)
    return record.stdlib if record is not None else name.partition(".")[0] in sys.stdlib_module_names


def pinned(name: str, trace: Any, stdlib: list[str]) -> bool:
    """What a golden pins: everything but the standard library, which varies with the host Python."""
    return name in stdlib or not is_stdlib(name, trace)


def normal(text: str | None, trace: Any) -> str | None:
    """Text with the machine's paths made relative, as the reports show them."""
    if text is None:
        return None
    for site in trace.site_packages:
        text = text.replace(site.rstrip(os.sep) + os.sep, "site-packages/")
    return text.replace(trace.project_root.rstrip(os.sep) + os.sep, "")


def trace_view(trace: Any, stdlib: list[str]) -> dict[str, Any]:
    from basilisk_trace.bundler.report.trace import display_path

    lines = (trace.traceback or "").strip().splitlines()
    return {
        "outcome": trace.outcome,
        "exit_code": trace.exit_code,
        "runtime": trace.runtime,
        "error": normal(lines[-1], trace) if lines else None,
        "frames": _program_frames(lines, trace),
        "modules": {m.name: _module(m) for m in trace.modules if pinned(m.name, trace, stdlib)},
        "files": {
            "read": dict(sorted((display_path(f.path, trace), f.role) for f in trace.files if f.read)),
            "unread": sum(1 for f in trace.files if not f.read),
        },
        "events": sorted({f"{e.kind}: {normal(e.detail, trace)}" for e in trace.events}),
        "methods": {m.name: m.error for m in sorted(trace.methods, key=lambda m: m.name)},
    }


def _program_frames(lines: list[str], trace: Any) -> list[str]:
    """Where the program's own code was when it failed: `path:line` in the project, outermost first."""
    root = trace.project_root.rstrip(os.sep) + os.sep
    frames = []
    for line in lines:
        match = re.match(r'\s*File "(.+)", line (\d+)', line)
        if match and match[1].startswith(root):
            frames.append(f"{normal(match[1], trace)}:{match[2]}")
    return frames


def _module(record: Any) -> dict[str, Any]:
    fields = {"kind": record.kind}
    for name, usual in MODULE_DEFAULTS.items():
        value = getattr(record, name)
        value = value is not None if name == "blocked" else value
        if value != usual:
            fields[name] = value
    return fields


def plan_view(plan: Any, trace: Any, stdlib: list[str]) -> dict[str, Any]:
    def keep(module: str | None) -> bool:
        return module is None or pinned(module, trace, stdlib)

    files = [f for f in plan.files if keep(f.module)]
    return {
        "files": {f.arcname: f.reason for f in files if f.reason != "probed"},
        "probed": sum(1 for f in files if f.reason == "probed"),
        "left_out": {d.module: d.reason for d in plan.decisions if not d.included and keep(d.module)},
        # Errors are pinned whatever module they name: a golden never hides why there is no bundle.
        "problems": sorted(f"{p.severity}: {normal(p.message, trace)}" for p in plan.problems
                           if p.severity == "error" or keep(p.module)),
    }


def verify_view(result: Any, plan: Any, trace: Any) -> dict[str, Any]:
    def left_out(module: str | None) -> str | None:
        decision = plan.decision(module) if module else None
        return decision.reason if decision is not None and not decision.included else None

    return {
        "ok": result.ok,
        "methods": result.methods,
        "failures": [
            {"where": f.where, "error": normal(f.error, trace), "module": f.module, "stub": f.stub,
             "importer": f.importer, "left_out": left_out(f.module), "bundle": f.caused_by_bundle}
            for f in result.failures
        ],
    }
