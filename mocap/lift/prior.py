"""Priors on one person's 3D landmarks over a whole take: constant bone lengths, and knees
that never bend backwards.

Pure numpy, applied after :func:`mocap.lift.stage.lift_track` (or to BlazePose's own world
landmarks): (T, 33, 3) root-relative metres in, the same shape out. The landmarks are in any
right-handed axes (camera axes x right, y down, z away; or world axes, Y up): every test
here is a cross or dot product, unchanged by a rotation.

Bones form a tree from the hips' midpoint outward (pelvis, trunk, shoulders, upper arms,
forearms, thighs, shins); each bone's length is set to its median over the take by moving
its child along the bone, and everything below the child (the next bones, the hand, the
foot, the face) moves with it, so no joint angle changes. A knee is bent backwards when it
lies behind the hip-ankle line, "behind" taken against the foot's forward direction (heel to
toe tip); such a knee is mirrored to the front of that line, which keeps both leg bones'
lengths and the hip, ankle and foot where they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError
from mocap.types import NUM_LANDMARKS

#: Hips (left, right): their midpoint is the root.
HIPS = (23, 24)
#: Shoulders (left, right).
SHOULDERS = (11, 12)
#: Limb bones (parent, child, landmarks carried with the child), from the trunk outward.
LIMB_BONES = (
    (11, 13, ()), (13, 15, (17, 19, 21)),  # left arm; the hand with the wrist
    (12, 14, ()), (14, 16, (18, 20, 22)),
    (23, 25, ()), (25, 27, (29, 31)),  # left leg; heel and toe tip with the ankle
    (24, 26, ()), (26, 28, (30, 32)),
)
#: Legs: (hip, knee, ankle, heel, toe tip).
LEGS = ((23, 25, 27, 29, 31), (24, 26, 28, 30, 32))
#: Face landmarks: carried with the shoulders' midpoint.
FACE = tuple(range(11))
#: A knee counts as bent backwards when it lies more than this behind its hip-ankle line,
#: metres (about 3 deg on an adult's leg: a straight knee's own jitter is not flipped, and a
#: knee's natural few degrees of hyperextension are kept).
KNEE_SLACK_M = 0.01
# Everything below each limb bone's child (its own later bones and carried landmarks).
_BELOW = {13: (15, 17, 19, 21), 14: (16, 18, 20, 22), 25: (27, 29, 31), 26: (28, 30, 32)}


@dataclass(frozen=True)
class Fixes:
    """What :func:`constrain` changed, for a report.

    Attributes:
        lengths: (8,) metres, the limb bones' lengths used, in :data:`LIMB_BONES` order.
        pelvis: the hip-to-hip width used, metres.
        trunk: the hips' midpoint to the shoulders' midpoint, metres.
        shoulders: the shoulder-to-shoulder width used, metres.
        legs: (2,) the factor each leg's thigh and shin were shortened by to reach
            straight (left, right; 1: not shortened).
        knees_flipped: (T, 2) bool, a knee (left, right) mirrored to the front.
    """

    lengths: np.ndarray
    pelvis: float
    trunk: float
    shoulders: float
    legs: np.ndarray
    knees_flipped: np.ndarray


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 1e-9, v / n, 0.0)


def _median_length(a: np.ndarray, b: np.ndarray) -> float:
    d = np.linalg.norm(a - b, axis=-1)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else np.nan


def knee_flexion(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each knee's angle and whether it is bent backwards.

    Args:
        points: (T, 33, 3) metres, any right-handed axes.

    Returns:
        ``(angle (T, 2) degrees, backwards (T, 2) bool)`` for the left and right knee:
        ``angle`` is the hip-knee-ankle angle (180 = straight); ``backwards`` is True where
        the knee lies more than :data:`KNEE_SLACK_M` behind the hip-ankle line against the
        foot's forward direction (heel to toe tip, square to that line); False where
        anything is missing.
    """
    pts = np.asarray(points, np.float64)
    angle = np.full((len(pts), 2), np.nan)
    back = np.zeros((len(pts), 2), bool)
    for s, (h, k, a, heel, toe) in enumerate(LEGS):
        offset, forward = _knee_offset(pts, h, k, a, heel, toe)
        u = _unit(pts[:, h] - pts[:, k])
        v = _unit(pts[:, a] - pts[:, k])
        with np.errstate(invalid="ignore"):
            angle[:, s] = np.degrees(np.arccos(np.clip((u * v).sum(-1), -1.0, 1.0)))
            back[:, s] = (offset * forward).sum(-1) < -KNEE_SLACK_M
    return angle, back


