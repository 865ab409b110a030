"""From landmarks to world motion: root path, ground plane, foot contacts.

Video landmarks (BlazePose) come as *world* landmarks, hip-centred metres (x right, y down,
z away from the camera), plus *image* landmarks in pixels. :func:`world_motion` places the
person in the camera frame by solving each frame's root translation so that the world
landmarks, shifted by it, reproject onto the image landmarks through a pinhole camera
(:func:`mocap.geometry.camera.solve_root`), then estimates the ground plane from the feet
and expresses everything Y up, ground at y = 0, metres. :func:`landmark_points` turns that
into the named body points the retargeter takes (see
:data:`mocap.skeleton.rig.DEFAULT_LANDMARKS`). Foot contacts and locking on those points:
:mod:`mocap.motion.contacts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from mocap.errors import InputError, shape_error
from mocap.geometry.camera import DEFAULT_FOV_DEG, focal_px, solve_root
from mocap.geometry.rotations import swing
from mocap.geometry.series import fill_nan, gaussian_smooth
from mocap.motion.contacts import (
    VIDEO_CONTACT_HEIGHT_M,
    VIDEO_CONTACT_SPEED_M_S,
    foot_contacts,
    foot_skate,
)
from mocap.types import LANDMARK_NAMES as _LANDMARK_NAMES
from mocap.types import PointTracks

# camera axes (x right, y down, z forward) -> Y up, Z towards the viewer
_FLIP = np.array([1.0, -1.0, -1.0])


#: Landmark index by name (BlazePose order, as in mocap.types.LANDMARK_NAMES).
LANDMARK_INDEX = {n: i for i, n in enumerate(_LANDMARK_NAMES)}


#: A ground normal fitted to the contacts further than this from the body's mean up
#: direction (degrees) is taken for depth noise rather than the floor: monocular depth errs
#: along the viewing rays, which tilts the plane of a few contacts towards the camera, while
#: people stand within a few degrees of upright on average.
MAX_GROUND_TILT_DEG = 15.0


#: Contacts spread this much (metres, standard deviation) along their main direction are a
#: walk whose own direction :func:`fit_ground` trusts over the hips' path.
WALK_SPREAD_M = 0.3


def fit_ground(points: np.ndarray, groups: np.ndarray | None = None,
               up_hint: np.ndarray | None = None, min_spread: float = 0.05,
               max_tilt_deg: float = MAX_GROUND_TILT_DEG,
               walk_hint: np.ndarray | None = None,
               ) -> tuple[np.ndarray, float]:
    """Fit the ground plane ``n . p = d`` to foot points in contact.

    Each group (one per foot landmark) gets its own height above the plane (a heel and a toe
    do not touch at the same height) while the normal is shared: the normal is the
    direction of least spread of the group-centred points, trimmed of the worst 20 %. A
    straight walk leaves the tilt about the walking direction unobservable (all contacts lie
    near one line); when the spread across that line is below ``min_spread`` metres, the
    normal is taken as ``up_hint`` (e.g. the mean hip->shoulder direction) made
    perpendicular to the walking direction; with no walking either, ``up_hint`` itself.
    So too when the fitted normal lies more than ``max_tilt_deg`` from ``up_hint`` (depth
    noise, see :data:`MAX_GROUND_TILT_DEG`). The walking direction is the contacts' direction
    of most spread when they spread :data:`WALK_SPREAD_M` or more along it (a walk's
    contacts hold the floor's rise along it), else ``walk_hint`` when given (the hips' path:
    every frame counts, where the contacts may be a few frames bunched together), else the
    contacts' direction of most spread.

    Args:
        points: (N, 3) metres.
        groups: (N,) int group per point (default: one group).
        up_hint: (3,) rough up direction, used when the points cannot fix the tilt.
        min_spread: metres (standard deviation) needed to trust a direction from the data.
        max_tilt_deg: the largest angle, degrees, between a normal taken from the data and
            ``up_hint``.
        walk_hint: (3,) the direction people travelled in, or None.

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
    tilted = abs(n @ hint) < np.cos(np.radians(max_tilt_deg))
    if std[1] < min_spread or tilted:
        # the contacts' own direction of most spread when they spread along a walk (it
        # holds the floor's rise along the walk, which the hips' path, pooled over
        # everyone, blurs with a jump down or a lean), else the hips' path
        long_walk = std[0] >= WALK_SPREAD_M
        walk = vt[0] if walk_hint is None or long_walk else np.asarray(walk_hint, float)
        walk = walk / np.linalg.norm(walk)
        walked = walk_hint is not None or std[0] >= min_spread
        n = hint - (hint @ walk) * walk if walked else hint
        n = n / np.linalg.norm(n)
    if n @ hint < 0:
        n = -n
    heights = [np.median(p[g == k] @ n) for k in np.unique(g)]
    return n, float(min(heights))


