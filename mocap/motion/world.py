"""From landmarks to world motion: root path, ground plane, foot contacts and foot locking.

Video landmarks (BlazePose) come as *world* landmarks, hip-centred metres (x right, y down,
z away from the camera), plus *image* landmarks in pixels. :func:`world_motion` places the
person in the camera frame by solving each frame's root translation so that the world
landmarks, shifted by it, reproject onto the image landmarks through a pinhole camera
(least squares, closed form per frame, vectorised), then estimates the ground plane from the
feet and expresses everything Y up, ground at y = 0, metres. :func:`landmark_points` turns
that into the named body points the retargeter takes (see :data:`mocap.skeleton.rig.DEFAULT_LANDMARKS`).

Foot contacts are detected from height above the ground and speed (:func:`foot_contacts`);
:func:`lock_feet` pins a foot in contact where it landed and re-solves the knee so leg
lengths hold; :func:`foot_skate` is the metric: mean horizontal speed of feet in contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mocap.errors import InputError, shape_error
from mocap.types import LANDMARK_NAMES as _LANDMARK_NAMES

if TYPE_CHECKING:
    from mocap.retarget.solver import Animation
    from mocap.skeleton.rig import Rig

#: Default horizontal field of view of the camera, degrees: a typical phone/action camera
#: main lens in landscape (~26 mm equivalent). ``--fov`` overrides it.
DEFAULT_FOV_DEG = 60.0
# camera axes (x right, y down, z forward) -> Y up, Z towards the viewer
_FLIP = np.array([1.0, -1.0, -1.0])
# Foot-contact thresholds for locking feet in motion from video: looser than for optical
# mocap (5 cm, 0.5 m/s), since a planted foot reconstructed from one camera still drifts
# with depth noise (on the demo video a walker's planted foot moves at ~0.5 m/s, and the
# stricter thresholds find 1-7 % contacts instead of tens of percent).
VIDEO_CONTACT_HEIGHT_M = 0.08
VIDEO_CONTACT_SPEED_M_S = 1.0

#: Points of each foot: the first is the one contacts are detected on (and the foot moved
#: with it when locked).
FOOT_POINTS = {
    "left": ("left_ankle", "left_heel", "left_toe", "left_toe_end"),
    "right": ("right_ankle", "right_heel", "right_toe", "right_toe_end"),
}

#: Landmark index by name (BlazePose order, as in mocap.types.LANDMARK_NAMES).
LANDMARK_INDEX = {n: i for i, n in enumerate(_LANDMARK_NAMES)}


# ---------------------------------------------------------------------------------------
# Camera and root


def focal_px(width: int, fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels of a pinhole camera with horizontal field of view ``fov_deg``
    over an image ``width`` pixels wide."""
    if not 1.0 <= fov_deg < 179.0:
        raise InputError(f"field of view must be in [1, 179) degrees, got {fov_deg}")
    return 0.5 * width / np.tan(np.radians(fov_deg) / 2)


