"""Plan reports: the bundle summary, and `why` explanations with the fix to try."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from basilisk_trace.bundler.format.manifest import Manifest
from basilisk_trace.bundler.plan.model import BundlePlan, Decision, Reason
from basilisk_trace.tracer.model import Trace


def fix_for(decision: Decision) -> str:
    return decision.fix


# Where a module stands with a bundle, as `why` and verify tell it.
Standing = Literal["in-bundle", "provided", "left-out", "never-seen"]


@dataclass(frozen=True)
class Explanation:
    """Why a module is in or out of a bundle: where it stands, and the text that says so and what to do."""

    module: str
    standing: Standing
    text: str

    @property
    def in_bundle(self) -> bool:
        return self.standing == "in-bundle"


def explain(plan: BundlePlan, module: str, *, installed: bool, stdlib: bool = False,
            trace: Trace | None = None, local: bool = False) -> Explanation:
    """Why `module` is in or out of the bundle, its chain, and the fix to try.

    With the trace, a module never seen is checked against the project's
    imports of computed names, which no dry run or scan can follow.
    """
    decision = plan.decision(module)
    if decision is None:
        computed = _computed_for(module, trace) if trace is not None else []
        text = _computed_explanation(module, computed) if computed else _never_seen(module, installed, stdlib, local)
        return Explanation(module, "never-seen", text)
    state = "included" if decision.included else "excluded"
    lines = [f"{module}: {state} ({decision.reason})", f"  why: {decision.detail}"]
    if decision.distribution:
        lines.append(f"  distribution: {decision.distribution} {decision.version or ''}".rstrip())
    if decision.chain:
        lines.append(f"  chain: {' -> '.join(decision.chain)}")
    files = [f.arcname for f in plan.files if f.module == module]
    if files:
        lines.append(f"  in the bundle as: {', '.join(files)}")
    if not decision.included:
        lines.append(f"  fix: {fix_for(decision)}")
    standing: Standing = "in-bundle" if decision.included else (
        "provided" if decision.reason == Reason.PROVIDED else "left-out")
    return Explanation(module, standing, "\n".join(lines) + "\n")


def _computed_for(module: str, trace: Trace) -> list[str]:
    """The computed-name import sites that may load `module`: those whose prefix fits, else all of them."""
    from basilisk_trace.bundler.report.trace import computed_sites

    sites = list(zip(computed_sites(trace), trace.computed_imports, strict=True))
    fitting = [site for site, record in sites if record.matches(module)]
    return fitting or [site for site, _ in sites]


def _computed_explanation(module: str, sites: list[str]) -> str:
    lines = [f"{module}: never seen (neither imported during the dry run nor found by the static pass)",
             "  your project imports names it computes at run time, which only the calls themselves reveal:"]
    lines.extend(f"    {site}" for site in sites)
    lines.append(f"  fix: if one of these loads it, pass --include {module} (or --exercise, when calling the "
                 "methods makes that name)")
    return "\n".join(lines) + "\n"


def _never_seen(module: str, installed: bool, stdlib: bool, local: bool = False) -> str:
    lines = [f"{module}: never seen (neither imported during the dry run nor found by the static pass)"]
    if stdlib:
        lines.append("  it is a standard-library module the program never imports; nothing is bundled for it")
        lines.append(f"  fix: if a method imports it dynamically, pass --exercise, or --include {module}")
    elif installed and local:
        lines.append("  it is in your project, so it is probably imported dynamically inside a method")
        lines.append(f"  fix: pass --exercise to call the canister's methods, or --include {module}")
    elif installed:
        lines.append("  it is installed, so it is probably imported dynamically inside a method")
        lines.append(f"  fix: pass --exercise to call the canister's methods, or --include {module}")
    else:
        lines.append("  it is not installed in the environment being traced")
        lines.append(f"  fix: pip install {module.partition('.')[0]} (or the package that provides it), "
                     "then trace again")
    return "\n".join(lines) + "\n"


def render_summary(plan: BundlePlan, sha256: str, output: str) -> str:
    """The one-line result of `bundle`, which on-chain verification pins by its sha256."""
    modules = sum(1 for d in plan.decisions if d.included)
    return (f"wrote {output}: {len(plan.files)} files, {modules} modules, {plan.size} bytes of sources, "
            f"target {plan.target}, sha256 {sha256}\n")


def plan_document(plan: BundlePlan, *, output: str, sha256: str, size: int) -> dict[str, Any]:
    """One bundle for `bundle --json`: every file with its reason, every module left out with its reason."""
    return {
        "entry_module": plan.entry_module,
        "target": plan.target,
        "output": output,
        "sha256": sha256,
        "size": size,
        "files": [{"path": f.arcname, "size": f.size, "reason": f.reason, "module": f.module,
                   "distribution": f.distribution, "version": f.version} for f in plan.files],
        "excluded": [{"module": d.module, "reason": d.reason, "detail": d.detail, "chain": list(d.chain),
                      "fix": fix_for(d)} for d in plan.decisions if not d.included],
        "problems": [{"severity": p.severity, "message": p.message, "module": p.module}
                     for p in plan.problems],
    }


def explain_from_manifest(manifest: Manifest, module: str, *, listed: bool = True) -> Explanation:
    """`why --bundle`: answer from the manifest alone, without tracing again (`listed`: the bundle had one)."""
    entry = manifest.find(module)
    if entry is not None:
        return Explanation(module, "in-bundle", f"{module}: in the bundle as {entry.path} ({entry.reason})\n"
                           f"  distribution: {entry.distribution or '-'} {entry.version or ''}".rstrip() + "\n")
    item = manifest.left_out(module)
    if item is not None:
        chain = f"\n  chain: {' -> '.join(item.chain)}" if item.chain else ""
        # A reason this version does not know (a newer tool's manifest) has no fix to offer.
        known = item.reason in Reason.__members__.values()
        fix = Reason(item.reason).fix(module, guarded=item.guarded) if known else "nothing to do"
        standing: Standing = "provided" if item.reason == Reason.PROVIDED else "left-out"
        return Explanation(module, standing, f"{module}: not in the bundle ({item.reason})\n"
                           f"  why: {item.detail or ''}{chain}\n  fix: {fix}\n")
    if not listed:
        return Explanation(module, "never-seen", f"{module}: not in the bundle, which has no basilisk-bundle.json "
                           "to say why\n  fix: build it with basilisk-trace bundle (or canister), which traces what "
                           "the program imports\n")
    return Explanation(module, "never-seen", f"{module}: not in the bundle, and the trace that built it never saw "
                       f"it\n  fix: if it is imported dynamically inside a method, bundle with --exercise or "
                       f"--include {module}\n")
