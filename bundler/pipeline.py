"""The flow in one place: entry -> trace -> plan -> bundle bytes -> Wasm or Python source."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from basilisk_trace import tracer
from basilisk_trace.base.errors import BasiliskTraceError, ProgramFailed
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.output_cache import OutputCache, Written
from basilisk_trace.bundler.plan.model import BundlePlan, PlanOptions
from basilisk_trace.bundler.plan.profiles import DEFAULT_PROFILE, load_profile, trace_options

if TYPE_CHECKING:
    from basilisk_trace.bundler.write.archive import Compression
    from basilisk_trace.bundler.write.ic_basilisk import CanisterBuild

# Far above any canister module the Internet Computer accepts; the rest is a mistake (or /dev/zero).
TEMPLATE_LIMIT = 256 * MIB


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
    target: str = DEFAULT_PROFILE
    runtime_modules: Path | None = None
    compression: Compression = "stored"
    wheelhouse: Path | None = None  # wasix: where to find wasm32-wasix wheels
    index_url: str | None = None  # wasix: a PEP 503 index of them


def make_plan(request: Request, trace: tracer.Trace | None = None) -> tuple[tracer.Trace, BundlePlan]:
    """Trace (unless a trace is given) and plan; problems are in the plan, not raised."""
    profile = load_profile(request.target, request.runtime_modules)
    dry_run = trace_options(profile, request.dry_run, request.include)
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


def make_canister(request: Request, name: str, entry: str, *, verbose: bool = False) -> tuple[BundlePlan, bytes,
                                                                                           CanisterBuild]:
    """What python -m basilisk NAME ENTRY writes, with the traced bundle as its python_source.

    ic-basilisk's own steps find the template, read the methods, write the
    Candid file and inject; `entry` is passed to them as it was given.
    """
    from basilisk_trace.bundler.write.basilisk_source import render_canister_source
    from basilisk_trace.bundler.write.ic_basilisk import (
        build_canister,
        check_entry_source,
        check_environment,
    )

    check_environment(name)  # before the dry run, which takes longer than these checks
    text = check_entry_source(request.entry)
    _, plan, zip_bytes = make_bundle(request, without_entry=True)
    return plan, zip_bytes, build_canister(name, entry, render_canister_source(zip_bytes, text), verbose=verbose)


def write_bundle(request: Request, output: Path) -> Written:
    """Make the bundle and write it to `output`, unless the last one written there still holds.

    Nothing is traced, planned or written when nothing it depended on changed (output_cache.py).
    """
    from basilisk_trace.bundler.write.atomic import check_output

    check_output(output)  # before the dry run: a FIFO or a device fails at once, not after a minute
    cache = OutputCache.of(request, output)
    cached = cache.hit(output) if cache is not None else None
    if cached is not None:
        return cached
    from basilisk_trace.bundler.report.plan import plan_document, render_summary
    from basilisk_trace.bundler.write.archive import bundle_sha256
    from basilisk_trace.bundler.write.atomic import write_atomic

    trace, plan, data = make_bundle(request)
    write_atomic(output, data, inputs=trace.inputs())
    sha256 = bundle_sha256(data)
    written = Written(render_summary(plan, sha256, str(output)), tuple(p.message for p in plan.warnings),
                      plan_document(plan, output=str(output), sha256=sha256, size=len(data)))
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


Format = Literal["wasm", "basilisk-source"]
FORMATS: tuple[Format, ...] = ("wasm", "basilisk-source")
Analysis = Literal["static", "trace"]


class BuildError(BasiliskTraceError):
    """The build's own inputs are wrong: an unknown format, a missing template argument."""


class TemplateError(BuildError):
    """The Wasm template cannot be read."""


@dataclass(frozen=True)
class BuildResult:
    """What one build wrote, for the command line to report."""

    output: Path
    template: Path | None  # None for basilisk-source
    slot: str
    format: Format
    analysis: Analysis  # how the bundle's modules were found
    sha256: str  # of the bundle ZIP, as `bundle` prints it
    bundle_size: int
    template_size: int | None  # None for basilisk-source
    output_size: int
    entry_module: str
    plan: BundlePlan

    def summary(self) -> str:
        """One line for the command line; the sha256 is the bundle's, as `bundle` prints it."""
        modules = sum(1 for d in self.plan.decisions if d.included)
        found = "the dry run" if self.analysis == "trace" else "the static scan only (pass --trace to run it)"
        where = (f"injected into {self.template} as passive data (slot {self.slot})" if self.format == "wasm"
                 else "embedded in one Python source for python_source")
        return (f"wrote {self.output} ({self.output_size} bytes): bundle of {len(self.plan.files)} files, "
                f"{modules} modules, {self.bundle_size} bytes, sha256 {self.sha256}, {where}; "
                f"target {self.plan.target}, modules found by {found}\n")


