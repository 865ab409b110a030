"""mocap.tracking.tracker on synthetic poses: crossing, occlusion, exits/entries, empties."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.geometry.boxes import box_iou, cxcywh_to_corners
from mocap.tracking.tracker import PoseTracker, TrackerConfig, box_filter, oks, pose_boxes
from mocap.types import Poses2D

_RNG = np.random.default_rng(0)
# a fixed pseudo-skeleton: 33 offsets in a (0.5 h x 1.0 h) box around the centre
TEMPLATE = np.column_stack([_RNG.uniform(-0.25, 0.25, 33), _RNG.uniform(-0.5, 0.5, 33)])
TEMPLATE[[0, 27]] = [[0.0, -0.5], [0.0, 0.5]]


def person(cx, cy, h=300.0, noise=2.0, rng=None, vis=None) -> dict:
    rng = rng or np.random.default_rng()
    xy = np.array([cx, cy]) + TEMPLATE * h + rng.normal(0, noise, (33, 2))
    return {"xy": xy, "vis": np.ones(33) if vis is None else vis, "h": h}


def frame(*people) -> Poses2D:
    n = len(people)
    if n == 0:
        return Poses2D.empty()
    xy = np.stack([p["xy"] for p in people])
    vis = np.stack([p["vis"] for p in people])
    roi = np.array([[*p["xy"].mean(0), p["h"] * 1.2, 0.0, 0.9] for p in people])
    z = np.zeros((n, 33))
    return Poses2D(xy, z, vis, np.ones((n, 33)), np.zeros((n, 33, 3)), np.full(n, 0.9), roi,
                   np.full(n, -1))


def run(tracker, frames):
    return [tracker.update(f).track_id.tolist() for f in frames]


def test_single_person_is_born_after_min_hits_and_keeps_id():
    rng = np.random.default_rng(1)
    tr = PoseTracker(TrackerConfig(min_hits=3))
    ids = run(tr, [frame(person(100 + 5 * i, 300, rng=rng)) for i in range(20)])
    assert ids[0][0] <= -2 and ids[1][0] == ids[0][0]  # provisional while tentative
    assert all(i == [1] for i in ids[2:])
    assert tr.resolved == {ids[0][0]: 1}


def test_crossing_people_keep_their_ids():
    rng = np.random.default_rng(2)
    frames, truth = [], []
    for i in range(60):
        a = person(200 + 12 * i, 400, h=320, rng=rng)   # walks right
        b = person(920 - 12 * i, 430, h=290, rng=rng)   # walks left, a bit further away
        order = [a, b] if i % 2 else [b, a]  # detector order carries no identity
        frames.append(frame(*order))
        truth.append(["a", "b"] if i % 2 else ["b", "a"])
    ids = run(PoseTracker(), frames)
    mapping = {}
    for got, names in zip(ids[3:], truth[3:], strict=True):
        for tid, name in zip(got, names, strict=True):
            assert mapping.setdefault(name, tid) == tid, "identity switch"
    assert sorted(mapping.values()) == [1, 2]


def test_occluded_for_ten_frames_returns_with_same_id():
    rng = np.random.default_rng(3)
    frames = []
    for i in range(60):
        walker = person(100 + 10 * i, 400, rng=rng)
        still = person(1500, 420, h=280, rng=rng)
        hidden = 25 <= i < 35  # occluded for 10 frames
        frames.append(frame(still) if hidden else frame(walker, still))
    tr = PoseTracker(TrackerConfig(max_age=30))
    ids = run(tr, frames)
    before = ids[24][0]
    after = ids[35][0]
    assert before == after >= 1
    assert {i for f in ids for i in f if i >= 1} == {1, 2}


def test_person_leaving_and_new_one_entering_gets_new_id():
    rng = np.random.default_rng(4)
    frames = []
    for i in range(80):
        if i < 30:
            frames.append(frame(person(1200 + 20 * i, 400, rng=rng)))  # walks out right
        elif i < 40:
            frames.append(frame())
        else:
            frames.append(frame(person(100 + 10 * (i - 40), 420, rng=rng)))  # enters left
    ids = run(PoseTracker(TrackerConfig(max_age=30)), frames)
    assert ids[29] == [1]
    assert ids[45] == [2]
    assert ids[-1] == [2]


def test_empty_frames_and_death_after_max_age():
    rng = np.random.default_rng(5)
    tr = PoseTracker(TrackerConfig(max_age=5))
    assert len(tr.update(None)) == 0
    assert len(tr.update(Poses2D.empty())) == 0
    run(tr, [frame(person(300, 300, rng=rng)) for _ in range(5)])
    for _ in range(5):
        out = tr.update(None)
        assert len(out) == 0 and len(tr.confirmed_tracks) == 1 and tr.any_lost
    tr.update(None)
    assert tr.confirmed_tracks == []
    # same place, but after death: a new identity
    ids = run(tr, [frame(person(300, 300, rng=rng)) for _ in range(4)])
    assert ids[-1] == [2]


def test_single_frame_false_positive_never_gets_an_id():
    rng = np.random.default_rng(6)
    frames = [frame(person(300, 300, rng=rng)) for _ in range(10)]
    frames[4] = frame(person(300, 300, rng=rng), person(1500, 300, h=100, rng=rng))
    tr = PoseTracker()
    ids = run(tr, frames)
    assert ids[4][1] <= -2
    assert {i for f in ids for i in f if i >= 1} == {1}
    assert len(tr.tracks) == 1


def test_low_confidence_joints_are_not_zero():
    rng = np.random.default_rng(7)
    vis = np.ones(33)
    vis[25:] = 0.1
    p = person(800, 400, rng=rng, vis=vis)
    p["xy"][25:] = 0.0  # a model might report garbage for unseen legs
    box = pose_boxes(frame(p))[0]
    assert box[0] > 600 and box[2] < 400  # not stretched to (0, 0)
    tr = PoseTracker(TrackerConfig(min_hits=1))
    ids = run(tr, [frame(person(800 + i, 400, rng=rng, vis=vis)) for i in range(10)])
    assert all(i == [1] for i in ids)


def test_max_people_caps_tracks():
    rng = np.random.default_rng(8)
    frames = [frame(person(200, 300, rng=rng), person(700, 300, rng=rng),
                    person(1200, 300, rng=rng)) for _ in range(10)]
    ids = run(PoseTracker(TrackerConfig(max_people=2)), frames)
    assert all(sorted(f)[0] == -1 for f in ids[3:])
    assert {i for f in ids for i in f if i >= 1} == {1, 2}


def test_geometry_helpers():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 10, 10], [100, 100, 5, 5]], float)
    np.testing.assert_allclose(box_iou(cxcywh_to_corners(a), cxcywh_to_corners(b))[0],
                               [1.0, 50 / 150, 0.0])
    xy = TEMPLATE[None] * 300
    ok = np.ones((1, 33), bool)
    assert oks(xy, ok, xy, ok, np.array([300.0 * 150]))[0, 0] == pytest.approx(1.0)
    far = oks(xy, ok, xy + 100, ok, np.array([300.0 * 150]))[0, 0]
    assert far < 0.2
    assert oks(xy, ok, xy, ~ok, np.array([1.0]))[0, 0] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"min_hits": 0}, "min_hits"), ({"max_age": 0}, "max_age"),
     ({"iou_weight": 2}, "iou_weight"), ({"max_people": 0}, "max_people")],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrackerConfig(**kwargs)


def test_crossing_with_the_far_person_hidden_keeps_ids():
    rng = np.random.default_rng(9)
    frames, truth = [], []
    for i in range(70):
        near = person(200 + 15 * i, 420, h=330, rng=rng)   # walks right, in front
        far = person(1200 - 12 * i, 400, h=270, rng=rng)   # walks left, behind
        cx_near, cx_far = 200 + 15 * i, 1200 - 12 * i
        hidden = abs(cx_near - cx_far) < 120  # behind the near person
        frames.append(frame(near) if hidden else frame(far, near))
        truth.append(["near"] if hidden else ["far", "near"])
    ids = run(PoseTracker(), frames)
    assert any(len(t) == 1 for t in truth)  # the occlusion happens
    mapping = {}
    for got, names in zip(ids[3:], truth[3:], strict=True):
        for tid, name in zip(got, names, strict=True):
            assert mapping.setdefault(name, tid) == tid, "identity switch"
    assert sorted(mapping.values()) == [1, 2]


def test_left_right_swap_is_caught_by_continuity():
    from mocap.types import MIRROR_LANDMARKS

    rng = np.random.default_rng(5)
    # a person whose left limbs sit well apart from the right ones (seen from the front)
    base = person(500, 400, h=300, noise=0.0, rng=rng)
    for left, right in ((11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28),
                        (29, 30), (31, 32)):
        base["xy"][left] = [560, base["xy"][left][1]]
        base["xy"][right] = [440, base["xy"][right][1]]
    frames = []
    for i in range(10):
        f = frame({**base, "xy": base["xy"] + [2.0 * i, 0] + rng.normal(0, 1, (33, 2))})
        f.world[:, :, 2] = 0.1
        if i in (5, 6):  # the model read the person the other way round
            f.xy[0] = f.xy[0][list(MIRROR_LANDMARKS)]
        frames.append(f)
    tr = PoseTracker(TrackerConfig(min_hits=2))
    out = [tr.update(f) for f in frames]
    for i in (5, 6):
        assert out[i].xy[0, 11, 0] > out[i].xy[0, 12, 0]  # left shoulder back on the left
        assert (out[i].world[0, :, 2] == -0.1).all()  # and read the other way in depth
    assert all(o.track_id[0] == 1 for o in out[2:])
    # with the fix off, the swapped labels pass through
    raw = PoseTracker(TrackerConfig(min_hits=2, fix_left_right=False))
    assert [raw.update(f) for f in frames][5].xy[0, 11, 0] < 500


def test_box_filter_matches_filterpy():
    """The tracker's small Kalman filter gives filterpy's KalmanFilter's numbers."""
    from filterpy.kalman import KalmanFilter

    rng = np.random.default_rng(0)
    box = np.array([320.0, 240.0, 80.0, 200.0])
    ours = box_filter(box)
    ref = KalmanFilter(dim_x=8, dim_z=4)
    for name in ("x", "P", "F", "H", "R", "Q"):
        setattr(ref, name, getattr(ours, name).copy())
    for step in range(40):
        ours.predict()
        ref.predict()
        if step % 5 != 4:  # a few frames without a match
            z = (box + rng.normal(scale=5.0, size=4) + [2.0 * step, 0, 0, 0])[:, None]
            ours.update(z)
            ref.update(z)
        np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10, atol=1e-8)
        np.testing.assert_allclose(ours.P, ref.P, rtol=1e-10, atol=1e-8)


def test_min_cost_assignment_matches_scipy():
    """The exhaustive assignment of a few tracks and people gives scipy's optimum (the
    same pairs once those no match allows are dropped), wide matrices and tall ones,
    and hands larger problems to scipy."""
    from scipy.optimize import linear_sum_assignment

    from mocap.tracking.tracker import min_cost_assignment

    rng = np.random.default_rng(0)
    for _ in range(3000):
        r, k = rng.integers(0, 9, 2)
        c = rng.uniform(0, 1, (r, k))
        c[rng.uniform(size=(r, k)) < 0.3] = 1e6  # pairs no match allows
        rows, cols = min_cost_assignment(c)
        ref = linear_sum_assignment(c)
        assert len(rows) == min(r, k) and (np.diff(rows) > 0).all()
        assert c[rows, cols].sum() == pytest.approx(c[ref].sum(), abs=1e-9)
        assert sorted((i, j) for i, j in zip(rows, cols, strict=True) if c[i, j] < 1e6) \
            == sorted((i, j) for i, j in zip(*ref, strict=True) if c[i, j] < 1e6)
