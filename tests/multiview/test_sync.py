"""Synchronising views from the people's motion: synthetic people (CMU motion) seen by ring
cameras whose videos started at fractional offsets (the 3D motion interpolated in time),
1.5 px noise, 10 % dropouts, a bystander seen by one view; and Pose2Sim's Demo_MultiPerson
(synchronised videos: the truth is 0) tracked by the product (slow).

Measured (seeds 0-3, offsets 0, +3.4, -7.25, +12 frames at 30 fps): coarse error at most
0.08 frame, refined at most 0.05 frame; on the demo (60 fps, 100 frames, 1.7 s), coarse
-1.13, 0.11 to 0.53 (between tracking runs), -0.69 and refined -0.62, -0.44, -0.29 frame:
on so short a clip the people's motion fixes the time to about half a frame (8 ms) only.
"""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.multiview.match import match_tracks, sample_landmarks
from mocap.multiview.scene import triangulate_persons
from mocap.multiview.sync import estimate_offsets
from tests.multiview.people import FPS, people, shifted_view_tracks, track
from tests.multiview.synthetic import bvh_files, ring

#: Timing people by their speed needs real human motion (the CMU takes of ../shared/data):
#: the seeded stand-in of a plain clone joins random key poses linearly, so its speed is
#: constant between keys and a speed profile cannot place it to a fraction of a frame.
needs_motion = pytest.mark.skipif(not bvh_files(), reason="needs the CMU takes in "
                                  "../shared/data/bvh (real motion to time by its speed)")

TRUTH = np.array([0.0, 3.4, -7.25, 12.0])


def _take(seed: int, frames: int = 240, **kw):
    persons = people(3, frames=frames)
    calib = ring(np.concatenate(persons[:2], 1), views=4, seed=seed)
    kw.setdefault("only_view", {2: seed % 4})  # person 2: a bystander seen by one view
    tracks, truth = shifted_view_tracks(persons, calib, TRUTH, seed, **kw)
    return persons, calib, tracks, truth


def _pairs_right(sync, truth) -> bool:
    """Every track pair that agreed on a lag is one person (the bystander paired with
    nobody)."""
    return all(truth[int(sync.reference[v])][i] == truth[v][j]
               for v in range(1, len(sync)) for i, j, _ in sync.pairs[v])


@needs_motion
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coarse_offsets_from_motion(seed):
    _, _, tracks, truth = _take(seed)
    sync = estimate_offsets(tracks, FPS)
    assert not sync.refined and sync.offsets[0] == 0.0 and sync.scores[0] == 1.0
    np.testing.assert_allclose(sync.offsets, TRUTH, atol=0.25)  # measured <= 0.08
    assert (sync.scores[1:] > 0.7).all() and list(sync.reference) == [-1, 0, 0, 0]
    assert all(len(p) >= 1 for p in sync.pairs[1:]) and _pairs_right(sync, truth)


@needs_motion
@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 3])
def test_refined_by_triangulation(seed):
    _, calib, tracks, _ = _take(seed)
    sync = estimate_offsets(tracks, FPS, calib)
    assert sync.refined and sync.refined_views[1:].all()
    np.testing.assert_allclose(sync.offsets, TRUTH, atol=0.1)  # measured <= 0.05
    coarse = np.abs(sync.coarse - TRUTH)[1:].mean()
    assert np.abs(sync.offsets - TRUTH)[1:].mean() < coarse
    assert (sync.errors[1:] < 0.01).all()  # of the person's size: consistent views


@needs_motion
def test_chained_through_a_view_in_between():
    # one person is seen by views 0 and 1 only, the other by views 1 and 2 only: view 2
    # shares nobody with view 0 and is timed through view 1. (The CMU walk alone in views
    # 1 and 2 would not do: a gait's speed repeats every step, see the module notes.)
    persons = people(2, frames=240)[::-1]
    calib = ring(np.concatenate(persons, 1), views=3, seed=1)
    truth_offsets = TRUTH[:3]
    tracks, _ = shifted_view_tracks(persons, calib, truth_offsets, 1,
                                    seen_by={0: (0, 1), 1: (1, 2)})
    sync = estimate_offsets(tracks, FPS)
    assert list(sync.reference) == [-1, 0, 1]
    np.testing.assert_allclose(sync.offsets, truth_offsets, atol=0.3)


