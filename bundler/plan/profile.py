"""A host's profile: what its Wasm CPython runtime already provides and what it cannot load.

Each host keeps its profile as data in its own folder (bundler/hosts/NAME/profile.json);
this module reads and checks one, and applies what a deployed runtime was seen to provide.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from basilisk_trace.base.errors import BasiliskTraceError
from basilisk_trace.base.read import MIB, read_bounded

if TYPE_CHECKING:
    from basilisk_trace.tracer import DryRunOptions

__all__ = [
    "Native",
    "Profile",
    "ProfileError",
    "Stdlib",
    "read_profile",
    "stdlib_options",
]

Native = Literal["refuse", "wasix-wheels"]
# "build-time": the stdlib is there while the app is built and snapshotted, and only what was
# imported then is there at run time (componentize-py): the builder imports it (no files shipped).
Stdlib = Literal["full", "partial", "build-time"]

SCHEMA = 1
# A profile lists module names: far below this.
_PROFILE_LIMIT = 16 * MIB

_NATIVE: tuple[str, ...] = ("refuse", "wasix-wheels")
_STDLIB: tuple[str, ...] = ("full", "partial", "build-time")


class ProfileError(BasiliskTraceError):
    """A profile name is unknown, or a profile or runtime-modules file is malformed."""


def _frozen_map(data: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(data.items())))


@dataclass(frozen=True)
class Profile:
    """What one target runtime provides, refuses, and where each claim came from."""

    name: str
    description: str
    python: str
    native: Native
    stdlib: Stdlib
    # module name -> provenance (which file, and what in it, says so)
    provided: Mapping[str, str] = field(default_factory=dict, hash=False)
    runtime_packages: tuple[str, ...] = ()
    # module name -> why it cannot work on the target
    unavailable: Mapping[str, str] = field(default_factory=dict, hash=False)
    # True when a failed stdlib import yields an EMPTY module instead of ImportError
    stubs_missing_stdlib: bool = False
    describes: str = ""
    generated_by: str = ""
    source: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def provides(self, module: str, *, is_stdlib: bool) -> str | None:
        """The reason the target provides ``module``, or None if the bundle must carry it.

        Explicit entries match exactly: a listed ``json`` does not imply ``json.decoder``,
        because a runtime may register a single-file replacement with no submodules.
        A runtime package owns its whole tree, so no host copy of it is ever bundled.
        """
        if module in self.provided:
            return self.provided[module]
        if self.unavailable_reason(module) is not None:
            return None
        if is_stdlib and self.stdlib == "full":
            return f"stdlib: the {self.name} target ships the full CPython {self.python} stdlib"
        if is_stdlib and self.stdlib == "build-time":
            return (f"stdlib: the {self.name} target has the CPython {self.python} stdlib at build time; "
                    "imported then, it is in the snapshot")
        return None

    def runtime_lacks(self, module: str) -> str | None:
        """Why a module of the runtime's own package (basilisk.*) does not exist on the target.

        The runtime builds its package in sys.modules; only what it registers is there, and
        a host copy is never bundled in its place.
        """
        top = module.partition(".")[0]
        if top not in self.runtime_packages or module in self.provided:
            return None
        parent = module.rpartition(".")[0]
        siblings = sorted(n for n in self.provided if n.rpartition(".")[0] == parent)
        there = f"under {parent} it registers only {', '.join(siblings)}" if siblings else (
            f"it registers nothing under {parent}" if parent else f"it registers no {top}")
        return f"the {self.describes or self.name} runtime does not register {module} ({there})"

    def unavailable_reason(self, module: str) -> str | None:
        """Why ``module`` (or a parent package of it) cannot work on the target, if known."""
        parts = module.split(".")
        for end in range(len(parts), 0, -1):
            reason = self.unavailable.get(".".join(parts[:end]))
            if reason is not None:
                return reason
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str) -> Profile:
        """Build a profile from parsed JSON; ``source`` names the file in any error."""
        _check(data, source)
        return cls(
            name=data["name"],
            description=data.get("description", ""),
            python=data["python"],
            native=data["native"],
            stdlib=data["stdlib"],
            provided=_frozen_map(data.get("provided", {})),
            runtime_packages=tuple(sorted(data.get("runtime_packages", ()))),
            unavailable=_frozen_map(data.get("unavailable", {})),
            stubs_missing_stdlib=bool(data.get("stubs_missing_stdlib", False)),
            describes=data.get("describes", ""),
            generated_by=data.get("generated_by", ""),
            source=(source,),
            notes=tuple(data.get("notes", ())),
        )

    def with_runtime_modules(
        self, provided: Mapping[str, str], unavailable: Mapping[str, str], source: str
    ) -> Profile:
        """A copy where observed facts from ``source`` override this profile's claims."""
        new_provided = {k: v for k, v in self.provided.items() if k not in unavailable}
        new_provided.update(provided)
        new_unavailable = {k: v for k, v in self.unavailable.items() if k not in provided}
        new_unavailable.update(unavailable)
        return replace(
            self,
            provided=_frozen_map(new_provided),
            unavailable=_frozen_map(new_unavailable),
            source=(*self.source, source),
        )


