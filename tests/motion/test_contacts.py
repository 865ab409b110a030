"""Foot contacts and the foot-skate metric."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.motion.contacts import foot_contacts, foot_skate

FPS = 30.0


def _feet(height: np.ndarray, speed: float) -> dict[str, np.ndarray]:
    """Both feet's ankle and toe at ``height`` (T,) m, sliding along x at ``speed`` m/s."""
    t = len(height)
    x = speed * np.arange(t) / FPS
    p = np.column_stack([x, height, np.zeros(t)])
    lift = {"ankle": np.array([0.0, 0.05, 0.0]), "toe": np.array([0.0, 0.0, 0.1])}
    return {f"{side}_{k}": p + lift[k] for side in ("left", "right") for k in ("ankle", "toe")}


def test_foot_skate_is_measured_over_the_frames_in_contact_only():
    height = np.where(np.arange(60) < 30, 0.0, 0.5)  # on the ground, then up in the air
    pts = _feet(height, 0.2)
    contacts = foot_contacts(pts, FPS)
    assert contacts["left"][:25].all() and not contacts["left"][32:].any()
    assert foot_skate(pts, FPS, contacts) == pytest.approx(0.2, abs=1e-6)
    # moving fast while in the air does not count
    pts_air = {k: v.copy() for k, v in pts.items()}
    for v in pts_air.values():
        v[30:, 0] += np.linspace(0, 3, 30)
    assert foot_skate(pts_air, FPS, contacts) == pytest.approx(0.2, abs=1e-6)


def test_no_contact_is_none_not_zero():
    pts = _feet(np.full(60, 0.3), 3.0)  # a runner's feet: never slow
    contacts = foot_contacts(pts, FPS)
    assert not any(c.any() for c in contacts.values())
    assert foot_skate(pts, FPS, contacts) is None
    assert foot_skate(pts, FPS) is None
    assert foot_skate({}, FPS) is None
