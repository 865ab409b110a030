"""The learned 3D stage on synthetic tracks: shapes, units, rates, gaps, and that the
committed weights correct BlazePose-like 3D on a CMU subject they never saw."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.lift import data as D
from mocap.lift.stage import WEIGHTS, lift_track
from mocap.types import Track
from tests.helpers import SHARED_DATA, probe_motion

BODY = list(D.BODY_JOINTS)


def _track(xy, conf, world) -> Track:
    """A Track (one person, T frames) from 2D px (T, 33, 2), confidences and 3D."""
    t = len(xy)
    image = np.concatenate([xy, np.zeros((t, 33, 1))], -1).astype(np.float32)
    return Track(id=1, frames=np.arange(t), times=np.arange(t) / 30.0,
                 observed=np.ones(t, bool), image_raw=image, world_raw=world,
                 visibility=conf, presence=np.ones((t, 33), np.float32),
                 score=np.ones(t, np.float32), image=image, world=world)


def _probe_batch(length=90, noise=1.0, seed=0):
    take = D.Take(D.landmarks_from_points(probe_motion(length)), 30.0, "probe")
    return D.make_batch(np.random.default_rng(seed), [take], 1, length, augment=False,
                        noise=noise)


@pytest.fixture(scope="module")
def probe():
    return _probe_batch()


def test_shapes_units_and_root(probe):
    track = _track(probe.xy[0], probe.conf[0], probe.noisy[0])
    size = tuple(int(s) for s in probe.cameras.size[0])
    out = lift_track(track, size, 30.0)
    assert out.shape == (90, 33, 3) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, list(D.HIPS)].mean(1), 0.0, atol=1e-5)
    # metres, the person's own size: shoulder-to-ankle length within 15 % of the truth
    span = lambda p: np.linalg.norm(p[:, 11] - p[:, 27], axis=-1).mean()  # noqa: E731
    assert abs(span(out) / span(probe.target[0]) - 1) < 0.15
    # the same axes as the input: the head up (y down), the pose close to the truth
    assert (out[:, 0, 1] < out[:, 27, 1]).all()
    assert np.linalg.norm(out - probe.target[0], axis=-1)[:, BODY].mean() < 0.15


def test_other_frame_rates_are_resampled(probe):
    """A 60 fps track of the same motion gives the 30 fps result at the shared frames."""
    xy, conf, world = probe.xy[0], probe.conf[0], probe.noisy[0]
    size = tuple(int(s) for s in probe.cameras.size[0])
    at30 = lift_track(_track(xy, conf, world), size, 30.0)

    def double(a):  # frames halfway between, interpolated
        mid = 0.5 * (a[1:] + a[:-1])
        out = np.empty((2 * len(a) - 1, *a.shape[1:]), a.dtype)
        out[0::2], out[1::2] = a, mid
        return out

    at60 = lift_track(_track(double(xy), double(conf), double(world)), size, 60.0)
    assert at60.shape == (179, 33, 3)
    diff = np.linalg.norm(at60[0::2] - at30, axis=-1)[:, BODY]
    assert np.median(diff) < 0.01


def test_frames_without_3d_come_back_nan(probe):
    world = probe.noisy[0].copy()
    world[10:13] = np.nan
    xy = probe.xy[0].copy()
    xy[40, 15] = np.nan  # one landmark missing: filled, the frame still lifted
    out = lift_track(_track(xy, probe.conf[0], world), (1920, 1080), 30.0)
    assert np.isnan(out[10:13]).all()
    assert np.isfinite(np.delete(out, [10, 11, 12], 0)).all()


def test_bad_arguments_are_named(probe, tmp_path):
    track = _track(probe.xy[0], probe.conf[0], probe.noisy[0])
    with pytest.raises(InputError, match="fps"):
        lift_track(track, (1920, 1080), 0.0)
    with pytest.raises(InputError, match="image_size"):
        lift_track(track, (0, 1080), 30.0)
    with pytest.raises(InputError, match="weights"):
        lift_track(track, (1920, 1080), 30.0, weights=tmp_path / "none.pt")


def test_weights_are_small():
    assert WEIGHTS.stat().st_size < 8e6


@pytest.mark.skipif(not (SHARED_DATA / "bvh" / "cmu_iclone").is_dir(),
                    reason="needs ../shared/data/bvh (CMU takes)")
def test_beats_blazepose_like_input_on_a_held_out_subject():
    """Subject 2 (never trained on): the stage's output is closer to the truth than the
    noisy BlazePose-like 3D it was given, overall and along the depth axis."""
    from mocap.io.bvh import read_bvh
    from mocap.retarget.bvh_source import bvh_animation

    takes = []
    for name in ("002_01.bvh", "002_05.bvh", "002_07.bvh"):
        anim = bvh_animation(read_bvh(SHARED_DATA / "bvh" / "cmu_iclone" / name))[1:]
        takes.append(D.Take(D.landmarks_from_points(anim.points()), anim.fps, name))
    batch = D.make_batch(np.random.default_rng(7), takes, 12, 150, augment=False)
    before, after, depth_before, depth_after = [], [], [], []
    for i in range(12):
        track = _track(batch.xy[i], batch.conf[i], batch.noisy[i])
        out = lift_track(track, tuple(int(s) for s in batch.cameras.size[i]), 30.0)
        before.append(np.linalg.norm(batch.noisy[i] - batch.target[i], axis=-1)[:, BODY])
        after.append(np.linalg.norm(out - batch.target[i], axis=-1)[:, BODY])
        depth_before.append(np.abs(batch.noisy[i] - batch.target[i])[:, BODY, 2])
        depth_after.append(np.abs(out - batch.target[i])[:, BODY, 2])
    before, after = np.mean(before), np.mean(after)
    assert after < 0.8 * before, (before, after)
    assert np.mean(depth_after) < 0.8 * np.mean(depth_before)


def test_a_mirrored_track_gives_the_mirrored_pose(probe):
    """The stage averages its estimate with the mirror image's, so it is exactly
    equivariant: the mirrored video's person is the mirror of this one's."""
    xy, conf, world = probe.xy[0], probe.conf[0], probe.noisy[0]
    w, h = (int(s) for s in probe.cameras.size[0])
    swap = list(D.MIRROR_LANDMARKS)
    mxy = xy[:, swap].copy()
    mxy[..., 0] = w - mxy[..., 0]
    out = lift_track(_track(xy, conf, world), (w, h), 30.0)
    mout = lift_track(_track(mxy, conf[:, swap], D.mirror(world)), (w, h), 30.0)
    np.testing.assert_allclose(D.mirror(mout), out, atol=2e-3)
