"""Hosts: every Python-in-Wasm runtime the tool builds for, one folder and one `Host` each.

A host's folder (`bundler/hosts/<name>/`, `-` written `_`) holds its `HOST` definition in
`__init__.py`, its profile (`profile.json`) and whatever is its own alone: a writer, a
runtime for verify, a child script calling its entry points. Adding a host is adding a
folder; nothing else lists them.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from basilisk_trace.base.errors import BasiliskTraceError

if TYPE_CHECKING:
    from basilisk_trace.bundler.check.runtime import Runtime
    from basilisk_trace.bundler.plan.profile import Profile
    from basilisk_trace.tracer import DryRunOptions, Layer

__all__ = ["CANISTER_METHODS", "DEFAULT_HOST", "Host", "HostError", "host_names", "load_host", "load_profile"]

DEFAULT_HOST = "basilisk"
_HERE = Path(__file__).resolve().parent
# How the traced set reaches the host: a ZIP its runtime's bootstrap unpacks (a canister's data
# segment, Pyodide's file system), or a folder on the python path of a host that snapshots
# the program at build time (componentize-py).
Packaging = Literal["bundle-zip", "python-path"]
# What --exercise calls in a program written for a canister, on every host that runs one.
CANISTER_METHODS = "every canister method (@query, @update, init, ...), with arguments from its type hints"


class HostError(BasiliskTraceError):
    """An unknown host name, or a host folder that does not define one."""


@dataclass(frozen=True)
class Host:
    """One host: what its runtime provides, what the dry run runs under, how its entry points
    are called, how the traced set is packaged, and which runtimes verify can run it in."""

    name: str
    summary: str  # one line: the runtime, as a user knows it
    folder: Path  # the host's own folder: its profile.json and anything else only it uses
    layer: Layer  # what the dry run runs under
    exercises: str  # what --exercise calls, in words
    packaging: Packaging
    runtimes: tuple[Runtime, ...]  # where verify can run it, the default first
    command: str = ""  # the command that builds for it, when it is not bundle's ZIP (componentize-py: component)

    def profile(self, runtime_modules: Path | None = None) -> Profile:
        """What the runtime provides, from the folder's profile.json, corrected by a runtime-modules file."""
        from basilisk_trace.bundler.plan.profile import read_profile

        return read_profile(self.folder / "profile.json", self.name,
                            f"bundler/hosts/{self.folder.name}/profile.json", runtime_modules)

    def dry_run(self, options: DryRunOptions, profile: Profile) -> DryRunOptions:
        """`options` under this host's layer; natives load only where the runtime has wheels for them.

        A stand-in runtime asked for in `options` (tests, and machines without ic-basilisk) stays.
        """
        layer = self.layer
        if options.layer.runtime == "stand-in" and layer.runtime == "basilisk":
            layer = replace(layer, runtime="stand-in")
        return replace(options, layer=layer,
                       block_natives=options.block_natives and profile.native != "wasix-wheels")

    def runtime(self, name: str | None = None) -> Runtime:
        """Verify's runtime `name` for this host (None: its default), or HostError naming the valid ones."""
        if name is None:
            return self.runtimes[0]
        for runtime in self.runtimes:
            if runtime.name == name:
                return runtime
        names = ", ".join(r.name for r in self.runtimes)
        raise HostError(f"unknown --runtime {name!r} for the {self.name} target; use {names}")


@functools.cache
def host_names() -> tuple[str, ...]:
    """Every host, by name: the folders here that define one (read from the listing, nothing imported)."""
    return tuple(sorted(p.name.replace("_", "-") for p in _HERE.iterdir()
                        if (p / "__init__.py").is_file() and not p.name.startswith("_")))


def load_host(name: str = DEFAULT_HOST) -> Host:
    """The host called `name`, or HostError naming the known ones."""
    if name not in host_names():
        raise HostError(f"unknown target {name!r}; valid targets: {', '.join(host_names())}")
    module = importlib.import_module(f"{__name__}.{name.replace('-', '_')}")
    host = getattr(module, "HOST", None)
    if not isinstance(host, Host) or host.name != name:
        raise HostError(f"bundler/hosts/{name.replace('-', '_')}/__init__.py does not define HOST = Host({name!r}, ...)")
    return host


def load_profile(name: str = DEFAULT_HOST, runtime_modules: Path | None = None) -> Profile:
    """The profile of host `name`, optionally corrected by a runtime-modules file."""
    return load_host(name).profile(runtime_modules)
