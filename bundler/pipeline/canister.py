"""The canister's flow: python -m basilisk NAME ENTRY's outputs, with the traced bundle as the python_source.

What does not need the bundle runs while the dry run makes it (ic-basilisk's method extraction,
the init check's interpreter, ic-basilisk's build modules).
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from basilisk_trace import tracer
from basilisk_trace.bundler.hosts import load_host
from basilisk_trace.bundler.pipeline.bundle import Request, make_bundle
from basilisk_trace.bundler.plan.model import BundlePlan

if TYPE_CHECKING:
    from concurrent.futures import Executor

    from basilisk_trace.bundler.check.canister import InitCheck
    from basilisk_trace.bundler.write.ic_basilisk import CanisterBuild

__all__ = ["CANISTER_ROOT", "canister_sections", "init_arcnames", "make_canister"]

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
        trace, plan, zip_bytes, methods, check = _bundle_meanwhile(pool, stack, request, entry)
        source = _canister_source(pool, check, trace, plan, zip_bytes, text, load_host(request.target).profile().python)
    return plan, zip_bytes, build_canister(name, entry, source, verbose=verbose, inputs=request.inputs(trace),
                                           sections=canister_sections(zip_bytes), extracted=methods.result())


def _bundle_meanwhile(pool: Executor, stack: contextlib.ExitStack, request: Request,
                      entry: str) -> tuple[tracer.Trace, BundlePlan, bytes, Future[dict[str, Any]], InitCheck]:
    """The bundle, made by `pool`; meanwhile what does not need it: ic-basilisk's method extraction
    (the longest step of its build on a large canister), from the start; here, once the dry run's
    child has started, the init check's interpreter and runtime layer and ic-basilisk's build modules."""
    from basilisk_trace.base import launch
    from basilisk_trace.bundler.check.canister import InitCheck
    from basilisk_trace.bundler.write.ic_basilisk_methods import load_build, start_methods_ahead

    methods = start_methods_ahead(entry)
    # Deflated: the bundle rides in a custom section, which the canister never reads.
    before = launch.children_started()
    bundled = pool.submit(make_bundle, replace(request, compression="deflated"), without_entry=True)
    try:
        while not bundled.done() and not launch.wait_for_a_child(before, 0.01):
            pass
        check = stack.enter_context(InitCheck())
        load_build()
    except BaseException:
        launch.cancel()  # Ctrl-C here: the dry run stops too
        raise
    return (*bundled.result(), methods, check)


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
