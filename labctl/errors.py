"""The one exception type every user-facing failure is raised as.

Commands never print tracebacks for these: ``cli.main`` catches ``LabctlError`` and prints one
line (what went wrong, then what to do) on stderr, and exits with ``exit_code``.
"""

from __future__ import annotations

# Exit statuses. 1: the thing you asked for failed (a server did not verify, a quiz was below the
# pass mark). 2: the environment is not able to do it (no engine, no toolchain, bad input files).
EXIT_FAILED = 1
EXIT_ENVIRONMENT = 2
EXIT_USAGE = 2      # Click's own status for a bad command line; ours for bad input alike


class LabctlError(Exception):
    """A failure the user can act on: ``message`` says what is wrong, ``hint`` what to do."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None, *, details: str | None = None,
                 exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        # Extra material (server logs, the tail of a build) shown below the one-line message.
        self.details = details
        if exit_code is not None:
            self.exit_code = exit_code

    def one_line(self) -> str:
        return f"{self.message}. {self.hint}" if self.hint else self.message


class EnvironmentProblem(LabctlError):
    """Something on this machine is missing or unreachable (Docker, a toolchain, a file)."""

    exit_code = EXIT_ENVIRONMENT


class UsageProblem(LabctlError):
    """The command line or an input file asks for something impossible (a wrong name, a
    contradiction between options): the user changes what they typed."""

    exit_code = EXIT_USAGE
