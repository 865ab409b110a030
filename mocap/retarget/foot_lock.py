"""Feet planted while in contact: foot locking of an animation (a BVH clip retargeted onto
a rig); video locks its feet in point space before the one solve (:mod:`mocap.motion.contacts`)."""

from __future__ import annotations

import numpy as np

from mocap.motion.contacts import FOOT_POINTS, foot_contacts
from mocap.motion.contacts import lock_feet as lock_points
from mocap.retarget.solver import point_keys, retarget
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import Rig


def ancestors(rig: Rig, k: int) -> set[int]:
    out = set()
    while k >= 0:
        k = int(rig.parents[k])
        out.add(k)
    return out


def lock_feet(anim: Animation, height_tol: float = 0.05, speed_tol: float = 0.5) -> Animation:
    """Remove foot sliding: feet in contact (height + speed, see
    :func:`mocap.motion.contacts.foot_contacts`) are pinned where they stand, knees re-placed by
    two-bone IK (leg lengths kept), and the rig re-solved from the corrected points.

    Args:
        anim: an animation whose rig has ankle roles (others are returned unchanged).
        height_tol: metres above the foot's lowest height that still counts as contact.
        speed_tol: m/s below which a low foot counts as planted.
    """

    pts = anim.points()
    if "left_ankle" not in pts and "right_ankle" not in pts:
        return anim
    contacts = foot_contacts(pts, anim.fps, height_tol, speed_tol)
    rig = anim.rig
    keys = point_keys(rig)
    feet = {}
    for side, names in FOOT_POINTS.items():
        a = rig.role_index(names[0])
        if a is None:
            continue
        # everything below the ankle moves with it (toe joints, their End Sites)
        sub = [k for k in range(len(rig)) if k != a and a in ancestors(rig, k)]
        extra = [keys[k] for k in sub] + [
            rig.end_roles[k] or f"{rig.joints[k]}/end" for k in [a, *sub]
            if not np.isnan(rig.end_sites[k, 0])]
        feet[side] = tuple(dict.fromkeys([*names, *extra]))
    locked = lock_points(pts, contacts, feet=feet)
    out = retarget(locked, anim.rig, anim.fps, "rig", scale=1.0)
    return out
