"""The canister's flow: python -m basilisk NAME ENTRY's outputs, with the traced bundle as the python_source.

What does not need the bundle runs while the dry run makes it (ic-basilisk's method extraction,
the init check's interpreter, ic-basilisk's build modules), and a plain `canister NAME ENTRY`
starts its dry run before the command line library loads (`start_early`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING

from basilisk_trace import tracer
from basilisk_trace.base.processes import until_a_child_started
from basilisk_trace.bundler.hosts import load_host
from basilisk_trace.bundler.pipeline.bundle import Request, make_bundle
from basilisk_trace.bundler.plan.model import BundlePlan

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from basilisk_trace.bundler.check.canister import InitCheck
    from basilisk_trace.bundler.write.ic_basilisk import CanisterBuild
    from basilisk_trace.bundler.write.ic_basilisk_methods import Ahead

__all__ = ["CANISTER_ROOT", "canister_sections", "init_arcnames", "make_canister", "start_early"]

CANISTER_ROOT = "/lib/site-packages"  # where the bundled modules say they are (their __file__)


def make_canister(request: Request, name: str, entry: str, *, verbose: bool = False) -> tuple[BundlePlan, bytes,
                                                                                           CanisterBuild]:
    """What python -m basilisk NAME ENTRY writes, with the traced bundle as its python_source.

    ic-basilisk's own steps find the template, read the methods, write the
    Candid file and inject; `entry` is passed to them as it was given.
    """
    from concurrent.futures import ThreadPoolExecutor

    from basilisk_trace.bundler.write.ic_basilisk import (
        build_canister,
        check_entry_source,
        check_environment,
    )

    check_environment(name, request.inputs())  # before the dry run, which takes longer than these checks
    text = check_entry_source(request.entry)
    with ThreadPoolExecutor(max_workers=1) as pool, contextlib.ExitStack() as stack:
        trace, plan, zip_bytes, methods, check = _bundle_meanwhile(pool, stack, request, entry, text)
        source = _canister_source(pool, check, trace, plan, zip_bytes, text, load_host(request.target).profile().python)
    return plan, zip_bytes, build_canister(name, entry, source, verbose=verbose, inputs=request.inputs(trace),
                                           sections=canister_sections(zip_bytes), extracted=methods.result())


def _bundle_meanwhile(pool: Executor, stack: contextlib.ExitStack, request: Request, entry: str,
                      text: str) -> tuple[tracer.Trace, BundlePlan, bytes, Ahead, InitCheck]:
    """The bundle, made by `pool`; meanwhile what does not need it: ic-basilisk's method extraction
    (the longest step of its build on a large canister), from the start; here, once the dry run's
    child has started, the init check's interpreter and runtime layer and ic-basilisk's build modules."""
    from basilisk_trace.base import launch
    from basilisk_trace.bundler.check.canister import InitCheck
    from basilisk_trace.bundler.write.canister_source import skeleton
    from basilisk_trace.bundler.write.ic_basilisk_methods import load_build, start_methods_ahead

    methods = start_methods_ahead(entry, skeleton=skeleton(text, CANISTER_ROOT))
    # Deflated: the bundle rides in a custom section, which the canister never reads.
    deflated = replace(request, compression="deflated")
    bundled, before = _STARTED.pop((os.getcwd(), deflated), None) or (None, launch.children_started())
    if bundled is None:
        bundled = pool.submit(make_bundle, deflated, without_entry=True)
    try:
        until_a_child_started(bundled.done, before)  # the dry run's
        check = stack.enter_context(InitCheck())
        load_build()
    except BaseException:
        launch.cancel()  # Ctrl-C here: the dry run stops too
        raise
    return (*bundled.result(), methods, check)


def start_early(request: Request, name: str) -> None:
    """Start the bundle of a canister built from `request`, and return once its dry run's child has
    started (or it stopped before): make_canister, given an equal request in this working folder,
    then finds it made or on its way. Its checks come first, as there: nothing runs for a command
    that would be refused. The caller's own work (loading the command line library) then runs
    beside the child instead of before it."""
    from basilisk_trace.base import launch
    from basilisk_trace.base.errors import BasiliskTraceError
    from basilisk_trace.bundler.write.ic_basilisk import check_entry_source, check_environment

    try:
        check_environment(name, request.inputs())
        check_entry_source(request.entry)
    except BasiliskTraceError:
        return  # said by the command, once it runs
    deflated = replace(request, compression="deflated")
    before, done = launch.children_started(), Future[tuple[tracer.Trace, BundlePlan, bytes]]()

    def bundle() -> None:
        try:
            done.set_result(make_bundle(deflated, without_entry=True))
        except BaseException as exc:  # noqa: BLE001 - raised where make_canister asks for it
            done.set_exception(exc)

    threading.Thread(target=bundle, daemon=True).start()
    _STARTED[(os.getcwd(), deflated)] = (done, before)
    until_a_child_started(done.done, before)


_STARTED: dict[tuple[str, Request], tuple[Future[tuple[tracer.Trace, BundlePlan, bytes]], int]] = {}


def _canister_source(pool: Executor, check: InitCheck, trace: tracer.Trace, plan: BundlePlan, zip_bytes: bytes,
                     text: str, python: str | None) -> str:
    """The python_source: code objects for the runtime's CPython (when this interpreter is that version)
    of what init runs, which the init check tells while `pool` compiles the likely ones ahead."""
    from basilisk_trace.bundler.write.canister_source import render_canister_source
    from basilisk_trace.bundler.write.code_objects import bundle_files, compile_ahead

    checked = render_canister_source(zip_bytes, text, dense=False)
    stop = threading.Event()
    likely = {f.arcname for f in plan.files if f.module in _imported_by_the_entry(trace)}
    compiling = pool.submit(compile_ahead, bundle_files(zip_bytes), CANISTER_ROOT, python or "", likely, stop)
    try:
        ran = check.modules(checked)
    finally:
        stop.set()
    return render_canister_source(zip_bytes, text, target=CANISTER_ROOT, python=python,
                                  init=init_arcnames(trace, plan, ran), ahead=compiling.result())


def _imported_by_the_entry(trace: tracer.Trace) -> set[str]:
    """The modules the dry run saw imported while the entry was, and their packages."""
    modules = {record.name for record in trace.modules if record.found_by == "trace"}
    return modules | {name.rsplit(".", depth)[0] for name in modules for depth in range(1, name.count(".") + 1)}


def init_arcnames(trace: tracer.Trace, plan: BundlePlan, ran: list[str] | None) -> set[str]:
    """The bundled files of the modules the canister's init runs.

    Its loader is lazy, as python -m basilisk's: `import app` registers `app`, whose code runs at
    the first use of one of its names. So a module the dry run imported may never run at init. What
    does is measured (`ran`, check/canister.py's InitCheck: the python_source with every module as
    source, run as the template's init runs it, on this interpreter, contained). Where that could
    not run (None), the modules the dry run saw imported while the entry was (and their packages).
    """
    modules = set(ran) if ran is not None else _imported_by_the_entry(trace)
    return {f.arcname for f in plan.files if f.module in modules and f.arcname.endswith(".py")}


def canister_sections(zip_bytes: bytes) -> dict[str, bytes]:
    """What `canister` adds to the Wasm beside the python_source: the bundle, and the loader's source."""
    import zlib

    from basilisk_trace.bundler.format.bootstrap import BOOTSTRAP_SOURCE
    from basilisk_trace.bundler.write.canister_source import BOOTSTRAP_SECTION, BUNDLE_SECTION

    return {BUNDLE_SECTION: zip_bytes, BOOTSTRAP_SECTION: zlib.compress(BOOTSTRAP_SOURCE.encode("utf-8"), 9)}
