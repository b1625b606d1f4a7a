"""verify --component's report: each failed call, the module or file the component lacked, its chain and the fix."""

from __future__ import annotations

from typing import Any

from basilisk_trace.bundler.check.verify import Failure, VerifyResult
from basilisk_trace.bundler.hosts.componentize_py.failures import GuestError, guest_error

_SNAPSHOT = "componentize-py keeps only the modules imported while it builds"
_NO_FILES = "componentize-py ships no data files (the python path is mounted at /0 only while it builds)"


def render_failures(result: VerifyResult, stamp: dict[str, Any] | None) -> str:
    """Every failed call that the component's contents explain, with the fix; empty when there is none."""
    lines = []
    for failure in result.bundle_failures:
        lines.append(f"FAILED calling {failure.where}: {failure.error}")
        error = guest_error(failure.traceback, failure.error)
        lines.extend("  " + line for line in _explain(failure, error, stamp))
    return "\n".join(lines) + "\n" if lines else ""


def built_by(stamp: dict[str, Any] | None) -> str:
    if stamp is None:
        return "componentize-py alone"
    return f"basilisk-trace with componentize-py {stamp.get('componentize-py', '?')}"


def _explain(failure: Failure, error: GuestError, stamp: dict[str, Any] | None) -> list[str]:
    export = failure.where.partition("(")[0]
    chain = f"chain: {export} -> {error.chain}" if error.frames else f"chain: {export} -> {error.module or error.file}"
    if error.file:
        return [f"{error.file} is not in the component: {_NO_FILES}", chain, f"fix: {_file_fix(stamp)}"]
    if error.module:
        by = f", by {error.importer}" if error.importer else ""
        return [f"{error.module} is not in the component: first imported at call time{by}; {_SNAPSHOT}",
                chain, f"fix: {_module_fix(error.module, stamp)}"]
    return [chain] if error.frames else []


def _module_fix(module: str, stamp: dict[str, Any] | None) -> str:
    if stamp is None:
        return ("build it with basilisk-trace component (componentize-py's own arguments, one word in front) "
                "with --exercise: every module the app imports in its exports is imported at build time")
    if module in stamp.get("imported", ()):
        return f"{module} was imported at build time but failed there; run basilisk-trace component again to see why"
    return (f"rebuild with --exercise, so the dry run calls the exports and sees the import, or with "
            f"--include {module} for a name the app computes")


def _file_fix(stamp: dict[str, Any] | None) -> str:
    if stamp is None:
        return ("build it with basilisk-trace component --exercise: the files the app reads are served from "
                "memory in the component")
    return "rebuild with --exercise, so the dry run calls the exports and sees the file read"
