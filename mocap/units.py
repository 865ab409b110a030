"""The one unit table: metres per unit of every length unit mocap reads or writes.

Everything inside mocap is metres; a unit only matters at a file boundary (BVH and rig
files in, BVH/FBX/GLB out). Reading multiplies by :data:`METRES_PER_UNIT`, writing divides.
"""

from __future__ import annotations

import numpy as np

from mocap.errors import InputError

#: Metres per unit. ``cmu``: the CMU mocap database's ASF unit (inch / 0.45).
METRES_PER_UNIT: dict[str, float] = {
    "m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "cmu": 0.0254 / 0.45,
}
#: Units mocap writes BVH files in (``--units``).
OUTPUT_UNITS: tuple[str, ...] = ("m", "cm")


def metres_per(unit: str, allowed: tuple[str, ...] | None = None) -> float:
    """Metres per ``unit``.

    Args:
        unit: a key of :data:`METRES_PER_UNIT`.
        allowed: the units valid in this place (default: all).

    Raises:
        InputError: an unknown unit (the message lists the valid ones).
    """
    valid = tuple(METRES_PER_UNIT) if allowed is None else allowed
    if unit not in valid:
        raise InputError(f"unknown unit {unit!r}; choose from {', '.join(valid)}")
    return METRES_PER_UNIT[unit]


def detect_unit(height: float) -> str:
    """The unit (key of :data:`METRES_PER_UNIT`) that makes a rest ``height`` most
    human-sized. Body height in metres is assumed near 1.7 m (children and tall adults
    still resolve)."""
    if not height > 0:
        return "m"
    return min(METRES_PER_UNIT, key=lambda u: abs(np.log(height * METRES_PER_UNIT[u] / 1.7)))
