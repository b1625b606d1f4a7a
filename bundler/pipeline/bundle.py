"""The bundle's flow: entry -> trace -> plan for a host -> bundle bytes -> a file, or a canister."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace import tracer
from basilisk_trace.base.errors import BasiliskTraceError, ProgramFailed
from basilisk_trace.bundler.hosts import DEFAULT_HOST, load_host
from basilisk_trace.bundler.plan.model import BundlePlan, PlanOptions

if TYPE_CHECKING:
    from basilisk_trace.bundler.output_cache import Written
    from basilisk_trace.bundler.plan.profile import Profile
    from basilisk_trace.bundler.write.archive import Compression


class PlanError(BasiliskTraceError):
    """The bundle cannot be made: every reason, one per line (exit 3 when the program itself failed)."""

    def __init__(self, plan: BundlePlan, *, program_failed: bool = False) -> None:
        super().__init__("\n".join(p.message for p in plan.errors))
        self.plan = plan
        if program_failed:
            self.exit_code = ProgramFailed.exit_code


@dataclass(frozen=True)
class Request:
    """Everything one bundle needs: what bundler/settings.py resolves, or what a caller builds directly."""

    entry: Path
    dry_run: tracer.DryRunOptions = field(default_factory=tracer.DryRunOptions)
    plan: PlanOptions = field(default_factory=PlanOptions)
    include: tuple[str, ...] = ()  # module patterns the tracer finds on disk and the plan adds
    target: str = DEFAULT_HOST  # the host built for (bundler/hosts/)
    runtime_modules: Path | None = None
    compression: Compression = "stored"
    wheelhouse: Path | None = None  # wasix: where to find wasm32-wasix wheels
    index_url: str | None = None  # wasix: a PEP 503 index of them
    settings_files: tuple[Path, ...] = ()  # what the settings were read from (pyproject.toml): never an output

    def inputs(self, trace: tracer.Trace | None = None) -> tuple[str, ...]:
        """Every file this request reads: no output may replace one."""
        read = (self.entry, *self.settings_files, *([self.runtime_modules] if self.runtime_modules else []))
        return (*(str(p) for p in read), *(trace.inputs() if trace is not None else ()))


def host_dry_run(request: Request) -> tuple[Profile, tracer.DryRunOptions]:
    """The target host's profile, and the request's dry run under that host's layer."""
    from basilisk_trace.bundler.plan.profile import stdlib_options

    host = load_host(request.target)
    if host.command:
        raise BasiliskTraceError(f"the {host.name} target is built with its own command: basilisk-trace "
                                 f"{host.command} (see basilisk-trace {host.command} --help)")
    profile = host.profile(request.runtime_modules)
    # And what it must know of the host's stdlib, for the stdlib the bundle may carry (stdlib_needs.py).
    return profile, stdlib_options(profile, host.dry_run(request.dry_run, profile), request.include)


def make_trace(request: Request) -> tracer.Trace:
    """The dry run of the request's entry, under its target host's runtime layer."""
    return tracer.trace(request.entry, host_dry_run(request)[1])


def make_plan(request: Request, trace: tracer.Trace | None = None) -> tuple[tracer.Trace, BundlePlan]:
    """Trace (unless a trace is given) and plan; problems are in the plan, not raised."""
    profile, dry_run = host_dry_run(request)
    # Planning and writing load only when a bundle is made: a rebuild that changes nothing skips them.
    from basilisk_trace.bundler.plan.planner import plan_bundle
    from basilisk_trace.tracer._include import resolve_includes

    result = trace if trace is not None else tracer.trace(request.entry, dry_run)
    included = resolve_includes(result, request.include) if request.include else []
    return result, plan_bundle(result, profile, request.plan, included)


def make_bundle(request: Request, *, without_entry: bool = False) -> tuple[tracer.Trace, BundlePlan, bytes]:
    """The bundle's bytes, or PlanError listing every reason it cannot be made.

    `without_entry` leaves the entry file out of the ZIP, for a python_source
    that carries the entry as text (the plan returned still lists it).
    """
    from basilisk_trace.bundler.write.contents import bundle_bytes

    result, plan = make_plan(request)
    if plan.errors:
        # A required native module stops the dry run only because it is blocked: that is the error.
        native = any(d.reason == "required-native" for d in plan.decisions)
        # So does project code on a folder the import path misses: the program itself is fine.
        misplaced = any(m.first_party and not m.guarded for m in result.modules)
        raise PlanError(plan, program_failed=not result.ok and not native and not misplaced)
    entry = Path(result.entry).name
    replacements = wasix_replacements(plan, request)
    written = replace(plan, files=tuple(f for f in plan.files if f.reason != "entry"), _by_module={}) \
        if without_entry else plan
    return result, plan, bundle_bytes(written, entry, request.compression, replacements)


def write_bundle(request: Request, output: Path) -> Written:
    """Make the bundle and write it to `output`, unless the last one written there still holds.

    Nothing is traced, planned or written when nothing it depended on changed (output_cache.py).
    """
    from basilisk_trace.bundler.write.atomic import check_output

    check_output(output, request.inputs())  # before the dry run: a FIFO or a device fails at once
    # Loaded here, not with this module: a dry run started early starts without it.
    from basilisk_trace.bundler.output_cache import OutputCache, Written

    cache = OutputCache.of(request, output)
    cached = cache.hit(output) if cache is not None else None
    if cached is not None:
        return cached
    from basilisk_trace.bundler.report.plan import plan_document, render_summary
    from basilisk_trace.bundler.write.archive import bundle_sha256
    from basilisk_trace.bundler.write.atomic import write_atomic

    trace, plan, data = make_bundle(request)
    write_atomic(output, data, inputs=request.inputs(trace))
    sha256 = bundle_sha256(data)
    written = Written(render_summary(plan, sha256, str(output)), tuple(p.message for p in plan.warnings),
                      plan_document(plan, output=str(output), sha256=sha256, size=len(data)),
                      sources=tuple(sorted({f.source for f in plan.files if f.source})))
    if cache is not None:
        cache.store(written, data)
    return written


def wasix_replacements(plan: BundlePlan, request: Request) -> dict[str, tuple[str, dict[str, bytes]]]:
    """For each native distribution the plan needs, the files of its wasm32-wasix wheel."""
    wanted = sorted({(d.distribution, d.version) for d in plan.decisions
                     if d.reason == "wasix-wheel" and d.distribution})
    if not wanted:
        return {}  # the wheel finder (urllib, http) loads only for the wasix target
    from basilisk_trace.bundler.write.wasix_wheels import (
        WasixWheelError,
        find_wasix_wheel,
        wheel_files,
    )

    if wanted and request.wheelhouse is None and request.index_url is None:
        names = ", ".join(f"{name} {version}" for name, version in wanted)
        raise WasixWheelError(f"{names} need wasm32-wasix wheels for the wasix target; pass --wheelhouse DIR "
                              "or --index-url URL (a PEP 503 index of wasix wheels)")
    replacements = {}
    for name, version in wanted:
        assert name is not None
        wheel = find_wasix_wheel(name, version, wheelhouse=request.wheelhouse, index_url=request.index_url,
                                 python=plan.target_python)
        replacements[name] = (wheel.filename, wheel_files(wheel))
    return replacements
