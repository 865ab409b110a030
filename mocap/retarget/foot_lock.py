"""Feet planted while in contact: foot locking of an animation, by two-bone IK on its legs.

Contacts are found on the animation's own points (height + speed,
:func:`mocap.motion.contacts.foot_contacts`); each foot in contact is pinned where it
stands (:func:`mocap.motion.contacts.lock_feet` moves the whole foot rigidly and re-places
the knee keeping thigh and shin lengths), and the leg's rotations are then turned to reach
those points: the thigh swings onto the new knee, the shin onto the new ankle, and the foot
keeps its orientation in the world, so everything below the ankle follows exactly. No
second retarget solve is needed (rigs whose knee or ankle is not the direct child of the
hip or knee, e.g. with twist joints between, are re-solved from the corrected points).
"""

from __future__ import annotations

import numpy as np

from mocap.geometry.rotations import matrices_to_quats, swing
from mocap.motion.contacts import FLOOR_TOLERANCE_M, FOOT_POINTS, foot_contacts
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


def foot_point_names(rig: Rig) -> dict[str, tuple[str, ...]]:
    """Per side, the points that move with the foot: ankle, heel, toe, toe end, then every
    joint below the ankle and their End Sites."""
    keys = point_keys(rig)
    feet = {}
    for side, names in FOOT_POINTS.items():
        a = rig.role_index(names[0])
        if a is None:
            continue
        sub = [k for k in range(len(rig)) if k != a and a in ancestors(rig, k)]
        extra = [keys[k] for k in sub] + [
            rig.end_roles[k] or f"{rig.joints[k]}/end" for k in [a, *sub]
            if not np.isnan(rig.end_sites[k, 0])]
        feet[side] = tuple(dict.fromkeys([*names, *extra]))
    return feet


def _legs(rig: Rig) -> list[tuple[int, int, int]] | None:
    """(hip, knee, ankle) joint indices per side, or None unless each is the direct child
    of the one before (the case the IK handles)."""
    legs = []
    for side in ("left", "right"):
        idx = [rig.role_index(f"{side}_{j}") for j in ("hip", "knee", "ankle")]
        if None in idx:
            continue
        hip, knee, ankle = idx
        if rig.parents[knee] != hip or rig.parents[ankle] != knee:
            return None
        legs.append((hip, knee, ankle))
    return legs


def lock_feet(anim: Animation, height_tol: float = 0.05, speed_tol: float = 0.5) -> Animation:
    """Remove foot sliding (see the module docstring).

    Args:
        anim: an animation whose rig has ankle roles (others are returned unchanged).
        height_tol: metres above the foot's lowest height that still counts as contact.
        speed_tol: m/s below which a low foot counts as planted.

    Returns:
        The animation with planted feet (same rig, root path and upper body).
    """
    pts = anim.points()
    if "left_ankle" not in pts and "right_ankle" not in pts:
        return anim
    contacts = foot_contacts(pts, anim.fps, height_tol, speed_tol)
    rig = anim.rig
    locked = lock_points(pts, contacts, feet=foot_point_names(rig))
    legs = _legs(rig)
    if legs is None:  # twist joints in the legs: re-solve from the corrected points
        return retarget(locked, rig, anim.fps, "rig", scale=1.0)
    g, pos = anim.global_transforms()
    keys = point_keys(rig)
    g = g.copy()
    for hip, knee, ankle in legs:
        new_knee, new_ankle = locked[keys[knee]], locked[keys[ankle]]
        moved = np.linalg.norm(new_ankle - pos[:, ankle], axis=-1) > 1e-9
        if not moved.any():
            continue
        f = np.flatnonzero(moved)
        turn_thigh = swing(pos[f, knee] - pos[f, hip], new_knee[f] - pos[f, hip])
        g_knee = turn_thigh @ g[f, knee]
        shin = g_knee @ rig.offsets[ankle]  # the shin after the thigh turned
        turn_shin = swing(shin, new_ankle[f] - new_knee[f])
        g[f, hip] = turn_thigh @ g[f, hip]
        g[f, knee] = turn_shin @ g_knee
        # g[f, ankle] unchanged: the foot keeps its orientation, so its children follow
    local = g.copy()
    for k in range(1, len(rig)):
        p = int(rig.parents[k])
        local[:, k] = np.swapaxes(g[:, p], -1, -2) @ g[:, k]
    return Animation(rig, anim.root_translation, matrices_to_quats(local), anim.fps)


def body_joints(rig) -> np.ndarray:
    """(J,) bool: the body's joints, the hips and everything below them (a game rig's
    floor-level root bone and its IK targets follow the hips at their rest offset and
    dip below the floor whenever the hips are lower than at rest: they are no body)."""
    hips = rig.role_index("hips")
    if hips is None:
        return np.ones(len(rig), bool)
    body = np.zeros(len(rig), bool)
    body[hips] = True
    for j in range(hips + 1, len(rig)):  # parents come first
        body[j] = body[int(rig.parents[j])]
    return body


def keep_above_floor(anim: Animation, tolerance: float = FLOOR_TOLERANCE_M,
                     end_sites: bool = False) -> Animation:
    """Lift the root in frames where a body joint (:func:`body_joints`; with
    ``end_sites``, also a toe tip or head top) is more than ``tolerance`` metres below the
    ground (y < 0) until it is at ``-tolerance``; other frames are left as they are. Depth
    errors of a monocular camera otherwise sink a crouching or landing body into the floor.
    """
    body = body_joints(anim.rig)
    if end_sites:
        pos, ends = anim.joints_and_ends()
        pos = np.concatenate([pos[:, body], ends[:, body & np.isfinite(
            anim.rig.end_sites[:, 0])]], axis=1)
    else:
        pos = anim.positions()[:, body]
    lowest = pos[..., 1].min(axis=1)
    lift = np.where(lowest < -tolerance, -tolerance - lowest, 0.0)
    if not lift.any():
        return anim
    root = anim.root_translation.copy()
    root[:, 1] += lift
    return Animation(anim.rig, root, anim.rotations, anim.fps)


def settle_on_floor(anim: Animation, height_tol: float = 0.05, speed_tol: float = 0.5,
                    min_frames: int = 5) -> tuple[Animation, float]:
    """Shift the whole animation vertically so that, over the frames a foot is planted, the
    lowest point of the feet (joints and End Sites: toes, heels, toe tips) is on the ground
    (median 0). The ground plane is fitted to landmarks, which sit at the joints; a rig's
    toe tips and soles reach lower, by a few centimetres, so without this they stand in the
    floor. Fewer than ``min_frames`` planted frames: unchanged.

    Returns:
        ``(animation, lift)``: the settled animation and how far it was raised, metres (the
        caller moves the camera and the placed landmarks by as much, so that nothing
        changes in the image).
    """
    pts = anim.points()
    contacts = foot_contacts(pts, anim.fps, height_tol, speed_tol)
    planted = np.zeros(len(anim), bool)
    for side in ("left", "right"):
        planted |= contacts.get(side, np.zeros(len(anim), bool))
    names = [n for side in foot_point_names(anim.rig).values() for n in side if n in pts]
    if planted.sum() < min_frames or not names:
        return anim, 0.0
    lowest = np.min([pts[n][:, 1] for n in names], axis=0)
    offset = float(np.median(lowest[planted]))
    if not np.isfinite(offset) or abs(offset) < 1e-4:
        return anim, 0.0
    root = anim.root_translation.copy()
    root[:, 1] -= offset
    return Animation(anim.rig, root, anim.rotations, anim.fps), -offset
