"""Matching tracks across views: synthetic people seen by 4 virtual cameras (ids shuffled per
view, one person in one view only), and the product's own tracks of Pose2Sim's
Demo_MultiPerson (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.multiview.match import TrackMatch, match_tracks
from tests.multiview.people import people, view_tracks
from tests.multiview.synthetic import ring


def _persons_as_truth(match: TrackMatch, truth: list[np.ndarray]) -> list[set[int]]:
    """Each matched person's true identities (a set of one where the match is right)."""
    return [{int(truth[v][i]) for v, i in person} for person in match.persons]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_two_people_four_views_and_one_seen_once(seed):
    persons = people(3)
    calib = ring(np.concatenate(persons[:2], 1), views=4, seed=seed)
    tracks, truth = view_tracks(persons, calib, seed, only_view={2: seed % 4})
    match = match_tracks(tracks, calib)
    assert len(match) == 2
    found = _persons_as_truth(match, truth)
    assert sorted(found, key=min) == [{0}, {1}]  # each person one identity ...
    for person in match.persons:  # ... seen by all 4 views
        assert sorted(v for v, _ in person) == [0, 1, 2, 3]
    assert [int(truth[v][i]) for v, i in match.unmatched] == [2]  # never glued
    assert (match.errors < 0.02).all()


def test_offsets_align_the_views():
    persons = people(2)
    calib = ring(np.concatenate(persons, 1), views=3, seed=4)
    tracks, truth = view_tracks(persons, calib, 4)
    for tr in tracks[1]:  # view 1 started recording 7 frames before view 0
        tr.frames += 7
    match = match_tracks(tracks, calib, offsets=[0, 7, 0])
    assert sorted(_persons_as_truth(match, truth), key=min) == [{0}, {1}]
    assert all(sorted(v for v, _ in p) == [0, 1, 2] for p in match.persons)
    # without the offset the same people fit worse (a 7-frame lag of a slow motion can
    # still pass the gate)
    assert match_tracks(tracks, calib).errors.max() > match.errors.max()


def test_nobody_and_bad_arguments():
    persons = people(1)
    calib = ring(persons[0], views=2, seed=0)
    empty = match_tracks([[], []], calib)
    assert len(empty) == 0 and empty.unmatched == []
    with pytest.raises(ValueError, match="`tracks` must hold one list per camera"):
        match_tracks([[]], calib)
    with pytest.raises(ValueError, match="`offsets` must hold one value per camera"):
        match_tracks([[], []], calib, offsets=[0])
    with pytest.raises(ValueError, match="`gate` must be a finite number > 0"):
        match_tracks([[], []], calib, gate=0.0)
    with pytest.raises(ValueError, match="person 0 must span at least two views"):
        TrackMatch((np.array([0]), np.array([-1])), np.array([0.01]))


@pytest.mark.slow
def test_demo_multiperson_man_and_woman_matched(demo_tracks):
    calib, tracks = demo_tracks
    match = match_tracks(tracks, calib)
    full = [p for p in match.persons if sorted(v for v, _ in p) == [0, 1, 2, 3]]
    assert len(full) == 2  # the man and the woman, each in all 4 views
    # measured: 0.023 and 0.045 of the person's size (worst track's median)
    assert (match.errors[[match.persons.index(p) for p in full]] < 0.06).all()
    # the bystander (view 1) is unmatched or alone: in no person with the man or the woman
    used = {(v, i) for p in full for v, i in p}
    others = [p for p in match.persons if p not in full]
    assert all(not (set(p) & used) for p in others)
    assert len(used) == 8
