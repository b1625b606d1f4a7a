"""verify's flow: a bundle (built fresh from the entry, or read from --bundle) run alone in one of its
host's runtimes, with every failure explained against the plan or the manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.bundler.check.runtime import Program, RunOptions, Runtime
from basilisk_trace.bundler.check.verify import VerifyResult
from basilisk_trace.bundler.hosts import load_host
from basilisk_trace.bundler.pipeline.bundle import Request, make_bundle, make_plan
from basilisk_trace.bundler.pipeline.why import Explainer, manifest_explainer, plan_explainer
from basilisk_trace.bundler.plan.model import PlannedFile
from basilisk_trace.bundler.plan.profile import Profile

if TYPE_CHECKING:
    from basilisk_trace.bundler.format.manifest import Manifest


@dataclass(frozen=True)
class Verification:
    """What one verify found: the run's result, where it ran, and how to explain a module."""

    result: VerifyResult
    runtime: Runtime
    profile: Profile
    sha256: str
    explain: Explainer
    absent: tuple[PlannedFile, ...] = ()  # modules a fresh trace needs that the given bundle lacks
    note: str | None = None  # what the user should know about the run (a bundle read without a manifest)


def verify(request: Request, *, bundle: Path | None = None, runtime: str | None = None,
           target: str | None = None) -> Verification:
    """Run the bundle alone in `runtime` (default: its host's first) and explain what failed.

    With `bundle`, that bundle is run and its manifest says which host it was made for
    (`target`, when given, must agree); else the entry is bundled fresh (PlanError when it
    cannot be). Raises BasiliskTraceError only when the run itself cannot be made.
    """
    from basilisk_trace.bundler.write.archive import bundle_sha256

    note = None
    if bundle is not None:
        data, entry_module, made_for, explainer, note = _given_bundle(bundle, request, target)
        host = load_host(made_for)
        chosen = host.runtime(runtime)
    else:
        host = load_host(request.target)
        chosen = host.runtime(runtime)  # a wrong --runtime fails before the dry run
        ready = getattr(chosen, "ready", None)  # and one whose optional package is missing (wasmtime)
        if ready is not None:
            ready()
        trace, plan, data = make_bundle(request)
        entry_module, explainer = trace.entry_module, plan_explainer(trace, plan)
    profile = host.profile(request.runtime_modules)
    options = RunOptions(exercise=request.dry_run.exercise, timeout=request.dry_run.timeout,
                         python=request.dry_run.python, protected=_protected(request, bundle))
    result = chosen.run(Program(entry_module, profile, bundle=data), options)
    absent = _absent(request, data) if bundle is not None and not result.ok else ()
    return Verification(result, chosen, profile, bundle_sha256(data), explainer, absent, note)


def _given_bundle(path: Path, request: Request, target: str | None) -> tuple[bytes, str, str, Explainer, str | None]:
    from basilisk_trace.bundler.format.bundle_reader import read_bundle

    read = read_bundle(path, verify=True, unlisted=True)
    if not read.listed:
        return _unlisted_bundle(path, read.data, read.manifest, request, target)
    entry_module = read.manifest.entry_module
    if entry_module is None:
        raise BasiliskTraceError(f"{path} has no entry_module in its manifest; rebuild it with basilisk-trace bundle")
    made_for = read.manifest.target or request.target
    if target is not None and target != made_for:
        raise BasiliskTraceError(f"{path} was bundled for the {made_for} target, not {target}; verify it "
                                 f"without --target, or bundle again with --target {target}")
    return read.data, entry_module, made_for, manifest_explainer(read.manifest), None


def _unlisted_bundle(path: Path, data: bytes, manifest: Manifest, request: Request,
                     target: str | None) -> tuple[bytes, str, str, Explainer, str | None]:
    """A ZIP another tool made (no basilisk-bundle.json): run its entry (the one given, else main) from its files."""
    module = Path(request.entry).stem
    if manifest.find(module) is None:
        raise BasiliskTraceError(
            f"{path} has no basilisk-bundle.json (not built by basilisk-trace bundle) and no {module}.py at its "
            "root, so its entry module is unknown; pass the entry file (verify ENTRY --bundle ZIP), "
            "or rebuild it with basilisk-trace bundle")
    note = f"{path} has no basilisk-bundle.json: running {module} from its files alone; why a module is missing " \
           "it cannot tell"
    return data, module, target or request.target, manifest_explainer(manifest, listed=False), note


def _protected(request: Request, bundle: Path | None) -> tuple[Path, ...]:
    """The project a verified entry belongs to: its run may not change it."""
    from basilisk_trace.tracer import protected_dirs

    if bundle is not None:
        return ()
    entry = request.entry.resolve()
    return tuple(protected_dirs(entry, (request.dry_run.project_root or entry.parent).resolve()))


def _absent(request: Request, data: bytes) -> tuple[PlannedFile, ...]:
    """What a fresh trace of the entry (when there is one) needs and the given bundle lacks."""
    from basilisk_trace.bundler.check.verify import absent_from_bundle

    if request.entry is None or not Path(request.entry).is_file():
        return ()
    _, plan = make_plan(request)
    return absent_from_bundle(plan, data)


@dataclass(frozen=True)
class ComponentVerification:
    """What verify --component found: the calls' result, the runtime, who built it, and the report."""

    result: VerifyResult
    runtime: Runtime
    sha256: str
    built_by: str
    report: str  # every failure the component's contents explain, with the fix; empty when none


def verify_component(path: Path, *, exercise: bool = False, timeout: float = 60.0,
                     cache_dir: Path | None = None) -> ComponentVerification:
    """Instantiate a built component in wasmtime and call every export (componentize-py's host)."""
    import hashlib

    from basilisk_trace.bundler.hosts.componentize_py.instance import read_component
    from basilisk_trace.bundler.hosts.componentize_py.provenance import read_stamp
    from basilisk_trace.bundler.hosts.componentize_py.report import built_by, render_failures

    data = read_component(path)  # a wrong path fails before wasmtime starts
    host = load_host("componentize-py")
    runtime = host.runtime("component")
    result = runtime.run(Program(path.stem, host.profile(), artifact=path),
                         RunOptions(exercise=exercise, timeout=timeout, cache_dir=cache_dir))
    stamp = read_stamp(data)
    return ComponentVerification(result, runtime, hashlib.sha256(data).hexdigest(), built_by(stamp),
                                 render_failures(result, stamp))