# ---------------------------------------------------------------------------------------
# Contacts, locking, skate


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


def landmark_points(landmarks: np.ndarray, landmark_map: dict[str, str]) -> PointTracks:
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
    return PointTracks.from_dict({role: eval_landmark_expr(expr, lm)
                                  for role, expr in landmark_map.items()})


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
            placed landmarks as they are, before any foot locking); None without contact.
        camera_rotation: (3, 3) world -> camera rotation (camera axes: x right, y down,
            z forward), so ``p_cam = camera_rotation @ p + camera_translation``; (T, 3, 3),
            one per frame, when the camera turned.
        camera_translation: (3,) metres; (T, 3) when the camera turned.
        focal: focal length of the camera, px: a number, or (T,) when it zoomed (None:
            not recorded, for motion not made by :func:`scene_world_motion`).
    """

    landmarks: np.ndarray
    root: np.ndarray
    contacts: np.ndarray
    fps: float
    foot_skate: float | None
    camera_rotation: np.ndarray = field(default_factory=lambda: np.diag([1.0, -1.0, -1.0]))
    camera_translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    focal: float | np.ndarray | None = None


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


def bridge_root(root: np.ndarray, world: np.ndarray, xy: np.ndarray, focal,
                center: tuple[float, float]) -> np.ndarray:
    """Fill the frames :func:`~mocap.geometry.camera.solve_root` left out (NaN: the person
    was not seen there, the smoother bridged their landmarks) along the body's path.

    The depth is interpolated linearly between the solved frames on either side (a
    straight line, or a jump's constant horizontal speed, towards or away from the
    camera); the root is placed on the ray through the bridged image hip centre at that
    depth, so it follows the image path the smoother drew (a jump's arc) instead of the
    straight chord between the two ends; the small offset the solve had from that ray at
    the ends is interpolated across, so the path joins its ends without a step.

    Args:
        root: (T, 3) metres, camera axes (x right, y down, z forward), NaN where missing.
        world: (T, 33, 3) hip-centred landmarks, camera axes, finite (gaps filled).
        xy: (T, 33, 2) image landmarks, px, finite (bridged by the smoother).
        focal: px, a number or (T,).
        center: principal point (cx, cy), px.

    Returns:
        (T, 3) float64, finite wherever any frame was solved.
    """
    root = np.array(root, np.float64)
    missing = ~np.isfinite(root).all(axis=1)
    if not missing.any() or missing.all():
        return fill_nan(root)
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    uv = np.asarray(xy, np.float64)[:, hips].mean(axis=1) - np.asarray(center, np.float64)
    hip = np.asarray(world, np.float64)[:, hips].mean(axis=1)
    root[missing] = np.nan
    depth = fill_nan(root[:, 2])
    f = np.broadcast_to(np.asarray(focal, np.float64), (len(root),))
    z = hip[:, 2] + depth  # the hip centre's depth
    ray = np.column_stack([uv[:, 0] * z / f - hip[:, 0], uv[:, 1] * z / f - hip[:, 1], depth])
    if not np.isfinite(ray).all():  # no image path to follow: the straight chord
        return fill_nan(root)
    offset = fill_nan(root - ray)  # 0 in depth; the solve's misfit of the hips elsewhere
    return np.where(missing[:, None], ray + offset, root)


def _camera_frame(world, xy, visibility, image_size, fov_deg, view=None, root_sigma=0.0):
    """One person's landmarks in the first frame's camera axes turned Y up: (up (T,33,3),
    root (T,3), focal px (number or (T,))). ``view``: the camera's (rotation (T,3,3) first
    frame -> this frame, zoom (T,)) over the person's frames, or None (fixed camera).
    ``root_sigma``: the solved root smoothed over time with a Gaussian of this standard
    deviation, frames (0: not)."""
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
    world, xy = fill_nan(world), fill_nan(xy)
    vis = np.nan_to_num(vis)
    w, h = image_size
    f = focal_px(w, fov_deg)
    if view is not None:
        rot, zoom = (np.asarray(v, np.float64) for v in view)
        if rot.shape != (t, 3, 3):
            raise shape_error("view rotation", "(T, 3, 3)", rot.shape)
        if zoom.shape != (t,):
            raise shape_error("view zoom", "(T,)", zoom.shape)
        f = f * zoom
    root = bridge_root(solve_root(world, xy, vis, f, (w / 2.0, h / 2.0)), world, xy, f,
                       (w / 2.0, h / 2.0))
    root = gaussian_smooth(root, root_sigma)
    cam = world + root[:, None, :]
    if view is not None:  # each frame's camera axes -> the first frame's
        cam = np.einsum("tji,tkj->tki", rot, cam)
        root = np.einsum("tji,tj->ti", rot, root)
    # camera (x right, y down, z forward) -> Y up, Z towards the camera
    up = cam * _FLIP
    return up, root * _FLIP, f


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


def _walk_direction(placed, min_travel: float = 0.5) -> np.ndarray | None:
    """The direction everyone's hips travelled in most (each path centred on its own
    mean), or None when nobody's hips moved ``min_travel`` metres (standard deviation)."""
    paths = [root - np.nanmean(root, axis=0) for _, root in placed if len(root) >= 2]
    paths = [p[np.isfinite(p).all(axis=1)] for p in paths]
    pooled = np.concatenate([p for p in paths if len(p)]) if paths else np.zeros((0, 3))
    if len(pooled) < 2:
        return None
    _, sv, vt = np.linalg.svd(pooled, full_matrices=False)
    return vt[0] if sv[0] / np.sqrt(len(pooled)) >= min_travel else None


