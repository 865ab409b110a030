"""Rotation fits and the per-frame pinhole projection."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.geometry.camera import project
from mocap.geometry.rotations import kabsch, quat_to_matrix


def _random_rotations(n: int, rng) -> np.ndarray:
    q = rng.normal(size=(n, 4))
    return quat_to_matrix(q / np.linalg.norm(q, axis=1, keepdims=True))


def test_kabsch_recovers_rotations_batched_and_weighted():
    rng = np.random.default_rng(0)
    rot = _random_rotations(5, rng)
    a = rng.normal(size=(5, 30, 3))
    b = np.einsum("hij,hnj->hni", rot, a)
    np.testing.assert_allclose(kabsch(a, b), rot, atol=1e-9)
    # a weight of zero ignores a wild pair
    b[:, 0] += 10.0
    w = np.ones((5, 30))
    w[:, 0] = 0.0
    np.testing.assert_allclose(kabsch(a, b, w), rot, atol=1e-9)
    # always a proper rotation, even for mirrored data
    got = kabsch(a[0], a[0] * [-1, 1, 1])
    assert abs(np.linalg.det(got) - 1) < 1e-9


def test_project_takes_one_camera_or_one_per_frame():
    rng = np.random.default_rng(1)
    t = 6
    pts = rng.normal(size=(t, 4, 3))
    rot = _random_rotations(t, rng)
    trans = rng.normal(scale=0.1, size=(t, 3)) + np.array([0.0, 0.0, 6.0])
    focal = np.linspace(800, 1000, t)
    per_frame = project(pts, (rot, trans), focal, (640, 480))
    for i in range(t):
        one = project(pts[i], (rot[i], trans[i]), focal[i], (640, 480))
        np.testing.assert_allclose(per_frame[i], one, atol=1e-9)
        cam = pts[i] @ rot[i].T + trans[i]
        np.testing.assert_allclose(one, focal[i] * cam[:, :2] / cam[:, 2:] + [320, 240])


def test_rotation_vectors_round_trip_and_match_scipy():
    from scipy.spatial.transform import Rotation

    from mocap.geometry.rotations import matrix_to_rotvec, rotvec_to_matrix

    rng = np.random.default_rng(2)
    rot = _random_rotations(50, rng)
    rv = matrix_to_rotvec(rot)
    np.testing.assert_allclose(rv, Rotation.from_matrix(rot).as_rotvec(), atol=1e-9)
    np.testing.assert_allclose(rotvec_to_matrix(rv), rot, atol=1e-9)
    tiny = np.array([[1e-14, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(rotvec_to_matrix(tiny), np.tile(np.eye(3), (2, 1, 1)),
                               atol=1e-12)
    np.testing.assert_allclose(matrix_to_rotvec(np.eye(3)), np.zeros(3), atol=1e-12)


def test_swing_of_opposite_vectors_is_a_half_turn_for_any_leading_shape():
    """Opposite vectors (a rig bone pointing against its limb's rest direction) take the
    180-degree branch; a single pair of 1-D vectors raised a ValueError there."""
    from mocap.geometry.rotations import swing

    for a in ([0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.3, -0.2, 0.9]):
        a = np.asarray(a) / np.linalg.norm(a)
        r = swing(a, -a)
        assert r.shape == (3, 3)
        np.testing.assert_allclose(r @ a, -a, atol=1e-9)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-9)
        assert np.isclose(np.linalg.det(r), 1.0)
    batch = swing(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
                  np.array([[0.0, -1.0, 0.0], [0.0, 1.0, 0.0]]))
    assert batch.shape == (2, 3, 3)
    np.testing.assert_allclose(batch[0] @ [0, 1, 0], [0, -1, 0], atol=1e-9)
    np.testing.assert_allclose(batch[1] @ [0, 0, 1], [0, 1, 0], atol=1e-9)


def test_slerp_ends_constant_speed_and_the_shorter_way():
    from mocap.geometry.rotations import slerp

    rng = np.random.default_rng(1)
    q0 = rng.normal(size=(6, 4))
    q0 /= np.linalg.norm(q0, axis=1, keepdims=True)
    q1 = rng.normal(size=(6, 4))
    q1 /= np.linalg.norm(q1, axis=1, keepdims=True)
    s = np.linspace(0, 1, 11)[:, None]
    q = slerp(q0[None], q1[None], s)  # (11, 6, 4)
    np.testing.assert_allclose(np.linalg.norm(q, axis=-1), 1, atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(q[0]), quat_to_matrix(q0), atol=1e-12)
    np.testing.assert_allclose(quat_to_matrix(q[-1]), quat_to_matrix(q1), atol=1e-12)
    # equal angles between consecutive samples (constant angular speed), adding up to the
    # angle between the ends taken the shorter way (under 180 degrees)
    step = 2 * np.arccos(np.clip(np.abs(np.einsum("tjk,tjk->tj", q[1:], q[:-1])), 0, 1))
    total = 2 * np.arccos(np.clip(np.abs(np.einsum("jk,jk->j", q0, q1)), 0, 1))
    np.testing.assert_allclose(step, np.broadcast_to(total / 10, step.shape), atol=1e-9)
    assert (total < np.pi).all()
    # -q1 is the same rotation: the same path
    np.testing.assert_allclose(quat_to_matrix(slerp(q0, -q1, 0.3)),
                               quat_to_matrix(slerp(q0, q1, 0.3)), atol=1e-12)
    # a rotation with itself stays put (no division by sin 0)
    np.testing.assert_allclose(slerp(q0, q0, 0.5), q0, atol=1e-12)


@pytest.mark.parametrize("order", ["XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX"])
def test_euler_angles_match_scipy_and_rebuild_the_rotation(order):
    """matrix_to_euler gives scipy's intrinsic angles (1e-12 rad) and they rebuild the
    rotation; at gimbal lock (middle angle +-90 deg) the last angle is 0, as scipy's, and
    the rotation is still rebuilt exactly."""
    from scipy.spatial.transform import Rotation

    from mocap.geometry.rotations import axis_matrix, matrix_to_euler

    axes = ["XYZ".index(a) for a in order]

    def build(e):
        return (axis_matrix(axes[0], e[..., 0]) @ axis_matrix(axes[1], e[..., 1])
                @ axis_matrix(axes[2], e[..., 2]))

    rng = np.random.default_rng(1)
    q = rng.normal(size=(5000, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    m = Rotation.from_quat(q).as_matrix()
    e = matrix_to_euler(m, order)
    np.testing.assert_allclose(e, Rotation.from_quat(q).as_euler(order), atol=1e-12)
    np.testing.assert_allclose(build(e), m, atol=1e-12)
    np.testing.assert_allclose(Rotation.from_euler(order, e).as_matrix(), m, atol=1e-12)
    locked = build(np.array([[0.3, np.pi / 2, 0.7], [-1.2, -np.pi / 2, 0.1]]))
    e = matrix_to_euler(locked, order)
    assert (e[:, 2] == 0).all() and np.allclose(np.abs(e[:, 1]), np.pi / 2)
    np.testing.assert_allclose(build(e), locked, atol=1e-12)
    with pytest.raises(ValueError, match="three different axes"):
        matrix_to_euler(m, "XXY")
