"""Rotations, vectorised over any leading axes: quaternions (x, y, z, w) and matrices.

Quaternions are xyzw, unit length; matrices act on column vectors (``v' = R @ v``).
"""

from __future__ import annotations

import numpy as np


def normalize(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12), n[..., 0]


def frame_from_axes(p: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormal frames (..., 3, 3) with columns (x, y=p, z=x×y) where x ⟂ p lies in the
    (p, s) plane; second value: (...,) sine of the p-s angle (0 = degenerate)."""
    y, _ = normalize(p)
    s_n, _ = normalize(s)
    z_raw = np.cross(s_n, y)
    z, sin = normalize(z_raw)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=-1), sin


def swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the smallest rotation taking unit vectors ``a`` onto ``b``."""
    a, _ = normalize(a)
    b, _ = normalize(b)
    a, b = np.broadcast_arrays(a, b)
    axis = np.cross(a, b)
    w = 1.0 + np.einsum("...i,...i->...", a, b)
    anti = w < 1e-8
    if anti.any():
        # 180 degrees: any axis perpendicular to a
        helper = np.where(np.abs(a[..., :1]) < 0.9, np.array([1.0, 0, 0]),
                          np.array([0, 1.0, 0]))  # a's own shape, 1-D included
        perp, _ = normalize(np.cross(a, helper))
        axis = np.where(anti[..., None], perp, axis)
        w = np.where(anti, 0.0, w)
    q = np.concatenate([axis, w[..., None]], axis=-1)
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return quat_to_matrix(q)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=-2)


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) xyzw unit quaternions (Shepperd's method:
    the largest of |w|, |x|, |y|, |z| comes from the diagonal, the rest from off-diagonals,
    so it is accurate near 180 degrees too)."""
    shape = m.shape[:-2]
    m = m.reshape(-1, 3, 3)
    m00, m11, m22 = m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]
    d = np.stack([m00 - m11 - m22, m11 - m00 - m22, m22 - m00 - m11, m00 + m11 + m22], -1)
    big = d.argmax(-1)
    q = np.empty((len(m), 4))
    # (index of the large component, then the pairs of entries for the other three)
    cases = (
        (0, ((0, 1, 1, 0, 1), (0, 2, 2, 0, 1), (2, 1, 1, 2, -1))),  # x; then y, z, w
        (1, ((0, 1, 1, 0, 1), (1, 2, 2, 1, 1), (0, 2, 2, 0, -1))),  # y; then x, z, w
        (2, ((0, 2, 2, 0, 1), (1, 2, 2, 1, 1), (1, 0, 0, 1, -1))),  # z; then x, y, w
        (3, ((2, 1, 1, 2, -1), (0, 2, 2, 0, -1), (1, 0, 0, 1, -1))),  # w; then x, y, z
    )
    others = {0: (1, 2, 3), 1: (0, 2, 3), 2: (0, 1, 3), 3: (0, 1, 2)}
    for c, pairs in cases:
        sel = big == c
        if not sel.any():
            continue
        ms = m[sel]
        r = 0.5 * np.sqrt(np.maximum(1.0 + d[sel, c], 1e-300))
        f = 0.25 / r
        q[sel, c] = r
        for slot, (i1, j1, i2, j2, sign) in zip(others[c], pairs, strict=True):
            q[sel, slot] = (ms[:, i1, j1] + sign * ms[:, i2, j2]) * f
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    return q.reshape(*shape, 4)


def matrices_to_quats(m: np.ndarray) -> np.ndarray:
    """(T, J, 3, 3) rotation matrices -> (T, J, 4) xyzw quaternions, sign-continuous in T."""
    return quat_continuity(matrix_to_quat(m))


def slerp(q0: np.ndarray, q1: np.ndarray, s: np.ndarray | float) -> np.ndarray:
    """Spherical linear interpolation of unit quaternions, the shorter way round.

    Args:
        q0, q1: (..., 4) xyzw unit quaternions (broadcast together).
        s: fraction of the way from ``q0`` to ``q1`` (0: ``q0``, 1: ``q1``; ``q1`` as or
            -``q1``, whichever is nearer ``q0``), broadcast against ``q0[..., 0]``.

    Returns:
        (..., 4) unit quaternions, constant angular speed in ``s``.
    """
    q0, q1 = np.broadcast_arrays(np.asarray(q0, np.float64), np.asarray(q1, np.float64))
    s = np.asarray(s, np.float64)[..., None]
    dot = np.einsum("...k,...k->...", q0, q1)[..., None]
    q1 = np.where(dot < 0, -q1, q1)
    dot = np.clip(np.abs(dot), 0.0, 1.0)
    angle = np.arccos(dot)
    sin = np.sin(angle)
    near = sin < 1e-6  # (nearly) the same rotation: linear, then normalised
    w0 = np.where(near, 1.0 - s, np.sin((1.0 - s) * angle) / np.where(near, 1.0, sin))
    w1 = np.where(near, s, np.sin(s * angle) / np.where(near, 1.0, sin))
    q = w0 * q0 + w1 * q1
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def quat_continuity(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs so consecutive frames are in the same hemisphere.

    Args:
        q: (T, J, 4) quaternions.
    """
    if len(q) < 2:
        return q
    dots = np.einsum("tjk,tjk->tj", q[1:], q[:-1])
    flips = np.where(dots < 0, -1.0, 1.0)
    sign = np.concatenate([np.ones((1, q.shape[1])), np.cumprod(flips, axis=0)])
    return q * sign[..., None]


