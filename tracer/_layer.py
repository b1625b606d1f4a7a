"""ic-basilisk's canister runtime layer, read from its installed sources at run time.

A canister built by ic-basilisk runs, at init and before the program: its
`_basilisk_ic` native API, `frozen_stdlib_preamble.py`, the `BASILISK_PYTHON_SHIM`
that builds `basilisk`, `bsk` and `basilisk.canisters.*`, and small fix-up
snippets (all in `compiler/cpython_canister_template/src/python_init.rs`).
The dry run and verify run the same texts, in the same order.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from basilisk_trace.base.errors import BasiliskTraceError

TEMPLATE_SRC = Path("compiler", "cpython_canister_template", "src")
INIT_RS = TEMPLATE_SRC / "python_init.rs"
API_RS = TEMPLATE_SRC / "ic_api.rs"
# `.run_code_string(NAME)` or `.run_code_string("literal")`, in the order init runs them.
_STEP = re.compile(r'\.run_code_string\(\s*(?:(?P<ident>[A-Za-z_]\w*)|"(?P<lit>(?:[^"\\]|\\.)*)")\s*,?\s*\)', re.S)
_RAW_CONST = r'const {name}: &str = r#"(.*?)"#;'
_INCLUDED_CONST = r'const {name}: &str = include_str!\("([^"]+)"\);'
_API_NAME = re.compile(r'add_method!\("(\w+)"')
_ESCAPE = re.compile(r'\\(\n[ \t]*|x[0-9a-fA-F]{2}|u\{[0-9a-fA-F]+\}|.)', re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
# The init sequence this reader understands: preamble, shim, fix-ups, then the program.
PREAMBLE = "FROZEN_STDLIB_PREAMBLE"
_EXPECTED = (PREAMBLE, "BASILISK_PYTHON_SHIM")
USER_CODE = "python_code"


class RuntimeLayerError(BasiliskTraceError):
    """The installed ic-basilisk's runtime sources are missing or laid out in an unknown way."""


@dataclass(frozen=True)
class Step:
    """One text the template runs at init: its name, where it was read, and the code."""

    name: str
    origin: str
    text: str
    path: str | None = None  # the file it was read from, when it is one (its installed .pyc may serve)


# The runtime's basilisk.canisters.* types are plain dicts; their fields are in the package's own definitions.
SHAPES = tuple(Path("canisters", "management", f"{name}.py") for name in ("basic", "tecdsa", "vetkd", "http", "bitcoin"))


@dataclass(frozen=True)
class RuntimeLayer:
    """What a canister runs before the program, as this ic-basilisk's sources say."""

    version: str
    basilisk_dir: str
    steps: tuple[Step, ...]
    api: tuple[str, ...]  # the `_basilisk_ic` functions ic_api.rs registers
    shapes: tuple[Step, ...] = ()  # the package's definitions of the types the runtime makes plain dicts

    @property
    def label(self) -> str:
        return f"ic-basilisk {self.version}"

    def to_json(self, *, preamble: bool = True) -> dict[str, Any]:
        """What a child interpreter needs to run the layer (it reads no sources itself).

        Without `preamble`, only the shim and its fix-ups: the basilisk API for a target whose
        stdlib is its own (the preamble is the basilisk runtime's stdlib policy).
        """
        steps = [s for s in self.steps if preamble or s.name != PREAMBLE]
        return {"label": self.label, "api": list(self.api),
                "steps": [{"name": s.name, "origin": s.origin, "text": s.text, "path": s.path} for s in steps],
                "shapes": [{"name": s.name, "origin": s.origin, "text": s.text} for s in self.shapes]}


def rust_unescape(text: str) -> str:
    """The value of a Rust string literal's body: escapes and line continuations resolved."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] == "\n":
            return ""  # `\` at a line end skips the newline and the next line's indentation
        if escape[0] == "x":
            return chr(int(escape[1:], 16))
        if escape[0] == "u":
            return chr(int(escape[2:-1], 16))
        if escape not in _SIMPLE_ESCAPES:
            raise ValueError(f"unknown escape \\{escape}")
        return _SIMPLE_ESCAPES[escape]

    return _ESCAPE.sub(replace, text)


def find_basilisk_dir() -> Path | None:
    """The installed `basilisk` package's directory, found without importing it."""
    try:
        spec = importlib.util.find_spec("basilisk")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def installed_version() -> str:
    from basilisk_trace.base.dist import NotInstalled, distribution_version

    try:
        return distribution_version("ic-basilisk")
    except NotInstalled:
        return "unknown"


def installed_layer() -> RuntimeLayer | None:
    """The layer of the ic-basilisk installed beside the tool, or None when there is none."""
    directory = find_basilisk_dir()
    if directory is None or not (directory / INIT_RS).exists():
        return None
    return read_layer(directory, installed_version())


