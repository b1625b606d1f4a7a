"""Entry file to bundle bytes: trace, plan, write, with options merged from pyproject.toml."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from basilisk_trace import tracer
from basilisk_trace.bundler.cli.settings import Config
from basilisk_trace.bundler.output_cache import OutputCache, Written
from basilisk_trace.bundler.plan.model import BundlePlan, PlanOptions
from basilisk_trace.bundler.plan.profiles import DEFAULT_PROFILE, load_profile
from basilisk_trace.tracer.errors import BasiliskTraceError, EntryError

if TYPE_CHECKING:
    from basilisk_trace.bundler.write.archive import Compression

T = TypeVar("T")
D = TypeVar("D")


class PlanError(BasiliskTraceError):
    """The bundle cannot be made: every reason, one per line."""

    def __init__(self, plan: BundlePlan) -> None:
        super().__init__("\n".join(p.message for p in plan.errors))
        self.plan = plan


@dataclass(frozen=True)
class Request:
    """Everything one bundle needs, after the command line has overridden pyproject.toml."""

    entry: Path
    dry_run: tracer.DryRunOptions = field(default_factory=tracer.DryRunOptions)
    plan: PlanOptions = field(default_factory=PlanOptions)
    target: str = DEFAULT_PROFILE
    runtime_modules: Path | None = None
    compression: Compression = "stored"
    wheelhouse: Path | None = None  # wasix: where to find wasm32-wasix wheels
    index_url: str | None = None  # wasix: a PEP 503 index of them


def merge(config: Config, *, entry: Path | None, exercise: bool | None, timeout: float | None,
          python: str | None, target: str | None, runtime_modules: Path | None,
          include: tuple[str, ...], exclude: tuple[str, ...], bundle_stdlib: bool | None,
          max_size: int | None, compression: str | None, wheelhouse: Path | None = None,
          index_url: str | None = None) -> Request:
    """Command-line values win; unset ones fall back to [tool.basilisk-trace], then defaults."""
    chosen = entry or (Path(config.entry) if config.entry else None)
    if chosen is None:
        raise EntryError("no entry file given; pass ENTRY (e.g. src/main.py) or set entry in "
                         "[tool.basilisk-trace] of pyproject.toml")
    exercise_ = _pick(exercise, config.exercise, False)
    dry_run = tracer.DryRunOptions(exercise=exercise_, timeout=_pick(timeout, config.timeout, 60.0),
                                   python=python)
    options = PlanOptions(
        include=include or config.include,
        exclude=exclude or config.exclude,
        bundle_stdlib=_pick(bundle_stdlib, config.bundle_stdlib, False),
        max_size=_pick(max_size, config.max_size, None),
        exercise=exercise_,
    )
    modules_file = runtime_modules or (Path(config.runtime_modules) if config.runtime_modules else None)
    return Request(entry=chosen, dry_run=dry_run, plan=options,
                   target=_pick(target, config.target, DEFAULT_PROFILE),
                   runtime_modules=modules_file,
                   compression=_compression(_pick(compression, config.compression, "stored")),
                   wheelhouse=wheelhouse, index_url=index_url)


def _pick(command_line: T | None, configured: T | None, default: D) -> T | D:
    if command_line is not None:
        return command_line
    return configured if configured is not None else default


def _compression(value: str) -> Compression:
    if value not in ("stored", "deflated"):
        raise BasiliskTraceError(f"unknown compression {value!r}; use stored or deflated")
    return value  # type: ignore[return-value]


def make_plan(request: Request, trace: tracer.Trace | None = None) -> tuple[tracer.Trace, BundlePlan]:
    """Trace (unless a trace is given) and plan; problems are in the plan, not raised."""
    profile = load_profile(request.target, request.runtime_modules)
    dry_run = request.dry_run
    if profile.native == "wasix-wheels":
        # Native code can run there: let the host load its native build so the trace is complete.
        dry_run = replace(dry_run, block_natives=False)
    # Planning and writing load only when a bundle is made: a rebuild that changes nothing skips them.
    from basilisk_trace.bundler.plan.planner import plan_bundle
    from basilisk_trace.tracer._include import resolve_includes

    result = trace if trace is not None else tracer.trace(request.entry, dry_run)
    included = resolve_includes(result, request.plan.include) if request.plan.include else []
    return result, plan_bundle(result, profile, request.plan, included)


def make_bundle(request: Request) -> tuple[tracer.Trace, BundlePlan, bytes]:
    """The bundle's bytes, or PlanError listing every reason it cannot be made."""
    from basilisk_trace.bundler.write.contents import bundle_bytes

    result, plan = make_plan(request)
    if plan.errors:
        raise PlanError(plan)
    entry = Path(result.entry).name
    replacements = wasix_replacements(plan, request)
    return result, plan, bundle_bytes(plan, entry, request.compression, replacements)


def write_bundle(request: Request, output: Path) -> Written:
    """Make the bundle and write it to `output`, unless the last one written there still holds.

    Nothing is traced, planned or written when nothing it depended on changed (output_cache.py).
    """
    cache = OutputCache.of(request, output)
    cached = cache.hit(output) if cache is not None else None
    if cached is not None:
        return cached
    from basilisk_trace.bundler.report.plan import render_summary
    from basilisk_trace.bundler.write.archive import bundle_sha256
    from basilisk_trace.bundler.write.atomic import write_atomic

    _, plan, data = make_bundle(request)
    write_atomic(output, data)
    written = Written(render_summary(plan, bundle_sha256(data), str(output)),
                      tuple(p.message for p in plan.warnings))
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
