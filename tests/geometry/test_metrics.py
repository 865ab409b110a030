"""3D pose metrics against hand-made ground truth: similarities undone, mirrors not, the
error split along a camera's axes, missing joints skipped."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.geometry.metrics import (
    HIP_JOINTS,
    axis_errors,
    joint_errors,
    mpjpe,
    pa_mpjpe,
    procrustes_align,
    root_relative,
    similarity_transform,
)


def _rotations(rng: np.random.Generator, count: int) -> np.ndarray:
    """(count, 3, 3) random proper rotations (QR of Gaussian matrices, signs fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(count, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    q[np.linalg.det(q) < 0] *= -1  # 3x3: negating flips the determinant's sign
    return q


def _poses(rng: np.random.Generator, frames: int = 6, joints: int = 33) -> np.ndarray:
    """(frames, joints, 3) body-sized random point sets, metres, about a metre from 0."""
    return rng.normal(scale=0.3, size=(frames, joints, 3)) + np.array([0.2, -0.5, 3.0])


def test_random_rotations_are_proper():
    rot = _rotations(np.random.default_rng(0), 20)
    assert np.allclose(np.linalg.det(rot), 1.0)
    assert np.allclose(rot @ rot.transpose(0, 2, 1), np.eye(3), atol=1e-12)


def test_a_known_similarity_is_undone_exactly():
    rng = np.random.default_rng(0)
    true = _poses(rng)
    rot = _rotations(rng, len(true))
    scale = rng.uniform(0.5, 2.0, len(true))
    shift = rng.normal(size=(len(true), 3))
    # pred = scale * rot @ true + shift: the best map pred -> true is its exact inverse
    pred = scale[:, None, None] * np.einsum("tik,tjk->tji", rot, true) + shift[:, None]
    s, r, t = similarity_transform(pred, true)
    assert np.allclose(s, 1 / scale, rtol=1e-9)
    assert np.allclose(r, rot.transpose(0, 2, 1), atol=1e-9)
    assert np.allclose(t, -np.einsum("tki,tk->ti", rot, shift) / scale[:, None], atol=1e-9)
    assert np.allclose(np.linalg.det(r), 1.0)
    assert np.allclose(procrustes_align(pred, true), true, atol=1e-9)
    assert pa_mpjpe(pred, true) < 1e-9
    assert mpjpe(pred, true) > 0.1  # unaligned, the same poses are far apart


def test_a_mirror_is_not_undone():
    # six points on the axes, spread 0.5 > 0.3 > 0.1 m: their mirror image in the flattest
    # axis (z) is best fitted by the identity at scale (a2 + b2 - c2) / (a2 + b2 + c2)
    # (Umeyama with det +1), so each point's error is known exactly
    a, b, c = 0.5, 0.3, 0.1
    base = np.array([[a, 0, 0], [-a, 0, 0], [0, b, 0], [0, -b, 0], [0, 0, c], [0, 0, -c]])
    mirror = base * np.array([1.0, 1.0, -1.0])
    s = (a * a + b * b - c * c) / (a * a + b * b + c * c)
    expected = np.array([a, a, b, b, c, c]) * (1 - s)
    expected[4:] = c * (1 + s)
    # the same rotation and offset applied to both changes nothing
    rng = np.random.default_rng(0)
    rot = _rotations(rng, 1)[0]
    shift = np.array([0.3, 1.0, 2.5])
    true = (base @ rot.T + shift)[None]
    pred = (mirror @ rot.T + shift)[None]
    err = joint_errors(procrustes_align(pred, true), true)[0]
    assert np.allclose(err, expected, atol=1e-9)
    assert pa_mpjpe(pred, true) == pytest.approx(expected.mean(), abs=1e-9)
    assert pa_mpjpe(pred, true) > 0.04
    _, r, _ = similarity_transform(pred, true)
    assert np.linalg.det(r[0]) == pytest.approx(1.0)


def test_a_mirrored_body_sequence_keeps_a_large_error():
    rng = np.random.default_rng(0)
    true = _poses(rng, frames=10, joints=12)
    flip = np.diag([-1.0, 1.0, 1.0])
    pred = np.einsum("ik,tjk->tji", _rotations(rng, 1)[0] @ flip, true)
    # a reflection-allowing fit would reach 0; a proper one cannot get near it
    assert pa_mpjpe(pred, true) > 0.1
    assert np.allclose(np.linalg.det(similarity_transform(pred, true)[1]), 1.0)


def test_depth_and_across_split_of_a_known_offset():
    rng = np.random.default_rng(0)
    true = _poses(rng, frames=8, joints=12)
    offset = np.array([0.03, 0.04, 0.10])
    signs = rng.choice([-1.0, 1.0], size=true.shape)
    pred = true + signs * offset
    err = axis_errors(pred, true)
    assert err.x == pytest.approx(0.03)
    assert err.y == pytest.approx(0.04)
    assert err.z == pytest.approx(0.10)
    assert err.depth == err.z
    assert err.across == pytest.approx(0.035)
    assert err.count == true.shape[0] * true.shape[1]
    assert mpjpe(pred, true) == pytest.approx(np.linalg.norm(offset))


def test_root_relative_centres_the_hips_and_cancels_a_common_shift():
    rng = np.random.default_rng(0)
    pts = _poses(rng)
    rel = root_relative(pts)
    assert np.allclose(rel[:, list(HIP_JOINTS)].mean(1), 0.0, atol=1e-12)
    shifted = pts + np.array([1.0, -2.0, 5.0])
    assert np.allclose(root_relative(shifted), rel, atol=1e-12)
    # a depth error of the whole body (where the person stands) is gone root-relative
    assert mpjpe(root_relative(shifted), root_relative(pts)) < 1e-12
    other = root_relative(pts, root_joints=[0])
    assert np.allclose(other[:, 0], 0.0)


def test_root_relative_with_a_missing_hip_drops_that_frame():
    pts = _poses(np.random.default_rng(0))
    pts[2, 24] = np.nan
    rel = root_relative(pts)
    assert np.isnan(rel[2]).all()
    assert np.isfinite(np.delete(rel, 2, axis=0)).all()


def test_missing_joints_and_frames_are_skipped_not_counted_as_zero():
    true = np.zeros((3, 4, 3))
    pred = np.zeros((3, 4, 3))
    pred[..., 0] = np.array([0.01, 0.02, 0.03, 0.04])  # joint j off by 0.01 (j + 1) m
    pred[0, 3] = np.nan  # frame 0 lacks joint 3 in the prediction
    true[1, 0] = np.nan  # frame 1 lacks joint 0 in the truth
    pred[2] = np.nan  # frame 2 not predicted at all
    errors = joint_errors(pred, true)
    assert np.isnan(errors[0, 3]) and np.isnan(errors[1, 0]) and np.isnan(errors[2]).all()
    expected = np.mean([0.01, 0.02, 0.03, 0.02, 0.03, 0.04])
    assert mpjpe(pred, true) == pytest.approx(expected)
    err = axis_errors(pred, true)
    assert err.count == 6
    assert err.x == pytest.approx(expected)
    assert err.y == 0.0 and err.z == 0.0
    assert np.isnan(mpjpe(np.full((2, 4, 3), np.nan), true[:2]))
    assert np.isnan(axis_errors(np.full((2, 4, 3), np.nan), true[:2]).z)


def test_alignment_uses_the_joints_present_and_skips_frames_with_too_few():
    rng = np.random.default_rng(0)
    true = _poses(rng, frames=3, joints=12)
    rot = _rotations(rng, 3)
    pred = 1.3 * np.einsum("tik,tjk->tji", rot, true) + 0.5
    pred[0, 5] = np.nan  # one joint missing: the rest still fix the similarity
    true[1, :10] = np.nan  # two joints left: not enough, the frame drops out
    aligned = procrustes_align(pred, true)
    assert np.isnan(aligned[0, 5]).all()
    assert np.allclose(np.delete(aligned[0], 5, axis=0), np.delete(true[0], 5, axis=0),
                       atol=1e-9)
    assert np.isnan(aligned[1]).all()
    assert np.allclose(aligned[2], true[2], atol=1e-9)
    assert pa_mpjpe(pred, true) < 1e-9
    # a collapsed prediction (every joint at one point) is not aligned either
    flat = np.ones((1, 12, 3))
    assert np.isnan(procrustes_align(flat, true[2:])).all()


def test_a_single_pose_is_one_frame():
    rng = np.random.default_rng(0)
    true = _poses(rng, frames=1)[0]
    pred = true @ _rotations(rng, 1)[0].T
    assert procrustes_align(pred, true).shape == (1, 33, 3)
    assert pa_mpjpe(pred, true) < 1e-9


@pytest.mark.parametrize(("pred", "true"), [
    (np.zeros((4, 12, 3)), np.zeros((4, 11, 3))),
    (np.zeros((4, 12, 2)), np.zeros((4, 12, 2))),
    (np.zeros((2, 4, 12, 3)), np.zeros((2, 4, 12, 3))),
])
def test_mismatched_or_wrong_shapes_are_refused(pred, true):
    for fn in (mpjpe, pa_mpjpe, axis_errors, procrustes_align):
        with pytest.raises(ValueError, match="must have shape"):
            fn(pred, true)


def test_root_joints_out_of_range_are_refused():
    with pytest.raises(ValueError, match="root_joints"):
        root_relative(np.zeros((2, 12, 3)))  # the default hips 23, 24 are not among 12
