"""Joint positions over time -> local joint rotations of a rig (an :class:`Animation`).

The source is a set of named 3D point tracks (``{name: (T, 3)}`` metres, Y up): body roles
(``"left_knee"``), and, for joints no role describes, joint names (so a skeleton retargeted
onto itself maps every joint). Every target joint's *global* rotation is solved from
directions, vectorised over frames:

* **primary axis**: the bone towards the joint's child (``left_knee -> left_ankle``);
* **secondary axis**, so twist is defined and not only swing: the hips from the hip line
  (there the hip line is the primary axis and the spine the secondary one), spine and chest
  from the collar or shoulder line, neck and head from the ear line, hands from pinky->index (or
  fingers->thumb), thighs and shins from the foot's forward direction, feet from
  heel->ankle (or the shin);
* thighs, shins, upper arms and forearms also take their twist from the limb's bend plane
  (the knee/elbow hinge) once the limb is bent;
* joints with only a primary axis take the *minimum-twist* rotation from their parent;
  joints with nothing to aim at keep their rest pose relative to their parent.

The twist is built in layers, each blended in smoothly by how well defined it is in that
frame (minimum twist, then the secondary axis when it is not along the primary, then the
bend plane when the limb bends more than 10-25 degrees), so it never flips where an axis
degenerates (a straight knee, a foot pointing along the shin).

``G_joint = frame(current primary, secondary) @ frame(rest primary, secondary)^T``; local
rotations are ``G_parent^T G_joint``, converted to quaternions with sign continuity (no
flips between frames). The root translation follows the source's hips, scaled by the ratio of
leg lengths when the rig's own bone lengths are kept (so feet stay on the ground), and the
rig's bones can instead take the actor's lengths (robust median over the clip, left/right
symmetric): ``bone_lengths="actor"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError, shape_error
from mocap.geometry.rotations import frame_from_axes, matrices_to_quats, swing
from mocap.geometry.series import fill_nan
from mocap.skeleton.animation import Animation, derive_points, rig_rest_points
from mocap.skeleton.rig import Rig
from mocap.skeleton.roles import mirror_role
from mocap.types import PointTracks

BONE_LENGTHS = ("rig", "actor")

# Canonical T-pose (metres, Y up, facing +Z, left = +X) of every role, right side mirrored.
# Used only for the rest direction of a hint whose points are not joints of the target rig
# (ears, nose, heels, index/pinky knuckles ...).
_TEMPLATE_LEFT = {
    "hips": (0, 1.00, 0), "spine": (0, 1.10, 0.0), "chest": (0, 1.30, 0), "neck": (0, 1.45, 0),
    "head": (0, 1.60, 0), "head_top": (0, 1.75, 0), "nose": (0, 1.60, 0.10),
    "ear": (0.075, 1.62, 0), "collar": (0.06, 1.40, 0.01), "shoulder": (0.19, 1.42, 0),
    "elbow": (0.46, 1.42, 0), "wrist": (0.73, 1.42, 0), "fingers": (0.82, 1.42, 0),
    "index": (0.825, 1.42, 0.025), "pinky": (0.815, 1.42, -0.03),
    "thumb": (0.77, 1.40, 0.035), "hip": (0.09, 0.93, 0), "knee": (0.09, 0.50, 0),
    "ankle": (0.09, 0.08, 0), "heel": (0.09, 0.02, -0.05), "toe": (0.09, 0.02, 0.12),
    "toe_end": (0.09, 0.02, 0.19),
}
TEMPLATE: dict[str, np.ndarray] = {}
for _k, _v in _TEMPLATE_LEFT.items():
    _p = np.array(_v, float)
    if _v[0] == 0 and _k in ("hips", "spine", "chest", "neck", "head", "head_top", "nose"):
        TEMPLATE[_k] = _p
    else:
        TEMPLATE[f"left_{_k}"] = _p
        TEMPLATE[f"right_{_k}"] = _p * (-1, 1, 1)


def _sided(side: str) -> dict[str, tuple[list, list]]:
    s = side
    return {
        f"{s}_collar": ([(f"{s}_collar", f"{s}_shoulder")], []),
        f"{s}_shoulder": ([(f"{s}_shoulder", f"{s}_elbow")], []),
        f"{s}_elbow": ([(f"{s}_elbow", f"{s}_wrist")], []),
        f"{s}_wrist": ([(f"{s}_wrist", f"{s}_fingers"), (f"{s}_wrist", f"{s}_index")],
                       [(f"{s}_pinky", f"{s}_index"), (f"{s}_fingers", f"{s}_thumb")]),
        f"{s}_hip": ([(f"{s}_hip", f"{s}_knee")], [(f"{s}_ankle", f"{s}_toe")]),
        f"{s}_knee": ([(f"{s}_knee", f"{s}_ankle")], [(f"{s}_ankle", f"{s}_toe")]),
        f"{s}_ankle": ([(f"{s}_ankle", f"{s}_toe")],
                       [(f"{s}_heel", f"{s}_ankle"), (f"{s}_knee", f"{s}_ankle")]),
        f"{s}_toe": ([(f"{s}_toe", f"{s}_toe_end")], []),
    }


#: role -> (primary options, secondary options); each option is a (from, to) point pair and
#: the first option whose points exist in both the source and the rest pose is used.
AIMS: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    # the pelvis is oriented by its hip line first: the spine bends, the pelvis does not
    "hips": ([("right_hip", "left_hip")],
             [("hips", "spine"), ("hips", "chest"), ("hips", "neck")]),
    "spine": ([("spine", "chest"), ("spine", "neck")],
              [("right_shoulder", "left_shoulder"), ("right_hip", "left_hip")]),
    "chest": ([("chest", "neck"), ("chest", "head")],
              [("right_collar", "left_collar"), ("right_shoulder", "left_shoulder")]),
    "neck": ([("neck", "head")], [("right_ear", "left_ear")]),
    "head": ([("head", "head_top"), ("head", "nose")], [("right_ear", "left_ear")]),
    **_sided("left"),
    **_sided("right"),
}


#: role -> hinge that fixes the joint's twist while the limb is bent: (a, b, c) points whose
#: bend-plane normal ``(b - a) x (c - b)`` is the secondary axis, that normal's direction in
#: the canonical T-pose (knees bend backwards: +X for both legs; elbows bend forwards: -Y
#: for the left arm, +Y for the right) and the T-pose direction of ``a -> b`` (to carry the
#: hinge onto rigs whose rest pose is not a T-pose). Blended in from 10 to 25 degrees.
BENDS: dict[str, tuple[tuple[str, str, str], tuple[float, float, float],
                       tuple[float, float, float]]] = {
    **{f"{s}_{j}": ((f"{s}_hip", f"{s}_knee", f"{s}_ankle"), (1.0, 0.0, 0.0), (0.0, -1.0, 0.0))
       for s in ("left", "right") for j in ("hip", "knee")},
    **{f"{s}_{j}": ((f"{s}_shoulder", f"{s}_elbow", f"{s}_wrist"), (0.0, -sx, 0.0),
                    (sx, 0.0, 0.0))
       for s, sx in (("left", 1.0), ("right", -1.0)) for j in ("shoulder", "elbow")},
}
_BEND_SIN = (np.sin(np.radians(10.0)), np.sin(np.radians(25.0)))
_PAIR_SIN = (0.15, 0.35)


def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return np.where(np.isfinite(t), t * t * (3 - 2 * t), 0.0)


def _blend_twist(a: np.ndarray, b: np.ndarray, w: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Rotate from ``a`` towards ``b`` by fraction ``w``.

    Both (T, 3, 3) map the rest ``axis`` (3,) onto the same current direction, so
    ``a^T b`` is a twist about ``axis``: its angle is read off in closed form and a
    fraction ``w`` (T,) in [0, 1] of it applied (Rodrigues), all vectorised.
    """
    k = axis / np.linalg.norm(axis)
    rel = np.swapaxes(a, -1, -2) @ b
    sin = 0.5 * ((rel[:, 2, 1] - rel[:, 1, 2]) * k[0] + (rel[:, 0, 2] - rel[:, 2, 0]) * k[1]
                 + (rel[:, 1, 0] - rel[:, 0, 1]) * k[2])
    cos = 0.5 * (np.trace(rel, axis1=-2, axis2=-1) - 1.0)
    theta = np.arctan2(sin, cos) * np.where(np.isfinite(w), w, 0.0)
    theta = np.where(np.isfinite(theta), theta, 0.0)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    twist = (np.eye(3) + np.sin(theta)[:, None, None] * kx
             + (1 - np.cos(theta))[:, None, None] * (kx @ kx))
    return a @ twist


