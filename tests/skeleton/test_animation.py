"""Animations: bridging the pose through frames where the person was not seen."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.geometry.rotations import quat_to_matrix, slerp
from mocap.skeleton.animation import BRIDGE_KEEP_S, BRIDGE_RAMP_S, Animation, bridge_poses
from mocap.skeleton.rig import load_rig

FPS = 30.0


def _random_quats(rng, shape) -> np.ndarray:
    q = rng.normal(size=(*shape, 4))
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _same_rotations(a: np.ndarray, b: np.ndarray) -> bool:
    return np.allclose(quat_to_matrix(a), quat_to_matrix(b), atol=1e-9)


def test_deep_inside_a_long_gap_the_pose_is_the_interpolation_of_its_ends():
    rng = np.random.default_rng(0)
    rig = load_rig("smpl")
    t, j = 120, len(rig)
    rotations = _random_quats(rng, (t, j))  # the smoother's poses: wild inside the gap
    root = rng.normal(size=(t, 3))
    anim = Animation(rig, root, rotations, FPS)
    observed = np.ones(t, bool)
    s, e = 30, 90  # a 2 s gap: frames 30-89
    observed[s:e] = False
    out = bridge_poses(anim, observed)
    assert out is not anim
    np.testing.assert_array_equal(out.root_translation, root)  # the path is kept
    # observed frames, and bridged ones within BRIDGE_KEEP_S of them, are left alone
    keep = round(BRIDGE_KEEP_S * FPS)
    for i in [*range(s), *range(e, t), *range(s, s + keep), *range(e - keep, e)]:
        assert _same_rotations(out.rotations[i], rotations[i]), i
    # further in: the slerp between the last pose before and the first after
    full = round((BRIDGE_KEEP_S + BRIDGE_RAMP_S) * FPS)
    for i in range(s - 1 + full, e - full + 1):
        frac = (i - (s - 1)) / (e - (s - 1))
        want = slerp(rotations[s - 1], rotations[e], frac)
        assert _same_rotations(out.rotations[i], want), i
    # sign-continuous quaternions, as every Animation's
    assert (np.einsum("tjk,tjk->tj", out.rotations[1:], out.rotations[:-1]) >= 0).all()


def test_short_gaps_and_gaps_at_the_ends_are_the_smoothers():
    rng = np.random.default_rng(1)
    rig = load_rig("smpl")
    anim = Animation(rig, np.zeros((60, 3)), _random_quats(rng, (60, len(rig))), FPS)
    observed = np.ones(60, bool)
    observed[20:38] = False  # 0.6 s: every frame within 0.3 s of a seen one
    assert bridge_poses(anim, observed) is anim
    observed = np.ones(60, bool)
    observed[:40] = False  # before the first sighting: nothing to interpolate towards
    assert bridge_poses(anim, observed) is anim
    with pytest.raises(ValueError, match=r"`observed` must have shape \(60,\)"):
        bridge_poses(anim, observed[:50])
