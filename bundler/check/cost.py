"""What a run cost, in Wasm instructions, beside the Internet Computer's limits per message.

The guest marks its meter (guest/meter.py) twice at its start, after the runtime layer, after
the program's init and after each method call; the host gives the fuel spent at each mark.
The figures are differences between marks, less what one mark costs, so the interpreter's
own start and the runtime layer (the same for every program) are not counted in `init`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Instructions one message may execute (the IC's documented limits per message type).
INSTALL_LIMIT = 300_000_000_000  # canister install or upgrade: init and post_upgrade run there
UPDATE_LIMIT = 40_000_000_000
QUERY_LIMIT = 5_000_000_000
INSPECT_LIMIT = 200_000_000
LIMITS: dict[str, tuple[str, int]] = {
    "init": ("install/upgrade", INSTALL_LIMIT),
    "post_upgrade": ("install/upgrade", INSTALL_LIMIT),
    "pre_upgrade": ("install/upgrade", INSTALL_LIMIT),
    "update": ("update", UPDATE_LIMIT),
    "heartbeat": ("update", UPDATE_LIMIT),
    "query": ("query", QUERY_LIMIT),
    "inspect_message": ("inspect_message", INSPECT_LIMIT),
}
WARN_SHARE = 0.5  # a figure past half of its limit gets a warning


@dataclass(frozen=True)
class MethodCost:
    name: str
    kind: str  # query, update, init, ...: which limit applies
    instructions: int

    @property
    def limit(self) -> tuple[str, int]:
        return LIMITS.get(self.kind, LIMITS["update"])


@dataclass(frozen=True)
class Cost:
    """Instructions of the init above the interpreter's start, and of each method's call."""

    init_instructions: int
    baseline_instructions: int  # the interpreter's start and the runtime layer, not counted above
    methods: tuple[MethodCost, ...] = ()
    code_for: str | None = None  # the CPython version the canister's code objects are for, if it has any

    def warnings(self) -> list[str]:
        """One line for each figure past half of the limit of its message type."""
        found = []
        figures = [("init", "install/upgrade", INSTALL_LIMIT, self.init_instructions)]
        figures += [(f"method {m.name}", *m.limit, m.instructions) for m in self.methods]
        for what, limit_name, limit, value in figures:
            if value > limit * WARN_SHARE:
                found.append(f"{what} costs {billions(value)} instructions, {value / limit:.0%} of the IC's "
                             f"{limit_name} limit of {billions(limit)}")
        return found


def billions(value: int) -> str:
    return f"{value / 1e9:.2f} billion" if value >= 1e9 else f"{value / 1e6:.1f} million"


def cost_from_marks(marks: Sequence[str], fuel: Sequence[int | None], methods: Sequence[tuple[str, str]]) -> Cost | None:
    """The cost from the guest's marks and the fuel at each; None where the init did not finish.

    `methods` are the (name, kind) of the calls, in the order their "call" marks were taken.
    """
    if len(fuel) != len(marks) or any(f is None for f in fuel) or marks[:4] != ["start", "start", "layer", "init"]:
        return None
    spent = [int(f or 0) for f in fuel]
    mark = spent[1] - spent[0]
    calls = [spent[i] - spent[i - 1] - mark for i in range(4, len(spent)) if marks[i] == "call"]
    named = [MethodCost(name, kind, max(0, value)) for (name, kind), value in zip(methods, calls, strict=False)]
    return Cost(max(0, spent[3] - spent[2] - mark), spent[2], tuple(named))