def _body_up(up: np.ndarray) -> np.ndarray:
    hip_mid = 0.5 * (up[:, LANDMARK_INDEX["left_hip"]] + up[:, LANDMARK_INDEX["right_hip"]])
    sh_mid = 0.5 * (up[:, LANDMARK_INDEX["left_shoulder"]]
                    + up[:, LANDMARK_INDEX["right_shoulder"]])
    body_up = np.nanmean(sh_mid - hip_mid, axis=0)
    if not np.isfinite(body_up).all() or np.linalg.norm(body_up) < 1e-6:
        return np.array([0.0, 1.0, 0.0])
    return body_up / np.linalg.norm(body_up)


#: How steeply (degrees) a floor may rise along ``up`` before it is fitted: ``up`` is the
#: people's mean hip-to-shoulder direction, a few degrees off the floor's normal (people
#: lean, monocular depth tilts them), so one floor's contacts spread over metres of a walk
#: differ in height by the tangent of that per metre.
FLOOR_SLOPE_DEG = 5.0


def lowest_support(points: np.ndarray, up: np.ndarray, tolerance: float = 0.15,
                   min_share: float = 0.1, min_points: int = 10) -> np.ndarray:
    """The contact points on the lowest surface that carries a fair share of them.

    A person standing on a box, then on the floor, touches two surfaces; the floor is the
    lowest one with at least ``min_share`` of the contacts (and ``min_points``) within
    ``tolerance`` metres of its height along ``up``, plus :data:`FLOOR_SLOPE_DEG`'s rise
    over the contacts' horizontal extent (a 6 m walk seen with ``up`` 3 degrees off the
    floor's normal spans 0.3 m of height on one floor; a box's top and the floor beside it
    stay apart).

    Returns:
        (N,) bool mask of the points on that surface (all True if none qualifies).
    """
    heights = points @ up
    flat = (points - heights[:, None] * up)[np.isfinite(heights)]  # along the floor
    if len(flat) >= 2:
        flat = flat - flat.mean(axis=0)
        main = np.linalg.svd(flat, full_matrices=False)[2][0]
        along = flat @ main
        extent = float(np.percentile(along, 95) - np.percentile(along, 5))
        tolerance = tolerance + np.tan(np.radians(FLOOR_SLOPE_DEG)) * extent / 2
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
                       fov_deg: float = DEFAULT_FOV_DEG,
                       views: list[tuple[np.ndarray, np.ndarray]] | None = None,
                       root_smooth_s: float = 0.0) -> list[WorldMotion]:
    """:func:`world_motion` for several people seen by one camera, on one ground.

    A camera that turns and zooms about its centre (``views``) is undone frame by frame:
    each frame's placed landmarks are turned into the first frame's camera axes, so the
    ground, the contacts and the paths are those of the world the first frame sees.

    Every person is placed in the camera frame on their own. The ground's tilt is fitted to
    everyone's foot contacts, each person's centred on their own (monocular depth errs
    differently per person); each person's floor is the lowest surface that carries a fair
    share of their contacts (:func:`lowest_support`), and the scene's floor the lowest of
    those: someone whose own floor lies more than :data:`SAME_FLOOR_M` above it (standing
    on a box) stands above the floor the others walk on.

    Args:
        people: ``(world (T,33,3), xy (T,33,2), visibility (T,33))`` per person, as in
            :func:`world_motion` (T may differ between people).
        image_size: (width, height) pixels.
        fps: frames per second.
        fov_deg: horizontal field of view of the first frame, degrees.
        views: per person, the camera over their frames: (rotation (T, 3, 3) from the
            first video frame's camera axes to each frame's, zoom (T,) focal length over the
            first frame's), as in :class:`mocap.types.CameraPath`; None: a fixed camera.
        root_smooth_s: each person's root (solved per frame from their 2D and 3D) smoothed
            over time with a Gaussian of this standard deviation, seconds (0: not; a 3D
            not drawn by the 2D's own network, as :mod:`mocap.lift`'s, fits the 2D less
            closely frame by frame and its root depth jitters more).

    Returns:
        One :class:`WorldMotion` per person, all in the same world frame (with a moving
        camera its rotation, translation and focal length are per frame).
    """
    if views is not None and len(views) != len(people):
        raise ValueError(f"`views` must hold one view per person ({len(people)}), got "
                         f"{len(views)}")
    placed_f = [_camera_frame(w, x, v, image_size, fov_deg,
                              None if views is None else views[i], root_smooth_s * fps)
                for i, (w, x, v) in enumerate(people)]
    if not placed_f:
        return []
    placed = [(up, root) for up, root, _ in placed_f]
    cands = [_ground_candidates(up, fps) for up, _ in placed]
    ups = np.stack([_body_up(up) for up, _ in placed])
    body_up = ups.mean(0) / np.linalg.norm(ups.mean(0))
    # Monocular depth errs differently per person, by up to metres, so each person's
    # contacts are taken on their own: the plane's tilt from everyone's foot groups centred
    # per person, each person's floor as their own lowest support, the scene's floor the
    # lowest of those.
    own_on = [lowest_support(p, body_up, min_points=3) if len(p) else np.zeros(0, bool)
              for p, _ in cands]
    pts = np.concatenate([p[on] for (p, _), on in zip(cands, own_on, strict=True)])
    person_groups = np.concatenate([g[on] + 4 * i for i, ((_, g), on)
                                    in enumerate(zip(cands, own_on, strict=True))])
    n = (fit_ground(pts, person_groups, body_up, walk_hint=_walk_direction(placed))[0]
         if len(pts) >= 3 else body_up)
    default = float(min(np.nanmin(up[..., 1]) for up, _ in placed))
    own_d = [_ground_height(p, g, n, default) for p, g in cands]
    d_scene = min(own_d)
    r = swing(n, np.array([0.0, 1.0, 0.0]))
    # world = r @ (flip @ cam) - d * Y  =>  cam = flip @ r.T @ (world + d * Y)
    cam_rot = np.diag(_FLIP) @ r.T
    out = []
    for i, ((up, root), person_d) in enumerate(zip(placed, own_d, strict=True)):
        # The plane's height is each person's own lowest support when that is the scene's
        # floor give or take depth error (one shared height sinks one person's feet while
        # lifting another's), and the scene's when the person only stood on something
        # higher.
        d = person_d if person_d - d_scene <= SAME_FLOOR_M else d_scene
        cam_trans = cam_rot @ np.array([0.0, d, 0.0])
        person_rot, focal = cam_rot, placed_f[i][2]
        if views is not None:  # world -> first camera -> this frame's camera
            turn = np.asarray(views[i][0], np.float64)
            person_rot, cam_trans = turn @ cam_rot, turn @ cam_trans
        up = up @ r.T
        up[..., 1] -= d
        root_w = root @ r.T
        root_w[:, 1] -= d
        out.append(placed_motion(up, fps, person_rot, cam_trans, focal, root_w))
    return out


