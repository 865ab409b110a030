"""Matched persons -> 3D tracks: synthetic people seen by 4 virtual cameras (error against
the truth, gaps bridged), and Pose2Sim's Demo_MultiPerson tracked by the product (slow).

Bounds are the values measured (3 seeds, 1.5 px noise, 10 % dropouts) with about 25 %
margin: raw triangulation 7.5-7.8 mm mean, smoothed 4.6-6.2 mm, median reprojection error
1.1-1.7 px per view; on the demo, median reprojection error per view 6.5-8.9 px (man) and
2.8-6.8 px (woman).
"""

from __future__ import annotations

import numpy as np
import pytest

from mocap.multiview.match import match_tracks
from mocap.multiview.scene import Person3D, triangulate_persons
from mocap.types import SKELETON_EDGES
from tests.multiview.people import people, view_tracks
from tests.multiview.synthetic import ring


def _scene(seed: int, views: int = 4):
    persons = people(2)
    calib = ring(np.concatenate(persons, 1), views=views, seed=seed)
    tracks, truth = view_tracks(persons, calib, seed)
    return persons, calib, tracks, truth


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_error_against_truth(seed):
    persons, calib, tracks, truth = _scene(seed)
    match = match_tracks(tracks, calib)
    result = triangulate_persons(tracks, match, calib)
    assert len(result) == 2
    for person, members in zip(result, match.persons, strict=True):
        gt = persons[truth[members[0][0]][members[0][1]]]
        assert len(person) == len(gt) and person.observed.all()
        raw_mm = np.nanmean(np.linalg.norm(person.raw - gt, axis=-1)) * 1000
        smooth_mm = np.mean(np.linalg.norm(person.points - gt, axis=-1)) * 1000
        assert raw_mm < 10.0 and smooth_mm < 8.0, (raw_mm, smooth_mm)
        assert smooth_mm < raw_mm  # the smoother helps
        assert (person.median_error() < 2.2).all()
        true_bones = np.median(np.linalg.norm(gt[:, [a for a, _ in SKELETON_EDGES]]
                                              - gt[:, [b for _, b in SKELETON_EDGES]], axis=-1), 0)
        np.testing.assert_allclose(person.bone_lengths, true_bones, atol=0.015)


def test_gap_bridged_and_marked():
    persons, calib, tracks, truth = _scene(0)
    match = match_tracks(tracks, calib)
    p0 = match.persons[0]
    for v, i in p0:  # nobody sees person 0 for frames 40..49
        tr = tracks[v][i]
        tr.image_raw[40:50] = np.nan
        tr.visibility[40:50] = 0.0
        tr.observed[40:50] = False
    person = triangulate_persons(tracks, match, calib)[0]
    gt = persons[truth[p0[0][0]][p0[0][1]]]
    assert not person.observed[40:50].any() and person.observed[:40].all()
    assert np.isnan(person.raw[40:50]).all()
    gap_mm = np.linalg.norm(person.points[40:50] - gt[40:50], axis=-1).mean() * 1000
    assert np.isfinite(person.points).all() and gap_mm < 150, gap_mm


def test_offsets_and_bad_arguments():
    _, calib, tracks, _ = _scene(1, views=3)
    for tr in tracks[2]:
        tr.frames += 5
    match = match_tracks(tracks, calib, offsets=[0, 0, 5])
    result = triangulate_persons(tracks, match, calib, offsets=[0, 0, 5])
    assert [len(p) for p in result] == [90, 90] and result[0].frames[0] == 0
    assert all((p.median_error() < 2.2).all() for p in result)
    with pytest.raises(ValueError, match="one entry per camera"):
        triangulate_persons(tracks[:2], match, calib)
    with pytest.raises(ValueError, match="`points` must have shape"):
        Person3D(np.arange(2), np.zeros(2), np.zeros((3, 33, 3)), np.zeros((2, 33, 3)),
                 np.ones(2, bool), np.zeros((1, 2, 33)), np.ones((1, 2, 33), bool),
                 np.zeros(len(SKELETON_EDGES)))


@pytest.mark.slow
def test_demo_multiperson_reprojection(demo_tracks):
    calib, tracks = demo_tracks
    match = match_tracks(tracks, calib)
    result = triangulate_persons(tracks, match, calib)
    full = [k for k, p in enumerate(match.persons) if len({v for v, _ in p}) == 4]
    assert len(full) == 2
    for k in full:
        person = result[k]
        assert len(person) == 100 and person.observed.mean() > 0.95
        errors = person.median_error()
        assert (errors < 12.0).all(), errors  # measured 2.8-8.9 px
        # Y up: the feet near the floor, the head well above it
        assert -0.2 < np.nanpercentile(person.raw[..., 1], 1) < 0.2
        assert np.nanpercentile(person.raw[..., 1], 99) > 1.1
