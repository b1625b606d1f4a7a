"""The one exception root of basilisk-trace, and the errors a user can act on."""

from __future__ import annotations


class BasiliskTraceError(Exception):
    """Root of every error the tool reports to a user.

    The message is the user-facing text: it names the file or module involved
    and says what to do. The CLI prints it as one line and exits non-zero.
    """

    exit_code = 1


class EntryError(BasiliskTraceError):
    """The entry file cannot be traced: missing, a directory, unreadable."""


class ProgramFailed(BasiliskTraceError):
    """The program itself failed during the dry run (it raised, exited or timed out): exit 3."""

    exit_code = 3


class DryRunError(BasiliskTraceError):
    """The dry run itself failed (the child process crashed, timed out, ...).

    It may carry the partial trace gathered before the failure.
    """

    def __init__(self, message: str, trace: object | None = None) -> None:
        super().__init__(message)
        self.trace = trace
