"""verify's reports: every failure with its module, who used it, why and the fix; and its JSON document."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from basilisk_trace.bundler.check.cost import INSTALL_LIMIT, Cost, billions
from basilisk_trace.bundler.check.verify import Failure, VerifyResult
from basilisk_trace.bundler.plan.model import PlannedFile
from basilisk_trace.bundler.report.plan import Explanation, Standing

# What a failed module is, by where the explanation under it says it stands.
_STATE: dict[Standing, str] = {
    "in-bundle": "is in the bundle but failed while importing",
    "provided": "is provided by the target runtime, but not with what the program imports from it",
    "left-out": "is missing from the bundle",
    "never-seen": "is missing from the bundle",
}


def _failed_state(failure: Failure, explained: Explanation, canister: bool) -> str:
    if failure.stub:
        return "is an empty stub module on the target"
    state = _STATE[explained.standing]
    return state.replace("the bundle", "the canister") if canister else state


def render_verify(result: VerifyResult, explain_module: Callable[[str], Explanation],
                  absent: tuple[PlannedFile, ...] = ()) -> str:
    """Every failure of the isolated run: what failed, the module, who imported it, why, the fix.

    `absent` (planned files of a fresh trace that the bundle lacks) names the modules the run
    did not reach because an earlier import failed.
    """
    if result.ok:
        return ""
    lines = []
    for failure in result.bundle_failures:
        start = "running the canister's init" if result.entry_module == "python_source" else "importing the entry"
        where = start if failure.where == "import" else f"calling {failure.where}"
        lines.append(f"FAILED {where}: {failure.error}")
        if failure.module:
            explained = explain_module(failure.module)
            who = f", used by {failure.importer}" if failure.importer else ""
            canister = result.entry_module == "python_source"
            lines.append(f"  {failure.module} {_failed_state(failure, explained, canister)}{who}")
            lines.extend("  " + line for line in explained.text.rstrip().splitlines())
        else:
            lines.extend("  " + line for line in failure.traceback.rstrip().splitlines()[-3:])
    named = {f.module for f in result.bundle_failures}
    later = sorted({f.module: f for f in absent if f.module not in named}.values(), key=lambda f: f.module or "")
    if later:
        lines.append(f"MISSING from the bundle as well, as the trace of the program shows ({len(later)}):")
        lines.extend(f"  {f.module} ({' -> '.join(f.chain) or f.module})" for f in later)
        lines.append("  fix: rebuild the bundle with the options of this verify (e.g. --exercise)")
    return "\n".join(lines) + "\n"


def verify_document(result: VerifyResult, runtime: str, target: str, sha256: str) -> str:
    """`verify --json`: the outcome, every failure with its module, and what was stubbed."""
    from basilisk_trace.bundler.report.schema import VERIFY

    failures: list[dict[str, Any]] = [
        {"where": f.where, "error": f.error, "module": f.module, "stub": f.stub, "importer": f.importer,
         "caused_by_bundle": f.caused_by_bundle} for f in result.failures]
    document = {"schema": VERIFY, "ok": result.ok, "entry_module": result.entry_module, "runtime": runtime,
                "target": target, "sha256": sha256, "methods": result.methods, "failures": failures,
                "stubbed": list(result.stubbed)}
    if result.cost is not None:
        document["cost"] = {"init_instructions": result.cost.init_instructions,
                            "baseline_instructions": result.cost.baseline_instructions,
                            "methods": {m.name: m.instructions for m in result.cost.methods}}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def cost_lines(cost: Cost) -> list[str]:
    """What the run cost, each figure beside the IC's limit for its message type."""
    lines = [f"cost: init {billions(cost.init_instructions)} instructions above the interpreter's start "
             f"({_share(cost.init_instructions, INSTALL_LIMIT)} of the install/upgrade limit, "
             f"{billions(INSTALL_LIMIT)}); the start and the runtime layer took {billions(cost.baseline_instructions)}\n"]
    if cost.code_for is not None:
        lines.append(f"cost: the canister carries code objects for CPython {cost.code_for}; measured as it runs where "
                     "the magic number matches: the same sources compiled by this CPython first (not counted)\n")
    for method in cost.methods:
        limit_name, limit = method.limit
        lines.append(f"cost: {method.name} ({method.kind}) {billions(method.instructions)} instructions "
                     f"({_share(method.instructions, limit)} of the {limit_name} limit, {billions(limit)})\n")
    return lines


def _share(value: int, limit: int) -> str:
    share = value / limit
    return f"{share:.1%}" if share >= 0.001 else "<0.1%"
