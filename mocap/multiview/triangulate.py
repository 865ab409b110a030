"""Triangulation: the 2D points of several calibrated views -> 3D points.

Every joint of every frame at once (no loop over frames; loops run over views and over
the rejection rounds only):

1. each view's pixels are undistorted into normalised image coordinates
   (:meth:`Camera.normalize`); a view counts for a point where its 2D point is finite and
   its confidence above ``min_confidence``;
2. the 3D point is the confidence-weighted DLT solution: rows ``w (x P3 - P1)`` and
   ``w (y P3 - P2)`` per view, ``P = [R | t]``, the null vector of their normal matrix;
3. its reprojection error is measured in each view, in pixels, lens distortion included;
4. while the worst error among the views used exceeds ``max_error_px`` and more than two
   views remain, one view is dropped: the one whose removal leaves the smallest worst error
   (each candidate solved again), so that a wrong view is dropped even where it pulls the
   point towards itself and a good view shows the largest error;
5. a point seen by fewer than two views, or whose error stays above ``max_error_px`` with
   two views left (two views that disagree: neither can be told wrong), or whose views'
   rays all meet at less than ``min_angle_deg`` (two cameras facing each other across the
   point fix nothing along the line between them: metres of error from a pixel of noise),
   is NaN. A set of views that narrow is never chosen in step 4 either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error
from mocap.multiview.calibration import Calibration

#: Default reprojection error (px) above which a view is dropped from a point (Pose2Sim's
#: default threshold too).
MAX_ERROR_PX = 15.0
#: Default smallest angle (degrees) between the rays of two views that a point needs: the
#: error along the rays grows as 1 / sin(angle) (at 5 degrees, about 11 times the error
#: across them).
MIN_ANGLE_DEG = 5.0


@dataclass
class Triangulation:
    """3D points triangulated from V views over T frames and J joints.

    Attributes:
        points: (T, J, 3) float64 metres, the calibration's world axes; NaN where fewer
            than two views were usable or they disagree (see the module docstring).
        errors: (V, T, J) float32 px, the distance in each view between its 2D point and
            the 3D point's projection (dropped views included: their error says why); NaN
            where the view has no finite 2D point, or there is no 3D point, or the point is
            behind that camera.
        used: (V, T, J) bool, the views the 3D point was solved from (all False where it
            is NaN).
    """

    points: np.ndarray
    errors: np.ndarray
    used: np.ndarray

    def __post_init__(self) -> None:
        self.points = np.asarray(self.points, np.float64)
        if self.points.ndim != 3 or self.points.shape[2] != 3:
            raise shape_error("points", "(T, J, 3)", self.points.shape)
        t, j = self.points.shape[:2]
        self.errors = np.asarray(self.errors, np.float32)
        self.used = np.asarray(self.used, bool)
        if self.errors.ndim != 3 or self.errors.shape[1:] != (t, j):
            raise shape_error("errors", f"(V, {t}, {j})", self.errors.shape)
        if self.used.shape != self.errors.shape:
            raise shape_error("used", f"{self.errors.shape}", self.used.shape)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, frames) -> Triangulation:
        """The same for a selection of frames (index, slice or boolean mask over T)."""
        if isinstance(frames, int | np.integer):
            frames = slice(frames, frames + 1) if frames != -1 else slice(-1, None)
        return Triangulation(self.points[frames], self.errors[:, frames],
                             self.used[:, frames])

    @property
    def views(self) -> int:
        return len(self.errors)

    def median_error(self) -> np.ndarray:
        """(V,) float64 px: each view's median reprojection error over the points it was
        used for (NaN for a view never used)."""
        out = np.full(self.views, np.nan)
        for v in range(self.views):
            if self.used[v].any():
                out[v] = float(np.median(self.errors[v][self.used[v]]))
        return out


def _dlt(norm: np.ndarray, weight: np.ndarray, extrinsics: np.ndarray) -> np.ndarray:
    """Weighted DLT for N points at once.

    Args:
        norm: (V, N, 2) normalised image coordinates (anything where ``weight`` is 0).
        weight: (V, N) >= 0.
        extrinsics: (V, 3, 4) ``[R | t]``.

    Returns:
        (N, 3) float64; NaN where fewer than two views have weight.
    """
    v, n = weight.shape
    x = np.where(weight > 0, norm[..., 0], 0.0)[..., None]
    y = np.where(weight > 0, norm[..., 1], 0.0)[..., None]
    p0, p1, p2 = (extrinsics[:, None, k] for k in range(3))  # (V, 1, 4) each
    rows = np.stack([x * p2 - p0, y * p2 - p1], axis=2) * weight[..., None, None]
    a = rows.transpose(1, 0, 2, 3).reshape(n, 2 * v, 4)
    # the null vector of A is the eigenvector of A^T A with the smallest eigenvalue; A^T A
    # is 4x4 however many views, and eigh over N of them is several times faster than SVD
    m = np.einsum("nki,nkj->nij", a, a)
    scale = np.abs(m).max(axis=(1, 2), keepdims=True)
    m = m / np.where(scale > 0, scale, 1.0)
    vec = np.linalg.eigh(m)[1][..., 0]  # (N, 4), eigenvalues ascending
    with np.errstate(divide="ignore", invalid="ignore"):
        out = vec[:, :3] / vec[:, 3:]
    out[(weight > 0).sum(0) < 2] = np.nan
    out[~np.isfinite(out).all(-1)] = np.nan
    return out


def _best_sine(rays: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The largest |sin| of the angle between the rays (V, N, 3) (unit vectors) of two views
    in ``mask`` (..., V, N) bool: (..., N), 0 where fewer than two views."""
    sine = np.linalg.norm(np.cross(rays[:, None], rays[None, :]), axis=-1)  # (V, V, N)
    pair = mask[..., :, None, :] & mask[..., None, :, :]
    return np.where(pair, sine, 0.0).max(axis=(-3, -2))


