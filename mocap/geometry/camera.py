"""The pinhole camera: focal length from the field of view, projection, and the per-frame
root translation that makes hip-centred 3D landmarks reproject onto 2D ones.

Camera axes: x right, y down, z forward (OpenCV's); the principal point is the image
centre.
"""

from __future__ import annotations

import numpy as np

from mocap.errors import InputError

#: Default horizontal field of view of the camera, degrees: a typical phone/action camera
#: main lens in landscape (~26 mm equivalent). ``--fov`` overrides it.
DEFAULT_FOV_DEG = 60.0
#: The horizontal fields of view accepted, degrees (a long telephoto to a fisheye's worth).
FOV_RANGE_DEG = (10.0, 170.0)


def check_fov(fov_deg: float) -> float:
    """``fov_deg`` if it lies in :data:`FOV_RANGE_DEG`.

    Raises:
        InputError: outside the range, or not a finite number.
    """
    lo, hi = FOV_RANGE_DEG
    if not (np.isfinite(fov_deg) and lo <= fov_deg <= hi):
        raise InputError(f"--fov must be between {lo:g} and {hi:g} degrees, got {fov_deg}")
    return float(fov_deg)


def focal_px(width: int, fov_deg: float = DEFAULT_FOV_DEG) -> float:
    """Focal length in pixels of a pinhole camera with horizontal field of view ``fov_deg``
    (within :data:`FOV_RANGE_DEG`) over an image ``width`` pixels wide."""
    check_fov(fov_deg)
    return 0.5 * width / np.tan(np.radians(fov_deg) / 2)


def outside_image(xy: np.ndarray, width, height) -> np.ndarray:
    """(...,) bool: the points ``xy`` (..., 2) px lie outside an image ``width`` x
    ``height`` px (numbers, or arrays broadcasting against ``xy[..., 0]``); NaN points are
    not outside (unknown)."""
    x, y = xy[..., 0], xy[..., 1]
    with np.errstate(invalid="ignore"):
        return (x < 0) | (x >= width) | (y < 0) | (y >= height)


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
        focal: focal length, px: one for all frames, or (T,) one per frame (a zooming
            camera).
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
    focal = np.broadcast_to(np.asarray(focal, np.float64).reshape(-1, 1), (t, k)) \
        if np.ndim(focal) else float(focal)
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
    aw = a * ww[..., None]  # (batched products: a three-operand einsum is several
    # times slower over thousands of frames)
    ata = aw.transpose(0, 2, 1) @ a
    atb = (aw.transpose(0, 2, 1) @ b[..., None])[..., 0]
    enough = (w > 0).sum(axis=1) >= 3
    ata[~enough] = np.eye(3)
    root = np.linalg.solve(ata, atb[..., None])[..., 0]
    root[~enough] = np.nan
    root[:, 2] = np.where(np.isfinite(root[:, 2]), np.maximum(root[:, 2], min_depth), np.nan)
    return root


def project(points: np.ndarray, camera: tuple[np.ndarray, np.ndarray], focal,
            size: tuple[int, int]) -> np.ndarray:
    """(T, ..., 3) world metres -> (T, ..., 2) px through the pinhole camera the motion
    stage used.

    Args:
        points: world points, frames first.
        camera: world -> camera rotation and translation (metres): (3, 3) and (3,) for a
            fixed camera, or (T, 3, 3) and (T, 3), one per frame, for a moving one.
        focal: focal length, px: a number, or (T,) one per frame.
        size: (width, height) px (the principal point is the image centre).
    """
    rot, trans = (np.asarray(c, np.float64) for c in camera)
    points = np.asarray(points, np.float64)
    extra = (1,) * max(points.ndim - 2, 0)  # per-frame values broadcast over the points
    if rot.ndim == 3:
        rot = rot.reshape(len(rot), *extra, 3, 3)
    if trans.ndim == 2:
        trans = trans.reshape(len(trans), *extra, 3)
    cam = np.einsum("...ij,...j->...i", rot, points) + trans
    z = np.where(cam[..., 2] > 1e-6, cam[..., 2], np.nan)
    f = np.asarray(focal, np.float64)
    if f.ndim:
        f = f.reshape(len(f), *extra)
    w, h = size
    return np.stack([f * cam[..., 0] / z + w / 2, f * cam[..., 1] / z + h / 2], -1)
