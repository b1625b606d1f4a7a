"""Every shared option, declared once: its flag, help, pyproject key and check, in one Settings value.

The command line (bundler/cli/options.py builds each command's options from these fields) and
[tool.basilisk-trace] in pyproject.toml both produce a Settings; the command line wins. A new
option is a field here, and the code that uses it.
"""

from __future__ import annotations

import math
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from basilisk_trace import tracer
from basilisk_trace.base.errors import BasiliskTraceError, EntryError
from basilisk_trace.base.read import MIB, InputTooLargeError, read_bounded
from basilisk_trace.bundler.hosts import DEFAULT_HOST, host_names
from basilisk_trace.bundler.plan.model import PlanOptions

if TYPE_CHECKING:
    from basilisk_trace.bundler.pipeline import Request

# Far above any real pyproject.toml; a larger one is a mistake (or a device).
_PYPROJECT_LIMIT = 16 * MIB


class ConfigError(BasiliskTraceError):
    """An option's value is wrong in [tool.basilisk-trace]."""


class UsageError(ConfigError):
    """An option's value on the command line is wrong: a usage error, exit 2."""

    exit_code = 2


def option(default: Any, flag: str, help: str, *, key: str | None = None, kind: str = "") -> Any:
    """A Settings field: its default, its command-line flag, and its pyproject.toml key (if any)."""
    return field(default=default, metadata={"flag": flag, "help": help, "key": key, "kind": kind})


@dataclass(frozen=True)
class Settings:
    """What one command was asked to do, after the command line has overridden pyproject.toml."""

    entry: Path | None = option(None, "", "The canister's entry file.", key="entry", kind="path")
    exercise: bool = option(False, "--exercise/--no-exercise", "Call every canister method once after the import.",
                            key="exercise", kind="bool")
    timeout: float = option(60.0, "--timeout", "Seconds the dry run may take (default 60).", key="timeout",
                            kind="seconds")
    python: str | None = option(None, "--python", "Interpreter of the environment to trace (default: this one).")
    target: str = option(DEFAULT_HOST, "--target", f"The host to build for: {', '.join(host_names())}.",
                         key="target", kind="target")
    runtime_modules: Path | None = option(None, "--runtime-modules",
                                          "JSON file of the modules a deployed runtime provides.",
                                          key="runtime-modules", kind="path")
    include: tuple[str, ...] = option((), "--include", "Also bundle modules matching PATTERN (repeatable).",
                                      key="include", kind="patterns")
    exclude: tuple[str, ...] = option((), "--exclude", "Leave out modules matching PATTERN (repeatable).",
                                      key="exclude", kind="patterns")
    bundle_stdlib: bool = option(False, "--bundle-stdlib/--no-bundle-stdlib",
                                 "Ship every host stdlib source the target lacks, needed or not (what "
                                 "the program needs ships anyway).", key="bundle-stdlib",
                                 kind="bool")
    max_size: int | None = option(None, "--max-size", "Fail when the bundle is larger than BYTES.",
                                  key="max-size", kind="size")
    compression: str = option("stored", "--compression", "stored (default; no zlib needed) or deflated.",
                              key="compression", kind="compression")
    wheelhouse: Path | None = option(None, "--wheelhouse", "wasix: a directory of wasm32-wasix wheels.",
                                     key="wheelhouse", kind="path")
    index_url: str | None = option(None, "--index-url", "wasix: a PEP 503 index of wasm32-wasix wheels.",
                                   key="index-url")
    progress: bool | None = option(None, "--progress/--no-progress",
                                   "Show progress for slow steps (default: when stderr is a terminal).", kind="bool")
    source: Path | None = None  # the pyproject.toml the file values came from

    def request(self) -> Request:
        """The pipeline's input: the dry run's, the plan's and the writer's parts of these settings."""
        from basilisk_trace.bundler.pipeline import (
            Request,  # the pipeline loads when a command runs
        )

        if self.entry is None:
            raise EntryError("no entry file given; pass ENTRY (e.g. src/main.py) or set entry in "
                             "[tool.basilisk-trace] of pyproject.toml")
        return Request(
            entry=self.entry,
            dry_run=tracer.DryRunOptions(exercise=self.exercise, timeout=self.timeout, python=self.python),
            plan=PlanOptions(exclude=self.exclude, bundle_stdlib=self.bundle_stdlib, max_size=self.max_size),
            include=self.include,
            target=self.target,
            runtime_modules=self.runtime_modules,
            compression="deflated" if self.compression == "deflated" else "stored",
            wheelhouse=self.wheelhouse,
            index_url=self.index_url,
            settings_files=(self.source,) if self.source is not None else (),
        )


