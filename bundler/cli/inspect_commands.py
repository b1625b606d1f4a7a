"""The commands that explain and check a bundle: why and verify (their flows are bundler/pipeline/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.cli._command import Given, JsonOut, write_text
from basilisk_trace.bundler.cli.trace_commands import OptionalEntry, print_problems

# Enough for any canister log worth reading; more is a wrong file (or /dev/zero).
LOG_LIMIT = 64 * MIB


def why_command(
    given: Given,
    names: Annotated[list[str] | None, typer.Argument(help="MODULE [ENTRY]; or ENTRY with --error/--log; or MODULE... with --bundle.", show_default=False)] = None,
    error: Annotated[str | None, typer.Option("--error", help="An error text from the canister, e.g. \"ModuleNotFoundError: No module named 'x'\".")] = None,
    log: Annotated[Path | None, typer.Option("--log", help="A log file to search for missing or stubbed modules.")] = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="Answer from this bundle's manifest, without tracing.")] = None,
    json_out: JsonOut = None,
) -> int:
    """Explain why a module is in or out of the bundle, with its import chain and the fix."""
    from basilisk_trace.bundler.pipeline.why import why, why_in_bundle

    args = list(names or [])
    if bundle is not None and error is None and log is None:
        if not args:
            raise BasiliskTraceError("name the module to look up: basilisk-trace why --bundle bundle.zip MODULE")
        found = why_in_bundle(bundle, args)
    else:
        modules, entry = _why_targets(args, error, log)
        found = why(given.settings(entry).request(), modules)
    if json_out is not None:
        from basilisk_trace.bundler.report.schema import WHY

        document = {"schema": WHY, "answers": [{"module": a.module, "in_bundle": a.in_bundle, "text": a.text}
                                               for a in found.answers]}
        write_text(json_out, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if json_out != "-":
        for answer in found.answers:
            typer.echo(answer.text, nl=False)
    if found.failed is not None:
        raise found.failed
    return 0


def _why_targets(args: list[str], error: str | None, log: Path | None) -> tuple[list[str], Path | None]:
    """(modules to explain, entry) from the positional arguments and any error text."""
    from basilisk_trace.bundler.pipeline.why import modules_named

    if error is None and log is None:
        if not args:
            raise BasiliskTraceError("name the module to explain: basilisk-trace why MODULE [ENTRY]")
        return [args[0]], Path(args[1]) if len(args) > 1 else None
    text = error or ""
    if log is not None:
        try:
            text += "\n" + read_bounded(log, LOG_LIMIT, "log").decode("utf-8", "replace")
        except OSError as exc:
            raise BasiliskTraceError(f"cannot read log {log}: {exc.strerror}") from None
    return modules_named(text), Path(args[0]) if args else None


def verify_command(
    given: Given,
    entry: OptionalEntry = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="Verify this bundle instead of building one.")] = None,
    wasm: Annotated[Path | None, typer.Option("--wasm", help="Verify a built canister Wasm (basilisk-trace canister's or python -m basilisk's): its python_source run as the template's init runs it.")] = None,
    component: Annotated[Path | None, typer.Option("--component", help="Run this WebAssembly component (componentize-py's) in wasmtime and call every export.")] = None,
    runtime: Annotated[str | None, typer.Option("--runtime", help="host (CPython -I -S), wasi (a real wasm32-wasip1 CPython under wasmtime, metered) or pyodide (Wasm CPython under node); default: the target's first.")] = None,
    json_out: JsonOut = None,
) -> int:
    """Run the bundle in isolation, as the target will, and explain every failure."""
    from basilisk_trace.bundler.pipeline import PlanError
    from basilisk_trace.bundler.pipeline.verify import verify
    from basilisk_trace.bundler.report.verify import cost_lines, render_verify, verify_document

    if component is not None:
        return _verify_component(given, component, json_out)
    settings = given.settings(entry if bundle is None and wasm is None else (entry or Path("main.py")))
    try:
        if wasm is not None:
            from basilisk_trace.bundler.pipeline.verify_wasm import verify_wasm

            found = verify_wasm(wasm, runtime=runtime, exercise=settings.exercise, timeout=settings.timeout,
                                python=settings.python)
        else:
            found = verify(settings.request(), bundle=bundle, runtime=runtime, target=given.values.get("target"))
    except PlanError as exc:
        print_problems(exc.plan)
        raise
    result = found.result
    if found.note:
        typer.echo(f"verify: note: {found.note}", err=True)
    if result.containment:
        typer.echo(f"verify: containment: {result.containment}", err=True)
    if json_out is not None:
        write_text(json_out, verify_document(result, found.runtime.name, found.profile.name, found.sha256))
    if result.cost is not None:
        for warning in result.cost.warnings():
            typer.echo(f"basilisk-trace: warning: {warning}", err=True)
        if json_out != "-":
            typer.echo("".join(cost_lines(result.cost)), nl=False)
    if not result.ok:
        typer.echo(render_verify(result, found.explain, found.absent), nl=False, err=True)
        return 1
    for failure in result.method_errors:
        typer.echo(f"basilisk-trace: note: {failure.where} raised {failure.error} (not an import "
                   "problem; check that it raises on the host too)", err=True)
    if json_out != "-":
        what = f"{wasm}'s python_source ran as its init" if wasm is not None else \
            f"{result.entry_module} imported from the bundle alone"
        typer.echo(f"verify: ok: {what} on {found.runtime.describe()} ({found.runtime.view(found.profile)}), "
                   f"{result.methods} methods called, sha256 {found.sha256}")
    return 0


def _verify_component(given: Given, path: Path, json_out: str | None) -> int:
    """verify --component: the component in wasmtime, every export called, each failure explained."""
    from basilisk_trace.bundler.pipeline.verify import verify_component
    from basilisk_trace.bundler.report.verify import verify_document

    settings = given.settings(None)
    found = verify_component(path, exercise=settings.exercise, timeout=settings.timeout)
    result = found.result
    typer.echo(f"verify: containment: {result.containment}", err=True)
    if json_out is not None:
        write_text(json_out, verify_document(result, found.runtime.name, "componentize-py", found.sha256))
    if not result.ok:
        typer.echo(found.report, nl=False, err=True)
        return 1
    for failure in result.method_errors:
        typer.echo(f"basilisk-trace: note: {failure.where} failed: {failure.error} (not a missing module or "
                   "file; check that it fails on the host too)", err=True)
    if json_out != "-":
        calls = f"{result.methods} call{'s' if result.methods != 1 else ''}"
        typer.echo(f"verify: ok: {path} (built by {found.built_by}) answered {calls} of its exports "
                   f"in {found.runtime.describe()}, sha256 {found.sha256}")
    return 0
