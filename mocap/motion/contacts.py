"""Foot contacts, foot locking on point tracks, and the foot-skate metric.

Points are named tracks ``{name: (T, 3)}`` metres, Y up. Foot contacts are detected from
height above the ground and speed (:func:`foot_contacts`); :func:`lock_feet` pins a foot in
contact where it landed and re-solves the knee so leg lengths hold; :func:`foot_skate` is
the metric: mean horizontal speed of feet in contact.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from mocap.geometry.series import moving_average, segments
from mocap.types import PointTracks

# Foot-contact thresholds for locking feet in motion from video: looser than for optical
# mocap (5 cm, 0.5 m/s), since a planted foot reconstructed from one camera still drifts
# with depth noise (on the demo video a walker's planted foot moves at ~0.5 m/s, and the
# stricter thresholds find 1-7 % contacts instead of tens of percent).
VIDEO_CONTACT_HEIGHT_M = 0.08
VIDEO_CONTACT_SPEED_M_S = 1.0
#: Joints may sink this far below the ground (metres) before the body is lifted.
FLOOR_TOLERANCE_M = 0.03

#: Points of each foot: the first is the one contacts are detected on (and the foot moved
#: with it when locked).
FOOT_POINTS = {
    "left": ("left_ankle", "left_heel", "left_toe", "left_toe_end"),
    "right": ("right_ankle", "right_heel", "right_toe", "right_toe_end"),
}


def foot_contacts(points: Mapping[str, np.ndarray], fps: float, height_tol: float = 0.05,
                  speed_tol: float = 0.5, ground: float | None = None,
                  ) -> dict[str, np.ndarray]:
    """Detect foot contacts from height and speed.

    A foot point is in contact when it is within ``height_tol`` of its lowest height in the
    clip (``ground`` instead, if given, plus the point's own rest clearance) and moves
    slower than ``speed_tol``. A foot is in contact when its ankle or toe is.

    Args:
        points: named tracks (T, 3) metres, Y up; uses ``{left,right}_{ankle,toe}``.
        fps: frames per second.
        height_tol: metres.
        speed_tol: metres per second (3D speed, central differences of the track averaged
            over 0.1 s, so jitter is not mistaken for motion).
        ground: ground height (y), or None for each point's 2nd-percentile height.

    Returns:
        ``{point name: (T,) bool}`` for each foot point present, plus ``"left"``/``"right"``
        for whole feet.
    """
    out: dict[str, np.ndarray] = {}
    for side, names in FOOT_POINTS.items():
        feet = []
        for name in names:
            if name not in points or name.endswith("_end") or name.endswith("_heel"):
                continue
            p = np.asarray(points[name], np.float64)
            if len(p) < 2:
                c = np.zeros(len(p), bool)
            else:
                floor = np.nanpercentile(p[:, 1], 2)
                if ground is not None:  # never below the ground, whatever the noise
                    floor = max(floor, ground)
                speed = np.linalg.norm(np.gradient(moving_average(p, fps * 0.05), axis=0),
                                       axis=1) * fps
                c = (p[:, 1] <= floor + height_tol) & (speed <= speed_tol)
            out[name] = c
            feet.append(c)
        if feet:
            out[side] = np.logical_or.reduce(feet)
    return out


def foot_skate(points: Mapping[str, np.ndarray], fps: float,
               contacts: dict[str, np.ndarray] | None = None) -> float | None:
    """Mean horizontal speed (m/s) of foot points while they are in contact.

    Args:
        points: named tracks (T, 3) metres, Y up.
        fps: frames per second.
        contacts: from :func:`foot_contacts` (computed from ``points`` when None).

    Returns:
        The metric, m/s, over the frames in contact only; None when no foot point is in
        contact in any frame (nothing to measure: not 0).
    """
    if contacts is None:
        contacts = foot_contacts(points, fps)
    speeds = []
    for name, c in contacts.items():
        if name not in points or len(c) < 2:
            continue
        p = np.asarray(points[name], np.float64)
        v = np.gradient(p[:, [0, 2]], axis=0) * fps
        speeds.append(np.linalg.norm(v, axis=1)[c])
    s = np.concatenate(speeds) if speeds else np.zeros(0)
    return float(s.mean()) if s.size else None


def _pin(track: np.ndarray, mask: np.ndarray, blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal shift (T, 3) that holds ``track`` at its median position over each
    contact segment of ``mask``, and its weight (T,) fading over ``blend`` frames."""
    t = len(track)
    delta = np.zeros((t, 3))
    weight = np.zeros(t)
    for s, e in segments(np.asarray(mask, bool)):
        target = np.median(track[s:e][:, [0, 2]], axis=0)
        lo, hi = max(0, s - blend), min(t, e + blend)
        idx = np.arange(lo, hi)
        w = np.clip(np.minimum(idx - (s - blend), (e - 1 + blend) - idx) / max(blend, 1), 0, 1)
        w[(idx >= s) & (idx < e)] = 1.0
        upd = w > weight[idx]
        weight[idx[upd]] = w[upd]
        delta[idx[upd], 0] = target[0] - track[idx[upd], 0]
        delta[idx[upd], 2] = target[1] - track[idx[upd], 2]
    return delta, weight


def lock_feet(points: Mapping[str, np.ndarray], contacts: dict[str, np.ndarray],
              blend: int = 4, feet: dict[str, tuple[str, ...]] | None = None,
              ) -> dict[str, np.ndarray]:
    """Pin each foot horizontally while in contact, then re-solve the knee.

    The whole foot (ankle, heel, toe, toe end, and any ``feet`` extras) is shifted
    horizontally, rigidly: while the ankle is in contact, so that the ankle stays at its
    median position over that contact; while only the toe is (heel off, pushing off), so
    that the toe stays put instead. Shifts fade in and out over ``blend`` frames. The knee
    is then placed by two-bone IK so thigh and shin keep their per-frame lengths, in the
    original bending plane.

    Args:
        points: named tracks (T, 3) metres, Y up.
        contacts: from :func:`foot_contacts`: per point (``"left_ankle"``, ``"left_toe"``)
            and/or whole feet (``"left"``, used for the ankle when it has no mask).
        blend: frames of fade at each end of a contact.
        feet: per side, the points that move with the foot: ankle, heel, toe first (default
            :data:`FOOT_POINTS`; a rig adds its toe joints and End Sites).

    Returns:
        The adjusted tracks (:class:`~mocap.types.PointTracks`).
    """
    out = {k: np.array(v, np.float64) for k, v in points.items()}
    for side, names in (feet or FOOT_POINTS).items():
        ankle, toe = names[0], names[2]
        ankle_mask = contacts.get(ankle, contacts.get(side))
        if ankle_mask is None or ankle not in out:
            continue
        d_a, w_a = _pin(out[ankle], ankle_mask, blend)
        delta = d_a * w_a[:, None]
        if toe in out and toe in contacts:
            d_t, w_t = _pin(out[toe], contacts[toe] & ~np.asarray(ankle_mask, bool), blend)
            delta += ((1 - w_a) * w_t)[:, None] * d_t
        hip, knee = f"{side}_hip", f"{side}_knee"
        for n in names:
            if n in out:
                out[n] = out[n] + delta
        if hip in out and knee in out:
            out[knee] = _two_bone_knee(points[hip], points[knee], points[ankle], out[hip],
                                       out[ankle])
    return PointTracks.from_dict(out)


def _two_bone_knee(hip0, knee0, ankle0, hip, ankle) -> np.ndarray:
    """Knee position keeping thigh/shin lengths of (hip0, knee0, ankle0) for a new ankle."""
    l1 = np.linalg.norm(knee0 - hip0, axis=-1)
    l2 = np.linalg.norm(ankle0 - knee0, axis=-1)
    d_vec = ankle - hip
    d = np.clip(np.linalg.norm(d_vec, axis=-1), 1e-6, (l1 + l2) * 0.9999)
    u = d_vec / np.maximum(np.linalg.norm(d_vec, axis=-1, keepdims=True), 1e-9)
    # distance along hip->ankle to the knee's foot point, and height off that line
    x = (d ** 2 + l1 ** 2 - l2 ** 2) / (2 * d)
    h = np.sqrt(np.clip(l1 ** 2 - x ** 2, 0, None))
    # bending direction: the original knee's offset from the original hip-ankle line
    ref = knee0 - hip0
    u0 = ankle0 - hip0
    u0 = u0 / np.maximum(np.linalg.norm(u0, axis=-1, keepdims=True), 1e-9)
    perp = ref - np.sum(ref * u0, -1, keepdims=True) * u0
    perp = perp - np.sum(perp * u, -1, keepdims=True) * u
    pn = np.linalg.norm(perp, axis=-1, keepdims=True)
    fallback = np.broadcast_to([0.0, 0.0, 1.0], perp.shape)  # straight leg: knee forward
    perp = np.where(pn > 1e-6, perp / np.maximum(pn, 1e-9), fallback)
    return hip + u * x[..., None] + perp * h[..., None]
