"""Synthetic multi-camera ground truth: CMU mocap seen by virtual calibrated cameras.

Shared by the multiview tests and ``benchmarks/eval_triangulation.py``. The motion is real
(CMU takes in ``../shared/data/bvh``; in a plain clone without it, the seeded
:func:`tests.helpers.probe_motion`); the cameras stand in a ring around it, Y up.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mocap.multiview.calibration import Calibration, Camera
from tests.helpers import SHARED_DATA, probe_motion

#: A mild wide-angle lens (k1 k2 p1 p2 k3): about 50 px of barrel distortion at the corners
#: of a 1920x1080 image with f = 1100 px.
LENS = (-0.08, 0.03, 0.0004, -0.0003, -0.004)


def bvh_files(iclone_every: int = 1) -> list[Path]:
    """The CMU takes in ``../shared/data/bvh`` (the top-level files, then every
    ``iclone_every``-th of ``cmu_iclone/``); [] in a plain clone."""
    root = SHARED_DATA / "bvh"
    if not root.is_dir():
        return []
    iclone = sorted((root / "cmu_iclone").glob("*.bvh"))[::iclone_every]
    return sorted(root.glob("*.bvh")) + iclone


def take_positions(path: Path | None, fps: float = 30.0, max_frames: int = 300
                   ) -> np.ndarray:
    """(T, J, 3) metres, Y up: every joint of a BVH take resampled to about ``fps`` (a
    T-pose first frame of the iClone takes dropped), at most ``max_frames`` frames; with
    ``path`` None, :func:`tests.helpers.probe_motion` (60 frames)."""
    if path is None:
        return probe_motion(60).positions
    from mocap.io.bvh import read_bvh
    from mocap.retarget.bvh_source import bvh_animation

    anim = bvh_animation(read_bvh(path))
    pos = anim.positions()[1:]
    step = max(1, round(anim.fps / fps))
    return pos[::step][:max_frames]


def look_at(name: str, centre, target, size=(1920, 1080), focal: float = 1100.0,
            dist=LENS) -> Camera:
    """A camera at ``centre`` looking at ``target`` (metres, Y up), upright: image x to the
    right, y down; principal point a little off the image centre, as real lenses have."""
    centre, target = np.asarray(centre, float), np.asarray(target, float)
    forward = target - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    r = np.stack([right, down, forward])
    k = [[focal, 0.0, size[0] / 2 + 7.5], [0.0, focal * 1.001, size[1] / 2 - 4.25],
         [0.0, 0.0, 1.0]]
    return Camera(name, size, k, dist, r, -r @ centre)


def ring(points: np.ndarray, views: int = 4, seed: int = 0, margin_m: float = 3.0,
         dist=LENS) -> Calibration:
    """``views`` cameras around the motion ``points`` (T, J, 3): evenly spread in azimuth
    (jittered), 1.2-2.2 m high, ``margin_m`` beyond the motion's horizontal extent, each
    aimed at the motion's centre (jittered by 0.3 m)."""
    rng = np.random.default_rng(seed)
    flat = points.reshape(-1, 3)
    flat = flat[np.isfinite(flat).all(-1)]
    lo, hi = flat.min(0), flat.max(0)
    mid = (lo + hi) / 2
    radius = float(np.hypot(hi[0] - lo[0], hi[2] - lo[2])) / 2 + margin_m
    cams = []
    for v in range(views):
        az = 2 * np.pi * v / views + rng.uniform(-0.3, 0.3) + 0.4
        centre = [mid[0] + radius * np.cos(az), rng.uniform(1.2, 2.2),
                  mid[2] + radius * np.sin(az)]
        target = mid + rng.uniform(-0.3, 0.3, 3)
        cams.append(look_at(f"cam{v + 1}", centre, target, dist=dist))
    return Calibration(tuple(cams))


def observe(points: np.ndarray, calibration: Calibration, noise_px: float,
            rng: np.random.Generator, dropout: float = 0.1, outlier_view: int | None = None,
            outlier_share: float = 0.3, outlier_px: tuple[float, float] = (40.0, 150.0)):
    """What the cameras would report: projections with Gaussian noise (``noise_px`` per
    axis), confidences in [0.5, 1], a share ``dropout`` of points missing (confidence 0,
    NaN), points outside an image missing, and optionally one view whose 2D points are off
    by ``outlier_px`` with full confidence on a share of the points (a detector's confident
    mistake).

    Returns:
        ``(xy (V, T, J, 2) px, confidence (V, T, J), outlier (T, J) bool)``.
    """
    xy = calibration.project(points)
    xy = xy + rng.normal(0.0, noise_px, xy.shape)
    v, t, j = xy.shape[:3]
    conf = rng.uniform(0.5, 1.0, (v, t, j))
    outlier = np.zeros((t, j), bool)
    if outlier_view is not None:
        outlier = rng.random((t, j)) < outlier_share
        angle = rng.uniform(0, 2 * np.pi, (t, j))
        length = rng.uniform(*outlier_px, (t, j))
        shift = np.stack([np.cos(angle), np.sin(angle)], -1) * length[..., None]
        xy[outlier_view][outlier] += shift[outlier]
        conf[outlier_view][outlier] = 1.0
    size = np.array([c.size for c in calibration], float)[:, None, None, :]
    inside = np.isfinite(xy).all(-1) & (xy >= 0).all(-1) & (xy < size).all(-1)
    missing = ~inside | (rng.random((v, t, j)) < dropout)
    xy[missing] = np.nan
    conf[missing] = 0.0
    return xy, conf, outlier
