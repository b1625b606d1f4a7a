"""One export per kind of WIT value, each importing its own stdlib module when called: the build holds
them all only if the dry run called every export with arguments of the right types."""

import wit_world
from componentize_py_types import Err
from wit_world.imports.shapes import Color, Perms, Point, Shape_Circle, Shape_Square


class WitWorld(wit_world.WitWorld):
    def text(self, s: str, c: str) -> str:
        import textwrap

        return textwrap.indent(s + c, "> ")

    def numbers(self, a: int, b: int, c: int, d: float) -> float:
        import statistics

        return statistics.fmean([a, b, c, d])

    def truth(self, b: bool) -> bool:
        import colorsys

        return colorsys.rgb_to_hsv(float(b), 0.0, 0.0)[2] == 0.0

    def items(self, xs: list[str], raw: bytes) -> int:
        import base64

        return len(base64.b64encode(raw + "".join(xs).encode()))

    def maybe(self, s: str | None, nested: object) -> str | None:
        import string

        return None if s is None else string.capwords(s)

    def moved(self, p: Point) -> Point:
        import pprint

        return Point(p.x + 1, p.y, pprint.pformat(p.label))

    def area(self, s: object) -> float:
        import calendar

        if isinstance(s, Shape_Circle):
            return 3.0 * s.value ** 2 + calendar.isleap(2024)
        return float(s.value ** 2) if isinstance(s, Shape_Square) else 0.0

    def named(self, c: Color, p: Perms) -> str:
        import fractions

        return f"{c.name.lower()} {p.value} {fractions.Fraction(c.value, 3)}"

    def pair(self, t: tuple[str, int]) -> tuple[int, str]:
        import heapq

        return heapq.nsmallest(1, [t[1], 9])[0], t[0]

    def checked(self, s: str) -> str:
        import difflib

        if not s:
            raise Err("empty")
        return "".join(difflib.ndiff([s], [s + "!"]))
