"""[tool.basilisk-trace] in pyproject.toml: defaults for every command, overridden by the command line."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from basilisk_trace.tracer.errors import BasiliskTraceError


class ConfigError(BasiliskTraceError):
    """pyproject.toml's [tool.basilisk-trace] table has an unknown key or a wrong type."""


@dataclass(frozen=True)
class Config:
    """Settings read from pyproject.toml; None means "not set there"."""

    entry: str | None = None
    target: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    exercise: bool | None = None
    max_size: int | None = None
    bundle_stdlib: bool | None = None
    compression: str | None = None
    runtime_modules: str | None = None
    timeout: float | None = None
    source: Path | None = None


# TOML key -> (field, accepted types, description for errors)
_KEYS: dict[str, tuple[str, tuple[type, ...], str]] = {
    "entry": ("entry", (str,), "a path string"),
    "target": ("target", (str,), "a profile name string"),
    "include": ("include", (list,), "a list of module patterns"),
    "exclude": ("exclude", (list,), "a list of module patterns"),
    "exercise": ("exercise", (bool,), "true or false"),
    "max-size": ("max_size", (int,), "a number of bytes"),
    "bundle-stdlib": ("bundle_stdlib", (bool,), "true or false"),
    "compression": ("compression", (str,), '"stored" or "deflated"'),
    "runtime-modules": ("runtime_modules", (str,), "a path string"),
    "timeout": ("timeout", (int, float), "a number of seconds"),
}
assert {f for f, _, _ in _KEYS.values()} == {f.name for f in fields(Config)} - {"source"}


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`."""
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.resolve().parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
    return None


def load_config(path: Path | None) -> Config:
    """The [tool.basilisk-trace] table of `path`, checked key by key."""
    if path is None:
        return Config()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file") from None
    table = document.get("tool", {}).get("basilisk-trace", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.basilisk-trace] must be a table")
    return Config(source=path, **{_KEYS[key][0]: _value(path, key, value) for key, value in _checked(path, table)})


def _checked(path: Path, table: dict[str, Any]) -> list[tuple[str, Any]]:
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [tool.basilisk-trace]; "
                          f"known keys: {', '.join(sorted(_KEYS))}")
    return sorted(table.items())


def _value(path: Path, key: str, value: Any) -> Any:
    _, types, description = _KEYS[key]
    wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
    if wrong:
        raise ConfigError(f"{path}: [tool.basilisk-trace] {key} must be {description}, "
                          f"not {type(value).__name__} {value!r}")
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{path}: [tool.basilisk-trace] {key} must be {description} (strings)")
        return tuple(value)
    if key in ("entry", "runtime-modules"):
        return str(path.parent / value)
    return value
