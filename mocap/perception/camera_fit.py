"""The fits behind the camera-motion estimate: a homography (which background features move
together, whatever the focal length) and a rotation with a zoom (how a camera turning about
its centre moves them, at a given focal length).

Pixel positions here are centred on the image centre (x right, y down), px of whatever
image they were measured in.
"""

from __future__ import annotations

import numpy as np

from mocap.geometry.rotations import kabsch, normalize

__all__ = ["fit_homography", "fit_rotation_zoom", "rays", "rotation_errors", "to_pixels"]


def rays(px: np.ndarray, focal: float) -> np.ndarray:
    """(N, 2) centred pixel positions -> (N, 3) unit viewing rays (camera axes)."""
    return normalize(np.concatenate([px / focal, np.ones((len(px), 1))], axis=1))[0]


def to_pixels(r: np.ndarray, focal: float) -> np.ndarray:
    """(..., N, 3) rays -> (..., N, 2) centred pixel positions (NaN behind the camera)."""
    z = np.where(r[..., 2] > 1e-6, r[..., 2], np.nan)
    return focal * r[..., :2] / z[..., None]


def _dlt_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., N, 2) pairs -> (..., 2N, 9) rows of the direct linear transform."""
    x, y = a[..., 0], a[..., 1]
    u, v = b[..., 0], b[..., 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    r1 = np.stack([-x, -y, -one, zero, zero, zero, u * x, u * y, u], axis=-1)
    r2 = np.stack([zero, zero, zero, -x, -y, -one, v * x, v * y, v], axis=-1)
    return np.concatenate([r1, r2], axis=-2)


def _null(rows: np.ndarray) -> np.ndarray:
    """(..., M, 9) -> (..., 9) the unit vector the rows map closest to zero (the normal
    equations' smallest eigenvector: a 9 x 9 problem however many rows)."""
    return np.linalg.eigh(np.matmul(np.swapaxes(rows, -1, -2), rows))[1][..., 0]


def _apply(h: np.ndarray, p: np.ndarray) -> np.ndarray:
    """(..., 3, 3) homographies applied to (N, 2) points -> (..., N, 2) (NaN at infinity)."""
    q = np.matmul(np.concatenate([p, np.ones((len(p), 1))], axis=1), np.swapaxes(h, -1, -2))
    w = np.where(np.abs(q[..., 2]) > 1e-9, q[..., 2], np.nan)
    return q[..., :2] / w[..., None]


def fit_homography(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
                   inlier_px: float, hypotheses: int = 96, prefer: np.ndarray | None = None):
    """The homography taking most of ``a`` onto ``b`` (RANSAC over four-point fits, then a
    least-squares fit on the inliers).

    A camera turning and zooming about its centre moves the far background by a homography
    whatever its focal length, so its inliers are the features that move with the
    background: people, overlays and blunders of the tracker are left out without knowing
    the focal length.

    Args:
        a, b: (N, 2) centred pixel positions in two images.
        rng: seeds the sampling.
        inlier_px: a feature within this distance of where the homography puts it is in.
        hypotheses: four-point samples tried.
        prefer: (N,) bool, the features the hypotheses are drawn from and scored on where
            8 or more (the background beside people who fill a close-up: a camera that
            follows them keeps them nearly still, and their many features would otherwise
            win); the fit and its inliers are then over every feature.

    Returns:
        ``(H (3, 3), inliers (N,) bool)`` with ``b ~ H a``, or None (fewer than 8 inliers).
    """
    n = len(a)
    if n < 8:
        return None
    s = max(float(np.abs(a).max()), 1.0)  # conditioning: coordinates of order 1
    an, bn = a / s, b / s
    pool = (np.flatnonzero(prefer) if prefer is not None and prefer.sum() >= 8
            else np.arange(n))
    idx = pool[np.argsort(rng.random((hypotheses, len(pool))), axis=1)[:, :4]]
    hyp = _null(_dlt_rows(an[idx], bn[idx])).reshape(-1, 3, 3)
    err = np.nan_to_num(np.linalg.norm(_apply(hyp, an[pool]) - bn[pool][None], axis=2),
                        nan=np.inf) * s
    best = hyp[int(np.argmax((err < inlier_px).sum(axis=1)))]
    inliers = np.nan_to_num(np.linalg.norm(_apply(best, an) - bn, axis=1), nan=np.inf) * s \
        < inlier_px
    for _ in range(2):  # least squares on the inliers, then the inliers of that
        if inliers.sum() < 8:
            return None
        h = _null(_dlt_rows(an[inliers], bn[inliers])).reshape(3, 3)
        err = np.nan_to_num(np.linalg.norm(_apply(h, an) - bn, axis=1), nan=np.inf) * s
        inliers = err < inlier_px
    if inliers.sum() < 8:
        return None
    scale = np.diag([1 / s, 1 / s, 1.0])
    return np.linalg.inv(scale) @ h @ scale, inliers


def rotation_errors(a: np.ndarray, b: np.ndarray, rot: np.ndarray, zoom: float,
                    focal: float) -> np.ndarray:
    """(N,) px from each ``b`` to where a camera of focal length ``focal`` at ``a`` turned by
    ``rot`` and zoomed by ``zoom`` puts it (inf behind the camera)."""
    pred = to_pixels(rays(a, focal) @ rot.T, focal * zoom)
    return np.nan_to_num(np.linalg.norm(pred - b, axis=1), nan=np.inf)


def fit_rotation_zoom(a: np.ndarray, b: np.ndarray, focal: float,
                      zoom: float = 1.0, rounds: int = 3) -> tuple[np.ndarray, float]:
    """The rotation and zoom that best take ``a`` (focal length ``focal``) onto ``b``
    (focal length ``focal * zoom``), all pairs taken as inliers.

    The rotation by Kabsch on the viewing rays at the current zoom, then the zoom that best
    scales the rotated rays onto ``b`` (closed form), in turn: a few rounds settle both.

    Args:
        a, b: (N, 2) centred pixel positions, N >= 2.
        focal: focal length of the ``a`` image, px.
        zoom: starting zoom.
        rounds: alternations.

    Returns:
        ``(rotation (3, 3) a-camera axes -> b-camera axes, zoom)``.
    """
    ra = rays(a, focal)
    rot = np.eye(3)
    for _ in range(rounds):
        rot = kabsch(ra, rays(b, focal * zoom))
        q = to_pixels(ra @ rot.T, focal)
        ok = np.isfinite(q).all(axis=1)
        if ok.sum() >= 2 and np.sum(q[ok] ** 2) > 0:
            zoom = float(np.clip(np.sum(q[ok] * b[ok]) / np.sum(q[ok] ** 2),
                                 0.5 * zoom, 2.0 * zoom))
    return kabsch(ra, rays(b, focal * zoom)), zoom