def solve_root(world: np.ndarray, xy: np.ndarray, weight: np.ndarray, focal: float,
               center: tuple[float, float], min_depth: float = 0.3) -> np.ndarray:
    """Per-frame camera-space translation of hip-centred world landmarks.

    Minimises, for each frame, ``sum_i w_i |f (X_i + t) / (Z_i + t_z) + c - u_i|^2`` in its
    linearised form ``f (X_i + t_x) - (u_i - c)(Z_i + t_z) = 0`` (and the same in y): a
    3x3 weighted linear least-squares system per frame, solved for all frames at once.

    Args:
        world: (T, K, 3) metres, camera axes (x right, y down, z forward), hip-centred.
        xy: (T, K, 2) pixels, image landmarks.
        weight: (T, K) confidence weights (0 ignores a landmark).
        focal: focal length, px.
        center: principal point (cx, cy), px.
        min_depth: smallest accepted root depth, metres.

    Returns:
        (T, 3) float64 root translation, metres, camera axes (NaN where a frame has fewer
        than 3 weighted landmarks).
    """
    world = np.asarray(world, np.float64)
    uv = np.asarray(xy, np.float64) - np.asarray(center, np.float64)
    w = np.clip(np.nan_to_num(np.asarray(weight, np.float64)), 0.0, None)
    ok = np.isfinite(world).all(-1) & np.isfinite(uv).all(-1)
    w = np.where(ok, w, 0.0)
    world = np.where(ok[..., None], world, 0.0)
    uv = np.where(ok[..., None], uv, 0.0)
    t, k = world.shape[:2]
    # rows: [f, 0, -u] . t = u Z - f X ;  [0, f, -v] . t = v Z - f Y
    a = np.zeros((t, k, 2, 3))
    a[..., 0, 0] = focal
    a[..., 1, 1] = focal
    a[..., 0, 2] = -uv[..., 0]
    a[..., 1, 2] = -uv[..., 1]
    b = np.stack([uv[..., 0] * world[..., 2] - focal * world[..., 0],
                  uv[..., 1] * world[..., 2] - focal * world[..., 1]], axis=-1)
    a = a.reshape(t, 2 * k, 3)
    b = b.reshape(t, 2 * k)
    ww = np.repeat(w, 2, axis=1)
    ata = np.einsum("tki,tk,tkj->tij", a, ww, a)
    atb = np.einsum("tki,tk,tk->ti", a, ww, b)
    enough = (w > 0).sum(axis=1) >= 3
    ata[~enough] = np.eye(3)
    root = np.linalg.solve(ata, atb[..., None])[..., 0]
    root[~enough] = np.nan
    root[:, 2] = np.where(np.isfinite(root[:, 2]), np.maximum(root[:, 2], min_depth), np.nan)
    return root


