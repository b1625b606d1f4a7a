"""Plan reports: the bundle summary, and `why` explanations with the fix to try."""

from __future__ import annotations

from bundler.plan import BundlePlan, Decision

_FIXES = {
    "provided": "nothing to do: the target runtime provides it",
    "stdlib-stub": "pass --bundle-stdlib to ship the host's pure-Python source of it",
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
}


def fix_for(decision: Decision) -> str:
    template = _FIXES.get(decision.reason, "nothing to do")
    return template.format(module=decision.module, top=decision.module.partition(".")[0])


def explain(plan: BundlePlan, module: str, *, installed: bool, stdlib: bool = False) -> str:
    """Why `module` is in or out of the bundle, its chain, and the fix to try."""
    decision = plan.decision(module)
    if decision is None:
        return _never_seen(module, installed, stdlib)
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


def _never_seen(module: str, installed: bool, stdlib: bool) -> str:
    lines = [f"{module}: never seen (neither imported during the dry run nor found by the static pass)"]
    if stdlib:
        lines.append("  it is a standard-library module the program never imports; nothing is bundled for it")
        lines.append(f"  fix: if a method imports it dynamically, pass --exercise, or --include {module} "
                     "with --bundle-stdlib")
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


def render_problems(plan: BundlePlan) -> str:
    return "".join(f"basilisk-trace: {p.severity}: {p.message}\n" for p in plan.problems)
