"""The 3D priors: constant bone lengths, knees bent forward, legs that straighten."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.lift.prior import LIMB_BONES, constrain, knee_flexion

THIGH, SHIN, UPPER_ARM, FOREARM = 0.42, 0.40, 0.29, 0.25
PELVIS, SHOULDERS, TRUNK = 0.26, 0.36, 0.52
TRUE_LENGTHS = np.array([UPPER_ARM, FOREARM] * 2 + [THIGH, SHIN] * 2)


def _rot_x(a: np.ndarray) -> np.ndarray:
    """(T,) angles -> (T, 3) unit vectors down (-Y) turned forward (+Z) by ``a``."""
    return np.stack([np.zeros_like(a), -np.cos(a), np.sin(a)], -1)


def walker(frames: int = 120) -> np.ndarray:
    """A hand-built walker with known bones, Y up, facing +Z, left on +X: (T, 33, 3)
    metres, hips' midpoint at the origin. Knees flex forward (the shin swings back), and
    each leg is straight (knee 180 deg) in about a fifth of the frames."""
    t = np.linspace(0, 4 * np.pi, frames)
    out = np.zeros((frames, 33, 3))
    up = np.array([0.0, 1.0, 0.0])
    for side, sign in ((0, 1.0), (1, -1.0)):
        phase = t + side * np.pi
        hip = np.array([sign * PELVIS / 2, 0.0, 0.0])
        swing = 0.35 * np.sin(phase)  # thigh forward of down
        flex = np.maximum(0.0, 0.9 * np.sin(phase + 0.8)) ** 2  # knee flexion, rad
        knee = hip + THIGH * _rot_x(swing)
        ankle = knee + SHIN * _rot_x(swing - flex)
        out[:, 23 + side], out[:, 25 + side], out[:, 27 + side] = hip, knee, ankle
        out[:, 29 + side] = ankle + np.array([0.0, -0.05, -0.05])  # heel
        out[:, 31 + side] = ankle + np.array([0.0, -0.06, 0.16])  # toe tip
        shoulder = TRUNK * up + [sign * SHOULDERS / 2, 0.0, 0.0]
        arm = -0.3 * np.sin(phase)
        elbow = shoulder + UPPER_ARM * _rot_x(arm)
        wrist = elbow + FOREARM * _rot_x(arm + 0.4 + 0.3 * np.sin(phase) ** 2)
        out[:, 11 + side], out[:, 13 + side], out[:, 15 + side] = shoulder, elbow, wrist
        for k, d in zip((17, 19, 21), ((0.0, -0.08, 0.02), (0.01, -0.09, 0.04),
                                       (-0.02, -0.05, 0.05)), strict=True):
            out[:, k + side] = wrist + np.multiply(d, (sign, 1, 1))
    head = (TRUNK + 0.2) * up
    for k in range(11):
        out[:, k] = head + np.array([0.01 * (k - 5), 0.005 * k, 0.1])
    return out


def camera_axes(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """The same poses in a camera's axes (x right, y down, z away): Y-up world turned by a
    proper rotation (the prior must not care about the axes)."""
    flip = np.diag([1.0, -1.0, -1.0])  # Y up -> y down, det +1
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    q *= np.sign(np.linalg.det(q))
    return points @ (q @ flip).T


def lengths(points: np.ndarray) -> np.ndarray:
    """(T, 8) limb bone lengths, :data:`LIMB_BONES` order."""
    return np.stack([np.linalg.norm(points[:, c] - points[:, p], axis=-1)
                     for p, c, _ in LIMB_BONES], -1)


def backwards_knees(points: np.ndarray, frames: np.ndarray, side: int) -> np.ndarray:
    """The poses with ``side``'s knee mirrored through its hip-ankle line at ``frames``."""
    out = points.copy()
    h, k, a = (23, 25, 27) if side == 0 else (24, 26, 28)
    axis = out[frames, a] - out[frames, h]
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    rel = out[frames, k] - out[frames, h]
    foot = rel - (rel * axis).sum(-1, keepdims=True) * axis
    out[frames, k] -= 2 * foot
    return out


@pytest.fixture(scope="module")
def truth() -> np.ndarray:
    return camera_axes(walker())


def test_walker_is_what_it_claims(truth):
    np.testing.assert_allclose(lengths(truth), np.broadcast_to(TRUE_LENGTHS, (len(truth), 8)),
                               atol=1e-9)
    angle, back = knee_flexion(truth)
    assert not back.any()
    assert (angle > 179.5).mean(0).min() > 0.1  # straight at times
    assert angle.min() < 140  # and well bent at others