def _fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN frames along axis 0 (edges held)."""
    x = np.array(x, np.float64)
    flat = x.reshape(len(x), -1)
    idx = np.arange(len(x))
    for c in range(flat.shape[1]):
        good = np.isfinite(flat[:, c])
        if good.any() and not good.all():
            flat[:, c] = np.interp(idx, idx[good], flat[good, c])
    return flat.reshape(x.shape)


def fit_ground(points: np.ndarray, groups: np.ndarray | None = None,
               up_hint: np.ndarray | None = None, min_spread: float = 0.05,
               ) -> tuple[np.ndarray, float]:
    """Fit the ground plane ``n . p = d`` to foot points in contact.

    Each group (one per foot landmark) gets its own height above the plane (a heel and a toe
    do not touch at the same height) while the normal is shared: the normal is the
    direction of least spread of the group-centred points, trimmed of the worst 20 %. A
    straight walk leaves the tilt about the walking direction unobservable (all contacts lie
    near one line); when the spread across that line is below ``min_spread`` metres, the
    normal is taken as ``up_hint`` (e.g. the mean hip->shoulder direction) made
    perpendicular to the walking direction; with no walking either, ``up_hint`` itself.

    Args:
        points: (N, 3) metres.
        groups: (N,) int group per point (default: one group).
        up_hint: (3,) rough up direction, used when the points cannot fix the tilt.
        min_spread: metres (standard deviation) needed to trust a direction from the data.

    Returns:
        ``(n, d)``: unit normal (3,) pointing to the side of ``up_hint`` (or +Y), and the
        offset, metres, of the lowest-clearance group (so that group touches the plane).
    """
    p = np.asarray(points, np.float64)
    g = np.zeros(len(p), int) if groups is None else np.asarray(groups)
    ok = np.isfinite(p).all(axis=1)
    p, g = p[ok], g[ok]
    if len(p) < 3:
        raise InputError("not enough foot contacts to estimate the ground plane")
    hint = np.array([0.0, 1.0, 0.0]) if up_hint is None else np.asarray(up_hint, float)
    hint = hint / np.linalg.norm(hint)
    keep = np.ones(len(p), bool)
    for _ in range(2):
        centred = p.copy()
        for k in np.unique(g):
            m = g == k
            centred[m] -= p[m & keep].mean(axis=0) if (m & keep).any() else p[m].mean(axis=0)
        _, sv, vt = np.linalg.svd(centred[keep], full_matrices=False)
        n = vt[-1]
        dist = np.abs(centred @ n)
        keep = dist <= np.quantile(dist, 0.8) + 1e-9
    std = sv / np.sqrt(max(keep.sum(), 1))
    if std[1] < min_spread:
        walk = vt[0]
        n = hint - (hint @ walk) * walk if std[0] >= min_spread else hint
        n = n / np.linalg.norm(n)
    if n @ hint < 0:
        n = -n
    heights = [np.median(p[g == k] @ n) for k in np.unique(g)]
    return n, float(min(heights))


# ---------------------------------------------------------------------------------------
# Contacts, locking, skate


def _moving_average(x: np.ndarray, half_window: float) -> np.ndarray:
    """Centred moving average along axis 0 over ``2 * half_window + 1`` frames (the end
    frames repeated at the edges), so landmark jitter does not read as foot speed."""
    h = round(half_window)
    if h < 1 or len(x) < 3:
        return x
    pad = np.concatenate([np.repeat(x[:1], h, 0), x, np.repeat(x[-1:], h, 0)])
    c = np.cumsum(np.concatenate([np.zeros((1, *x.shape[1:])), pad]), axis=0)
    return (c[2 * h + 1:] - c[:-2 * h - 1]) / (2 * h + 1)


def foot_contacts(points: dict[str, np.ndarray], fps: float, height_tol: float = 0.05,
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
                speed = np.linalg.norm(np.gradient(_moving_average(p, fps * 0.05), axis=0),
                                       axis=1) * fps
                c = (p[:, 1] <= floor + height_tol) & (speed <= speed_tol)
            out[name] = c
            feet.append(c)
        if feet:
            out[side] = np.logical_or.reduce(feet)
    return out


def foot_skate(points: dict[str, np.ndarray], fps: float,
               contacts: dict[str, np.ndarray] | None = None) -> float:
    """Mean horizontal speed (m/s) of foot points while they are in contact.

    Args:
        points: named tracks (T, 3) metres, Y up.
        fps: frames per second.
        contacts: from :func:`foot_contacts` (computed from ``points`` when None).

    Returns:
        The metric, m/s (0.0 when no contact is found).
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
    if not speeds:
        return 0.0
    s = np.concatenate(speeds)
    return float(s.mean()) if s.size else 0.0


