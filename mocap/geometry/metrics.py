"""3D pose error metrics: Procrustes alignment, MPJPE, PA-MPJPE, errors split by axis.

Pure numpy, vectorised over frames. Every function takes landmark sequences of shape
``(T, J, 3)`` in metres (one ``(J, 3)`` pose is taken as ``T = 1``) and returns metres.

Missing data: a landmark is *present* in a frame where all three of its coordinates are
finite. Errors are computed only over the (frame, joint) pairs present in **both** the
prediction and the truth; the rest are skipped, never counted as zero. A mean over no pair
at all is NaN. Alignment (:func:`procrustes_align`) is fitted per frame on the joints
present in both; a frame with fewer than :data:`MIN_ALIGN_JOINTS` of them is not aligned
(its output is NaN) and so drops out of :func:`pa_mpjpe`.

Used by ``benchmarks/eval_depth.py`` (monocular 3D against the multi-camera reference) and
meant for the training script of the learned 3D stage, so both measure the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error

__all__ = ["HIP_JOINTS", "MIN_ALIGN_JOINTS", "AxisErrors", "axis_errors", "joint_errors", "mpjpe",
           "pa_mpjpe", "procrustes_align", "root_relative", "similarity_transform"]

#: Fewest joints present in both poses for a frame to be aligned: three points not on a
#: line fix a rotation; with fewer, any rotation about their line fits and the error would
#: read as zero.
MIN_ALIGN_JOINTS = 3
#: BlazePose's hips (left 23, right 24): their midpoint is the root used by
#: :func:`root_relative` by default, as BlazePose's own world landmarks are hip-centred.
HIP_JOINTS = (23, 24)


def _poses(name: str, x) -> np.ndarray:
    """``x`` as float64 (T, J, 3); a single (J, 3) pose becomes T = 1."""
    a = np.asarray(x, np.float64)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[-1] != 3:
        raise shape_error(name, "(T, J, 3)", a.shape)
    return a


def _pair(pred, true) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sequences as (T, J, 3) float64, checked to match, and the (T, J) mask of the
    joints present in both."""
    p, t = _poses("pred", pred), _poses("true", true)
    if p.shape != t.shape:
        raise shape_error("pred", f"the shape of `true` {t.shape}", p.shape)
    both = np.isfinite(p).all(-1) & np.isfinite(t).all(-1)
    return p, t, both


