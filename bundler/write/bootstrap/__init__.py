"""The runtime bootstrap as text to embed, and as a module to use on the host."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from basilisk_trace.bundler.write.archive import BundleFile

__all__ = [
    "BOOTSTRAP_ARCNAME",
    "BOOTSTRAP_MODULE",
    "BOOTSTRAP_SOURCE",
    "TEMPLATE_SNIPPET",
    "bootstrap_file",
    "load_bootstrap",
]

# The module name the bootstrap takes at run time; private so it never shadows a user module.
BOOTSTRAP_MODULE = "_basilisk_bootstrap"
BOOTSTRAP_ARCNAME = f"{BOOTSTRAP_MODULE}.py"
# Read as text rather than imported, because it is copied verbatim into bundles and sources.
BOOTSTRAP_SOURCE: str = Path(__file__).with_name("_bootstrap.py").read_text(encoding="utf-8")

# What a canister template runs at init, after the bundle is in the Wasm passive data.
TEMPLATE_SNIPPET = (
    f'exec(compile(BOOTSTRAP_SOURCE, "{BOOTSTRAP_ARCNAME}", "exec"), '
    f'boot := {{"__name__": "{BOOTSTRAP_MODULE}"}})\n'
    'boot["install"]()\n'
)


def bootstrap_file() -> BundleFile:
    """The bootstrap as a bundle entry, so a bundle carries the code that can unpack it."""
    return BundleFile(
        arcname=BOOTSTRAP_ARCNAME,
        data=BOOTSTRAP_SOURCE.encode("utf-8"),
        module=BOOTSTRAP_MODULE,
        distribution="basilisk-trace",
        version=None,
        reason="bootstrap",
    )


def load_bootstrap(register: bool = False) -> ModuleType:
    """A fresh module built from BOOTSTRAP_SOURCE, exactly as a runtime would build it."""
    module = ModuleType(BOOTSTRAP_MODULE)
    module.__file__ = BOOTSTRAP_ARCNAME
    if register:
        sys.modules[BOOTSTRAP_MODULE] = module
    exec(compile(BOOTSTRAP_SOURCE, BOOTSTRAP_ARCNAME, "exec"), module.__dict__)
    return module