def placed_motion(landmarks: np.ndarray, fps: float, camera_rotation: np.ndarray,
                  camera_translation: np.ndarray, focal=None,
                  root: np.ndarray | None = None) -> WorldMotion:
    """A :class:`WorldMotion` of landmarks already placed in the world (Y up, ground at
    y = 0, metres): the foot contacts and skate measured on them.

    Args:
        landmarks: (T, 33, 3) metres, finite.
        fps: frames per second.
        camera_rotation, camera_translation, focal: the camera the report and preview
            project through (see :class:`WorldMotion`).
        root: (T, 3) metres; default the hip centre.
    """
    up = np.asarray(landmarks, np.float64)
    if up.ndim != 3 or up.shape[1:] != (33, 3):
        raise shape_error("landmarks", "(T, 33, 3)", up.shape)
    t = len(up)
    if root is None:
        root = 0.5 * (up[:, LANDMARK_INDEX["left_hip"]] + up[:, LANDMARK_INDEX["right_hip"]])
    feet = {"left_ankle": up[:, LANDMARK_INDEX["left_ankle"]],
            "left_toe": up[:, LANDMARK_INDEX["left_foot_index"]],
            "right_ankle": up[:, LANDMARK_INDEX["right_ankle"]],
            "right_toe": up[:, LANDMARK_INDEX["right_foot_index"]]}
    contacts = foot_contacts(feet, fps, VIDEO_CONTACT_HEIGHT_M, VIDEO_CONTACT_SPEED_M_S)
    skate = foot_skate(feet, fps, contacts)
    c = np.stack([contacts.get("left", np.zeros(t, bool)),
                  contacts.get("right", np.zeros(t, bool))], axis=1)
    return WorldMotion(up, np.asarray(root, np.float64), c, float(fps), skate,
                       np.asarray(camera_rotation, np.float64),
                       np.asarray(camera_translation, np.float64), focal)