def test_valid_pose_is_left_alone(truth):
    out, fixes = constrain(truth, details=True)
    assert np.abs(out - truth).max() < 1e-3
    np.testing.assert_allclose(fixes.lengths, TRUE_LENGTHS, atol=1e-6)
    assert fixes.pelvis == pytest.approx(PELVIS) and fixes.shoulders == pytest.approx(SHOULDERS)
    assert fixes.trunk == pytest.approx(np.hypot(TRUNK, 0.0), abs=1e-6)
    np.testing.assert_allclose(fixes.legs, 1.0)
    assert not fixes.knees_flipped.any()


def test_backwards_knee_is_turned_forward(truth):
    rng = np.random.default_rng(0)
    bent = np.flatnonzero(knee_flexion(truth)[0][:, 0] < 170)
    frames = rng.choice(bent, 15, replace=False)
    broken = backwards_knees(truth, frames, side=0)
    before = knee_flexion(broken)[1]
    assert before[frames, 0].all() and before[:, 0].sum() == len(frames)
    out, fixes = constrain(broken, details=True)
    assert not knee_flexion(out)[1].any()
    np.testing.assert_array_equal(np.flatnonzero(fixes.knees_flipped[:, 0]), np.sort(frames))
    np.testing.assert_allclose(out, truth, atol=1e-3)


def test_noisy_depth_gets_the_true_lengths_back(truth):
    rng = np.random.default_rng(0)
    noisy = truth.copy()
    # a monocular error: each landmark off along the camera's depth axis, 2 cm s.d.
    noisy[..., 2] += rng.normal(0.0, 0.02, noisy.shape[:2])
    noisy -= noisy[:, [23, 24]].mean(1, keepdims=True)
    spread = lengths(noisy).std(0)
    assert (spread > 0.002).all()
    out = constrain(noisy)
    got = lengths(out)
    assert got.std(0).max() < 1e-9  # constant over the take
    np.testing.assert_allclose(got[0], TRUE_LENGTHS, atol=0.012)
    np.testing.assert_allclose(out[:, [23, 24]].mean(1), 0.0, atol=1e-12)  # root kept
    # the poses stay about as near the truth: bone directions are the noisy ones, and a
    # direction error near the trunk is carried outward along the chain
    err = np.linalg.norm(out - truth, axis=-1)
    assert err.mean() < 1.15 * np.linalg.norm(noisy - truth, axis=-1).mean()
    assert err.max() < 0.15


def test_a_standing_persons_knees_come_straight():
    """Hip and ankle right but each knee pushed 8 cm forward in every frame (as a
    monocular depth error bends a standing person's knees): the legs straighten."""
    stand = walker(60)
    for side in (0, 1):
        h, k, a = 23 + side, 25 + side, 27 + side
        stand[:, k] = stand[:, h] + [0.0, -THIGH, 0.0]
        stand[:, a] = stand[:, k] + [0.0, -SHIN, 0.0]
        stand[:, 29 + side] = stand[:, a] + np.array([0.0, -0.05, -0.05])
        stand[:, 31 + side] = stand[:, a] + np.array([0.0, -0.06, 0.16])
    truth = camera_axes(stand, seed=1)
    bent = stand.copy()
    bent[:, [25, 26], 2] += 0.08
    bent = camera_axes(bent, seed=1)
    assert np.median(knee_flexion(bent)[0]) < 165
    out, fixes = constrain(bent, details=True)
    assert np.median(knee_flexion(out)[0]) > 178
    assert (fixes.legs < 1).all()
    np.testing.assert_allclose(out[:, 25:29], truth[:, 25:29], atol=0.01)
    # without the reach prior the bent knees stay bent
    assert np.median(knee_flexion(constrain(bent, reach=False))[0]) < 165


def test_missing_frames_stay_missing(truth):
    pts = truth.copy()
    pts[5] = np.nan
    pts[9, 15] = np.nan
    out = constrain(pts)
    assert np.isnan(out[5]).all() and np.isnan(out[9, 15]).all()
    assert np.isfinite(np.delete(out, 5, 0)[:, :15]).all()
    assert constrain(np.zeros((0, 33, 3))).shape == (0, 33, 3)


def test_wrong_shape_is_refused():
    with pytest.raises(InputError, match=r"\(T, 33, 3\)"):
        constrain(np.zeros((4, 17, 3)))
