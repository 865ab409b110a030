"""Bundle adjustment of pinhole cameras and 3D points, for self-calibration.

Each camera has a rotation (Rodrigues vector), a translation and one focal length (square
pixels, principal point fixed at the image centre, no lens distortion); each point is free in
3D. The residuals are the pixel errors of the observations, weighted, under a robust loss
(:func:`scipy.optimize.least_squares`, ``soft_l1``), with the Jacobian's sparsity given (a
residual depends on one camera and one point only) so that thousands of points stay cheap.
The world's gauge (7 degrees of freedom of a similarity) is fixed by holding one camera's
rotation and translation and, softly, the distance from it to a second camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix


def rodrigues(rvec: np.ndarray) -> np.ndarray:
    """(N, 3) axis times angle (radians) -> (N, 3, 3) rotation matrices."""
    rvec = np.asarray(rvec, np.float64).reshape(-1, 3)
    theta = np.linalg.norm(rvec, axis=-1)
    small = theta < 1e-12
    k = rvec / np.where(small, 1.0, theta)[:, None]
    zero = np.zeros(len(k))
    cross = np.stack([np.stack([zero, -k[:, 2], k[:, 1]], -1),
                      np.stack([k[:, 2], zero, -k[:, 0]], -1),
                      np.stack([-k[:, 1], k[:, 0], zero], -1)], -2)
    s, c = np.sin(theta)[:, None, None], np.cos(theta)[:, None, None]
    rot = np.eye(3) + s * cross + (1 - c) * (cross @ cross)
    rot[small] = np.eye(3)
    return rot


def project(rot: np.ndarray, t: np.ndarray, focal: np.ndarray, centre: np.ndarray,
            points: np.ndarray) -> np.ndarray:
    """Pinhole projection, one camera per point.

    Args:
        rot: (N, 3, 3) world -> camera rotations.
        t: (N, 3) translations, ``p_cam = R p + t``.
        focal: (N,) px.
        centre: (N, 2) px, principal points.
        points: (N, 3) world points.

    Returns:
        (N, 2) px (points behind a camera are projected too: the residual stays defined).
    """
    cam = np.einsum("nij,nj->ni", rot, points) + t
    z = cam[:, 2:3]
    z = np.where(np.abs(z) < 1e-6, np.copysign(1e-6, z), z)
    return cam[:, :2] / z * focal[:, None] + centre


@dataclass
class Bundle:
    """The state a bundle adjustment refines.

    Attributes:
        rvecs: (V, 3) world -> camera rotations (Rodrigues).
        tvecs: (V, 3) translations.
        focals: (V,) px.
        centres: (V, 2) px, principal points (fixed).
        points: (N, 3) world points.
        cam_idx: (M,) int, the camera of each observation.
        pt_idx: (M,) int, the point of each observation.
        xy: (M, 2) px, the observations.
        weights: (M,) in (0, 1], each observation's weight (a landmark's visibility).
    """

    rvecs: np.ndarray
    tvecs: np.ndarray
    focals: np.ndarray
    centres: np.ndarray
    points: np.ndarray
    cam_idx: np.ndarray
    pt_idx: np.ndarray
    xy: np.ndarray
    weights: np.ndarray

    def errors(self) -> np.ndarray:
        """(M,) px, each observation's reprojection error."""
        pred = project(rodrigues(self.rvecs)[self.cam_idx], self.tvecs[self.cam_idx],
                       self.focals[self.cam_idx], self.centres[self.cam_idx],
                       self.points[self.pt_idx])
        return np.linalg.norm(pred - self.xy, axis=-1)