def _check(data: Mapping[str, Any], source: str) -> None:
    """Raise ProfileError naming ``source`` when a profile document is malformed."""

    def bad(problem: str) -> ProfileError:
        return ProfileError(f"{source}: {problem}")

    if not isinstance(data, Mapping):
        raise bad("expected a JSON object")
    if data.get("schema", SCHEMA) != SCHEMA:
        raise bad(f"unsupported schema {data.get('schema')!r} (expected {SCHEMA})")
    for key in ("name", "python", "native", "stdlib"):
        if not isinstance(data.get(key), str):
            raise bad(f"missing or non-string {key!r}")
    if data["native"] not in _NATIVE:
        raise bad(f"'native' must be one of {', '.join(_NATIVE)}, not {data['native']!r}")
    if data["stdlib"] not in _STDLIB:
        raise bad(f"'stdlib' must be one of {', '.join(_STDLIB)}, not {data['stdlib']!r}")
    for key in ("provided", "unavailable"):
        entries = data.get(key, {})
        if not isinstance(entries, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in entries.items()
        ):
            raise bad(f"{key!r} must map module names to non-empty provenance strings")
    overlap = sorted(set(data.get("provided", {})) & set(data.get("unavailable", {})))
    if overlap:
        raise bad(f"modules both provided and unavailable: {', '.join(overlap)}")


def read_profile(path: Path, name: str, source: str, runtime_modules: Path | None = None) -> Profile:
    """The profile of host `name` in `path` (`source` names it in errors and provenance),
    corrected by a runtime-modules file when one is given."""
    try:
        data = json.loads(read_bounded(path, _PROFILE_LIMIT, "profile").decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProfileError(f"{source}: cannot read the profile: {exc}") from None
    profile = Profile.from_dict(data, source)
    if profile.name != name:
        raise ProfileError(f"{source}: names itself {profile.name!r}, expected {name!r}")
    if runtime_modules is None:
        return profile
    from basilisk_trace.bundler.plan.runtime_modules import apply_runtime_modules

    return apply_runtime_modules(profile, runtime_modules)


def stdlib_options(profile: Profile, options: DryRunOptions, include: tuple[str, ...] = ()) -> DryRunOptions:
    """What the dry run must know of the target's stdlib: where it lacks some, what it has or
    cannot run (the static pass follows the imports of the rest); and the stdlib modules
    `--include` names (the top-level name is the standard library's)."""
    import sys

    stdlib = tuple(p for p in include if p.partition(".")[0] in sys.stdlib_module_names)
    if profile.stdlib != "partial":
        return replace(options, include_stdlib=stdlib)
    return replace(options, stdlib_provided=tuple(profile.provided), stdlib_unavailable=tuple(profile.unavailable),
                   include_stdlib=stdlib)
