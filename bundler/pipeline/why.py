"""why's flow: explain modules against a fresh trace and plan, against a bundle's manifest, or as
named in a canister's error text or log."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace.base.errors import BasiliskTraceError, ProgramFailed
from basilisk_trace.bundler.report.plan import Explanation

if TYPE_CHECKING:
    from basilisk_trace import tracer
    from basilisk_trace.bundler.format.manifest import Manifest
    from basilisk_trace.bundler.pipeline.bundle import Request
    from basilisk_trace.bundler.plan.model import BundlePlan

Explainer = Callable[[str], Explanation]


@dataclass(frozen=True)
class Answers:
    """One explanation per module asked about; `failed` when the dry run itself failed (the answers
    may then be incomplete)."""

    answers: tuple[Explanation, ...]
    failed: ProgramFailed | None = None


def plan_explainer(trace: tracer.Trace, plan: BundlePlan) -> Explainer:
    """module -> its explanation, against one trace and its plan; why and verify share it."""
    from basilisk_trace.bundler.report.plan import explain
    from basilisk_trace.tracer import IncludeError, resolve_includes

    def explain_module(module: str) -> Explanation:
        try:
            found = resolve_includes(trace, (module,))
        except IncludeError:
            found = []
        # The project's own code is not "installed": say where it is.
        local = any(r.origin and r.origin.startswith(trace.project_root + os.sep)
                    and os.sep + "site-packages" + os.sep not in r.origin for r in found)
        stdlib = module.partition(".")[0] in sys.stdlib_module_names
        return explain(plan, module, installed=bool(found), stdlib=stdlib, trace=trace, local=local)

    return explain_module


def manifest_explainer(manifest: Manifest, *, listed: bool = True) -> Explainer:
    """module -> its explanation, from a bundle's manifest alone (`listed`: the bundle had one)."""
    from basilisk_trace.bundler.report.plan import explain_from_manifest

    return lambda module: explain_from_manifest(manifest, module, listed=listed)


def why(request: Request, modules: Sequence[str]) -> Answers:
    """Each module against a fresh trace of the request's entry and its plan."""
    # The dry run's machinery loads here: why --bundle answers without it.
    from basilisk_trace.bundler.pipeline.bundle import make_plan

    trace, plan = make_plan(request)
    explainer = plan_explainer(trace, plan)
    failed = None if trace.ok else ProgramFailed(
        f"{trace.entry} failed during the dry run ({trace.outcome}), so the answer may be incomplete; "
        "fix the program (basilisk-trace trace shows the traceback)")
    return Answers(tuple(explainer(module) for module in modules), failed)


def why_in_bundle(path: Path, modules: Sequence[str]) -> Answers:
    """Each module against a built bundle's manifest, without tracing."""
    from basilisk_trace.bundler.format.bundle_reader import read_bundle

    explainer = manifest_explainer(read_bundle(path).manifest)
    return Answers(tuple(explainer(module) for module in modules))


def modules_named(text: str) -> list[str]:
    """The missing or stubbed modules a canister's error text or log names, or an error saying none are."""
    from basilisk_trace.bundler.check.canister_log import modules_in

    mentions = modules_in(text)
    if not mentions:
        raise BasiliskTraceError("no missing or stubbed module found in the error text; expected e.g. "
                                 "\"No module named 'x'\" or \"module 'x' has no attribute 'y'\"")
    return [m.module for m in mentions]
