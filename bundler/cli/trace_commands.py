"""The commands that trace and bundle: trace and bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from basilisk_trace.base.errors import BasiliskTraceError, ProgramFailed
from basilisk_trace.bundler.cli._command import Given, JsonOut, warn, write_text

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request
    from basilisk_trace.bundler.plan.model import BundlePlan

OptionalEntry = Annotated[Path | None, typer.Argument(help="The canister's entry file (default: entry in pyproject.toml).", show_default=False)]


def trace_command(
    given: Given,
    entry: OptionalEntry = None,
    json_out: JsonOut = None,
    stdlib: Annotated[bool, typer.Option("--stdlib", help="List standard-library modules too.")] = False,
) -> int:
    """Trace ENTRY in a dry run and report every module it loads, and why."""
    from basilisk_trace.bundler.report import trace as trace_report

    request = given.settings(entry).request()
    if json_out not in (None, "-"):
        from basilisk_trace.bundler.write.atomic import check_output

        check_output(Path(json_out), request.inputs())  # before the dry run: a FIFO or a device fails at once
    from basilisk_trace.bundler.pipeline.bundle import make_trace

    result = make_trace(request)
    if json_out is not None:
        write_text(json_out, trace_report.to_json(result), request.inputs(result))
    if json_out != "-":
        typer.echo(trace_report.render_text(result, show_stdlib=stdlib), nl=False)
    if not result.ok:
        from basilisk_trace.base.limits import LIMITS

        site = f" in {result.failure_site}" if result.failure_site else ""
        limit = f"; it hit {LIMITS.describe(result.limit)}, which contains the dry run" if result.limit else ""
        raise ProgramFailed(f"{request.entry} failed during the dry run ({result.outcome}){site}{limit}; "
                            "see the traceback above")
    return 0


def bundle_command(
    given: Given,
    entries: Annotated[list[Path] | None, typer.Argument(help="Entry files (default: pyproject.toml's entry, or every Python canister in dfx.json/icp.yaml).", show_default=False)] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="The bundle ZIP; a directory when there are several canisters.")] = None,
    json_out: JsonOut = None,
) -> int:
    """Trace each entry, plan its bundle for the target and write a deterministic ZIP."""
    from basilisk_trace.bundler.cli.canisters import find_canisters

    jobs = [(_canister_name(e), e) for e in entries or ()]
    if not jobs and given.settings(None).entry is None:
        jobs = [(c.name, c.entry) for c in find_canisters(Path.cwd())]
    if len(jobs) <= 1:
        entry = jobs[0][1] if jobs else None
        settings = given.settings(entry)
        request = settings.request()
        destination = output or Path("bundle.zip")
        if destination.is_dir():  # -o DIR names the directory, as with several canisters
            destination = destination / f"{jobs[0][0] if jobs else _canister_name(request.entry)}.zip"
        document = _bundle_one(request, destination, settings.progress, quiet=json_out == "-")
        if json_out is not None:
            write_text(json_out, _json({"canisters": [document]}), request.inputs())
        return 0
    return _bundle_many(jobs, output or Path("bundles"), given, json_out)


def _canister_name(entry: Path) -> str:
    return entry.resolve().parent.name if entry.stem == "main" else entry.stem


def print_problems(plan: BundlePlan, canister: str | None = None) -> None:
    # With several canisters at once, each line says which one it is about.
    where = f"{canister}: " if canister else ""
    for problem in plan.warnings:
        warn(f"{where}{problem.message}")


def _bundle_one(request: Request, output: Path, show: bool | None, *, quiet: bool = False,
                canister: str | None = None) -> dict[str, Any]:
    """Trace, plan and write one bundle (or reuse it when nothing changed); its summary on stdout
    unless stdout carries JSON. Returns its --json document."""
    from basilisk_trace.bundler.cli.progress import progress
    from basilisk_trace.bundler.pipeline import PlanError, write_bundle

    try:
        with progress(f"tracing and bundling {request.entry}", enabled=show):
            written = write_bundle(request, output)
    except PlanError as exc:
        print_problems(exc.plan, canister)
        raise
    where = f"{canister}: " if canister else ""  # with several canisters, say which one
    for warning in written.warnings:
        warn(f"{where}{warning}")
    if not quiet:
        typer.echo(written.summary, nl=False)
    return written.document


def _bundle_many(jobs: list[tuple[str, Path]], directory: Path, given: Given, json_out: str | None) -> int:
    """Several canisters at once, in parallel on the machine's cores; each output is atomic."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from basilisk_trace.bundler.write.atomic import OutputError

    if not directory.is_dir():
        raise OutputError(f"{directory} is not a directory; with several canisters, -o names the "
                          "directory that receives <canister>.zip")
    from basilisk_trace.bundler.cli.canisters import check_canister_name

    names = [check_canister_name(name, str(entry)) for name, entry in jobs]
    if len(set(names)) != len(names):
        raise BasiliskTraceError(f"two canisters would both write {directory}/<name>.zip: "
                                 f"{', '.join(sorted(n for n in names if names.count(n) > 1))}; rename an entry")

    def one(job: tuple[str, Path]) -> tuple[dict[str, Any] | None, str | None, int]:
        name, entry = job
        try:
            settings = given.settings(entry)
            document = _bundle_one(settings.request(), directory / f"{name}.zip", settings.progress,
                                   quiet=json_out == "-", canister=name)
            return document, None, 0
        except BasiliskTraceError as exc:
            return None, f"{name} ({entry}): {exc}", exc.exit_code

    from basilisk_trace.base.launch import cancel

    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        results = list(pool.map(one, jobs))
    except BaseException:
        cancel()  # jobs not started never start; running children are killed
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    for _, failure, _ in results:
        if failure:
            typer.echo(f"basilisk-trace: error: {failure}", err=True)
    if json_out is not None:
        write_text(json_out, _json({"canisters": [doc for doc, _, _ in results if doc is not None]}))
    return max(code for _, _, code in results)


def _json(document: dict[str, Any]) -> str:
    import json

    from basilisk_trace.bundler.report.schema import BUNDLE as BUNDLE_SCHEMA

    return json.dumps({"schema": BUNDLE_SCHEMA, **document}, indent=2, sort_keys=True) + "\n"


__all__ = ["bundle_command", "print_problems", "trace_command"]
