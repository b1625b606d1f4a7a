"""verify --wasm: any built canister (basilisk-trace canister's or python -m basilisk's) run from its Wasm.

Its python_source (read out of the Wasm) runs as the template's init runs it, under ic-basilisk's
runtime layer, on host or in WASI; with --exercise every exported method is called with arguments
made from its type hints. A failed import is explained from the canister: ours carries its bundle
(with its manifest) in a custom section; python -m basilisk's python_source lists the modules it registers.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.check.runtime import Program, RunOptions
from basilisk_trace.bundler.hosts import load_host
from basilisk_trace.bundler.pipeline.verify import Verification
from basilisk_trace.bundler.pipeline.why import Explainer, manifest_explainer
from basilisk_trace.bundler.report.plan import Explanation

if TYPE_CHECKING:
    from basilisk_trace.bundler.format.wasm import Module

WASM_LIMIT = 256 * MIB
# The order the template runs them in: install first, the calls, then what an upgrade runs.
_ORDER = {"init": 0, "post_upgrade": 1, "query": 2, "update": 2, "inspect_message": 3, "heartbeat": 4,
          "pre_upgrade": 5}


def verify_wasm(path: Path, *, runtime: str | None = None, exercise: bool = False, timeout: float = 60.0,
                python: str | None = None) -> Verification:
    """Run the canister's python_source (and with `exercise` its methods) in `runtime` and explain failures."""
    from basilisk_trace.bundler.format.wasm import Module, WasmError
    from basilisk_trace.bundler.format.wasm.slots import read_slot

    try:
        data = read_bounded(path, WASM_LIMIT, "canister Wasm")
    except OSError as exc:
        raise BasiliskTraceError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        module = Module.parse(data, str(path))
        source, meta = read_slot(module, "python_source"), read_slot(module, "method_meta")
        bundle, bootstrap = _sections(module)
    except WasmError as exc:
        raise BasiliskTraceError(f"{path} is not a canister Wasm verify can read: {exc}") from None
    if source is None:
        raise BasiliskTraceError(f"{path} has no python_source: verify --wasm reads canisters built by basilisk-trace "
                                 "canister or python -m basilisk (ic-basilisk's template); verify a bundle with --bundle")
    text = _text(path, source)
    host = load_host("basilisk")
    chosen = host.runtime(runtime)
    profile = host.profile()
    program = Program("python_source", profile, bundle=bundle, artifact=path, python_source=text,
                      methods=methods_of(path, meta), bootstrap=bootstrap)
    result = chosen.run(program, RunOptions(exercise=exercise, timeout=timeout, python=python))
    return Verification(result, chosen, profile, hashlib.sha256(data).hexdigest(), canister_explainer(text, bundle))


def _sections(module: Module) -> tuple[bytes, str | None]:
    """The bundle and the loader's source that basilisk-trace canister puts in the Wasm's custom sections."""
    import zlib

    from basilisk_trace.bundler.format.wasm.custom import read_custom_section
    from basilisk_trace.bundler.write.canister_source import BOOTSTRAP_SECTION, BUNDLE_SECTION

    packed = read_custom_section(module, BOOTSTRAP_SECTION)
    try:
        bootstrap = zlib.decompressobj().decompress(packed, 4 * MIB).decode("utf-8") if packed else None
    except (zlib.error, UnicodeDecodeError):
        bootstrap = None  # a damaged section: the sources are compiled with verify's own loader
    return read_custom_section(module, BUNDLE_SECTION) or b"", bootstrap


def _text(path: Path, source: bytes) -> str:
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError:
        raise BasiliskTraceError(f"{path}: its python_source is not UTF-8 text; rebuild the canister") from None


def methods_of(path: Path, meta: bytes | None) -> tuple[tuple[str, str], ...]:
    """(name, kind) of every method the template exports, lifecycle hooks included, in the order they run."""
    if meta is None:
        return ()
    try:
        document = json.loads(meta)
        found = [(m["name"], m["method_type"]) for m in document.get("methods", ())]
        found += [(m["name"], kind) for kind, m in document.get("lifecycle", {}).items()]
    except (ValueError, TypeError, KeyError, AttributeError):
        raise BasiliskTraceError(f"{path}: its method metadata is not ic-basilisk's JSON; rebuild the canister") from None
    named = [(str(name), str(kind)) for name, kind in found if kind != "_guard"]
    return tuple(sorted(dict.fromkeys(named), key=lambda m: _ORDER.get(m[1], 9)))


def canister_explainer(source: str, bundle: bytes = b"") -> Explainer:
    """module -> its explanation: from our bundle's manifest (`bundle`, from the Wasm's custom section),
    else from python -m basilisk's module list."""
    from basilisk_trace.bundler.format.bundle_reader import read_bundle

    if bundle:
        try:
            return manifest_explainer(read_bundle(bundle).manifest)
        except BasiliskTraceError:
            pass  # a damaged manifest: explain as for any canister
    registered = set(re.findall(r"^_bsys\.modules\['([\w.]+)'\] = _LazyMod\(", source, re.MULTILINE))

    def explain(module: str) -> Explanation:
        if module in registered:
            return Explanation(module, "in-bundle", f"{module}: in the canister's python_source, but it failed "
                               "while importing\n")
        return Explanation(module, "never-seen", (
            f"{module}: not in the canister's python_source; its build did not find the import (python -m "
            "basilisk's modulefinder reads only imports written out in the source, not names computed at run time)\n"
            "  fix: build with basilisk-trace canister NAME ENTRY (its dry run records the imports that run; "
            f"--exercise for imports inside methods), or name it with --include {module}\n"))

    return explain
