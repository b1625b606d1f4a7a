"""Read a runtime-modules file (observed imports on a real target) and apply it to a profile."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from basilisk_trace.base.read import MIB, read_bounded
from basilisk_trace.bundler.plan.profile import Profile, ProfileError

FORMAT = "basilisk-runtime-modules/1"
_KEYS = frozenset({"format", "describes", "python", "provided", "real", "stubbed", "failed"})
_OBSERVED = ("provided", "real", "stubbed", "failed")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_PYTHON = re.compile(r"^(\d+)\.(\d+)")
# A list of module names: a few hundred KiB at most.
RUNTIME_FILE_LIMIT = 64 * MIB


def apply_runtime_modules(profile: Profile, path: Path) -> Profile:
    """Return ``profile`` with the facts observed in ``path`` overriding its own claims."""
    data = _read(path)
    _check_python(data, profile, path)
    label = f"{path}" + (f" ({data['describes']})" if data.get("describes") else "")
    provided: dict[str, str] = {}
    for key in ("provided", "real"):
        for name, detail in _entries(data, key, path).items():
            provided[name] = f"{label}: imported for real" + (f" ({detail})" if detail else "")
    unavailable: dict[str, str] = {}
    for name in _entries(data, "stubbed", path):
        unavailable[name] = (
            f"{label}: came back as an empty <wasi-stub> module, so its attributes are "
            "missing and `except ImportError` fallbacks never run"
        )
    for name, detail in _entries(data, "failed", path).items():
        unavailable[name] = f"{label}: import failed" + (f": {detail}" if detail else "")
    clash = sorted(set(provided) & set(unavailable))
    if clash:
        raise ProfileError(
            f"{path}: listed both as imported and as stubbed/failed: {', '.join(clash)}"
        )
    return profile.with_runtime_modules(provided, unavailable, str(path))


def _read(path: Path) -> Mapping[str, Any]:
    try:
        text = read_bounded(path, RUNTIME_FILE_LIMIT, "runtime-modules file").decode("utf-8")
    except UnicodeDecodeError:
        raise ProfileError(f"{path}: not UTF-8 text; pass the JSON the canister's query returned") from None
    except OSError as exc:
        raise ProfileError(
            f"{path}: cannot read runtime-modules file: {exc.strerror or exc}"
        ) from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProfileError(f"{path}: not valid JSON: {exc}") from exc
    except RecursionError:
        raise ProfileError(f"{path}: nested too deeply; pass the JSON the canister's query returned") from None
    # The canister query returns a JSON *string*; candid tooling may hand that over quoted.
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ProfileError(f"{path}: holds a JSON string that is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ProfileError(f"{path}: expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ProfileError(
            f"{path}: unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(_KEYS))}"
        )
    if data.get("format", FORMAT) != FORMAT:
        raise ProfileError(f"{path}: format {data['format']!r} is not {FORMAT!r}")
    if not any(key in data for key in _OBSERVED):
        raise ProfileError(f"{path}: lists no modules; expected one of {', '.join(_OBSERVED)}")
    return data


def _entries(data: Mapping[str, Any], key: str, path: Path) -> dict[str, str]:
    """A list of names, or an object mapping names to a detail string, as name -> detail."""
    raw = data.get(key, [])
    if isinstance(raw, list):
        pairs = [(name, "") for name in raw]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ProfileError(f"{path}: {key!r} must be a list of module names or an object")
    for name, detail in pairs:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ProfileError(f"{path}: {key!r} holds {name!r}, which is not a module name")
        if not isinstance(detail, str):
            raise ProfileError(f"{path}: {key!r}[{name!r}] must be a string, not {detail!r}")
    return dict(pairs)


def _check_python(data: Mapping[str, Any], profile: Profile, path: Path) -> None:
    """Refuse a file observed on another Python: its module set does not describe this target."""
    python = data.get("python")
    if python is None:
        return
    match = _PYTHON.match(str(python))
    if match is None:
        raise ProfileError(f"{path}: 'python' is {python!r}, expected a version like '3.13.0'")
    seen = f"{match.group(1)}.{match.group(2)}"
    if seen != profile.python:
        raise ProfileError(
            f"{path}: was recorded on Python {seen}, but profile {profile.name!r} targets "
            f"Python {profile.python}; record it on the target runtime or pick another profile"
        )
