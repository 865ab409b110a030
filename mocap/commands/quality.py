"""Quality warnings on the terminal: one stderr line per warning, and ``--strict``.

Every command that converts (``convert``, ``demo``, ``batch``, ``track``) prints its
warnings through here, so a warning reads the same wherever it comes from::

    mocap: warning: truncated: the video is truncated or corrupt: ...
    mocap: warning: person 1: floating: the lowest joint is more than 0.25 m above ...
    mocap: warning: clip0: person 2: short_track: seen in only 20 frames (0.7 s)   (batch)

A warning is its JSON form, ``{"person": id or None (the video), "code", "message",
"frames"}`` (:meth:`mocap.app.convert.ConvertResult.warning_records`, batch.json's
``warnings``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable


def warning_line(record: dict, where: str | None = None) -> str:
    """``mocap: warning: [WHERE: ][person N: ]CODE: MESSAGE`` for one warning."""
    place = f"{where}: " if where else ""
    who = f"person {record['person']}: " if record.get("person") is not None else ""
    return f"mocap: warning: {place}{who}{record['code']}: {record['message']}"


def print_warnings(records: Iterable[dict], where: str | None = None) -> int:
    """Print each warning once on stderr; returns how many were printed."""
    sys.stdout.flush()  # after what the command printed so far, also in a piped log
    n = 0
    for record in records:
        print(warning_line(record, where), file=sys.stderr)
        n += 1
    return n


def count(n: int | None, one: str, many: str | None = None) -> str:
    """``1 warning``, ``2 people``; ``- frames`` for an unknown count."""
    if n is None:
        return f"- {many or one + 's'}"
    return f"{n} {one if n == 1 else many or one + 's'}"


def strict_status(warnings: int, strict: bool, detail: str = "") -> int:
    """The exit status ``--strict`` asks for: 1 (and one ``mocap: error:`` line) when there
    are warnings, else 0."""
    if strict and warnings:
        print(f"mocap: error: {count(warnings, 'warning')}{detail} (--strict)",
              file=sys.stderr)
        return 1
    return 0