# ---------------------------------------------------------------------------------------
# The solver


def _vec(points: dict, pair: tuple[str, str]) -> np.ndarray:
    return points[pair[1]] - points[pair[0]]


def _has(points: dict, pair: tuple[str, str]) -> bool:
    return pair[0] in points and pair[1] in points


def _rest_vec(rest: dict, pair: tuple[str, str]) -> np.ndarray | None:
    if _has(rest, pair):
        return _vec(rest, pair)
    if _has(TEMPLATE, pair):
        return _vec(TEMPLATE, pair)
    return None


def _median_length(v: np.ndarray) -> float:
    n = np.linalg.norm(v, axis=-1)
    n = n[np.isfinite(n)]
    return float(np.median(n)) if n.size else float("nan")


@dataclass(frozen=True)
class _Plan:
    """How one joint is solved: point pairs for its axes (None where not used)."""

    primary: tuple[str, str] | None
    secondary: tuple[str, str] | None
    bend: tuple[tuple[str, str, str], np.ndarray] | None = None  # points, rest hinge


def plan(points: dict[str, np.ndarray], rig: Rig) -> list[_Plan]:
    """Decide, per joint of ``rig``, which point pairs define its primary/secondary axes."""
    rest = rig_rest_points(rig)
    keys = point_keys(rig)
    end_keys = [rig.end_roles[j] or f"{rig.joints[j]}/end" for j in range(len(rig))]
    plans: list[_Plan] = []
    kids = [rig.children(j) for j in range(len(rig))]

    def usable(pair) -> bool:
        if not _has(points, pair) or _median_length(_vec(points, pair)) < 1e-6:
            return False
        rv = _rest_vec(rest, pair)
        return rv is not None and np.linalg.norm(rv) > 1e-6

    def descendants(j: int) -> list[str]:
        """Keys of the nearest keyed descendants (through joints without a source point)."""
        out: list[str] = []
        todo = list(kids[j])
        if not kids[j] and end_keys[j] in points:
            out.append(end_keys[j])
        while todo:
            c = todo.pop(0)
            if keys[c] in points and np.linalg.norm(rest[keys[c]] - rest[keys[j]]) > 1e-6:
                out.append(keys[c])
            else:
                todo.extend(kids[c])
                if not kids[c] and end_keys[c] in points:
                    out.append(end_keys[c])
        return out

    key_index = {k: i for i, k in enumerate(keys)}

    def nearest_on_path(j: int, target: str) -> str:
        """Aim at the first keyed joint between ``j`` and ``target`` (so intermediate
        joints with source points are reached exactly), else at ``target``."""
        d = key_index.get(target)
        if d is None:
            return target
        path = []
        while d >= 0 and d != j:
            path.append(d)
            d = int(rig.parents[d])
        if d != j:
            return target
        for c in reversed(path):
            if keys[c] in points and usable((keys[j], keys[c])):
                return keys[c]
        return target

    for j in range(len(rig)):
        key = keys[j]
        if key not in points:
            plans.append(_Plan(None, None))
            continue
        prim = sec = None
        role = rig.roles[j]
        if role in AIMS:
            opts, sopts = AIMS[role]
            prim = next((o for o in opts if usable(o)), None)
            if prim is not None:
                sec = next((o for o in sopts if usable(o)), None)
                # an axis from this joint aims at the first joint with a source point on
                # the way (so that joint is reached exactly: offsets are rigid, chains not)
                prim, sec = (
                    (key, nearest_on_path(j, o[1])) if o is not None and o[0] == key else o
                    for o in (prim, sec))
                if sec is not None:  # a secondary nearly along the primary in rest is no use
                    rp, rs = _rest_vec(rest, prim), _rest_vec(rest, sec)
                    if np.linalg.norm(np.cross(rp, rs)) < 0.3 * np.linalg.norm(rp) * \
                            np.linalg.norm(rs):
                        sec = None
        if prim is None or sec is None:
            desc = [d for d in descendants(j) if usable((key, d))]
            if prim is None and desc:
                prim = (key, desc[0])
            if prim is not None:
                # a descendant off the primary axis fixes the twist (a head whose role has
                # no ear line in this source still turns its eyes with it)
                p_rest = _rest_vec(rest, prim)
                best = 0.0
                for d in desc:
                    if (key, d) == prim:
                        continue
                    v = _rest_vec(rest, (key, d))
                    sin = np.linalg.norm(np.cross(p_rest, v)) / (
                        np.linalg.norm(p_rest) * np.linalg.norm(v))
                    if sin > max(best, 0.1):
                        best, sec = sin, (key, d)
        bend = None
        if prim is not None and role in BENDS and all(p in points for p in BENDS[role][0]):
            (a, b, c), hinge, limb = BENDS[role]
            rest_limb = _rest_vec(rest, (a, b))
            if rest_limb is not None:
                hinge = swing(np.asarray(limb), rest_limb) @ np.asarray(hinge)
                rp = _rest_vec(rest, prim)
                if np.linalg.norm(np.cross(rp, hinge)) >= 0.3 * np.linalg.norm(rp):
                    bend = ((a, b, c), hinge)
        plans.append(_Plan(prim, sec, bend))
    return plans