def _knee_offset(pts: np.ndarray, h: int, k: int, a: int, heel: int, toe: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The knee's offset from the hip-ankle line (T, 3) and the foot's forward direction
    square to that line (T, 3) unit (zero where undefined)."""
    axis = _unit(pts[:, a] - pts[:, h])
    rel = pts[:, k] - pts[:, h]
    offset = rel - (rel * axis).sum(-1, keepdims=True) * axis
    foot = pts[:, toe] - pts[:, heel]
    forward = _unit(foot - (foot * axis).sum(-1, keepdims=True) * axis)
    return np.nan_to_num(offset), np.nan_to_num(forward)


def constrain(points: np.ndarray, *, bones: bool = True, knees: bool = True,
              symmetric: bool = True, reach: bool = True, details: bool = False
              ) -> np.ndarray | tuple[np.ndarray, Fixes]:
    """One person's landmarks with constant bone lengths and knees bent the right way.

    Args:
        points: (T, 33, 3) metres, root-relative (the hips' midpoint at the origin), any
            right-handed axes; NaN rows or landmarks where unknown (kept NaN).
        bones: set each bone's length to its median over the take (pelvis width, the
            hips' midpoint to the shoulders' midpoint, shoulder width, upper arms,
            forearms, thighs, shins), moving the child along the bone with everything
            below it; face landmarks move with the shoulders' midpoint.
        knees: mirror a knee that lies behind its hip-ankle line (more than
            :data:`KNEE_SLACK_M`, against the foot's direction) to the front of that line
            (bone lengths kept).
        symmetric: left and right bones get one length (the mean of both sides'
            medians), and both legs one shortening (``reach``).
        reach: with ``bones``, shorten thigh and shin together (at most by
            :data:`MAX_LEG_SHRINK`) so that the leg at its longest in the take (the 95th
            percentile of the hip-ankle distance) is straight, the knees then placed on
            their own bend plane with hip and ankle kept: a person who stands or walks
            straightens the knees at times, which a monocular depth error hides.
        details: also return what was changed.

    Returns:
        (T, 33, 3) float64 metres, the hips' midpoint where it was; with ``details``,
        ``(points, Fixes)``.

    Raises:
        InputError: ``points`` is not (T, 33, 3).
    """
    pts = np.asarray(points, np.float64)
    if pts.ndim != 3 or pts.shape[1:] != (NUM_LANDMARKS, 3):
        raise InputError(f"`points` must have shape (T, 33, 3), got {pts.shape}")
    out = pts.copy()
    root = out[:, HIPS].mean(1)
    lengths = np.full(len(LIMB_BONES), np.nan)
    shrink = np.ones(2)
    pelvis = trunk = width = np.nan
    if bones and len(out):
        pelvis = _median_length(out[:, HIPS[0]], out[:, HIPS[1]])
        width = _median_length(out[:, SHOULDERS[0]], out[:, SHOULDERS[1]])
        trunk = _median_length(out[:, SHOULDERS].mean(1), root)
        # pelvis and shoulders: each pair about its own midpoint, so the root stays put
        half = 0.5 * pelvis * _unit(out[:, HIPS[0]] - out[:, HIPS[1]])
        _move(out, HIPS[0], root + half, (25, 27, 29, 31))
        _move(out, HIPS[1], root - half, (26, 28, 30, 32))
        mid = out[:, SHOULDERS].mean(1)
        new_mid = root + trunk * _unit(mid - root)
        shift = np.where(np.isfinite(new_mid), new_mid - mid, 0.0)
        below_l, below_r = (11, 13, *_BELOW[13]), (12, 14, *_BELOW[14])
        out[:, (*FACE, *below_l, *below_r)] += shift[:, None]
        half = 0.5 * width * _unit(out[:, SHOULDERS[0]] - out[:, SHOULDERS[1]])
        _move(out, SHOULDERS[0], new_mid + half, (13, *_BELOW[13]))
        _move(out, SHOULDERS[1], new_mid - half, (14, *_BELOW[14]))
        for i, (par, child, _) in enumerate(LIMB_BONES):
            lengths[i] = _median_length(out[:, par], out[:, child])
        if symmetric:
            # bones listed left, left, right, right per limb pair
            for i in (0, 1, 4, 5):
                pair = lengths[[i, i + 2]]
                if np.isfinite(pair).any():
                    lengths[i] = lengths[i + 2] = float(pair[np.isfinite(pair)].mean())
        for i, (par, child, carried) in enumerate(LIMB_BONES):
            if not np.isfinite(lengths[i]):
                continue
            target = out[:, par] + lengths[i] * _unit(out[:, child] - out[:, par])
            _move(out, child, target, _BELOW.get(child, carried))
        if reach:
            shrink = _reach(out, lengths, symmetric)
    flipped = np.zeros((len(out), 2), bool)
    if knees and len(out):
        for s, (h, k, a, heel, toe) in enumerate(LEGS):
            offset, forward = _knee_offset(out, h, k, a, heel, toe)
            ahead = (offset * forward).sum(-1)
            flipped[:, s] = ahead < -KNEE_SLACK_M
            # mirror the knee's forward component: its distance from the line and along
            # it stay, so thigh and shin keep their lengths
            out[:, k] -= np.where(flipped[:, s, None], 2 * ahead[:, None] * forward, 0.0)
    if details:
        return out, Fixes(lengths, pelvis, trunk, width, shrink, flipped)
    return out


def _move(out: np.ndarray, joint: int, target: np.ndarray, carried) -> None:
    """Move ``joint`` to ``target`` (T, 3) in place, and ``carried`` landmarks by the same
    step; frames where the target is not finite are left alone."""
    step = target - out[:, joint]
    step = np.where(np.isfinite(step).all(-1, keepdims=True), step, 0.0)
    out[:, joint] += step
    if carried:
        out[:, list(carried)] += step[:, None]


#: A leg's hip-ankle distance at its longest in a take (95th percentile) is taken as this
#: share of thigh + shin (1: the knee straight then)...
REACH_SHARE = 1.0
#: ... unless that would shorten the leg by more than this share (a take seated throughout).
MAX_LEG_SHRINK = 0.15


def _reach(out: np.ndarray, lengths: np.ndarray, symmetric: bool) -> np.ndarray:
    """Shorten thigh and shin together so that the leg's longest hip-ankle distance in the
    take is a straight knee, then put each knee back on its bend plane (two-bone IK, hip
    and ankle kept; an ankle out of reach pulled in with its foot). In place; returns the
    (2,) factors (left, right leg)."""
    factors = np.ones(2)
    for s, (h, _, a, _, _) in enumerate(LEGS):
        span = np.linalg.norm(out[:, a] - out[:, h], axis=-1)
        legs = lengths[4 + 2 * s] + lengths[5 + 2 * s]
        if np.isfinite(span).any() and np.isfinite(legs):
            longest = np.percentile(span[np.isfinite(span)], 95) / REACH_SHARE
            factors[s] = np.clip(longest / legs, 1 - MAX_LEG_SHRINK, 1.0)
    if symmetric:
        factors[:] = factors.mean()
    for s, (h, k, a, heel, toe) in enumerate(LEGS):
        thigh, shin = factors[s] * lengths[4 + 2 * s], factors[s] * lengths[5 + 2 * s]
        if not np.isfinite(thigh + shin):
            continue
        axis = _unit(out[:, a] - out[:, h])
        dist = np.minimum(np.linalg.norm(out[:, a] - out[:, h], axis=-1), thigh + shin)
        _move(out, a, out[:, h] + dist[:, None] * axis, (heel, toe))
        offset, forward = _knee_offset(out, h, k, a, heel, toe)
        # a knee exactly on the line bends towards the foot's front
        bend = np.where((np.linalg.norm(offset, axis=-1) > 1e-6)[:, None], _unit(offset),
                        forward)
        with np.errstate(invalid="ignore", divide="ignore"):
            along = (thigh**2 - shin**2 + dist**2) / (2 * dist)
        perp = np.sqrt(np.maximum(thigh**2 - along**2, 0.0))
        _move(out, k, out[:, h] + along[:, None] * axis + perp[:, None] * bend, ())
    return factors
