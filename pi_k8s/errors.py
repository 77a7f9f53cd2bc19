"""Domain errors. Each carries an exit code and a hint; cli.py translates them once.

Exit codes (documented in the README):
    0  success
    1  unexpected error (trace written to the log file)
    2  usage error (bad option or argument)
    3  bad input: spec, inventory or nothing found
    4  a playbook failed or a host was unreachable
    5  verification failed
    6  the local environment is missing something (podman, root, debootstrap)

The classes below are that table in code (a data table: one class per exit code, alike
by design, so that ``except SpecError`` and the exit code stay in one place).
"""

from __future__ import annotations


class PiK8sError(Exception):
    """Base class: a message for the user, a hint on what to do, an exit code."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(PiK8sError):
    exit_code = 2


class SpecError(PiK8sError):
    """A cluster spec, inventory or workload file is invalid."""

    exit_code = 3


class NothingFound(PiK8sError):
    exit_code = 3


class PlaybookFailed(PiK8sError):
    exit_code = 4


class VerificationFailed(PiK8sError):
    exit_code = 5


class EnvironmentProblem(PiK8sError):
    """The machine lacks a tool or a permission the command needs."""

    exit_code = 6


class TestbedError(EnvironmentProblem):
    """Building or running the local testbed failed."""
