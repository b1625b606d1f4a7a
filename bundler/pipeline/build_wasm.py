"""build: the bundle injected into a Wasm template as passive data, or embedded in one Python source."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.pipeline.bundle import Request, make_bundle
from basilisk_trace.bundler.plan.model import BundlePlan

# Far above any canister module the Internet Computer accepts; the rest is a mistake (or /dev/zero).
TEMPLATE_LIMIT = 256 * MIB


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
    check_output(output, request.inputs())  # before the dry run: a FIFO or a device fails at once
    template_bytes = _read_template(template, output) if chosen == "wasm" else None
    static = not run_dry_run
    trace, plan, zip_bytes = make_bundle(static_request(request) if static else request)
    entry_module = plan.entry_module
    if template_bytes is not None:
        data = inject_passive_data(template_bytes, zip_bytes, slot=slot, add_exports=add_exports,
                                   template_name=str(template))
    else:
        data = render_basilisk_source(zip_bytes, entry_module).encode("utf-8")
    write_atomic(output, data, inputs=(*request.inputs(trace), *([str(template)] if template is not None else [])))
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