def adjust(bundle: Bundle, *, fixed: int, second: int, focal_group: np.ndarray,
           robust_px: float = 3.0, max_nfev: int = 200) -> Bundle:
    """Refine cameras and points (see the module docstring).

    Args:
        bundle: the starting state (not modified).
        fixed: the camera whose rotation and translation are held.
        second: the camera whose distance to ``fixed`` is held (softly): the gauge's scale.
        focal_group: (V,) int, each camera's focal length parameter (0 .. G-1; cameras
            sharing a number share one focal length), -1 where the focal length is held.
        robust_px: the ``soft_l1`` loss's scale, px: errors beyond it count less and less.
        max_nfev: the most function evaluations.

    Returns:
        A new :class:`Bundle` with the refined cameras and points.
    """
    v_count = len(bundle.rvecs)
    m = len(bundle.xy)
    cam_free = np.array([c != fixed for c in range(v_count)])
    n_cam_free = int(cam_free.sum())
    focal_group = np.asarray(focal_group, np.int64)
    free_focal = focal_group >= 0
    n_focal = int(focal_group.max()) + 1 if free_focal.any() else 0
    cam_slot = np.cumsum(cam_free) - 1  # index among the free cameras
    centres = [_centre_of(bundle, c) for c in range(v_count)]
    base = float(np.linalg.norm(centres[second] - centres[fixed]))
    o_focal = 6 * n_cam_free
    o_pts = o_focal + n_focal

    def unpack(x):
        rv, tv = bundle.rvecs.copy(), bundle.tvecs.copy()
        cams = x[:o_focal].reshape(-1, 6)
        rv[cam_free], tv[cam_free] = cams[:, :3], cams[:, 3:]
        f = bundle.focals.copy()
        f[free_focal] = np.exp(x[o_focal:o_pts])[focal_group[free_focal]]
        return rv, tv, f, x[o_pts:].reshape(-1, 3)

    w = bundle.weights[:, None]

    def residuals(x):
        rv, tv, f, pts = unpack(x)
        pred = project(rodrigues(rv)[bundle.cam_idx], tv[bundle.cam_idx], f[bundle.cam_idx],
                       bundle.centres[bundle.cam_idx], pts[bundle.pt_idx])
        res = ((pred - bundle.xy) * w).ravel()
        c2 = -rodrigues(rv[second])[0].T @ tv[second]
        c1 = -rodrigues(rv[fixed])[0].T @ tv[fixed]
        # the gauge's scale: a stiff residual (in px-sized units) on the baseline
        gauge = 1000.0 * (np.linalg.norm(c2 - c1) / base - 1.0)
        return np.concatenate([res, [gauge]])

    x0 = np.concatenate([np.concatenate([bundle.rvecs, bundle.tvecs], 1)[cam_free].ravel(),
                         [np.log(bundle.focals[focal_group == g]).mean()
                          for g in range(n_focal)], bundle.points.ravel()])
    sparsity = lil_matrix((2 * m + 1, len(x0)), dtype=np.int8)
    rows = np.arange(m)
    for axis in (0, 1):
        r = 2 * rows + axis
        free = cam_free[bundle.cam_idx]
        for k in range(6):
            sparsity[r[free], 6 * cam_slot[bundle.cam_idx[free]] + k] = 1
        has_f = free_focal[bundle.cam_idx]
        sparsity[r[has_f], o_focal + focal_group[bundle.cam_idx[has_f]]] = 1
        for k in range(3):
            sparsity[r, o_pts + 3 * bundle.pt_idx + k] = 1
    if cam_free[second]:
        sparsity[2 * m, 6 * cam_slot[second]: 6 * cam_slot[second] + 6] = 1
    result = least_squares(residuals, x0, jac_sparsity=sparsity, loss="soft_l1",
                           f_scale=robust_px, x_scale="jac", method="trf",
                           max_nfev=max_nfev, xtol=1e-8, ftol=1e-6)
    rv, tv, f, pts = unpack(result.x)
    return Bundle(rv, tv, f, bundle.centres, pts, bundle.cam_idx, bundle.pt_idx, bundle.xy,
                  bundle.weights)


def _centre_of(bundle: Bundle, c: int) -> np.ndarray:
    return -rodrigues(bundle.rvecs[c])[0].T @ bundle.tvecs[c]


def umeyama(src: np.ndarray, dst: np.ndarray, scale: bool = True
            ) -> tuple[np.ndarray, np.ndarray, float]:
    """The similarity ``dst ~ s R src + t`` of least squares (Umeyama 1991).

    Args:
        src, dst: (N, 3) corresponding points, N >= 3 not all on a line.
        scale: estimate the scale (else 1).

    Returns:
        ``(R (3, 3), t (3,), s)``.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    s = float((sig * d).sum() / (a ** 2).sum() * len(src)) if scale else 1.0
    if not math.isfinite(s) or s <= 0:
        s = 1.0
    return rot, mu_d - s * rot @ mu_s, s
