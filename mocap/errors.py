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


def shape_error(name: str, expected: str, got: tuple[int, ...]) -> ValueError:
    """The one template for shape checks: "`xy` must have shape (N, 33, 2), got (4, 17, 2)"."""
    return ValueError(f"`{name}` must have shape {expected}, got {tuple(got)}")