def check_points(points: dict[str, np.ndarray]) -> int:
    """Validate point tracks; return T."""
    if not points:
        raise InputError("no source points to retarget from")
    t = None
    for name, v in points.items():
        v = np.asarray(v)
        if v.ndim != 2 or v.shape[1] != 3 or (t is not None and len(v) != t):
            raise shape_error(f"points[{name!r}]", f"({t if t is not None else 'T'}, 3)",
                              v.shape)
        t = len(v)
    return int(t)


def leg_length(points: dict[str, np.ndarray]) -> float:
    """Thigh + shin length, metres (median over frames, mean of both sides; NaN if absent)."""
    vals = []
    for s in ("left", "right"):
        pairs = [(f"{s}_hip", f"{s}_knee"), (f"{s}_knee", f"{s}_ankle")]
        if all(_has(points, p) for p in pairs):
            vals.append(sum(_median_length(np.atleast_2d(_vec(points, p))) for p in pairs))
    return float(np.mean(vals)) if vals else float("nan")


def point_keys(rig: Rig) -> list[str]:
    """The name each joint's track has in a points dict: its role, else its joint name."""
    return [rig.roles[j] or rig.joints[j] for j in range(len(rig))]


def driven_bones(rig: Rig, points: dict[str, np.ndarray]) -> list[tuple[int, int]]:
    """``(ancestor, joint)`` index pairs: every non-root joint with a track, and its nearest
    ancestor that has one too (joints between them have no track of their own)."""
    keys = point_keys(rig)
    pairs = []
    for j in range(1, len(rig)):
        if keys[j] not in points:
            continue
        a = int(rig.parents[j])
        while a >= 0 and keys[a] not in points:
            a = int(rig.parents[a])
        if a >= 0:
            pairs.append((a, j))
    return pairs


