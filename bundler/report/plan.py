"""Plan reports: the bundle summary, and `why` explanations with the fix to try."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from basilisk_trace.bundler.plan.classify import GUARDED_IMPORT, OPTIONAL_MISSING
from basilisk_trace.bundler.plan.model import BundlePlan, Decision
from basilisk_trace.tracer.model import Trace

_FIXES = {
    "provided": "nothing to do: the target runtime provides it",
    "stdlib-stub": "if the program needs it where the dry run did not see it, pass --exercise or --include "
                   "{module} (its host source ships); native code cannot ship: use something else there",
    "type-checking": "nothing to do unless it is needed at run time; then import it outside "
                     "`if TYPE_CHECKING:` or pass --include {module}",
    "optional-native": "nothing to do: its pure-Python fallback is bundled instead",
    "static-native": "nothing to do unless the code path that imports it runs on the canister; "
                     "then replace it with a pure-Python package",
    "required-native": "replace it with a pure-Python package, make the import optional, "
                       "or build for --target wasix with a wasm32-wasix wheel",
    "excluded": "remove the --exclude pattern (or the exclude entry in pyproject.toml) that matches it",
    "missing": "install it into the environment you trace with (pip install {top})",
    "virtual": "nothing to do: the module that creates it is bundled",
    "namespace": "nothing to do: its modules carry the files",
    "outside": "move it into the project or install it as a package",
    "bytecode": "ship its source (.py) instead of bytecode",
    "runtime-missing": "remove the import or guard it (try/except ImportError): the runtime has no such module",
}
# A guarded import whose module is absent: the program's fallback runs, nothing to install.
_GUARDED = "nothing to do: the import is guarded and the program runs its fallback"


def fix_for(decision: Decision) -> str:
    if (decision.reason == "missing" and decision.detail.startswith(OPTIONAL_MISSING)) or (
            decision.reason == "runtime-missing" and decision.detail.endswith(GUARDED_IMPORT)):
        return _GUARDED
    template = _FIXES.get(decision.reason, "nothing to do")
    return template.format(module=decision.module, top=decision.module.partition(".")[0])


def explain(plan: BundlePlan, module: str, *, installed: bool, stdlib: bool = False,
            trace: Trace | None = None, local: bool = False) -> str:
    """Why `module` is in or out of the bundle, its chain, and the fix to try.

    With the trace, a module never seen is checked against the project's
    imports of computed names, which no dry run or scan can follow.
    """
    decision = plan.decision(module)
    if decision is None:
        computed = _computed_for(module, trace) if trace is not None else []
        if computed:
            return _computed_explanation(module, computed)
        return _never_seen(module, installed, stdlib, local)
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
    return "\n".join(lines) + "\n"


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


def explain_from_manifest(bundle: Any, module: str) -> str:
    """`why --bundle`: answer from the manifest alone, without tracing again."""
    entry = bundle.find(module)
    if entry is not None:
        return (f"{module}: in the bundle as {entry.path} ({entry.reason})\n"
                f"  distribution: {entry.distribution or '-'} {entry.version or ''}".rstrip() + "\n")
    for item in bundle.extra.get("excluded", ()):
        if isinstance(item, dict) and item.get("module") == module:
            decision = Decision(module, False, item.get("reason", "missing"), item.get("detail", ""),
                                tuple(item.get("chain", ())))
            chain = f"\n  chain: {' -> '.join(decision.chain)}" if decision.chain else ""
            return (f"{module}: not in the bundle ({decision.reason})\n  why: {decision.detail}{chain}\n"
                    f"  fix: {fix_for(decision)}\n")
    if bundle.extra.get("manifest") is False:
        return (f"{module}: not in the bundle, which has no basilisk-bundle.json to say why\n"
                f"  fix: build it with basilisk-trace bundle (or canister), which traces what the program imports\n")
    return (f"{module}: not in the bundle, and the trace that built it never saw it\n"
            f"  fix: if it is imported dynamically inside a method, bundle with --exercise or --include {module}\n")


def _failed_state(failure: Any, first_line: str) -> str:
    """What the failed module is, consistent with the explanation printed under it."""
    if failure.stub:
        return "is an empty stub module on the target"
    if ": in the bundle as " in first_line or ": included (" in first_line:
        return "is in the bundle but failed while importing"
    if "(provided)" in first_line:
        return "is provided by the target runtime, but not with what the program imports from it"
    return "is missing from the bundle"


def render_verify(result: Any, explain_module: Callable[[str], str], absent: tuple[Any, ...] = ()) -> str:
    """Every failure of the isolated run: what failed, the module, who imported it, why, the fix.

    `absent` (planned files of a fresh trace that the bundle lacks) names the modules the run
    did not reach because an earlier import failed.
    """
    if result.ok:
        return ""
    lines = []
    for failure in result.bundle_failures:
        where = "importing the entry" if failure.where == "import" else f"calling {failure.where}"
        lines.append(f"FAILED {where}: {failure.error}")
        if failure.module:
            explained = explain_module(failure.module).rstrip().splitlines()
            who = f", used by {failure.importer}" if failure.importer else ""
            lines.append(f"  {failure.module} {_failed_state(failure, explained[0] if explained else '')}{who}")
            lines.extend("  " + line for line in explained)
        else:
            lines.extend("  " + line for line in failure.traceback.rstrip().splitlines()[-3:])
    named = {f.module for f in result.bundle_failures}
    later = sorted({f.module: f for f in absent if f.module not in named}.values(), key=lambda f: f.module)
    if later:
        lines.append(f"MISSING from the bundle as well, as the trace of the program shows ({len(later)}):")
        lines.extend(f"  {f.module} ({' -> '.join(f.chain) or f.module})" for f in later)
        lines.append("  fix: rebuild the bundle with the options of this verify (e.g. --exercise)")
    return "\n".join(lines) + "\n"
