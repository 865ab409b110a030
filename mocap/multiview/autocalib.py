"""Self-calibration: several static cameras' intrinsics and extrinsics from the people alone.

No board: the people the cameras see are the calibration object. Their body landmarks
(:data:`CALIB_JOINTS`), matched across views, serve as corresponding points.

1. **Who is who, without a calibration.** Every pair of tracks from two views that share
   at least ``min_frames`` frames is tested: a fundamental matrix is fitted by RANSAC
   (``cv2.findFundamentalMat``, MAGSAC) to their joints over all the shared frames, and
   the share of correspondences within ``max(2 px, 1.5 %`` of the person's size) of their
   epipolar lines (Sampson distance) scores the pair. Two views relate by one epipolar
   geometry, whoever carries the points: a pair is kept only if it also fits the epipolar
   geometry of the best pair of its two views (so two people, or a bystander seen by one
   view only, are not glued together by a matrix fitted to a coincidence), and only if its
   joints, triangulated through that geometry with the focal priors, lie in front of both
   cameras (:data:`MIN_IN_FRONT`). Tracks are then
   grouped into persons, best pairs first, with complete linkage (as
   :mod:`~mocap.multiview.match` does with a calibration).
2. **A first geometry.** The two views sharing the most correspondences give an essential
   matrix (``cv2.findEssentialMat`` on points normalised with each camera's focal prior,
   ``cv2.recoverPose``); the persons' joints are triangulated, and each other camera is
   added by PnP (``cv2.solvePnPRansac``), the one with the most 2D-3D correspondences
   first, the points triangulated again after each.
3. **Bundle adjustment** (:mod:`.bundle`) over every camera's rotation, translation and
   focal length (principal point at the image centre, no lens distortion) and one 3D point
   per joint per frame (at most ``max_frames`` frames per person, evenly spread), a robust
   loss, residuals weighted by the landmarks' visibility; then once more without the
   observations far off (more than ``max(15 px, 4 x`` the median error)).
4. **The metric scale**: ``scale_m``, the distance between the first two cameras' centres,
   when known; else the people's sizes: the median length of each limb segment over the
   take against a reference adult of :data:`REFERENCE_STATURE_M` (segment lengths as shares
   of stature, :data:`REFERENCE_SEGMENTS`), the tallest person taken for that adult (a
   child, or a smaller adult, would make the world too large). A person 10 % taller than
   the reference makes the world 10 % too small: the caller may say so.

The world frame is the first camera's (its centre at the origin, its axes: x right, y down,
z forward), metres; the caller levels it (e.g. from the feet).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from mocap.errors import InputError
from mocap.geometry.camera import DEFAULT_FOV_DEG, focal_px
from mocap.multiview.bundle import Bundle, adjust
from mocap.multiview.calibration import Calibration, Camera
from mocap.multiview.triangulate import triangulate
from mocap.types import MIRROR_LANDMARKS, Track

#: The BlazePose landmarks used as corresponding points: nose, eyes, ears, shoulders,
#: elbows, wrists, hips, knees, ankles, heels and toes (the hands' finger landmarks and the
#: mouth are left out: small, often guessed).
CALIB_JOINTS = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                32)
#: Default least number of frames two views must see the same person in (with at least
#: :data:`MIN_JOINTS` joints each frame).
MIN_FRAMES = 20
#: Least joints seen by both views for a frame to count as shared.
MIN_JOINTS = 6
#: Visibility at or under which a landmark is not used.
MIN_VISIBILITY = 0.5
#: Least share of a track pair's correspondences near their epipolar lines for the pair to
#: be the same person.
MIN_INLIER_SHARE = 0.5
#: The epipolar threshold (Sampson distance) as a share of the person's size in the image
#: (the smaller of the two views'; at least 2 px): pose estimators' landmarks wander by a
#: few percent of the body.
EPIPOLAR_SHARE = 0.025
#: The reference adult's stature, metres, for the scale from the people.
REFERENCE_STATURE_M = 1.70
#: Limb segments as shares of stature (Drillis and Contini 1966, as tabulated in D. A.
#: Winter, *Biomechanics and Motor Control of Human Movement*, 4th ed. 2009, fig. 4.1):
#: upper arm 0.186, forearm 0.146, thigh 0.245, shank 0.246 (BlazePose's landmark pairs:
#: shoulder-elbow, elbow-wrist, hip-knee, knee-ankle, both sides).
REFERENCE_SEGMENTS = {(11, 13): 0.186, (12, 14): 0.186, (13, 15): 0.146, (14, 16): 0.146,
                      (23, 25): 0.245, (24, 26): 0.245, (25, 27): 0.246, (26, 28): 0.246}


@dataclass
class AutoCalibration:
    """Cameras calibrated from the people they see (see the module docstring).

    Attributes:
        calibration: the V cameras, metres; world = the first camera's axes and centre.
        median_error_px: (V,) float64, each view's median reprojection error over the
            bundle adjustment's observations (outliers dropped).
        scale_source: ``"scale_m"`` (the known distance between the first two cameras)
            or ``"people"`` (the people's limb lengths against the reference adult).
        persons: how many cross-view persons the calibration used.
        matches: per person, its tracks as ``(view, index in that view's list)``.
        focal_prior: (V,) float64 px, each camera's starting (or given) focal length.
        scale: metres per unit of the reconstruction before scaling (diagnostic).
        person_scales: (P,) float64, each person's scale from its limbs (NaN where none
            measured); the smallest (the tallest person's) made the scale where
            ``scale_source`` is ``"people"``.
        pair: the two views (0-based) the geometry started from.
        points: how many 3D points the bundle adjustment refined.
        observations: how many 2D observations it used (after dropping the far ones).
        seconds: wall time of the calibration.
    """

    calibration: Calibration
    median_error_px: np.ndarray
    scale_source: str
    persons: int
    matches: list[list[tuple[int, int]]] = field(default_factory=list)
    focal_prior: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: float = 1.0
    person_scales: np.ndarray = field(default_factory=lambda: np.zeros(0))
    pair: tuple[int, int] = (0, 1)
    points: int = 0
    observations: int = 0
    seconds: float = 0.0


@dataclass
class _View:
    """One track on the common frame axis: xy (F, J, 2) px (NaN unseen), w (F, J)."""

    view: int
    index: int
    xy: np.ndarray
    w: np.ndarray
    size: float


def auto_calibrate(tracks: Sequence[Sequence[Track]], sizes: Sequence[tuple[int, int]], *,
                   names: Sequence[str] | None = None,
                   offsets: Sequence[float] | None = None, scale_m: float | None = None,
                   focal_px: Sequence[float] | None = None, min_frames: int = MIN_FRAMES,
                   same_focal: bool = False, max_frames: int = 40,
                   robust_px: float = 3.0,
                   seed: int = 0) -> AutoCalibration:
    """Calibrate V static cameras from the people they see (module docstring).

    Args:
        tracks: per view, its tracks (:func:`mocap.tracking.loop.track_video`'s).
        sizes: per view, (width, height) px of its images.
        names: per view, the camera's name (default ``cam1``, ``cam2``, ...).
        offsets: per view, frames: view ``v``'s frame ``f + offsets[v]`` is the first
            view's frame ``f`` (may be fractional: the landmarks are interpolated);
            default all 0.
        scale_m: the distance between the first two cameras' centres, metres; None: the
            scale from the people.
        focal_px: per view, a known focal length (px; None or NaN where unknown: estimated
            from a prior of :data:`mocap.geometry.camera.DEFAULT_FOV_DEG` horizontal).
        same_focal: the cameras whose focal length is estimated share one (cameras of
            one model at one zoom): one unknown instead of V, better determined.
        min_frames: least frames two views must share a person over.
        max_frames: most frames per person in the bundle adjustment.
        robust_px: the bundle adjustment's robust loss scale, px.
        seed: of the subsampling and RANSAC's random generator.

    Returns:
        :class:`AutoCalibration`.

    Raises:
        InputError: fewer than 2 views; no person seen by two views over ``min_frames``
            frames; a view that cannot be related to the others (named, 1-based).
        ValueError: arguments of the wrong length or value.
    """
    start = time.perf_counter()
    v_count = len(tracks)
    if v_count < 2:
        raise InputError(f"--calibration auto needs at least 2 videos, got {v_count}")
    names = [f"cam{v + 1}" for v in range(v_count)] if names is None else list(names)
    offs = [0.0] * v_count if offsets is None else [float(o) for o in offsets]
    for label, values in (("sizes", sizes), ("names", names), ("offsets", offs)):
        if len(values) != v_count:
            raise ValueError(f"`{label}` must hold one value per view ({v_count}), "
                             f"got {len(values)}")
    if not all(math.isfinite(o) for o in offs):
        raise ValueError(f"`offsets` must be finite, got {offs}")
    if scale_m is not None and not (math.isfinite(scale_m) and scale_m > 0):
        raise ValueError(f"`scale_m` must be a finite number > 0, got {scale_m}")
    known = np.full(v_count, np.nan) if focal_px is None else np.array(
        [np.nan if f is None else float(f) for f in focal_px])
    if len(known) != v_count:
        raise ValueError(f"`focal_px` must hold one value per view ({v_count}), "
                         f"got {len(known)}")
    if (known[np.isfinite(known)] <= 0).any():
        raise ValueError(f"`focal_px` must be > 0 where given, got {known.tolist()}")
    sizes = [(int(w), int(h)) for w, h in sizes]
    prior = np.array([known[v] if np.isfinite(known[v]) else _prior_focal(sizes[v][0])
                      for v in range(v_count)])
    centres = np.array([[w / 2, h / 2] for w, h in sizes], np.float64)
    rng = np.random.default_rng(seed)
    cv2.setRNGSeed(seed)

    views = _align(tracks, offs)
    persons, fmats = _match(views, v_count, min_frames, rng, prior, centres)
    if not persons:
        raise InputError("--calibration auto needs the same person seen by at least two "
                         f"cameras for {min_frames} frames; no such person was found")
    xy, w = _person_arrays(views, persons, v_count, fmats)
    seen_by = {v for p in persons for v, _ in p}
    if len(seen_by) < v_count:
        lost = min(set(range(v_count)) - seen_by)
        raise InputError(_unrelated(lost, names, min_frames))

    pair = _best_pair(w, v_count)
    rvecs, tvecs, registered = _initial(xy, w, centres, prior, pair, names, sizes, rng)
    missing = [v for v in range(v_count) if not registered[v]]
    if missing:
        raise InputError(_unrelated(missing[0], names, min_frames))

    bundle = _bundle(xy, w, rvecs, tvecs, prior, centres, names, sizes, max_frames, rng)
    free = ~np.isfinite(known)
    group = np.where(free, 0, -1) if same_focal else np.where(free, np.cumsum(free) - 1, -1)
    bundle = adjust(bundle, fixed=pair[0], second=pair[1], focal_group=group,
                    robust_px=robust_px)
    err = bundle.errors()
    keep = err <= max(15.0, 4 * float(np.median(err)))
    if not keep.all():
        bundle = Bundle(bundle.rvecs, bundle.tvecs, bundle.focals, bundle.centres,
                        bundle.points, bundle.cam_idx[keep], bundle.pt_idx[keep],
                        bundle.xy[keep], bundle.weights[keep])
        bundle = adjust(bundle, fixed=pair[0], second=pair[1], focal_group=group,
                        robust_px=robust_px)
    err = bundle.errors()
    median = np.array([float(np.median(err[bundle.cam_idx == v])) if
                       (bundle.cam_idx == v).any() else np.nan for v in range(v_count)])

    calib = _calibration(bundle, names, sizes)
    # the first camera's frame is the world
    calib = Calibration(tuple(c.transformed(calib[0].R, calib[0].t) for c in calib))
    person_scales = np.array([_person_scale(xy[p], w[p], calib) for p in range(len(persons))])
    if scale_m is not None:
        scale, source = scale_m / float(np.linalg.norm(calib[1].center - calib[0].center)), \
            "scale_m"
    else:
        good = person_scales[np.isfinite(person_scales)]
        if not len(good):
            raise InputError("--calibration auto could not measure the people's limbs to "
                             "set the scale; give the distance between the first two "
                             "cameras (--scale-m)")
        # the tallest person (the smallest scale) is taken for the reference adult:
        # children and other small people make the world too large, never too small
        scale, source = float(good.min()), "people"
    calib = Calibration(tuple(c.transformed(scale=scale) for c in calib))
    return AutoCalibration(calib, median, source, len(persons), persons, prior, scale,
                           person_scales, pair, len(bundle.points), len(bundle.xy),
                           time.perf_counter() - start)


def _prior_focal(width: int) -> float:
    return float(focal_px(width, DEFAULT_FOV_DEG))


def _unrelated(v: int, names: Sequence[str], min_frames: int) -> str:
    return (f"--calibration auto cannot relate video {v + 1} ({names[v]}) to the others: "
            f"no person it sees is seen by another camera for {min_frames} frames")


# --- step 1: who is who ---------------------------------------------------------------------

def _align(tracks: Sequence[Sequence[Track]], offsets: list[float]) -> list[_View]:
    """Every track on the first view's frame axis, from the first frame any track has."""
    joints = np.asarray(CALIB_JOINTS)
    spans = [(tr.frames[0] - offsets[v], tr.frames[-1] - offsets[v])
             for v, view in enumerate(tracks) for tr in view if len(tr.frames)]
    if not spans:
        return []
    first = math.ceil(min(s for s, _ in spans) - 1e-9)
    count = math.floor(max(e for _, e in spans) + 1e-9) - first + 1
    out = []
    for v, view in enumerate(tracks):
        for i, tr in enumerate(view):
            if not len(tr.frames):
                continue
            src = np.arange(first, first + count) + offsets[v]
            lo = np.floor(src + 1e-9)
            a = np.clip(src - lo, 0.0, 1.0)[:, None]
            i0 = (lo - tr.frames[0]).astype(np.int64)
            i1 = np.where(a[:, 0] > 1e-9, i0 + 1, i0)
            ok = (i0 >= 0) & (i1 < len(tr.frames))
            raw = tr.image_raw[:, joints, :2].astype(np.float64)
            vis = np.nan_to_num(tr.visibility[:, joints].astype(np.float64))
            vis[~tr.observed] = 0.0
            vis[~np.isfinite(raw).all(-1)] = 0.0
            xy = np.full((count, len(joints), 2), np.nan)
            w = np.zeros((count, len(joints)))
            j0, j1 = i0[ok], i1[ok]
            xy[ok] = raw[j0] * (1 - a[ok, :, None]) + raw[j1] * a[ok, :, None]
            w[ok] = np.minimum(vis[j0], vis[j1])
            seen = w > MIN_VISIBILITY
            xy[~seen], w[~seen] = np.nan, 0.0
            rows = seen.any(1)
            diag = np.linalg.norm(np.nanmax(xy[rows], 1) - np.nanmin(xy[rows], 1), axis=-1)
            size = float(np.nanmedian(diag)) if np.isfinite(diag).any() else math.nan
            out.append(_View(v, i, xy, w, size))
    return out


def _sampson(f: np.ndarray, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """(N,) px: the first-order distance of each correspondence to the epipolar geometry."""
    h1 = np.concatenate([p1, np.ones((len(p1), 1))], 1)
    h2 = np.concatenate([p2, np.ones((len(p2), 1))], 1)
    fx1, ftx2 = h1 @ f.T, h2 @ f
    num = np.einsum("ij,ij->i", h2, fx1) ** 2
    den = fx1[:, 0] ** 2 + fx1[:, 1] ** 2 + ftx2[:, 0] ** 2 + ftx2[:, 1] ** 2
    return np.sqrt(num / np.maximum(den, 1e-12))


def _mirror() -> np.ndarray:
    """Index, within :data:`CALIB_JOINTS`, of each joint's mirror image (left <-> right)."""
    joints = list(CALIB_JOINTS)
    return np.array([joints.index(MIRROR_LANDMARKS[j]) for j in joints])


_MIRROR = _mirror()


def _frame_errors(f: np.ndarray, a: _View, b: _View) -> tuple[np.ndarray, np.ndarray]:
    """(F,) px each frame's median Sampson error of the joints seen by both, with b's
    sides as they are and swapped (NaN where fewer than :data:`MIN_JOINTS` joints); and
    (F,) bool, the frames where swapping b's sides fits better (a pose estimator often
    mistakes a person's left for right seen from behind)."""
    out = []
    for xb, wb in ((b.xy, b.w), (b.xy[:, _MIRROR], b.w[:, _MIRROR])):
        both = (a.w > 0) & (wb > 0)
        e = np.full(both.shape, np.nan)
        e[both] = _sampson(f, a.xy[both], xb[both])
        med = np.full(len(e), np.nan)
        rows = both.sum(1) >= MIN_JOINTS
        med[rows] = np.nanmedian(e[rows], 1)
        out.append((e, med))
    (e0, m0), (e1, m1) = out
    flip = m1 < m0
    return np.where(flip[:, None], e1, e0), flip


def _share(f: np.ndarray, a: _View, b: _View) -> float:
    """The share of the joints two tracks both see (sides swapped where that fits better)
    within the threshold of the epipolar geometry ``f``."""
    e, _ = _frame_errors(f, a, b)
    e = e[np.isfinite(e)]
    return float((e < _threshold(a, b)).mean()) if len(e) else 0.0


def _shared(a: _View, b: _View, min_frames: int):
    both = (a.w > 0) & (b.w > 0)
    if (both.sum(1) >= MIN_JOINTS).sum() < min_frames:
        return None
    return a.xy[both], b.xy[both]


def _threshold(a: _View, b: _View) -> float:
    return max(2.0, EPIPOLAR_SHARE * min(a.size, b.size))


def _swapped(b: _View, flip: np.ndarray) -> _View:
    """The track with its sides swapped in the frames ``flip`` (F,) bool."""
    return _View(b.view, b.index, np.where(flip[:, None, None], b.xy[:, _MIRROR], b.xy),
                 np.where(flip[:, None], b.w[:, _MIRROR], b.w), b.size)


def _fit(pairs: list[tuple[_View, _View]], rng: np.random.Generator) -> np.ndarray | None:
    """One fundamental matrix for track pairs of two views, each taken as one person
    (MAGSAC), fitted again with each frame's sides swapped where that fits the first one
    better."""
    f = None
    for round_ in range(2):
        p1, p2 = [], []
        for a, b in pairs:
            if round_:
                b = _swapped(b, _frame_errors(f, a, b)[1])
            both = (a.w > 0) & (b.w > 0)
            q1, q2 = a.xy[both], b.xy[both]
            if len(q1) > 1500:
                pick = rng.choice(len(q1), 1500, replace=False)
                q1, q2 = q1[pick], q2[pick]
            p1.append(q1)
            p2.append(q2)
        p1, p2 = np.concatenate(p1), np.concatenate(p2)
        if len(p1) < 16:
            return f
        thr = min(_threshold(a, b) for a, b in pairs)
        g, _ = cv2.findFundamentalMat(p1, p2, cv2.USAC_MAGSAC, thr, 0.999, 3000)
        if g is None or g.shape != (3, 3):
            return f
        f = g
    return f


def _in_front(f: np.ndarray, a: _View, b: _View, focals: np.ndarray, centres: np.ndarray
              ) -> float:
    """The share of two tracks' joints that, triangulated through ``f`` made an essential
    matrix with the focal priors, lie in front of both cameras (a wrong person's joints
    fit an epipolar geometry with points behind a camera, a person seen by both never)."""
    b = _swapped(b, _frame_errors(f, a, b)[1])
    both = (a.w > 0) & (b.w > 0)
    k = [np.array([[focals[v], 0, centres[v][0]], [0, focals[v], centres[v][1]], [0, 0, 1]])
         for v in (a.view, b.view)]
    p1 = (a.xy[both] - centres[a.view]) / focals[a.view]
    p2 = (b.xy[both] - centres[b.view]) / focals[b.view]
    if len(p1) < 8:
        return 0.0
    _, r, t, _ = cv2.recoverPose(k[1].T @ f @ k[0], p1, p2, np.eye(3))
    x = cv2.triangulatePoints(np.eye(3, 4), np.hstack([r, t]), p1.T, p2.T)
    x = (x[:3] / x[3]).T
    return float(((x[:, 2] > 0) & ((x @ r.T + t.T)[:, 2] > 0)).mean())


#: Least share of a pair's triangulated joints in front of both cameras (see
#: :func:`_in_front`).
MIN_IN_FRONT = 0.9


def _matchings(cands: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Every non-empty one-to-one set of the candidate pairs."""
    out = []

    def grow(start: int, chosen: list, used: set) -> None:
        if chosen:
            out.append(chosen)
        for k in range(start, len(cands)):
            a, b = cands[k]
            if a not in used and b not in used:
                grow(k + 1, [*chosen, (a, b)], used | {a, b})

    grow(0, [], set())
    return out


#: Most candidate track pairs per view pair whose joint assignments are tried (the best by
#: their own epipolar fit).
MAX_CANDIDATES = 8


def _match(views: list[_View], v_count: int, min_frames: int, rng: np.random.Generator,
           focals: np.ndarray, centres: np.ndarray
           ) -> tuple[list[list[tuple[int, int]]], dict[tuple[int, int], np.ndarray]]:
    """Persons (lists of (view, track index), each spanning at least two views) and each
    view pair's fundamental matrix ``{(va, vb): F}``, va < vb (``x_b^T F x_a = 0``)."""
    n = len(views)
    accepted = np.zeros((n, n), bool)
    compared = np.zeros((n, n), bool)
    score = np.zeros((n, n))
    fmats = {}
    for va in range(v_count):
        for vb in range(va + 1, v_count):
            cands = []
            for a in (k for k in range(n) if views[k].view == va):
                for b in (k for k in range(n) if views[k].view == vb):
                    if _shared(views[a], views[b], min_frames) is None:
                        continue
                    compared[a, b] = compared[b, a] = True
                    f = _fit([(views[a], views[b])], rng)
                    if f is not None:
                        cands.append((_share(f, views[a], views[b]), a, b))
            cands = [(a, b) for _, a, b in sorted(cands, reverse=True)[:MAX_CANDIDATES]]
            # One epipolar geometry relates two views, whoever carries the points; one
            # person's joints, in a small volume, fit many matrices, so a wrong pair can fit
            # its own. The assignment kept is the one whose pairs, fitted together, put the
            # most correspondences within the threshold.
            best = (0.0, None, {})
            for matching in _matchings(cands):
                f = _fit([(views[a], views[b]) for a, b in matching], rng)
                if f is None:
                    continue
                shares = {(a, b): _share(f, views[a], views[b]) for a, b in matching}
                total = sum(s * len(_shared(views[a], views[b], 1)[0])
                            for (a, b), s in shares.items() if s >= MIN_INLIER_SHARE)
                if total > best[0]:
                    best = (total, f, shares)
            _, f_ref, shares = best
            if f_ref is None:
                continue
            fmats[(va, vb)] = f_ref
            for (a, b), s in shares.items():
                if (s >= MIN_INLIER_SHARE
                        and _in_front(f_ref, views[a], views[b], focals, centres)
                        >= MIN_IN_FRONT):
                    accepted[a, b] = accepted[b, a] = True
                    score[a, b] = score[b, a] = s
    # complete linkage, best pairs first
    group = list(range(n))
    members = {k: [k] for k in range(n)}
    pairs = sorted(((score[a, b], a, b) for a in range(n) for b in range(a + 1, n)
                    if accepted[a, b]), reverse=True)
    for _, a, b in pairs:
        ga, gb = group[a], group[b]
        if ga == gb:
            continue
        union = members[ga] + members[gb]
        if any(views[x].view == views[y].view and ((views[x].w > 0).any(1)
                                                   & (views[y].w > 0).any(1)).any()
               for x in members[ga] for y in members[gb]):
            continue  # one view would hold two tracks over the same frames
        if any(compared[x, y] and not accepted[x, y] for x in members[ga] for y in members[gb]):
            continue
        keep, gone = min(ga, gb), max(ga, gb)
        members.pop(gone)
        members[keep] = sorted(union)
        for k in union:
            group[k] = keep
    out = []
    for root in sorted(members):
        ms = members[root]
        if len({views[k].view for k in ms}) >= 2:
            out.append(sorted((views[k].view, views[k].index) for k in ms))
    return out, fmats


def _person_arrays(views: list[_View], persons, v_count: int, fmats
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(P, V, F, J, 2) px and (P, V, F, J) weights of the persons' joints, each frame's
    sides swapped where that agrees better with the person's most seen track there."""
    lookup = {(s.view, s.index): s for s in views}
    frames, joints = views[0].w.shape
    xy = np.full((len(persons), v_count, frames, joints, 2), np.nan)
    w = np.zeros((len(persons), v_count, frames, joints))
    for p, person in enumerate(persons):
        members = sorted((lookup[m] for m in person), key=lambda s: -(s.w > 0).sum())
        seen = [(s.w > 0).sum(1) >= MIN_JOINTS for s in members]
        flips = [np.zeros(frames, bool) for _ in members]
        for k, s in enumerate(members):
            for r in range(k):  # the first more-seen track of another view, per frame
                ref = members[r]
                key = (min(ref.view, s.view), max(ref.view, s.view))
                if ref.view == s.view or key not in fmats:
                    continue
                f = fmats[key] if ref.view < s.view else fmats[key].T
                # s against ref as ref was put (its own flips applied)
                ref_fixed = _View(ref.view, ref.index,
                                  np.where(flips[r][:, None, None], ref.xy[:, _MIRROR], ref.xy),
                                  np.where(flips[r][:, None], ref.w[:, _MIRROR], ref.w),
                                  ref.size)
                _, flip = _frame_errors(f, ref_fixed, s)
                todo = seen[k] & seen[r] & ~np.any([seen[q] & (members[q].view != s.view)
                                                    for q in range(r)] + [np.zeros(frames,
                                                                                   bool)], 0)
                flips[k][todo] = flip[todo]
        for s, flip in zip(members, flips, strict=True):
            sxy = np.where(flip[:, None, None], s.xy[:, _MIRROR], s.xy)
            sw = np.where(flip[:, None], s.w[:, _MIRROR], s.w)
            ok = sw > 0
            xy[p, s.view][ok] = sxy[ok]
            w[p, s.view][ok] = sw[ok]
    return xy, w


# --- step 2: a first geometry ---------------------------------------------------------------

def _best_pair(w: np.ndarray, v_count: int) -> tuple[int, int]:
    seen = w > 0
    best, pair = -1, (0, 1)
    for a in range(v_count):
        for b in range(a + 1, v_count):
            count = int((seen[:, a] & seen[:, b]).sum())
            if count > best:
                best, pair = count, (a, b)
    return pair


def _cameras(rvecs, tvecs, focals, centres, names, sizes, views) -> Calibration:
    cams = []
    for v in views:
        k = np.array([[focals[v], 0, centres[v][0]], [0, focals[v], centres[v][1]], [0, 0, 1]])
        cams.append(Camera(names[v], sizes[v], k, np.zeros(5), cv2.Rodrigues(rvecs[v])[0],
                           tvecs[v]))
    return Calibration(tuple(cams))


def _triangulated(xy, w, rvecs, tvecs, focals, centres, names, sizes, registered
                  ) -> np.ndarray:
    """(P, F, J, 3) the persons' joints triangulated from the registered views."""
    views = [v for v in range(len(registered)) if registered[v]]
    calib = _cameras(rvecs, tvecs, focals, centres, names, sizes, views)
    p, _, f, j, _ = xy.shape
    flat_xy = xy[:, views].transpose(1, 0, 2, 3, 4).reshape(len(views), p * f, j, 2)
    flat_w = w[:, views].transpose(1, 0, 2, 3).reshape(len(views), p * f, j)
    tri = triangulate(flat_xy, flat_w, calib, max_error_px=30.0, min_angle_deg=2.0)
    return tri.points.reshape(p, f, j, 3)


def _initial(xy, w, centres, focals, pair, names, sizes, rng):
    v_count = xy.shape[1]
    a, b = pair
    both = (w[:, a] > 0) & (w[:, b] > 0)
    p1 = (xy[:, a][both] - centres[a]) / focals[a]
    p2 = (xy[:, b][both] - centres[b]) / focals[b]
    thr = 3.0 / math.sqrt(focals[a] * focals[b]) * 3
    e, mask = cv2.findEssentialMat(p1, p2, np.eye(3), cv2.RANSAC, 0.999, thr)
    if e is not None and e.shape != (3, 3):
        e = e[:3]
    rvecs, tvecs = np.zeros((v_count, 3)), np.zeros((v_count, 3))
    registered = np.zeros(v_count, bool)
    if e is None:
        return rvecs, tvecs, registered
    _, r, t, _ = cv2.recoverPose(e, p1, p2, np.eye(3), mask=mask)
    rvecs[b], tvecs[b] = cv2.Rodrigues(r)[0].reshape(3), t.reshape(3)
    registered[[a, b]] = True
    while not registered.all():
        pts = _triangulated(xy, w, rvecs, tvecs, focals, centres, names, sizes, registered)
        found = np.isfinite(pts).all(-1)
        best, pick = 0, None
        for v in np.flatnonzero(~registered):
            count = int((found & (w[:, v] > 0)).sum())
            if count > best:
                best, pick = count, v
        if pick is None or best < 12:
            break
        use = found & (w[:, pick] > 0)
        obj, img = pts[use], xy[:, pick][use]
        k = np.array([[focals[pick], 0, centres[pick][0]], [0, focals[pick], centres[pick][1]],
                      [0, 0, 1]])
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            obj, img, k, None, iterationsCount=2000, reprojectionError=8.0 * focals[pick]
            / 1000, confidence=0.999, flags=cv2.SOLVEPNP_EPNP)
        if not ok or inliers is None or len(inliers) < 12:
            break
        inl = inliers.reshape(-1)
        ok, rvec, tvec = cv2.solvePnP(obj[inl], img[inl], k, None, rvec, tvec, True,
                                      cv2.SOLVEPNP_ITERATIVE)
        rvecs[pick], tvecs[pick] = rvec.reshape(3), tvec.reshape(3)
        registered[pick] = True
    return rvecs, tvecs, registered


# --- step 3: bundle adjustment --------------------------------------------------------------

def _bundle(xy, w, rvecs, tvecs, focals, centres, names, sizes, max_frames, rng) -> Bundle:
    v_count = xy.shape[1]
    pts = _triangulated(xy, w, rvecs, tvecs, focals, centres, names, sizes,
                        np.ones(v_count, bool))
    cam_idx, pt_idx, obs, weights, points = [], [], [], [], []
    for p in range(len(xy)):
        found = np.isfinite(pts[p]).all(-1)  # (F, J)
        frames = np.flatnonzero(found.sum(1) >= MIN_JOINTS)
        if len(frames) > max_frames:
            frames = frames[np.round(np.linspace(0, len(frames) - 1, max_frames)).astype(int)]
        for f in frames:
            for j in np.flatnonzero(found[f]):
                k = len(points)
                points.append(pts[p, f, j])
                for v in np.flatnonzero(w[p, :, f, j] > 0):
                    cam_idx.append(v)
                    pt_idx.append(k)
                    obs.append(xy[p, v, f, j])
                    weights.append(w[p, v, f, j])
    return Bundle(rvecs.copy(), tvecs.copy(), np.asarray(focals, np.float64).copy(),
                  np.asarray(centres, np.float64), np.array(points).reshape(-1, 3),
                  np.array(cam_idx, np.int64), np.array(pt_idx, np.int64),
                  np.array(obs).reshape(-1, 2), np.array(weights, np.float64))


def _calibration(bundle: Bundle, names, sizes) -> Calibration:
    return _cameras(bundle.rvecs, bundle.tvecs, bundle.focals, bundle.centres, names, sizes,
                    range(len(names)))


# --- step 4: the scale ----------------------------------------------------------------------

def _person_scale(xy: np.ndarray, w: np.ndarray, calib: Calibration) -> float:
    """The scale (metres per unit) making one person's limbs the reference adult's:
    the median over its segments of reference / measured length; NaN where none."""
    joints = list(CALIB_JOINTS)
    tri = triangulate(xy, w, calib, max_error_px=15.0)
    ratios = []
    for (a, b), share in REFERENCE_SEGMENTS.items():
        length = np.linalg.norm(tri.points[:, joints.index(a)] - tri.points[:, joints.index(b)],
                                axis=-1)
        length = length[np.isfinite(length)]
        if len(length) >= 5:
            ratios.append(share * REFERENCE_STATURE_M / float(np.median(length)))
    return float(np.median(ratios)) if ratios else math.nan
