"""The commands that explain and check a bundle: why and verify."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from basilisk_trace.base.errors import BasiliskTraceError, ProgramFailed
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.cli._command import Given, JsonOut, write_text
from basilisk_trace.bundler.cli.trace_commands import OptionalEntry, print_problems

if TYPE_CHECKING:
    from basilisk_trace import tracer
    from basilisk_trace.bundler.check.bundle_reader import Bundle
    from basilisk_trace.bundler.check.verify import VerifyResult
    from basilisk_trace.bundler.pipeline import Request
    from basilisk_trace.bundler.plan.model import BundlePlan
    from basilisk_trace.bundler.plan.profiles import Profile

# (answer text, in the bundle?) for one module
Explainer = Callable[[str], tuple[str, bool]]
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
    args = list(names or [])
    if bundle is not None and error is None and log is None:
        if not args:
            raise BasiliskTraceError("name the module to look up: basilisk-trace why --bundle bundle.zip MODULE")
        modules, explainer, failed = args, _manifest_explainer(bundle), None
    else:
        modules, entry = _why_targets(args, error, log)
        from basilisk_trace.bundler.pipeline import make_plan

        trace, plan = make_plan(given.settings(entry).request())
        explainer = plan_explainer(trace, plan)
        failed = None if trace.ok else ProgramFailed(
            f"{trace.entry} failed during the dry run ({trace.outcome}), so the answer may be incomplete; "
            "fix the program (basilisk-trace trace shows the traceback)")
    answers = [(module, *explainer(module)) for module in modules]
    if json_out is not None:
        from basilisk_trace.bundler.report.schema import WHY

        document = {"schema": WHY, "answers": [{"module": m, "in_bundle": inside, "text": text}
                                               for m, text, inside in answers]}
        write_text(json_out, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if json_out != "-":
        for _, text, _ in answers:
            typer.echo(text, nl=False)
    if failed is not None:
        raise failed
    return 0


def _why_targets(args: list[str], error: str | None, log: Path | None) -> tuple[list[str], Path | None]:
    """(modules to explain, entry) from the positional arguments and any error text."""
    from basilisk_trace.bundler.check.canister_log import modules_in

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
    mentions = modules_in(text)
    if not mentions:
        raise BasiliskTraceError("no missing or stubbed module found in the error text; expected e.g. "
                                 "\"No module named 'x'\" or \"module 'x' has no attribute 'y'\"")
    return [m.module for m in mentions], Path(args[0]) if args else None


def plan_explainer(trace: tracer.Trace, plan: BundlePlan) -> Explainer:
    """module -> (explanation, in the bundle?), against one trace and its plan; why and verify share it."""
    from basilisk_trace.bundler.report.plan import explain
    from basilisk_trace.tracer import IncludeError, resolve_includes

    def explain_module(module: str) -> tuple[str, bool]:
        try:
            found = resolve_includes(trace, (module,))
        except IncludeError:
            found = []
        # The project's own code is not "installed": say where it is.
        local = any(r.origin and r.origin.startswith(trace.project_root + os.sep)
                    and os.sep + "site-packages" + os.sep not in r.origin for r in found)
        stdlib = module.partition(".")[0] in sys.stdlib_module_names
        decision = plan.decision(module)
        text = explain(plan, module, installed=bool(found), stdlib=stdlib, trace=trace, local=local)
        return text, decision is not None and decision.included

    return explain_module


def _manifest_explainer(path: Path) -> Explainer:
    from basilisk_trace.bundler.check.bundle_reader import read_bundle
    from basilisk_trace.bundler.report.plan import explain_from_manifest

    manifest = read_bundle(path)
    return lambda module: (explain_from_manifest(manifest, module), manifest.find(module) is not None)


def verify_command(
    given: Given,
    entry: OptionalEntry = None,
    bundle: Annotated[Path | None, typer.Option("--bundle", help="Verify this bundle instead of building one.")] = None,
    runtime: Annotated[str, typer.Option("--runtime", help="host (CPython -I -S), wasi (a real wasm32-wasip1 CPython under wasmtime) or pyodide (Wasm CPython under node).")] = "host",
    json_out: JsonOut = None,
) -> int:
    """Run the bundle in isolation, as the target will, and explain every failure."""
    from basilisk_trace.bundler.check.verify import verify_zip
    from basilisk_trace.bundler.report.plan import render_verify
    from basilisk_trace.bundler.write.archive import bundle_sha256

    if runtime not in ("host", "wasi", "pyodide"):
        raise BasiliskTraceError(f"unknown --runtime {runtime!r}; use host, wasi or pyodide")
    if runtime == "wasi":
        from basilisk_trace.bundler.check.wasi_python import wasmtime_package

        wasmtime_package()  # an optional extra: say so before a dry run, not after
    settings = given.settings(entry if bundle is None else (entry or Path("main.py")))
    request = settings.request()
    if bundle is not None:
        data, entry_module, profile, explainer = _from_bundle(bundle, request, given.values.get("target"), entry)
    else:
        data, entry_module, profile, explainer = _fresh_bundle(request)
    exercise, timeout = request.dry_run.exercise, request.dry_run.timeout
    if runtime == "pyodide":
        from basilisk_trace.bundler.check.pyodide import verify_in_pyodide

        result = verify_in_pyodide(data, entry_module, exercise=exercise, timeout=timeout)
    elif runtime == "wasi":
        from basilisk_trace.bundler.check.wasi import verify_in_wasi
        from basilisk_trace.tracer import default_cache_dir

        result = verify_in_wasi(data, entry_module, profile, exercise=exercise,
                                cache_dir=default_cache_dir() / "wasi", timeout=timeout)
    else:
        result = verify_zip(data, entry_module, profile, exercise=exercise, python=settings.python,
                            timeout=timeout, protected=_protected(request, bundle))
    if result.containment:
        typer.echo(f"verify: containment: {result.containment}", err=True)
    sha256 = bundle_sha256(data)
    if json_out is not None:
        write_text(json_out, _verify_json(result, runtime, profile.name, sha256))
    if not result.ok:
        absent = _absent(request, data) if bundle is not None else ()
        typer.echo(render_verify(result, lambda m: explainer(m)[0], absent), nl=False, err=True)
        return 1
    for failure in result.method_errors:
        typer.echo(f"basilisk-trace: note: {failure.where} raised {failure.error} (not an import "
                   "problem; check that it raises on the host too)", err=True)
    view = "Pyodide's own stdlib" if runtime == "pyodide" else f"target {profile.name}"
    if json_out != "-":
        typer.echo(f"verify: ok: {entry_module} imported from the bundle alone on {_runtime_name(runtime)} "
                   f"({view}), {result.methods} methods called, sha256 {sha256}")
    return 0


def _protected(request: Request, bundle: Path | None) -> tuple[Path, ...]:
    """The project a verified entry belongs to: its run may not change it."""
    from basilisk_trace.tracer import protected_dirs

    if bundle is not None:
        return ()
    entry = request.entry.resolve()
    return tuple(protected_dirs(entry, (request.dry_run.project_root or entry.parent).resolve()))


def _runtime_name(runtime: str) -> str:
    if runtime != "wasi":
        return runtime
    from basilisk_trace.bundler.check.wasi_python import PINNED

    return f"WASI CPython {PINNED.python}"


def _absent(request: Request, data: bytes) -> tuple[Any, ...]:
    """What a fresh trace of the entry (when there is one) needs and the given bundle lacks."""
    from basilisk_trace.bundler.check.verify import absent_from_bundle
    from basilisk_trace.bundler.pipeline import make_plan

    if request.entry is None or not Path(request.entry).is_file():
        return ()
    _, plan = make_plan(request)
    return absent_from_bundle(plan, data)


def _verify_json(result: VerifyResult, runtime: str, target: str, sha256: str) -> str:
    from basilisk_trace.bundler.report.schema import VERIFY

    failures: list[dict[str, Any]] = [
        {"where": f.where, "error": f.error, "module": f.module, "stub": f.stub, "importer": f.importer,
         "caused_by_bundle": f.caused_by_bundle} for f in result.failures]
    document = {"schema": VERIFY, "ok": result.ok, "entry_module": result.entry_module, "runtime": runtime,
                "target": target, "sha256": sha256, "methods": result.methods, "failures": failures,
                "stubbed": list(result.stubbed)}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _from_bundle(path: Path, request: Request, target: str | None,
                 entry: Path | None) -> tuple[bytes, str, Profile, Explainer]:
    from basilisk_trace.bundler.check.bundle_reader import read_bundle
    from basilisk_trace.bundler.plan.profiles import load_profile
    from basilisk_trace.bundler.report.plan import explain_from_manifest

    manifest = read_bundle(path, verify=True, unlisted=True)
    entry_module = manifest.extra.get("entry_module")
    if manifest.extra.get("manifest") is False:
        entry_module = _unlisted_entry(path, manifest, entry)
    if not isinstance(entry_module, str):
        raise BasiliskTraceError(f"{path} has no entry_module in its manifest; rebuild it with basilisk-trace bundle")
    made_for = manifest.extra.get("target", request.target)
    if target is not None and target != made_for:
        raise BasiliskTraceError(f"{path} was bundled for the {made_for} target, not {target}; verify it "
                                 f"without --target, or bundle again with --target {target}")
    profile = load_profile(made_for, request.runtime_modules)
    return (manifest.data, entry_module, profile,
            lambda m: (explain_from_manifest(manifest, m), manifest.find(m) is not None))


def _unlisted_entry(path: Path, manifest: Bundle, entry: Path | None) -> str:
    """The entry module of a ZIP without basilisk-bundle.json: the entry given, else its main.py."""
    module = entry.stem if entry is not None else "main"
    if manifest.find(module) is None:
        raise BasiliskTraceError(
            f"{path} has no basilisk-bundle.json (not built by basilisk-trace bundle) and no {module}.py at its "
            "root, so its entry module is unknown; pass the entry file (verify ENTRY --bundle ZIP), "
            "or rebuild it with basilisk-trace bundle")
    typer.echo(f"verify: note: {path} has no basilisk-bundle.json: running {module} from its files alone; "
               "why a module is missing it cannot tell", err=True)
    return module


def _fresh_bundle(request: Request) -> tuple[bytes, str, Profile, Explainer]:
    from basilisk_trace.bundler.pipeline import PlanError, make_bundle
    from basilisk_trace.bundler.plan.profiles import load_profile

    try:
        trace, plan, data = make_bundle(request)
    except PlanError as exc:
        print_problems(exc.plan)
        raise
    return data, trace.entry_module, load_profile(request.target, request.runtime_modules), plan_explainer(trace, plan)