def _segments(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def _pin(track: np.ndarray, mask: np.ndarray, blend: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal shift (T, 3) that holds ``track`` at its median position over each
    contact segment of ``mask``, and its weight (T,) fading over ``blend`` frames."""
    t = len(track)
    delta = np.zeros((t, 3))
    weight = np.zeros(t)
    for s, e in _segments(np.asarray(mask, bool)):
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


def lock_feet(points: dict[str, np.ndarray], contacts: dict[str, np.ndarray],
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
        A new dict with the adjusted tracks.
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
    return out


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


# ---------------------------------------------------------------------------------------
# Landmarks -> body points


_EXPR = re.compile(r"^(mean|lerp)\((.*)\)$")


def eval_landmark_expr(expr: str, lm: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a landmark expression (``name``, ``mean(a, b, ...)``, ``lerp(a, b, t)``)."""
    expr = expr.strip()
    m = _EXPR.match(expr)
    if not m:
        if expr not in lm:
            raise InputError(f"unknown landmark {expr!r} in landmark expression")
        return lm[expr]
    args = [a.strip() for a in m.group(2).split(",")]
    if m.group(1) == "mean":
        return np.mean([eval_landmark_expr(a, lm) for a in args], axis=0)
    if len(args) != 3:
        raise InputError(f"lerp needs (a, b, t), got {expr!r}")
    a, b = eval_landmark_expr(args[0], lm), eval_landmark_expr(args[1], lm)
    return a + float(args[2]) * (b - a)


def landmark_points(landmarks: np.ndarray, landmark_map: dict[str, str]) -> dict[str, np.ndarray]:
    """Named body points from BlazePose landmarks.

    Args:
        landmarks: (T, 33, 3) positions (any frame, e.g. Y-up world metres).
        landmark_map: role -> expression (a rig's ``landmarks``).

    Returns:
        ``{role: (T, 3)}``.
    """
    landmarks = np.asarray(landmarks, np.float64)
    if landmarks.ndim != 3 or landmarks.shape[1:] != (33, 3):
        raise shape_error("landmarks", "(T, 33, 3)", landmarks.shape)
    lm = {n: landmarks[:, i] for n, i in LANDMARK_INDEX.items()}
    lm["hips_mid"] = 0.5 * (lm["left_hip"] + lm["right_hip"])
    lm["shoulders_mid"] = 0.5 * (lm["left_shoulder"] + lm["right_shoulder"])
    return {role: eval_landmark_expr(expr, lm) for role, expr in landmark_map.items()}


@dataclass
class WorldMotion:
    """A person's landmarks placed in the world.

    Attributes:
        landmarks: (T, 33, 3) float64, metres, Y up, ground at y = 0; x is the camera's
            right, z points from the scene towards the camera (right-handed).
        root: (T, 3) float64, metres, hip centre in the same frame.
        contacts: (T, 2) bool, left and right foot in contact.
        fps: frames per second.
        foot_skate: mean horizontal speed of the foot landmarks in contact, m/s (the
            placed landmarks as they are, before any foot locking).
        camera_rotation: (3, 3) world -> camera rotation (camera axes: x right, y down,
            z forward), so ``p_cam = camera_rotation @ p + camera_translation``.
        camera_translation: (3,) metres.
    """

    landmarks: np.ndarray
    root: np.ndarray
    contacts: np.ndarray
    fps: float
    foot_skate: float
    camera_rotation: np.ndarray = field(default_factory=lambda: np.diag([1.0, -1.0, -1.0]))
    camera_translation: np.ndarray = field(default_factory=lambda: np.zeros(3))


def world_motion(world: np.ndarray, xy: np.ndarray, visibility: np.ndarray,
                 image_size: tuple[int, int], fps: float, fov_deg: float = DEFAULT_FOV_DEG,
                 ) -> WorldMotion:
    """Place hip-centred world landmarks in a Y-up world with the ground at y = 0.

    Steps: per-frame root translation by least-squares reprojection onto the image
    landmarks (pinhole, focal length from ``fov_deg`` and the image width, principal point
    at the image centre); camera axes -> Y up (y down becomes up, z away becomes towards
    the viewer: a rotation by 180 degrees about X); ground plane fitted to the lowest foot
    landmarks in contact and the scene rotated so its normal is +Y and translated so it is at
    y = 0.

    Args:
        world: (T, 33, 3) metres, hip-centred, x right, y down, z away from the camera.
        xy: (T, 33, 2) pixels.
        visibility: (T, 33) in [0, 1].
        image_size: (width, height) pixels.
        fps: frames per second.
        fov_deg: horizontal field of view of the camera, degrees.

    Returns:
        :class:`WorldMotion` (foot locking is applied by :func:`video_points`).

    Several people filmed by one camera share one ground: :func:`scene_world_motion`.
    """
    return scene_world_motion([(world, xy, visibility)], image_size, fps, fov_deg)[0]


def _camera_frame(world, xy, visibility, image_size, fov_deg):
    """One person's landmarks in the camera's frame turned Y up: (up (T,33,3), root (T,3),
    ground candidates (K,3), their foot groups (K,), body up (3,))."""
    world = np.asarray(world, np.float64)
    xy = np.asarray(xy, np.float64)
    vis = np.asarray(visibility, np.float64)
    t = len(world)
    if world.shape != (t, 33, 3):
        raise shape_error("world", "(T, 33, 3)", world.shape)
    if xy.shape != (t, 33, 2):
        raise shape_error("xy", "(T, 33, 2)", xy.shape)
    if vis.shape != (t, 33):
        raise shape_error("visibility", "(T, 33)", vis.shape)
    for name, arr in (("world", world), ("xy", xy)):
        bad = ~np.isfinite(arr).all(axis=(0, 2)) if t else np.zeros(33, bool)
        gone = ~np.isfinite(arr).any(axis=2).any(axis=0) if t else np.zeros(33, bool)
        if gone.any():
            raise InputError(f"`{name}` landmark {_LANDMARK_NAMES[int(np.flatnonzero(gone)[0])]}"
                             " is missing (NaN) in every frame")
        if bad.any():  # gaps: interpolate over time, and trust those frames less
            vis = np.where(np.isfinite(arr).all(axis=2), vis, 0.0)
    world, xy = _fill_nan(world), _fill_nan(xy)
    vis = np.nan_to_num(vis)
    w, h = image_size
    f = focal_px(w, fov_deg)
    root = _fill_nan(solve_root(world, xy, vis, f, (w / 2.0, h / 2.0)))
    cam = world + root[:, None, :]
    # camera (x right, y down, z forward) -> Y up, Z towards the camera
    up = cam * _FLIP
    return up, root * _FLIP


def _ground_candidates(up: np.ndarray, fps: float):
    """Each frame's lowest foot landmark where it is (nearly) still: (points, groups)."""
    t = len(up)
    feet_idx = [LANDMARK_INDEX[n] for n in ("left_heel", "right_heel", "left_foot_index",
                                            "right_foot_index")]
    feet = up[:, feet_idx]  # (T, 4, 3)
    lowest = np.nanargmin(np.nan_to_num(feet[..., 1], nan=np.inf), axis=1)
    low = feet[np.arange(t), lowest]
    speed = (np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
             if t >= 2 else np.zeros((t, 4)))
    still = speed[np.arange(t), lowest] < 0.5
    if still.sum() < 3:
        still[:] = True
    return low[still], lowest[still]


def _body_up(up: np.ndarray) -> np.ndarray:
    hip_mid = 0.5 * (up[:, LANDMARK_INDEX["left_hip"]] + up[:, LANDMARK_INDEX["right_hip"]])
    sh_mid = 0.5 * (up[:, LANDMARK_INDEX["left_shoulder"]]
                    + up[:, LANDMARK_INDEX["right_shoulder"]])
    body_up = np.nanmean(sh_mid - hip_mid, axis=0)
    if not np.isfinite(body_up).all() or np.linalg.norm(body_up) < 1e-6:
        return np.array([0.0, 1.0, 0.0])
    return body_up / np.linalg.norm(body_up)


def lowest_support(points: np.ndarray, up: np.ndarray, tolerance: float = 0.15,
                   min_share: float = 0.1, min_points: int = 10) -> np.ndarray:
    """The contact points on the lowest surface that carries a fair share of them.

    A person standing on a box, then on the floor, touches two surfaces; the floor is the
    lowest one with at least ``min_share`` of the contacts (and ``min_points``) within
    ``tolerance`` metres of its height along ``up``.

    Returns:
        (N,) bool mask of the points on that surface (all True if none qualifies).
    """
    heights = points @ up
    order = np.sort(heights)
    need = max(min_points, int(np.ceil(min_share * len(points))))
    for h in order:
        near = np.abs(heights - h) <= tolerance
        if near.sum() >= need:
            level = np.median(heights[near])
            return np.abs(heights - level) <= tolerance
    return np.ones(len(points), bool)


# Two people's lowest supports closer than this (metres) are taken as the same floor.
SAME_FLOOR_M = 0.5


def _ground_height(points: np.ndarray, groups: np.ndarray, normal: np.ndarray,
                   default: float) -> float:
    """Height along ``normal`` of the lowest support under one person's contacts (as
    :func:`fit_ground` measures it: the lowest foot group's median), or ``default``."""
    ok = np.isfinite(points).all(axis=1)
    points, groups = points[ok], groups[ok]
    if len(points) < 3:
        return default
    on = lowest_support(points, normal, min_points=3)
    heights = [np.median(points[on & (groups == k)] @ normal)
               for k in np.unique(groups[on])]
    return float(min(heights))


def scene_world_motion(people: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                       image_size: tuple[int, int], fps: float,
                       fov_deg: float = DEFAULT_FOV_DEG) -> list[WorldMotion]:
    """:func:`world_motion` for several people seen by one still camera, on one ground.

    Every person is placed in the camera frame on their own; the ground plane is then
    fitted to the foot contacts of everyone, on the lowest surface that carries a fair
    share of them (:func:`lowest_support`), so that someone standing on a box stands
    above the floor that the others walk on, instead of defining a floor of their own.

    Args:
        people: ``(world (T,33,3), xy (T,33,2), visibility (T,33))`` per person, as in
            :func:`world_motion` (T may differ between people).
        image_size: (width, height) pixels.
        fps: frames per second.
        fov_deg: horizontal field of view, degrees.

    Returns:
        One :class:`WorldMotion` per person, all in the same world frame.
    """
    placed = [_camera_frame(w, x, v, image_size, fov_deg) for w, x, v in people]
    if not placed:
        return []
    cands = [_ground_candidates(up, fps) for up, _ in placed]
    pts = np.concatenate([c[0] for c in cands])
    groups = np.concatenate([c[1] for c in cands])
    ups = np.stack([_body_up(up) for up, _ in placed])
    body_up = ups.mean(0) / np.linalg.norm(ups.mean(0))
    if sum(len(up) for up, _ in placed) >= 3 and len(pts) >= 3:
        on = lowest_support(pts, body_up)
        n, d_scene = fit_ground(pts[on], groups[on], body_up)
    else:
        n, d_scene = body_up, float(min(np.nanmin(up[..., 1]) for up, _ in placed))
    from mocap.retarget.solver import _swing

    r = _swing(n, np.array([0.0, 1.0, 0.0]))
    # world = r @ (flip @ cam) - d * Y  =>  cam = flip @ r.T @ (world + d * Y)
    cam_rot = np.diag(_FLIP) @ r.T
    out = []
    for (up, root), (own, own_groups) in zip(placed, cands, strict=True):
        t = len(up)
        # The plane's tilt is the scene's; its height is each person's own lowest support
        # when that is the scene's floor give or take depth error (monocular depth errs
        # differently per person: one shared height sinks one person's feet while lifting
        # another's), and the scene's when the person only stood on something higher.
        own_d = _ground_height(own, own_groups, n, d_scene)
        d = own_d if abs(own_d - d_scene) <= SAME_FLOOR_M else d_scene
        cam_trans = cam_rot @ np.array([0.0, d, 0.0])
        up = up @ r.T
        up[..., 1] -= d
        root_w = root @ r.T
        root_w[:, 1] -= d
        feet = {"left_ankle": up[:, LANDMARK_INDEX["left_ankle"]],
                "left_toe": up[:, LANDMARK_INDEX["left_foot_index"]],
                "right_ankle": up[:, LANDMARK_INDEX["right_ankle"]],
                "right_toe": up[:, LANDMARK_INDEX["right_foot_index"]]}
        contacts = foot_contacts(feet, fps, VIDEO_CONTACT_HEIGHT_M, VIDEO_CONTACT_SPEED_M_S)
        skate = foot_skate(feet, fps, contacts)
        c = np.stack([contacts.get("left", np.zeros(t, bool)),
                      contacts.get("right", np.zeros(t, bool))], axis=1)
        out.append(WorldMotion(up, root_w, c, float(fps), skate, cam_rot, cam_trans))
    return out


def video_points(motion: WorldMotion, landmark_map: dict[str, str],
                 lock: bool = True) -> tuple[dict[str, np.ndarray], float]:
    """Body points for the retargeter from placed landmarks, feet locked in contact.

    Returns:
        ``(points, foot_skate)``: ``{role: (T, 3)}`` metres Y up, and the foot-skate metric
        (m/s) of the returned points.
    """
    pts = landmark_points(motion.landmarks, landmark_map)
    contacts = {"left": motion.contacts[:, 0], "right": motion.contacts[:, 1]}
    if lock:
        pts = lock_feet(pts, contacts)
    feet = {k: pts[k] for k in ("left_ankle", "left_toe", "right_ankle", "right_toe")
            if k in pts}
    c = {k: contacts["left" if k.startswith("left") else "right"] for k in feet}
    return pts, foot_skate(feet, motion.fps, c)


@dataclass
class PersonMotion:
    """Result of :func:`animate_landmarks`.

    Attributes:
        animation: the rig animation (:class:`mocap.retarget.solver.Animation`).
        world: the placed landmarks (:class:`WorldMotion`).
        foot_skate: mean horizontal foot speed in contact of the animation, m/s.
        foot_skate_unlocked: the same for the animation before foot locking.
    """

    animation: Animation
    world: WorldMotion
    foot_skate: float
    foot_skate_unlocked: float


def animate_landmarks(world: np.ndarray, xy: np.ndarray, visibility: np.ndarray,
                      image_size: tuple[int, int], fps: float, rig: Rig | str = "mixamo",
                      fov_deg: float = DEFAULT_FOV_DEG, bone_lengths: str = "actor",
                      lock: bool = True, placed: WorldMotion | None = None,
                      floor: bool = True) -> PersonMotion:
    """One tracked person's landmarks -> an animation of ``rig``.

    Args:
        world: (T, 33, 3) BlazePose world landmarks, metres, hip-centred, x right, y down,
            z away from the camera.
        xy: (T, 33, 2) image landmarks, pixels.
        visibility: (T, 33) landmark visibility in [0, 1] (weights of the root solve).
        image_size: (width, height) pixels.
        fps: frames per second of the video.
        rig: a :class:`mocap.skeleton.rig.Rig` or a name/path for :func:`mocap.skeleton.rig.load_rig`.
        fov_deg: horizontal field of view of the camera, degrees (default
            :data:`DEFAULT_FOV_DEG`).
        bone_lengths: ``"actor"`` (default: the person's proportions) or ``"rig"``.
        lock: pin feet in contact so they do not slide.
        floor: keep every joint at or above the ground (:func:`keep_above_floor`).
        placed: the landmarks already placed in the world (e.g. by
            :func:`scene_world_motion` with everyone in the video); default: placed here
            on their own with :func:`world_motion`.

    Returns:
        :class:`PersonMotion` with the animation (Y up, ground at 0, metres), the placed
        landmarks and the foot-skate metric of the animation.
    """
    from mocap.retarget.solver import lock_feet as lock_animation
    from mocap.retarget.solver import retarget
    from mocap.skeleton.rig import Rig, load_rig

    rig = rig if isinstance(rig, Rig) else load_rig(rig)
    wm = placed or world_motion(world, xy, visibility, image_size, fps, fov_deg)
    pts, _ = video_points(wm, rig.landmarks, lock=False)
    anim = retarget(pts, rig, fps, bone_lengths)
    unlocked = foot_skate(anim.points(), fps)
    if floor:  # before locking, so that planted feet are pinned where they end up
        anim = keep_above_floor(anim)
    if lock:
        anim = lock_animation(anim, VIDEO_CONTACT_HEIGHT_M, VIDEO_CONTACT_SPEED_M_S)
    return PersonMotion(anim, wm, foot_skate(anim.points(), fps) if lock else unlocked,
                        unlocked)


def keep_above_floor(anim: Animation, tolerance: float = 0.03) -> Animation:
    """Lift the root in frames where a joint is more than ``tolerance`` metres below the
    ground (y < 0) until it is at ``-tolerance``; other frames are left as they are. Depth
    errors of a monocular camera otherwise sink a crouching or landing body into the floor.
    """
    from mocap.retarget.solver import Animation

    lowest = anim.positions()[..., 1].min(axis=1)
    lift = np.where(lowest < -tolerance, -tolerance - lowest, 0.0)
    if not lift.any():
        return anim
    root = anim.root_translation.copy()
    root[:, 1] += lift
    return Animation(anim.rig, root, anim.rotations, anim.fps)
