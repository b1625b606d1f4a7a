"""The one error the Wasm reader, writer and injector raise to a user."""

from __future__ import annotations

from basilisk_trace.base.errors import BasiliskTraceError

__all__ = ["WasmError"]


class WasmError(BasiliskTraceError):
    """A template cannot be read or injected.

    The message is one line: the template's name, what is wrong, and what to do.
    """

    @classmethod
    def about(cls, template: str, problem: str, remedy: str) -> WasmError:
        """Build the error for `template` from a problem and a remedy, one line each."""
        return cls(f"{template}: {problem}; {remedy}")
