"""Regenerate bundler/hosts/componentize_py/profile.json (and stdlib.json) by asking componentize-py's CPython.

componentize-py runs the app's import inside its Wasm CPython at build time, with the stdlib
mounted at /python and the python path at /0. This builds one probe component whose module,
at build time, imports every standard-library module (and the submodules of each package)
and writes what failed to /0/probe.json; the profile lists those as unavailable, with the
interpreter's version. Needs componentize-py (pip install 'basilisk-trace[component]').
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
import tempfile
from pathlib import Path

HOST = Path(__file__).resolve().parents[1] / "bundler" / "hosts" / "componentize_py"
OUT = HOST / "profile.json"
# The guest's sys.stdlib_module_names: --include takes them as stdlib names (imported, not shipped).
STDLIB = HOST / "stdlib.json"
WIT = "package basilisk-trace:probe;\nworld probe {\n  export ping: func() -> string;\n}\n"
# Imported at build time inside the guest: stdlib only, and nothing with effects on import.
PROBE = r'''
import json, pkgutil, sys, importlib
import wit_world
SKIP = {"antigravity", "this", "idlelib", "turtledemo", "test", "__main__", "__phello__", "__hello__"}
failed, tried = {}, []
def attempt(name):
    tried.append(name)
    try:
        importlib.import_module(name)
        return True
    except BaseException as exc:
        failed[name] = f"{type(exc).__name__}: {exc}"
        return False
for top in sorted(sys.stdlib_module_names - SKIP):
    module = sys.modules.get(top) if attempt(top) else None
    for info in pkgutil.walk_packages(getattr(module, "__path__", None) or [], top + "."):
        if not (set(info.name.split(".")) & SKIP) and not info.name.endswith("__main__"):
            attempt(info.name)
with open("/0/probe.json", "w") as handle:
    json.dump({"version": sys.version.split()[0], "platform": sys.platform, "tried": len(tried),
               "failed": failed, "stdlib": sorted(sys.stdlib_module_names)}, handle)
class WitWorld(wit_world.WitWorld):
    def ping(self) -> str:
        return "pong"
'''
# componentize-py's own modules: its runtime, and the helpers it mounts at /bundled at build time.
OWN = {
    "componentize_py_runtime": "componentize-py's native runtime module, compiled into every component",
    "componentize_py_types": "componentize-py's bundled helper module (mounted at /bundled at build time)",
    "componentize_py_async_support": "componentize-py's bundled helper package (mounted at /bundled at build time)",
    "componentize_py_async_support.futures": "componentize-py's bundled helper package (mounted at /bundled at build time)",
    "componentize_py_async_support.streams": "componentize-py's bundled helper package (mounted at /bundled at build time)",
    "poll_loop": "componentize-py's bundled asyncio loop for wasi:http (mounted at /bundled at build time)",
}
CORE = {"builtins": "every CPython build: created by the interpreter core",
        "sys": "every CPython build: created by the interpreter core"}


def probe() -> dict[str, object]:
    import componentize_py

    with tempfile.TemporaryDirectory(prefix="basilisk-probe-") as tmp:
        root = Path(tmp)
        (root / "wit").mkdir()
        (root / "wit" / "world.wit").write_text(WIT, encoding="utf-8")
        (root / "app").mkdir()
        (root / "app" / "probe.py").write_text(PROBE, encoding="utf-8")
        componentize_py.componentize([str(root / "wit")], ["probe"], [], False, None, [str(root / "app")], [],
                                     "probe", str(root / "probe.wasm"), False, [], [], False, None)
        result: dict[str, object] = json.loads((root / "app" / "probe.json").read_text(encoding="utf-8"))
    return result


def profile(found: dict[str, object], version: str) -> dict[str, object]:
    failed = found["failed"]
    assert isinstance(failed, dict)
    python = str(found["version"])
    where = f"import failed at build time in componentize-py {version}'s CPython {python}"
    # A failed package names its submodules too: Profile.unavailable_reason looks up parents.
    unavailable = {name: f"{where}: {error}" for name, error in sorted(failed.items())
                   if not any(name.startswith(parent + ".") for parent in failed)}
    return {
        "schema": 1,
        "name": "componentize-py",
        "description": "componentize-py: a Python app as a WebAssembly component, its memory snapshotted after "
                       "the app's import at build time",
        "python": ".".join(python.split(".")[:2]),
        "native": "refuse",
        "stdlib": "build-time",
        "describes": f"componentize-py {version} (CPython {python} for {found['platform']}, WASI preview 2)",
        "generated_by": "tools/gen_componentize_profile.py",
        "stubs_missing_stdlib": False,
        "runtime_packages": [],
        "notes": [
            "The stdlib is mounted at /python only while the component is built: a module imported then is in "
            "the memory snapshot; one first imported at call time is missing (ModuleNotFoundError). "
            "basilisk-trace imports every stdlib module the trace saw at build time.",
            "Data files are not shipped: the python path is mounted at /0, /1, ... at build time only. "
            "basilisk-trace serves the files the trace saw read from memory.",
            "Native extensions load only when built for wasm32-wasi (.cpython-314-wasm32-wasi.so); a host "
            "extension is refused.",
            "The world's bindings (wit_world by default) are generated by componentize-py for each build; "
            "basilisk-trace adds them to this profile from the generated folder.",
            f"{found['tried']} stdlib modules and submodules were imported by the probe.",
        ],
        "provided": {**CORE, **OWN},
        "unavailable": unavailable,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    version = importlib.metadata.version("componentize-py")
    found = probe()
    document = profile(found, version)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    names = {"python": str(found["version"]), "stdlib_module_names": found["stdlib"]}
    args.output.with_name(STDLIB.name).write_text(json.dumps(names, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.output}: {len(document['unavailable'])} unavailable (componentize-py {version})",  # type: ignore[arg-type]
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