def actor_rig(points: dict[str, np.ndarray], rig: Rig) -> Rig:
    """``rig`` with the actor's bone lengths: each bone between two joints with source
    points takes the median length over the clip (left/right averaged); joints in between
    are scaled along with it; directions stay the rig's."""
    rest = rig_rest_points(rig)
    keys = point_keys(rig)
    ratios: dict[int, float] = {}
    anc_of: dict[int, int] = {}
    for a, j in driven_bones(rig, points):
        r_len = np.linalg.norm(rest[keys[j]] - rest[keys[a]])
        if r_len < 1e-6:
            continue
        ratios[j] = _median_length(points[keys[j]] - points[keys[a]]) / r_len
        anc_of[j] = a
    # left/right symmetric
    sym = dict(ratios)
    for j, r in ratios.items():
        role = rig.roles[j]
        if role and role != mirror_role(role):
            m = rig.role_index(mirror_role(role))
            if m is not None and m in ratios:
                sym[j] = 0.5 * (r + ratios[m])
    offsets = rig.offsets.copy()
    for j, r in sym.items():
        if not np.isfinite(r) or r <= 0:
            continue
        k = j
        while k != anc_of[j]:
            offsets[k] = rig.offsets[k] * r
            k = int(rig.parents[k])
    return rig.with_offsets(offsets, name=rig.name)


