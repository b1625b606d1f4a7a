"""The example canister end to end: one script of method calls, run on host CPython or inside a runtime."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from basilisk_trace import tracer
from basilisk_trace.bundler.pipeline import Request, make_bundle

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "canister" / "main.py"
STUBS = ROOT / "tracer" / "runtime" / "stubs"
IC_API = ROOT / "tracer" / "runtime" / "ic_api.py"

# Defines setup_ic(path) and canister_calls(get, bundle_root) -> JSON text. Runs in any CPython 3.13,
# host or Wasm; `get(name)` returns a canister method, from the module or from a namespace.
CALLS = '''
import builtins, importlib.util, json, sys

def setup_ic(path):
    """The runtime's native API stand-in, as the isolated child supplies it."""
    spec = importlib.util.spec_from_file_location("_basilisk_trace_ic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["_basilisk_ic"] = builtins._basilisk_ic = module.make_module()

def canister_calls(get, bundle_root):
    results = {
        "add_first": get("add_note")("first", 3),
        "add_second": get("add_note")("second", 5),
        "count": get("count_notes")(),
        "upper": get("transform")("upper", "hello"),
        "reverse": get("transform")("reverse", "hello"),
        "missing_plugin": get("transform")("nope", "x"),
        "printed": list(builtins._basilisk_ic.printed),
        "from_bundle": sorted(name for name, module in list(sys.modules.items())
                              if str(getattr(module, "__file__", None) or "").startswith(bundle_root + "/")),
    }
    return json.dumps(results, sort_keys=True)
'''

# A canister's view of imports: no sys.path, no path importers. The
# builtin and frozen importers stay; RuntimeStdlib stands for the rest of the runtime's frozen
# stdlib and its basilisk package, and refuses everything else, which must come from the bundle.
RUNTIME_ONLY = f"""
import importlib.machinery as machinery
STDLIB = [p for p in sys.path if p]  # under -I -S: only the stdlib's own directories
LOADERS = ((machinery.SourceFileLoader, machinery.SOURCE_SUFFIXES),
           (machinery.ExtensionFileLoader, machinery.EXTENSION_SUFFIXES))

class RuntimeStdlib:
    @staticmethod
    def find_spec(name, path=None, target=None):
        top = name.partition(".")[0]
        if top == "basilisk":
            roots = [{str(STUBS)!r}]
        elif top in sys.stdlib_module_names:
            roots = STDLIB
        else:
            return None
        for entry in path if path is not None else roots:
            spec = machinery.FileFinder(entry, *LOADERS).find_spec(name, target)
            if spec is not None:
                return spec
        return None

setup_ic({str(IC_API)!r})
kept = ("BuiltinImporter", "FrozenImporter")
sys.meta_path[:] = [f for f in sys.meta_path if getattr(f, "__name__", "") in kept] + [RuntimeStdlib]
sys.path[:] = []
sys.path_hooks[:] = []
sys.path_importer_cache.clear()
"""

# What the example canister answers; also checked against the host so a wrong constant cannot hide.
EXPECTED_CALLS = {
    "add_first": "1",
    "add_second": "2",
    "count": 2,
    "upper": "HELLO",
    "reverse": "olleh",
    "missing_plugin": None,
}


@cache
def example_bundle(exercise: bool = True) -> bytes:
    """The real traced bundle of examples/canister/main.py, as `bundle --exercise` writes it."""
    return make_bundle(example_request(exercise))[2]


def example_request(exercise: bool = True) -> Request:
    return Request(entry=EXAMPLE, dry_run=tracer.DryRunOptions(exercise=exercise))


def extract(zip_bytes: bytes, target: Path) -> None:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        archive.extractall(target)


def host_calls(zip_bytes: bytes, tmp: Path) -> dict[str, Any]:
    """The method calls on host CPython (-I -S) from the plainly extracted bundle, with no bootstrap."""
    bundle_root = tmp / "host-site-packages"
    extract(zip_bytes, bundle_root)
    script = (
        CALLS
        + f"sys.path.insert(0, {str(bundle_root)!r})\n"
        + f"sys.path.append({str(STUBS)!r})\n"
        + f"setup_ic({str(IC_API)!r})\n"
        + "import main\n"
        + f"print(canister_calls(lambda name: getattr(main, name), {str(bundle_root)!r}))\n"
    )
    child = subprocess.run([sys.executable, "-I", "-S", "-B", "-c", script], cwd=tmp,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result
