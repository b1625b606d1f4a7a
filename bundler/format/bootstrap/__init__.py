"""The runtime bootstrap, as the text a bundle or a canister template embeds."""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BOOTSTRAP_ARCNAME",
    "BOOTSTRAP_MODULE",
    "BOOTSTRAP_SOURCE",
]

# The module name the bootstrap takes at run time; private so it never shadows a user module.
BOOTSTRAP_MODULE = "_basilisk_bootstrap"
BOOTSTRAP_ARCNAME = f"{BOOTSTRAP_MODULE}.py"
# Read as text rather than imported, because it is copied verbatim into bundles and sources.
BOOTSTRAP_SOURCE: str = Path(__file__).with_name("_bootstrap.py").read_text(encoding="utf-8")