def retarget(points: PointTracks | Mapping[str, np.ndarray], rig: Rig, fps: float,
             bone_lengths: str = "rig", scale: float | None = None) -> Animation:
    """Solve an animation of ``rig`` that follows the source point tracks.

    Args:
        points: :class:`~mocap.types.PointTracks` (or ``{name: (T, 3)}``), metres, Y up,
            ground at y = 0: role names (see :data:`mocap.skeleton.roles.ROLES`) and/or
            joint names of ``rig`` (for joints without a role). Missing points leave those
            joints in their rest pose relative to their parent.
        rig: the target skeleton.
        fps: frames per second of the source.
        bone_lengths: ``"rig"`` keeps the rig's bone lengths (root path scaled by the leg
            length ratio), ``"actor"`` takes the source's (median over the clip, left/right
            symmetric).
        scale: multiplies the source's root path; None: 1 for actor bone lengths, else the
            rig's leg length over the source's.

    Returns:
        The :class:`Animation` (its ``rig`` carries the bone lengths used).

    Raises:
        InputError: unknown ``bone_lengths``, or the source has no hips point.
    """
    if bone_lengths not in BONE_LENGTHS:
        raise InputError(f"unknown bone lengths {bone_lengths!r}; valid: "
                         f"{', '.join(BONE_LENGTHS)}")
    t = check_points(points)
    if t == 0:
        raise InputError("the source has no frames of motion: nothing to retarget")
    points = {k: np.asarray(v, np.float64) for k, v in points.items()}
    derive_points(points)
    # the body's size: how far its points spread about their centroid in any frame
    stack = np.stack(list(points.values()), 1)  # (T, K, 3)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # frames or tracks never seen
        centroid = np.nanmean(stack, axis=1, keepdims=True)
        size = np.nanmax(np.linalg.norm(stack - centroid, axis=-1))
    if not size > 1e-9:
        raise InputError("the source's joints all lie at one point (every bone has length 0) "
                         "or are never seen: there is no body to retarget")
    root_key = rig.roles[0] or rig.joints[0]
    if root_key not in points:
        # a root without a source point (e.g. a floor-level "Root" above the hips) follows
        # the hips, keeping its rest offset to them
        root_key = "hips"
        if "hips" not in points or rig.role_index("hips") is None:
            raise InputError(f"the source has no point for the rig's root joint "
                             f"{rig.joints[0]!r} and no hips point")
    if bone_lengths == "actor":
        rig = actor_rig(points, rig)
        scale = 1.0 if scale is None else scale
    elif scale is None:
        with np.errstate(all="ignore"):  # a source without legs, or legs of length 0
            scale = np.float64(leg_length(rig_rest_points(rig))) / leg_length(points)
        if not np.isfinite(scale) or scale <= 0:
            scale = 1.0
    rest = rig_rest_points(rig)
    plans = plan(points, rig)
    j = len(rig)
    # joint-major storage: each joint's (T, 3, 3) block is contiguous for fast matmuls
    g = np.empty((j, t, 3, 3))
    local = np.empty((j, t, 3, 3))
    eye = np.ascontiguousarray(np.broadcast_to(np.eye(3), (t, 3, 3)))
    for k in range(j):
        par = int(rig.parents[k])
        gp = g[par] if par >= 0 else eye
        pl = plans[k]
        if pl.primary is None:
            g[k] = gp
            local[k] = np.eye(3)
            continue
        cur_p = _vec(points, pl.primary)
        rest_p = _rest_vec(rest, pl.primary)
        # minimum twist from the parent: swing the parent-carried rest axis onto the target
        carried = gp @ rest_p
        gk = swing(carried, cur_p) @ gp
        # twist: blend from minimum twist to the secondary axis' frame, then to the
        # bend plane's, each weighted by how well defined it is in this frame (smoothly,
        # so the twist never jumps where an axis degenerates)
        layers = []
        if pl.secondary is not None:
            layers.append((_vec(points, pl.secondary), _rest_vec(rest, pl.secondary),
                           _PAIR_SIN))
        if pl.bend is not None:
            (a, b, c), hinge = pl.bend
            u, v = points[b] - points[a], points[c] - points[b]
            layers.append((np.cross(u, v), hinge, _BEND_SIN, u, v))
        for layer in layers:
            cur_s, rest_s, (lo, hi) = layer[:3]
            f_rest, _ = frame_from_axes(rest_p, rest_s)
            f_cur, sin_cur = frame_from_axes(cur_p, cur_s)
            if len(layer) > 3:  # bend: weight by the bend angle itself
                u, v = layer[3], layer[4]
                sin_cur = np.linalg.norm(cur_s, axis=-1) / np.maximum(
                    np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1), 1e-12)
            gk = _blend_twist(gk, f_cur @ f_rest.T, _smoothstep(sin_cur, lo, hi), rest_p)
        bad = ~np.isfinite(gk).all(axis=(-1, -2))
        if bad.any():  # missing source frames (NaN): hold the parent's rotation
            gk[bad] = gp[bad]
        g[k] = gk
        local[k] = np.swapaxes(gp, -1, -2) @ gk
    root = points[root_key] * scale
    if not np.isfinite(root).all():  # gaps in the source: interpolate the root path
        root = fill_nan(root)
    if root_key != (rig.roles[0] or rig.joints[0]):
        root = root - (rest["hips"] - rest[rig.roles[0] or rig.joints[0]])
    quats = matrices_to_quats(np.swapaxes(local, 0, 1))
    return Animation(rig, root, quats, float(fps))


# ---------------------------------------------------------------------------------------
# BVH in: source points from a BVH file


