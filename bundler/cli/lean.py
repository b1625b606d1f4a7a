"""typer command and group classes that coerce plain parameters without pydantic."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _coercion, _param_types
from typer._click import Context, Parameter
from typer._click.exceptions import BadParameter
from typer.core import TyperCommand, TyperGroup, _TyperParameter

# typer 0.29 coerces every parameter it parses, a None default and --help included, through a
# pydantic TypeAdapter: importing pydantic and building the adapters costs about 100 ms, more
# than the rest of a warm `trace`. These types are all the commands take; anything else (a
# choice, a file, a custom parser) keeps typer's own coercion.
_PLAIN = (str, bool, int, float, Path)
_TRUE = ("1", "true", "t", "yes", "y", "on")
_FALSE = ("0", "false", "f", "no", "n", "off", "")


@dataclass(frozen=True)
class PlainParam(_coercion.RuntimeParam):
    """Coerces a str, bool, int, float or Path value, or a list of them."""

    def _coerce_value(self, value: Any, param: Any, ctx: Context) -> Any:
        if get_origin(self.annotation) is list:
            kind = get_args(self.annotation)[0]
            return [_coerce(kind, self.parameter_info, item, param, ctx) for item in value]
        return _coerce(self.annotation, self.parameter_info, value, param, ctx)


def _coerce(kind: Any, info: Any, value: Any, param: Any, ctx: Context) -> Any:
    if kind is str:
        return value if isinstance(value, str) else os.fsdecode(value)
    if kind is bool:
        return _boolean(value, param, ctx)
    if kind is Path:
        path = value if isinstance(value, Path) else Path(os.fsdecode(value))
        # Already a Path: typer's existence and kind checks run, its pydantic branch does not.
        return _param_types.coerce_cli_path(path, info, path_type=Path, param=param, ctx=ctx)
    return _number(kind, info, value, param, ctx)


def _boolean(value: Any, param: Any, ctx: Context) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise BadParameter(f"{value!r} is not a valid boolean.", ctx=ctx, param=param)


def _number(kind: type[int] | type[float], info: Any, value: Any, param: Any, ctx: Context) -> int | float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise BadParameter(f"{value!r} is not a valid {kind.__name__}.", ctx=ctx, param=param) from None
    low, high = info.min, info.max
    if info.clamp:
        number = max(number, low) if low is not None else number
        return kind(min(number, high) if high is not None else number)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = " and ".join(f"{op} {bound}" for op, bound in ((">=", low), ("<=", high)) if bound is not None)
        raise BadParameter(f"{value} is not {bounds}.", ctx=ctx, param=param)
    return number


def is_plain(annotation: Any) -> bool:
    """A type PlainParam coerces: one of the plain types, or a list of one."""
    if get_origin(annotation) is list:
        args = get_args(annotation)
        return len(args) == 1 and args[0] in _PLAIN
    return annotation in _PLAIN


def use_plain_coercion(params: Iterable[Parameter]) -> None:
    """Give each plain typer parameter a PlainParam before typer builds its pydantic adapter."""
    for param in params:
        if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
            continue
        descriptor = param.type_descriptor
        if (descriptor.file_annotation is None and descriptor.parameter_info.parser is None
                and not descriptor.is_choice and is_plain(descriptor.annotation)):
            param._runtime_param = PlainParam(parameter_info=descriptor.parameter_info,
                                              annotation=descriptor.annotation)


class LeanCommand(TyperCommand):
    """A typer command whose plain parameters skip pydantic."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        use_plain_coercion(self.get_params(ctx))
        return super().parse_args(ctx, args)


class LeanGroup(TyperGroup):
    """The command group, likewise (its --help and --version flags)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        use_plain_coercion(self.get_params(ctx))
        return super().parse_args(ctx, args)
