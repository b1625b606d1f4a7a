"""Find the modules named in error texts from CPython and the Basilisk runtime."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Symptom = Literal["missing", "stub", "cannot-import"]

_PATTERNS: tuple[tuple[Symptom, re.Pattern[str]], ...] = (
    ("missing", re.compile(r"No module named '([\w.]+)'")),
    ("cannot-import", re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")),
    ("stub", re.compile(r"module '([\w.]+)' has no attribute '\w+'")),
    ("stub", re.compile(r"<module '([\w.]+)' from '<wasi-stub>'>")),
)


@dataclass(frozen=True)
class Mention:
    """A module an error text points at, and how it failed."""

    module: str
    symptom: Symptom
    line: str


def modules_in(text: str) -> list[Mention]:
    """Every missing, stubbed or half-imported module named in `text`, first mention first."""
    found: dict[str, Mention] = {}
    for line in text.splitlines():
        for symptom, pattern in _PATTERNS:
            for match in pattern.finditer(line):
                if symptom == "cannot-import":
                    name, module = match.group(1), match.group(2)
                    # `from M import X` fails when X is a submodule that is not there, or M is a stub.
                    for candidate in (f"{module}.{name}", module):
                        found.setdefault(candidate, Mention(candidate, symptom, line.strip()))
                else:
                    found.setdefault(match.group(1), Mention(match.group(1), symptom, line.strip()))
    return list(found.values())