def resolve(given: dict[str, Any], entry: Path | None = None, start: Path | None = None) -> Settings:
    """Settings from the command line's values (None = not given), over pyproject.toml, over defaults."""
    from_file = load_pyproject(find_pyproject(entry if entry is not None else (start or Path.cwd())))
    chosen = {name: value for name, value in given.items() if value not in (None, [], ())}
    for name, value in chosen.items():
        try:
            chosen[name] = check(name, value, _flag(name))
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    settings = replace(from_file, **chosen)
    if entry is not None:
        settings = replace(settings, entry=entry)
    return settings


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`, without leaving its repository.

    A pyproject.toml above the repository's root (a home directory's, a CI
    workspace's) belongs to another project and must not configure this one.
    """
    directory = start if start.is_dir() else start.parent
    for candidate in (directory, *directory.resolve().parents):
        path = candidate / "pyproject.toml"
        if path.is_file():
            return path
        if (candidate / ".git").exists():
            return None
    return None


def load_pyproject(path: Path | None) -> Settings:
    """The [tool.basilisk-trace] table of `path` as Settings, checked key by key."""
    if path is None:
        return Settings()
    import tomllib  # only where there is a pyproject.toml

    try:
        document = tomllib.loads(read_bounded(path, _PYPROJECT_LIMIT, "pyproject").decode("utf-8"))
    except InputTooLargeError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the file") from None
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to read; fix the file") from None
    tool = document.get("tool", {})
    table = tool.get("basilisk-trace", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.basilisk-trace] must be a table; fix the file")
    keys = {f.metadata["key"]: f for f in fields(Settings) if f.metadata.get("key")}
    unknown = sorted(set(table) - set(keys))
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r} in [tool.basilisk-trace]; "
                          f"known keys: {', '.join(sorted(keys))}")
    values = {keys[k].name: check(keys[k].name, v, f"{path}: [tool.basilisk-trace] {k}", base=path.parent)
              for k, v in sorted(table.items())}
    return Settings(source=path, **values)


_KINDS: dict[str, tuple[tuple[type, ...], str]] = {
    "": ((str,), "a string"),
    "bool": ((bool,), "true or false"),
    "path": ((str, Path), "a path string"),
    "seconds": ((int, float), "a number of seconds"),
    "target": ((str,), f"one of {', '.join(host_names())}"),
    "patterns": ((list, tuple), "a list of module patterns"),
    "size": ((int,), "a number of bytes"),
    "compression": ((str,), '"stored" or "deflated"'),
}


def check(name: str, given: object, where: str, base: Path | None = None) -> Any:
    """`given` for the field `name`, converted, or a ConfigError naming where it came from."""
    value: Any = given
    spec = option_field(name)
    kind = spec.metadata["kind"]
    types, wanted = _KINDS[kind]
    if isinstance(given, bool) != (kind == "bool") or not isinstance(given, types):
        raise ConfigError(f"{where} must be {wanted}, not {type(value).__name__} {value!r}")
    if kind == "patterns":
        if not all(isinstance(item, str) and item for item in value):
            raise ConfigError(f"{where} must be {wanted} (non-empty strings)")
        return tuple(value)
    if kind == "path":
        return Path(base, value) if base is not None else Path(value)
    if kind == "seconds" and not (math.isfinite(value) and 0 < value <= 86400):
        raise ConfigError(f"{where} must be a number of seconds between 0 and 86400, not {value!r}")
    if kind == "size" and value < 1:
        raise ConfigError(f"{where} must be a positive number of bytes, not {value!r}")
    if kind == "target" and value not in host_names():
        raise ConfigError(f"{where}: unknown target profile {value!r}; use {', '.join(host_names())}")
    if kind == "compression" and value not in ("stored", "deflated"):
        raise ConfigError(f"{where}: unknown compression {value!r}; use stored or deflated")
    return value


def _flag(name: str) -> str:
    return str(option_field(name).metadata["flag"]).split("/")[0] or name


def option_field(name: str) -> Field[Any]:
    """The Settings field of the option `name`: its default, flag, help, pyproject key and kind."""
    return next(f for f in fields(Settings) if f.name == name)