@needs_motion
def test_fractional_offsets_beat_rounded_ones():
    # little noise (0.5 px), so that the timing's error shows above the noise's
    persons, calib, tracks, truth = _take(1, frames=150, noise_px=0.5)
    errors = {}
    for name, offs in (("fractional", TRUTH), ("rounded", np.round(TRUTH))):
        match = match_tracks(tracks, calib, offsets=offs)
        result = triangulate_persons(tracks, match, calib, offsets=offs, fps=FPS)
        assert len(result) == 2
        mm = []
        for person, members in zip(result, match.persons, strict=True):
            gt = persons[truth[members[0][0]][members[0][1]]]
            frames = person.frames
            ok = (frames >= 0) & (frames < len(gt))
            mm.append(np.nanmean(np.linalg.norm(person.raw[ok] - gt[frames[ok]], axis=-1)))
        errors[name] = np.mean(mm) * 1000
    # measured 2.6 mm against 4.8 mm: rounding 3.4 and -7.25 frames mistimes two views
    assert errors["fractional"] < 0.75 * errors["rounded"], errors


def test_sample_landmarks_between_frames():
    xy = np.zeros((4, 33, 2))
    xy[:, :, 0] = np.arange(4)[:, None] * 10.0  # x = 10 px per frame
    conf = np.full((4, 33), 0.8)
    conf[2, 5] = 0.0  # landmark 5 unseen in frame 2
    xy[2, 5] = np.nan
    tr = track(1, xy, conf, first=10)
    out, vis = sample_landmarks(tr, np.array([10.0, 10.25, 11.5, 13.0, 13.5, 9.5]))
    np.testing.assert_allclose(out[:5, 0, 0], [0.0, 2.5, 15.0, 30.0, np.nan])
    assert np.isnan(out[5]).all() and (vis[4:] == 0).all()  # outside the track: missing
    assert np.isnan(out[2, 5]).all() and vis[2, 5] == 0  # a neighbour without it: missing
    assert vis[1, 0] == pytest.approx(0.8)
    np.testing.assert_array_equal(out[3], tr.image_raw[3, :, :2])  # whole frame: as observed


def test_a_view_with_nobody_moving_is_named():
    persons = people(2, frames=120)
    calib = ring(np.concatenate(persons, 1), views=3, seed=0)
    still = [np.repeat(p[:1], len(p), 0) for p in persons]
    tracks, _ = shifted_view_tracks(persons, calib, [0, 0, 0], 0, noise_px=0.0)
    frozen, _ = shifted_view_tracks(still, calib, [0, 0, 0], 0, noise_px=0.0)
    tracks[1] = frozen[1]
    with pytest.raises(InputError, match=r"video 2: no moving person.*--offsets"):
        estimate_offsets(tracks, FPS)
    tracks[1] = []
    with pytest.raises(InputError, match=r"video 2: .*--offsets"):
        estimate_offsets(tracks, FPS)
    with pytest.raises(ValueError, match="`fps` must be a finite number > 0"):
        estimate_offsets(tracks, 0.0)


@pytest.mark.slow
def test_demo_multiperson_is_in_sync(demo_tracks):
    calib, tracks = demo_tracks
    coarse = estimate_offsets(tracks, 60.0)
    refined = estimate_offsets(tracks, 60.0, calib)
    # measured: coarse -1.13, 0.11..0.53, -0.69; refined -0.62, -0.44, -0.29 frame (60 fps)
    assert (np.abs(coarse.offsets) < 2.0).all(), coarse.offsets
    assert (np.abs(refined.offsets) < 1.0).all(), refined.offsets
    # the same videos with view 3 starting 7 frames later: the offset follows
    for tr in tracks[2]:
        tr.frames -= 7
    try:
        shifted = estimate_offsets(tracks, 60.0)
    finally:
        for tr in tracks[2]:
            tr.frames += 7
    assert abs(shifted.offsets[2] - (coarse.offsets[2] - 7)) < 0.01