def similarity_transform(pred, true) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per frame, the similarity that best maps ``pred`` onto ``true`` (least squares).

    Umeyama's closed form: ``true ~ scale * R @ pred + t`` minimising the summed squared
    distance over the joints present in both. ``R`` is a proper rotation (det +1): a
    mirrored prediction is *not* undone (the sign of the smallest singular direction is
    flipped instead, as a reflection would score a left/right-swapped body as perfect).

    Args:
        pred: (T, J, 3) metres.
        true: (T, J, 3) metres, the same shape.

    Returns:
        ``(scale (T,), R (T, 3, 3), t (T, 3))`` float64; NaN for frames with fewer than
        :data:`MIN_ALIGN_JOINTS` joints present in both or a prediction collapsed to a
        point.

    Raises:
        ValueError: shapes that are not (T, J, 3) or do not match.
    """
    p, t, both = _pair(pred, true)
    w = both.astype(np.float64)[..., None]  # (T, J, 1)
    n = w.sum(1)  # (T, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu_p = np.nansum(np.where(both[..., None], p, 0.0), 1) / n  # (T, 3)
        mu_t = np.nansum(np.where(both[..., None], t, 0.0), 1) / n
    x = np.where(both[..., None], p - mu_p[:, None], 0.0)
    y = np.where(both[..., None], t - mu_t[:, None], 0.0)
    cov = np.einsum("tji,tjk->tik", y, x)  # (T, 3, 3): sum_j y_j x_j^T
    cov = np.nan_to_num(cov)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones((len(p), 3))
    d[:, 2] = np.sign(np.linalg.det(u @ vt))
    d[d[:, 2] == 0, 2] = 1.0  # a rank-deficient frame: its rotation is arbitrary anyway
    rot = u @ (d[..., None] * vt)  # U diag(d) V^T
    var = (x ** 2).sum((1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = (s * d).sum(1) / var
    trans = mu_t - scale[:, None] * np.einsum("tik,tk->ti", rot, mu_p)
    bad = (both.sum(1) < MIN_ALIGN_JOINTS) | ~(var > 1e-18) | ~np.isfinite(scale)
    scale[bad] = np.nan
    rot[bad] = np.nan
    trans[bad] = np.nan
    return scale, rot, trans


def procrustes_align(pred, true) -> np.ndarray:
    """``pred`` moved onto ``true`` frame by frame by the best similarity (rotation with
    det +1, uniform scale, translation; :func:`similarity_transform`).

    Args:
        pred: (T, J, 3) metres.
        true: (T, J, 3) metres, the same shape.

    Returns:
        (T, J, 3) float64 metres: every present joint of ``pred`` transformed (the fit uses
        only the joints present in both); NaN where ``pred`` is missing and in frames that
        could not be aligned.
    """
    p = _poses("pred", pred)
    scale, rot, trans = similarity_transform(p, true)
    return scale[:, None, None] * np.einsum("tik,tjk->tji", rot, p) + trans[:, None]


def joint_errors(pred, true) -> np.ndarray:
    """(T, J) float64 metres: each joint's distance from the truth, NaN where either is
    missing. The building block of the means below (pool several takes by concatenating
    these rather than averaging their means)."""
    p, t, both = _pair(pred, true)
    err = np.linalg.norm(p - t, axis=-1)
    return np.where(both, err, np.nan)


def _mean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def mpjpe(pred, true) -> float:
    """Mean per-joint position error, metres, as given (no alignment: centre both first
    with :func:`root_relative` for the usual root-relative MPJPE).

    Args:
        pred: (T, J, 3) metres.
        true: (T, J, 3) metres.

    Returns:
        The mean Euclidean distance over the (frame, joint) pairs present in both; NaN
        when there are none.
    """
    return _mean(joint_errors(pred, true))


def pa_mpjpe(pred, true) -> float:
    """Procrustes-aligned MPJPE, metres: :func:`mpjpe` after :func:`procrustes_align` per
    frame (rotation det +1, scale, translation). Frames with fewer than
    :data:`MIN_ALIGN_JOINTS` joints present in both are skipped."""
    return _mean(joint_errors(procrustes_align(pred, true), true))


def root_relative(points, root_joints: Sequence[int] = HIP_JOINTS) -> np.ndarray:
    """Points minus, per frame, the mean of the root joints (BlazePose's hips by default).

    Args:
        points: (T, J, 3) metres.
        root_joints: indices into J whose mean is the root.

    Returns:
        (T, J, 3) float64 metres; a frame where any root joint is missing is all NaN (a
        root from one hip would shift the whole pose by half the hip width).

    Raises:
        ValueError: bad shape, or no or out-of-range root joints.
    """
    p = _poses("points", points)
    idx = np.asarray(root_joints, np.int64).reshape(-1)
    if not len(idx) or idx.min() < -p.shape[1] or idx.max() >= p.shape[1]:
        raise ValueError(f"`root_joints` must be indices into {p.shape[1]} joints, got "
                         f"{list(root_joints)}")
    root = p[:, idx].mean(1, keepdims=True)  # NaN if any root joint is
    return p - root


@dataclass(frozen=True)
class AxisErrors:
    """Mean absolute error along each camera axis, metres (see :func:`axis_errors`).

    Attributes:
        x: along the camera's x (right in the image).
        y: along its y (down in the image).
        z: along its optical axis: depth.
        across: the mean of ``x`` and ``y`` (per-axis, comparable with ``z``): the error
            the image could show.
        count: the (frame, joint) pairs averaged.
    """

    x: float
    y: float
    z: float
    across: float
    count: int

    @property
    def depth(self) -> float:
        """The error along the optical axis (``z``), metres."""
        return self.z


def axis_errors(pred_cam, true_cam) -> AxisErrors:
    """The error split along a camera's axes: across the image (x, y) and in depth (z).

    Both inputs must already be in that camera's axes (x right, y down, z away from the
    camera, as OpenCV and BlazePose's world landmarks) and centred the same way (e.g. both
    :func:`root_relative`), so the split says which error the image could have told apart.

    Args:
        pred_cam: (T, J, 3) metres.
        true_cam: (T, J, 3) metres.

    Returns:
        :class:`AxisErrors`: per axis the mean of ``|pred - true|`` over the (frame, joint)
        pairs present in both (NaN when none).
    """
    p, t, both = _pair(pred_cam, true_cam)
    diff = np.abs(p - t)[both]  # (N, 3)
    if not len(diff):
        nan = float("nan")
        return AxisErrors(nan, nan, nan, nan, 0)
    x, y, z = (float(v) for v in diff.mean(0))
    return AxisErrors(x, y, z, (x + y) / 2, len(diff))
