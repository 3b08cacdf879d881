"""Errors that a user can act on, each with the exit code a scheduler sees.

| code | meaning |
|---|---|
| 0 | success |
| 1 | unexpected internal error (a bug: please report it) |
| 2 | bad input: unknown notebook, parameter, snapshot id, registry problem |
| 3 | data source unavailable: Hub unreachable, rate limit or request budget exhausted, empty store |
| 4 | notebook execution failed |
| 5 | rendering the PDF failed |
| 6 | the store or briefs folder is locked by another run |
| 7 | writing failed (disk full, permissions); nothing was left half-written |
| 130, 143 | interrupted by SIGINT or SIGTERM; nothing was left half-written |
"""
from __future__ import annotations

import signal


class OpenbriefError(Exception):
    """Base class: ``str(err)`` is one line that says what is wrong and what to do."""

    exit_code = 1


class UsageError(OpenbriefError):
    exit_code = 2


class SourceError(OpenbriefError):
    exit_code = 3


class ExecutionError(OpenbriefError):
    exit_code = 4


class RenderError(OpenbriefError):
    exit_code = 5


class LockedError(OpenbriefError):
    exit_code = 6


class WriteError(OpenbriefError):
    exit_code = 7


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM (what a scheduler sends at its timeout), raised by ``cli.main``'s handler.

    A ``KeyboardInterrupt``, so that it unwinds like Ctrl-C: every ``finally`` runs, the kernel
    is shut down and temporary folders are cleaned up. The exit code is 128 + the signal's number.
    """

    def __init__(self, signum: int):
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(signal.Signals(signum).name)