def kabsch(a: np.ndarray, b: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """The rotations that best take direction sets ``a`` onto ``b`` (least squares).

    Args:
        a, b: (..., N, 3) paired vectors (unit directions for a rotation-only fit).
        weight: (..., N) non-negative weights (default 1).

    Returns:
        (..., 3, 3) proper rotations ``R`` minimising ``sum_i w_i |R a_i - b_i|^2``.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    w = np.ones(a.shape[:-1]) if weight is None else np.asarray(weight, np.float64)
    cov = np.matmul(np.swapaxes(b * w[..., None], -1, -2), a)
    u, _, vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(u @ vt))
    d = np.where(d == 0, 1.0, d)
    fix = np.ones((*cov.shape[:-2], 3))
    fix[..., 2] = d
    return (u * fix[..., None, :]) @ vt


def matrix_to_rotvec(m: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 3) rotation vectors (axis times angle in [0, pi],
    radians)."""
    q = matrix_to_quat(np.asarray(m, np.float64))
    q = np.where(q[..., 3:] < 0, -q, q)  # w >= 0: the angle is at most pi
    s = np.linalg.norm(q[..., :3], axis=-1, keepdims=True)
    angle = 2 * np.arctan2(s, q[..., 3:])
    # axis * angle, and 2 * xyz (its limit) where the angle vanishes
    return np.where(s > 1e-12, q[..., :3] * angle / np.maximum(s, 1e-300), 2 * q[..., :3])


def rotvec_to_matrix(v: np.ndarray) -> np.ndarray:
    """(..., 3) rotation vectors (radians) -> (..., 3, 3) rotations."""
    v = np.asarray(v, np.float64)
    angle = np.linalg.norm(v, axis=-1, keepdims=True)
    half = 0.5 * angle
    # sin(a/2)/a, with its limit 1/2 at a = 0
    k = np.where(angle > 1e-12, np.sin(half) / np.maximum(angle, 1e-300), 0.5)
    return quat_to_matrix(np.concatenate([v * k, np.cos(half)], axis=-1))


_AXES = {"X": 0, "Y": 1, "Z": 2}


def axis_matrix(axis: int, angle: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations by ``angle`` (..., radians) about axis 0, 1 or 2 (x, y, z)."""
    c, s = np.cos(angle), np.sin(angle)
    m = np.zeros((*np.shape(angle), 3, 3))
    a, b = (axis + 1) % 3, (axis + 2) % 3
    m[..., axis, axis] = 1.0
    m[..., a, a], m[..., b, b] = c, c
    m[..., b, a], m[..., a, b] = s, -s
    return m


def matrix_to_euler(m: np.ndarray, order: str) -> np.ndarray:
    """(..., 3, 3) rotations -> (..., 3) intrinsic Tait-Bryan angles, radians, for an
    ``order`` of three different axes (``"ZXY"``: ``R = Rz(a) Rx(b) Ry(c)``, the angles
    ``a, b, c``; BVH's channel order), the middle one in [-pi/2, pi/2]. Where it is +-pi/2
    (gimbal lock) the last angle is 0 and the first takes the whole turn (as scipy's
    ``Rotation.as_euler`` does; numpy only, no scipy import on the way to a BVH file)."""
    i, j, k = (_AXES[a] for a in order.upper())
    if len({i, j, k}) != 3:
        raise ValueError(f"`order` must name three different axes, got {order!r}")
    m = np.asarray(m, np.float64)
    s = 1.0 if (j - i) % 3 == 1 else -1.0  # an even (cyclic) order, or an odd one
    cos_b = np.hypot(m[..., i, i], m[..., i, j])
    b = np.arctan2(s * m[..., i, k], cos_b)
    a = np.arctan2(-s * m[..., j, k], m[..., k, k])
    c = np.arctan2(-s * m[..., i, j], m[..., i, i])
    lock = cos_b < 1e-9
    if lock.any():  # c = 0: the first angle from R Rj(b)^T = Ri(a)
        first = m[lock] @ np.swapaxes(axis_matrix(j, b[lock]), -1, -2)
        p, q = (i + 1) % 3, (i + 2) % 3
        a[lock] = np.arctan2(first[..., q, p], first[..., p, p])
        c[lock] = 0.0
    return np.stack([a, b, c], axis=-1)
