"""The small exception family every stage raises for user-facing problems.

The CLI turns a :class:`MocapError` into one line on stderr and a non-zero exit; anything
else is a bug and keeps its traceback (shown with ``--debug``).
"""

from __future__ import annotations


class MocapError(Exception):
    """A problem the user can act on (bad input, missing model, unwritable output)."""

    exit_code = 2


class InputError(MocapError, ValueError):
    """An input file or value is missing, unreadable or malformed."""


class ModelUnavailableError(MocapError):
    """Model files are not cached and cannot be obtained (e.g. offline)."""

    exit_code = 3


class OutputError(MocapError):
    """An output location cannot be written."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, SIGTERM or SIGHUP, raised by the CLI's own signal handler.

    A subclass, so every ``except KeyboardInterrupt`` still sees it, but not the exact
    class: CPython 3.11 remembers an exact KeyboardInterrupt that once passed through a
    nested code run (``PyRun_*`` inside an extension) and then ends the process by SIGINT
    at exit even though the CLI caught it and asked for exit code 130."""


def shape_error(name: str, expected: str, got: tuple[int, ...]) -> ValueError:
    """The one template for shape checks: "`xy` must have shape (N, 33, 2), got (4, 17, 2)"."""
    return ValueError(f"`{name}` must have shape {expected}, got {tuple(got)}")