def _errors(calibration: Calibration, points: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(V, N) px between each view's 2D point xy (V, N, 2) and the projection of points
    (N, 3); NaN where either is missing or the point is behind the camera."""
    proj = calibration.project(points)
    return np.linalg.norm(proj - xy, axis=-1)


def triangulate(xy: np.ndarray, confidence: np.ndarray, calibration: Calibration, *,
                min_confidence: float = 0.0, max_error_px: float = MAX_ERROR_PX,
                min_angle_deg: float = MIN_ANGLE_DEG) -> Triangulation:
    """Triangulate per-view 2D points (see the module docstring for the method).

    Args:
        xy: (V, T, J, 2) px, view ``v`` seen by ``calibration[v]``, its pixels as the
            camera records them (distorted); NaN where not seen.
        confidence: (V, T, J) in [0, 1], the DLT weights; a view counts for a point only
            above ``min_confidence`` (NaN counts as 0).
        calibration: the V cameras.
        min_confidence: confidences at or below it are not used.
        max_error_px: reprojection error (px) above which views are dropped (see the module
            docstring); ``math.inf`` keeps every usable view.
        min_angle_deg: the smallest angle between two views' rays a point needs (0 accepts
            any).

    Returns:
        :class:`Triangulation`.

    Raises:
        ValueError: shapes that do not match each other or the calibration, or a bad
            threshold.
    """
    xy = np.asarray(xy, np.float64)
    confidence = np.asarray(confidence, np.float64)
    v = len(calibration)
    if xy.ndim != 4 or xy.shape[0] != v or xy.shape[3] != 2:
        raise shape_error("xy", f"(V, T, J, 2) with V = {v} cameras", xy.shape)
    if confidence.shape != xy.shape[:3]:
        raise shape_error("confidence", str(xy.shape[:3]), confidence.shape)
    if not math.isfinite(min_confidence):
        raise ValueError(f"`min_confidence` must be finite, got {min_confidence}")
    if not max_error_px > 0:
        raise ValueError(f"`max_error_px` must be positive, got {max_error_px}")
    if not 0 <= min_angle_deg < 90:
        raise ValueError(f"`min_angle_deg` must be in [0, 90), got {min_angle_deg}")
    min_sine = math.sin(math.radians(min_angle_deg))
    _, t, j = confidence.shape
    n = t * j
    obs = xy.reshape(v, n, 2)
    seen = np.isfinite(obs).all(-1)
    weight = np.where(seen, np.nan_to_num(confidence.reshape(v, n), nan=0.0), 0.0)
    used = weight > min_confidence
    weight = np.where(used, np.maximum(weight, 1e-6), 0.0)  # min_confidence may be < 0
    norm = np.stack([cam.normalize(obs[k]) for k, cam in enumerate(calibration)])
    extr = np.stack([np.hstack([c.R, c.t[:, None]]) for c in calibration])
    # each view's ray through its 2D point, world axes (unit length; NaN where unseen)
    rays = np.einsum("vji,vnj->vni", extr[:, :, :3],
                     np.concatenate([norm, np.ones_like(norm[..., :1])], -1))
    rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
    rays = np.nan_to_num(rays)

    points = _dlt(norm, weight, extr)
    errors = _errors(calibration, points, obs)
    eye = np.eye(v, dtype=bool)[:, :, None]  # (candidate, view, 1)
    for _ in range(max(v - 2, 0)):
        worst = np.where(used, np.nan_to_num(errors, nan=np.inf), -np.inf).max(0)
        bad = np.flatnonzero((used.sum(0) > 2) & (worst > max_error_px))
        if not len(bad):
            break
        m = len(bad)
        # every leave-one-out solution of the bad points at once: candidate u drops view u
        cand_w = np.where(eye, 0.0, weight[:, bad][None])  # (V cand, V, M)
        cand_w = cand_w.transpose(1, 0, 2).reshape(v, v * m)
        cand_norm = np.tile(norm[:, bad], (1, v, 1))
        cand_pts = _dlt(cand_norm, cand_w, extr)  # (V cand * M, 3)
        cand_err = _errors(calibration, cand_pts, np.tile(obs[:, bad], (1, v, 1)))
        cand_err = cand_err.reshape(v, v, m).transpose(1, 0, 2)  # (cand, view, M)
        left = used[:, bad][None] & ~eye
        cand_worst = np.where(left, np.nan_to_num(cand_err, nan=np.inf), -np.inf).max(1)
        cand_worst[~used[:, bad]] = np.inf  # only a used view can be dropped
        cand_worst[_best_sine(rays[:, bad], left) < min_sine] = np.inf  # nor leave too narrow
        best = cand_worst.argmin(0)  # (M,)
        used[best, bad] = False
        weight[best, bad] = 0.0
        points[bad] = cand_pts.reshape(v, m, 3)[best, np.arange(m)]
        errors[:, bad] = cand_err[best, :, np.arange(m)].T
    worst = np.where(used, np.nan_to_num(errors, nan=np.inf), -np.inf).max(0)
    ok = ((used.sum(0) >= 2) & np.isfinite(points).all(-1) & (worst <= max_error_px)
          & (_best_sine(rays, used) >= min_sine))
    points[~ok] = np.nan
    used[:, ~ok] = False
    errors[:, ~ok] = np.nan
    return Triangulation(points.reshape(t, j, 3), errors.reshape(v, t, j),
                         used.reshape(v, t, j))