def build(request: Request, template: Path | None, output: Path, *, slot: str = "python_bundle",
          add_exports: bool = False, fmt: str = "wasm", run_dry_run: bool = False) -> BuildResult:
    """Bundle `request.entry` and write it to `output`, injected into `template` or as one source.

    With `run_dry_run` the program runs in a dry run (and `request.dry_run.exercise` applies);
    without it, the bundle comes from the static import scan alone. Nothing is written
    unless everything succeeded; the template is only read.
    """
    from basilisk_trace.bundler.write.archive import bundle_sha256
    from basilisk_trace.bundler.write.atomic import check_output, write_atomic
    from basilisk_trace.bundler.write.basilisk_source import render_basilisk_source
    from basilisk_trace.bundler.write.wasm import inject_passive_data

    chosen = _check_format(fmt)
    _check_slot(slot)
    check_output(output)  # before the dry run: a FIFO or a device fails at once
    template_bytes = _read_template(template, output) if chosen == "wasm" else None
    static = not run_dry_run
    trace, plan, zip_bytes = make_bundle(static_request(request) if static else request)
    entry_module = plan.entry_module
    if template_bytes is not None:
        data = inject_passive_data(template_bytes, zip_bytes, slot=slot, add_exports=add_exports,
                                   template_name=str(template))
    else:
        data = render_basilisk_source(zip_bytes, entry_module).encode("utf-8")
    write_atomic(output, data, inputs=(*trace.inputs(), *([str(template)] if template is not None else [])))
    return BuildResult(
        output=output, template=template if template_bytes is not None else None, slot=slot, format=chosen, analysis="static" if static else "trace",
        sha256=bundle_sha256(zip_bytes), bundle_size=len(zip_bytes),
        template_size=None if template_bytes is None else len(template_bytes),
        output_size=len(data), entry_module=entry_module, plan=plan,
    )


def static_request(request: Request) -> Request:
    """The same request with the dry run replaced by the static import scan alone."""
    # Exercising needs the program to run: the static scan calls nothing.
    return replace(request, dry_run=replace(request.dry_run, static_only=True, exercise=False))


def _check_format(fmt: str) -> Format:
    for known in FORMATS:
        if fmt == known:
            return known
    raise BuildError(f"unknown --format {fmt!r}; use wasm or basilisk-source")


# Slots of ic-basilisk's template that its runtime reads as text, never as a ZIP.
SOURCE_SLOTS = {
    "python_source": "the program's Python source",
    "method_meta": "the methods' JSON metadata",
}


def _check_slot(slot: str) -> None:
    # The slot becomes part of two export names that C code declares: keep it a C identifier.
    if not (slot.isidentifier() and slot.isascii()):
        raise BuildError(f"slot {slot!r} is not a C identifier; use letters, digits and _ "
                         "(e.g. python_bundle, the default)")
    if slot in SOURCE_SLOTS:
        raise BuildError(f"slot {slot} holds {SOURCE_SLOTS[slot]} in ic-basilisk's template, not a bundle ZIP; "
                         "build that canister with basilisk-trace canister NAME ENTRY, which fills it "
                         "through ic-basilisk's own build")


def _read_template(template: Path | None, output: Path) -> bytes:
    if template is None:
        raise TemplateError("no Wasm template given; pass --template TEMPLATE.wasm "
                            "(or --format basilisk-source, which needs none)")
    if output.exists() and template.exists() and os.path.samefile(output, template):
        raise TemplateError(f"output {output} is the template itself; the template is never "
                            "overwritten: pass another -o")
    if not template.exists():
        raise TemplateError(f"template {template} does not exist; pass the canister template .wasm "
                            "(e.g. the one ic-basilisk builds) with --template")
    if template.is_dir():
        raise TemplateError(f"template {template} is a directory; pass the template .wasm file inside it")
    try:
        return read_bounded(template, TEMPLATE_LIMIT, "template")
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise TemplateError(f"cannot read template {template}: {reason}; "
                            "check its permissions or pass another --template") from None

