"""Training pairs of the learned 3D stage: landmarks from rig joints, cameras, corruption."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.lift import data as D
from mocap.multiview.calibration import Camera
from mocap.types import LANDMARK_NAMES, MIRROR_LANDMARKS
from tests.helpers import probe_motion

L = {n: i for i, n in enumerate(LANDMARK_NAMES)}


@pytest.fixture(scope="module")
def motion():
    """(points, landmarks (T, 33, 3)) of a seeded CMU-rig motion facing +Z, left on +X."""
    points = probe_motion(40)
    return points, D.landmarks_from_points(points)


def _take(landmarks, fps=30.0):
    return D.Take(landmarks, fps, "probe")


def test_landmarks_sit_where_blazepose_puts_them(motion):
    points, lm = motion
    assert lm.shape == (40, 33, 3) and np.isfinite(lm).all()
    for side in ("left", "right"):
        for part in ("shoulder", "elbow", "wrist", "knee", "ankle"):
            np.testing.assert_allclose(lm[:, L[f"{side}_{part}"]], points[f"{side}_{part}"])
    # hips: wider than the hip joints, a little higher
    hip_w = np.linalg.norm(lm[:, L["left_hip"]] - lm[:, L["right_hip"]], axis=-1)
    joint_w = np.linalg.norm(points["left_hip"] - points["right_hip"], axis=-1)
    assert (hip_w > 1.3 * joint_w).all()
    assert (lm[:, L["left_hip"], 1] > points["left_hip"][:, 1]).all()
    # the face in front of the head (forward = the shoulders' left x up) and the eyes, ears
    # and mouth corners on their own side
    left = points["left_shoulder"] - points["right_shoulder"]
    fwd = np.cross(left, [0.0, 1.0, 0.0])
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    assert (((lm[:, L["nose"]] - points["head"]) * fwd).sum(-1) > 0.05).all()
    for a, b in (("left_eye", "right_eye"), ("left_ear", "right_ear"),
                 ("mouth_left", "mouth_right")):
        assert (((lm[:, L[a]] - lm[:, L[b]]) * left).sum(-1) > 0).all(), (a, b)
    # heels below and behind the ankles, toe tips in front
    for side in ("left", "right"):
        heel, ankle, tip = (lm[:, L[f"{side}_{p}"]] for p in ("heel", "ankle", "foot_index"))
        foot = points[f"{side}_toe"] - ankle
        assert (heel[:, 1] < ankle[:, 1]).all()
        assert (((heel - ankle) * foot).sum(-1) < 0).all()  # behind
        assert (((tip - ankle) * foot).sum(-1) > ((foot * foot).sum(-1))).all()  # beyond the ball


def test_missing_role_is_named(motion):
    points, _ = motion
    partial = {k: points[k] for k in points.names if k != "left_knee"}
    with pytest.raises(ValueError, match="left_knee"):
        D.landmarks_from_points(partial)


def test_cameras_are_proper_rotations_and_frame_the_person(motion):
    _, lm = motion
    rng = np.random.default_rng(0)
    world = np.repeat(lm[None], 200, 0)
    cams = D.random_cameras(rng, world)
    r = cams.rotation
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape),
                               atol=1e-9)
    cam = cams.to_camera(world)
    assert (cam[..., 2] > 0.5).all()  # everything in front of the camera
    xy = cams.project(cam)
    hips = xy[:, :, list(D.HIPS)].mean(2)
    inside = ((hips >= 0) & (hips < cams.size[:, None])).all(-1)
    assert inside.mean() > 0.95
    # upright: the head above the feet in the image (y down), despite roll and tilt
    assert (xy[:, :, L["nose"], 1] < xy[:, :, L["left_ankle"], 1]).mean() > 0.99
    # portrait and landscape both drawn
    assert (cams.size[:, 0] > cams.size[:, 1]).any() and (cams.size[:, 0] < cams.size[:, 1]).any()
    fov = np.rad2deg(2 * np.arctan(cams.size.max(1) / 2 / cams.focal))
    assert fov.min() >= 40 - 1e-6 and fov.max() <= 90 + 1e-6


def test_projection_matches_the_calibrated_camera_model(motion):
    _, lm = motion
    rng = np.random.default_rng(1)
    world = np.repeat(lm[None, :5], 6, 0)
    cams = D.random_cameras(rng, world)
    xy = cams.project(cams.to_camera(world))
    for b in range(6):
        k = [[cams.focal[b], 0, cams.principal[b, 0]], [0, cams.focal[b], cams.principal[b, 1]],
             [0, 0, 1]]
        ref = Camera("c", tuple(int(s) for s in cams.size[b]), k, (0, 0, 0, 0, 0),
                     cams.rotation[b], -cams.rotation[b] @ cams.centre[b])
        np.testing.assert_allclose(xy[b].reshape(-1, 2), ref.project(world[b].reshape(-1, 3)),
                                   atol=1e-6)


def test_mirror_swaps_sides_and_reflects(motion):
    _, lm = motion
    m = D.mirror(lm)
    # the mirrored person's left wrist is where the original right wrist's reflection is
    expect = lm[:, L["right_wrist"]] * [-1, 1, 1]
    np.testing.assert_allclose(m[:, L["left_wrist"]], expect)
    np.testing.assert_allclose(m[:, L["nose"]], lm[:, L["nose"]] * [-1, 1, 1])
    np.testing.assert_allclose(D.mirror(m), lm)
    # still a person facing +Z: left landmarks on the +X side of the right ones
    assert (m[:, L["left_shoulder"], 0] > m[:, L["right_shoulder"], 0]).all()
    assert len(set(MIRROR_LANDMARKS)) == 33


def test_bone_scaling_keeps_directions_and_scales_lengths(motion):
    _, lm = motion
    f = np.array([1.0, 1.0, 1.2, 0.8, 1.0, 1.0, 1.1, 0.9, 1.0])
    s = D.scale_bones(lm, f)
    upper = lambda x: x[:, L["left_elbow"]] - x[:, L["left_shoulder"]]  # noqa: E731
    np.testing.assert_allclose(upper(s), 1.2 * upper(lm), atol=1e-12)
    shin = lambda x: x[:, L["right_ankle"]] - x[:, L["right_knee"]]  # noqa: E731
    np.testing.assert_allclose(shin(s), 0.9 * shin(lm), atol=1e-12)
    np.testing.assert_allclose(s[:, list(D.HIPS)].mean(1), lm[:, list(D.HIPS)].mean(1))
    np.testing.assert_allclose(D.scale_bones(lm, np.ones(9)), lm, atol=1e-12)


def test_without_noise_inputs_are_exact(motion):
    _, lm = motion
    rng = np.random.default_rng(2)
    b = D.make_batch(rng, [_take(lm)], 4, 24, augment=False, noise=0.0)
    np.testing.assert_allclose(b.xy, b.xy_true, atol=1e-3)
    np.testing.assert_allclose(b.noisy, b.target, atol=1e-5)
    # the target is the camera-space pose: reprojecting it (hip depth put back) gives the 2D
    world = D.sample_windows(np.random.default_rng(2), [_take(lm)], 4, 24, (1.0, 1.0))
    cam = b.cameras.to_camera(world)
    np.testing.assert_allclose(cam - cam[:, :, list(D.HIPS)].mean(2, keepdims=True), b.target,
                               atol=1e-5)


def test_noise_is_shaped_like_blazepose(motion):
    _, lm = motion
    b = D.make_batch(np.random.default_rng(3), [_take(lm)], 64, 32)
    err = np.abs(b.noisy - b.target)[..., list(D.BODY_JOINTS), :] * 1000
    depth, across = err[..., 2].mean(), err[..., :2].mean()
    assert 40 < depth < 130 and depth > 1.2 * across  # depth error dominates
    wrist = np.abs(b.noisy - b.target)[..., [15, 16], 2].mean()
    hip = np.abs(b.noisy - b.target)[..., [23, 24], 2].mean()
    assert wrist > 2.5 * hip
    px = np.linalg.norm(b.xy - b.xy_true, axis=-1)
    assert 0.5 < np.median(px) < 15
    assert np.isfinite(b.inputs).all() and b.inputs.shape == (64, 32, 198)


def test_model_input_ignores_where_and_how_big_the_person_is(motion):
    _, lm = motion
    b = D.make_batch(np.random.default_rng(4), [_take(lm)], 2, 32)
    a = D.model_input(b.xy, b.conf, b.noisy)
    moved = D.model_input(b.xy * 2.5 + 300.0, b.conf, b.noisy + 1.0)
    np.testing.assert_allclose(a, moved, atol=1e-4)


def test_mirror_input_is_the_mirror_images_input(motion):
    """Built from the mirrored 2D, confidences and 3D directly (x negated, sides swapped)."""
    _, lm = motion
    b = D.make_batch(np.random.default_rng(5), [_take(lm)], 2, 32)
    swap = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9] + [i + 1 if i % 2 else i - 1 for i in range(11, 33)]
    xy = b.xy[..., swap, :].copy()
    xy[..., 0] = 1000.0 - xy[..., 0]  # mirrored about any vertical line
    world = b.noisy[..., swap, :].copy()
    world[..., 0] *= -1
    expected = D.model_input(xy, b.conf[..., swap], world)
    np.testing.assert_allclose(D.mirror_input(D.model_input(b.xy, b.conf, b.noisy)), expected,
                               atol=1e-4)