def level_scene(people: list[np.ndarray], fps: float) -> tuple[np.ndarray, float]:
    """The rotation and height that put people measured in any world frame (a calibration's:
    Z up, or a camera's axes) on a Y-up ground at y = 0, from their feet.

    The body's mean hip -> shoulder direction is turned onto +Y (the smallest rotation, so
    the horizontal axes stay as close to the calibration's as they can); the ground plane
    is then fitted to everyone's foot contacts (:func:`fit_ground`, each person's own
    lowest support, as :func:`scene_world_motion` does) and its normal turned onto +Y too.

    Args:
        people: per person (T, 33, 3) metres (T may differ; NaN where unknown).
        fps: frames per second.

    Returns:
        ``(rotation (3, 3), height)``: ``p_level = rotation @ p - height * Y``.
    """
    pts = [np.asarray(p, np.float64) for p in people if len(p)]
    if not pts:
        return np.eye(3), 0.0
    ups = np.stack([_body_up(p) for p in pts])
    body_up = ups.mean(0)
    body_up = (body_up / np.linalg.norm(body_up) if np.linalg.norm(body_up) > 1e-9
               else np.array([0.0, 1.0, 0.0]))
    r1 = swing(body_up, np.array([0.0, 1.0, 0.0]))
    upright = [fill_nan(p @ r1.T) for p in pts]
    cands = [_ground_candidates(p, fps) for p in upright]
    on = [lowest_support(c, np.array([0.0, 1.0, 0.0]), min_points=3) if len(c)
          else np.zeros(0, bool) for c, _ in cands]
    contact = np.concatenate([c[m] for (c, _), m in zip(cands, on, strict=True)])
    groups = np.concatenate([g[m] + 4 * i for i, ((_, g), m)
                             in enumerate(zip(cands, on, strict=True))])
    finite = np.isfinite(contact).all(axis=1)
    contact, groups = contact[finite], groups[finite]
    roots = [(None, 0.5 * (p[:, LANDMARK_INDEX["left_hip"]] + p[:, LANDMARK_INDEX["right_hip"]]))
             for p in upright]
    n = (fit_ground(contact, groups, np.array([0.0, 1.0, 0.0]),
                    walk_hint=_walk_direction(roots))[0]
         if len(contact) >= 3 else np.array([0.0, 1.0, 0.0]))
    r2 = swing(n, np.array([0.0, 1.0, 0.0]))
    rot = r2 @ r1
    level = [p @ rot.T for p in pts]
    cands = [_ground_candidates(fill_nan(p), fps) for p in level]
    default = float(min(np.nanmin(p[..., 1]) for p in level))
    height = min(_ground_height(c, g, np.array([0.0, 1.0, 0.0]), default) for c, g in cands)
    return rot, float(height)