@lru_cache(maxsize=4)
def read_layer(basilisk_dir: Path, version: str) -> RuntimeLayer:
    """Read the layer from `basilisk_dir`; RuntimeLayerError names the file when it cannot."""
    init_rs = basilisk_dir / INIT_RS
    label = f"ic-basilisk {version}"
    source = _read(init_rs, label)
    steps = tuple(_steps(source, init_rs, label))
    names = tuple(s.name for s in steps)
    if names[: len(_EXPECTED)] != _EXPECTED or any(n != "<fix-up>" for n in names[len(_EXPECTED):]):
        raise RuntimeLayerError(
            f"{init_rs}: unknown init sequence {', '.join(names) or 'none'} ({label}); "
            f"this basilisk-trace reads the one of ic-basilisk 0.16 ({', '.join(_EXPECTED)}, fix-ups); "
            "install ic-basilisk 0.16, or a basilisk-trace that knows this version"
        )
    api = tuple(_API_NAME.findall(_read(basilisk_dir / API_RS, label)))
    if not api:
        raise RuntimeLayerError(f"{basilisk_dir / API_RS}: no add_method! entries ({label}); unknown layout, "
                                "install ic-basilisk 0.16")
    return RuntimeLayer(version, str(basilisk_dir), steps, api, _shapes(basilisk_dir, label))


def _shapes(basilisk_dir: Path, label: str) -> tuple[Step, ...]:
    """ic-basilisk's own definitions of the management canister's types, where the package has them."""
    found = []
    for relative in SHAPES:
        try:
            text = (basilisk_dir / relative).read_text(encoding="utf-8")
        except OSError:
            continue  # only --exercise's arguments are the poorer without them
        found.append(Step(relative.stem, f"{label} basilisk/{relative.as_posix()}", text))
    return tuple(found)


def _read(path: Path, label: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeLayerError(f"{path}: cannot read the canister runtime's source ({label}): "
                                f"{exc.strerror}; reinstall ic-basilisk") from None


def _steps(source: str, init_rs: Path, label: str) -> list[Step]:
    steps = []
    for match in _STEP.finditer(source):
        ident, literal = match.group("ident"), match.group("lit")
        line = source.count("\n", 0, match.start()) + 1
        if ident == USER_CODE:
            break  # the program itself: everything before it is the layer
        if ident is None:
            try:
                text = rust_unescape(literal)
            except ValueError as exc:
                raise RuntimeLayerError(f"{init_rs}:{line}: {exc} in a fix-up string ({label})") from None
            steps.append(Step("<fix-up>", f"{label} basilisk/{INIT_RS.as_posix()}:{line}", text))
            continue
        steps.append(_constant(source, ident, init_rs, label))
    return steps


def _constant(source: str, name: str, init_rs: Path, label: str) -> Step:
    raw = re.search(_RAW_CONST.format(name=re.escape(name)), source, re.S)
    if raw is not None:
        line = source.count("\n", 0, raw.start(1)) + 1
        return Step(name, f"{label} basilisk/{INIT_RS.as_posix()}:{line}", raw.group(1))
    included = re.search(_INCLUDED_CONST.format(name=re.escape(name)), source)
    if included is not None:
        path = (init_rs.parent / included.group(1)).resolve()
        relative = path.relative_to(init_rs.parents[len(INIT_RS.parts) - 1].resolve())
        return Step(name, f"{label} basilisk/{relative.as_posix()}", _read(path, label), str(path))
    raise RuntimeLayerError(f"{init_rs}: {name} is neither a raw string nor an include_str! ({label}); "
                            "unknown layout, install ic-basilisk 0.16")


# The layer's steps without bytecode installed beside them (the shim and its fix-ups, text out of
# a Rust file): compiled here while the dry run's child starts, and read by it from its run directory.
LAYER_CODE = "layer-code.marshal"


def steps_to_compile(layer: dict[str, Any] | None, python: str) -> list[tuple[int, str]]:
    """(index, text) of the steps of `layer` (its to_json) the child would compile itself, when it
    runs this interpreter (code objects are this version's); none otherwise."""
    import sys

    if layer is None or os.path.realpath(python) != os.path.realpath(sys.executable):
        return []
    return [(index, step["text"]) for index, step in enumerate(layer["steps"]) if not step.get("path")]


def write_layer_code(path: Path, steps: list[tuple[int, str]]) -> None:
    """The code objects of `steps`, for tracer/runtime/boot.py to load instead of compiling them."""
    path.write_bytes(_layer_code(tuple(steps)))


@lru_cache(maxsize=4)
def _layer_code(steps: tuple[tuple[int, str], ...]) -> bytes:
    """`steps` compiled as the child compiles them (no future flags of this module, its optimization
    level), once per process: a dry run repeated for natives, or the next canister, reuses them."""
    import marshal

    return marshal.dumps([(index, compile(text, "<basilisk-trace layer>", "exec", dont_inherit=True, optimize=0))
                          for index, text in steps])
