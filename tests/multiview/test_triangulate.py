"""Triangulation on synthetic ground truth: real CMU motion (``../shared/data/bvh``; the seeded
probe motion in a plain clone) seen by 4 virtual calibrated cameras with a wide-angle lens,
1-2 px noise, dropouts, points leaving the image, and one view that is confidently wrong.

The error bounds are the values measured on these takes (mean over every joint of every
frame, mm; see ``benchmarks/eval_triangulation.py``) with about 25 % margin:

    views   1 px   2 px      (measured: CMU takes / probe motion)
    4       5.6    11.1      4.4  8.9
    3       6.6    13.2      6.1  12.2
    2       7.5    15.0      5.6  11.1
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mocap.multiview.calibration import Calibration, Camera
from mocap.multiview.triangulate import Triangulation, triangulate
from tests.multiview.synthetic import bvh_files, look_at, observe, ring, take_positions

# mean error bound (mm) by (views, noise px)
BOUNDS_MM = {(4, 1): 7.0, (4, 2): 14.0, (3, 1): 8.5, (3, 2): 17.0, (2, 1): 9.5, (2, 2): 19.0}


@pytest.fixture(scope="module")
def takes() -> list[np.ndarray]:
    """(T, J, 3) metres per take: 3 CMU takes of 31 joints and 5 of iClone's CMU set (100
    joints), 5 s at 30 fps at most; the probe motion where ../shared is absent."""
    files = bvh_files(iclone_every=15) or [None]
    return [take_positions(f, max_frames=150) for f in files]


def _errors_mm(tri: Triangulation, truth: np.ndarray) -> np.ndarray:
    return np.linalg.norm(tri.points - truth, axis=-1).ravel() * 1000


@pytest.mark.parametrize("views", [4, 3, 2])
def test_accuracy_by_view_count_and_noise(takes, views):
    means = {}
    for noise in (1.0, 2.0):
        errors, missing = [], []
        for k, truth in enumerate(takes):
            calib = ring(truth, seed=k).subset(range(views))
            xy, conf, _ = observe(truth, calib, noise, np.random.default_rng(k))
            tri = triangulate(xy, conf, calib)
            errors.append(_errors_mm(tri, truth))
            # a point is missing only where fewer than two views saw it, or two that
            # disagree or meet at a narrow angle (opposite cameras of the 3-view ring: 1.2 %
            # of the probe motion, which stays on the line between them; 0.02 % of CMU's)
            seen = ((conf > 0).sum(0) >= 2).ravel()
            missing.append(np.isnan(tri.points[..., 0]).ravel() & seen)
        e = np.concatenate(errors)
        means[noise] = float(np.nanmean(e))
        assert means[noise] < BOUNDS_MM[views, noise], (views, noise, means[noise])
        assert np.concatenate(missing).mean() < 0.03
        assert np.nanpercentile(e, 99) < 6 * BOUNDS_MM[views, noise]
    # noise-limited, not biased: twice the noise, twice the error
    assert 1.8 < means[2.0] / means[1.0] < 2.2


def test_exact_points_come_back_exactly_and_the_lens_is_undone(takes):
    truth = takes[0][:40]
    calib = ring(truth)
    xy = calib.project(truth)
    conf = np.ones(xy.shape[:3])
    tri = triangulate(xy, conf, calib)
    inside = np.isfinite(xy).all(-1).all(0)
    assert inside.mean() > 0.9
    assert np.nanmax(_errors_mm(tri, truth)) < 1e-3
    assert np.nanmax(tri.errors) < 1e-4 and tri.used[:, inside].all()
    # the same pixels read as if the lens had no distortion: a thousand times further off
    plain = Calibration(tuple(Camera(c.name, c.size, c.K, np.zeros(5), c.R, c.t)
                              for c in calib))
    bent = triangulate(xy, conf, plain, max_error_px=math.inf)
    assert np.nanmean(_errors_mm(bent, truth)) > 1.0


def test_a_confidently_wrong_view_is_dropped(takes):
    kept4, kept3, good_dropped, means, raw_means = [], [], [], [], []
    for k, truth in enumerate(takes):
        calib = ring(truth, seed=k)
        xy, conf, outlier = observe(truth, calib, 2.0, np.random.default_rng(k),
                                    outlier_view=2)
        tri = triangulate(xy, conf, calib)
        usable = (conf > 0).sum(0)
        wrong = outlier & (conf[2] > 0)
        kept4.append(tri.used[2][wrong & (usable == 4)])
        kept3.append(tri.used[2][wrong & (usable >= 3)])
        others = np.delete(np.arange(4), 2)
        solved = np.isfinite(tri.points[..., 0])
        good = (conf[others] > 0) & solved[None]
        good_dropped.append((~tri.used[others])[good])
        means.append(np.nanmean(_errors_mm(tri, truth)))
        raw = triangulate(xy, conf, calib, max_error_px=math.inf)
        raw_means.append(np.nanmean(_errors_mm(raw, truth)))
        # the dropped view's error is still reported, and says why it was dropped
        dropped = wrong & ~tri.used[2] & solved
        assert np.median(tri.errors[2][dropped]) > 30
    # with three other views the wrong one always goes; with two others it can stay only
    # where they alone are too narrow, or its mistake lies along their epipolar lines
    assert np.concatenate(kept4).mean() < 0.005
    assert np.concatenate(kept3).mean() < 0.03
    assert np.concatenate(good_dropped).mean() < 0.005
    # about the error of three clean views, five times below keeping the wrong view
    assert np.mean(means) < BOUNDS_MM[3, 2]
    assert np.mean(raw_means) > 3 * np.mean(means)


def test_two_cameras_facing_each_other_fix_nothing_between_them():
    calib = Calibration((look_at("a", [0.0, 1.0, 5.0], [0.0, 1.0, 0.0], dist=np.zeros(5)),
                         look_at("b", [0.0, 1.0, -5.0], [0.0, 1.0, 0.0], dist=np.zeros(5))))
    # 0.2 m beside the line between the cameras (their rays 4.6 degrees apart), and 1 m
    # beside it (23 degrees)
    truth = np.array([[[0.2, 1.0, 0.5], [1.0, 1.0, 0.0]]])
    xy = calib.project(truth) + np.array([0.5, -0.3])  # half a pixel off
    conf = np.ones((2, 1, 2))
    tri = triangulate(xy, conf, calib)
    assert np.isnan(tri.points[0, 0]).all() and not tri.used[:, 0, 0].any()
    wide = np.linalg.norm(tri.points[0, 1] - truth[0, 1])
    assert wide < 0.02
    # accepting any angle gives the narrow point, 1 / sin(angle) times further off
    loose = triangulate(xy, conf, calib, min_angle_deg=0.0)
    assert np.linalg.norm(loose.points[0, 0] - truth[0, 0]) > 3 * wide


def test_a_wrong_view_is_not_dropped_for_a_narrow_pair_that_fits_anything():
    # a and b stand 0.15 m apart (their rays meet at 1.7 degrees), c to the side, higher
    calib = Calibration(tuple(
        look_at(n, centre, [0.0, 1.0, 0.0], dist=np.zeros(5))
        for n, centre in (("a", [0.0, 1.0, 5.0]), ("b", [0.15, 1.0, 5.0]),
                          ("c", [5.0, 3.5, 0.0]))))
    truth = np.array([[[0.0, 1.0, 0.0]]])
    xy = calib.project(truth)
    xy[0, 0, 0, 0] += 40.0  # a is wrong along its epipolar line with b: the pair fits it
    xy[2, 0, 0] += [0.6, -0.8]  # c is a pixel off
    tri = triangulate(xy, np.ones((3, 1, 1)), calib)
    assert tri.used[:, 0, 0].tolist() == [False, True, True]
    assert np.linalg.norm(tri.points[0, 0] - truth[0, 0]) < 0.01
    assert tri.errors[0, 0, 0] > 30


def test_confidence_weights_and_missing_views():
    calib = ring(np.array([[[0.0, 1.0, 0.0]]]), seed=3)
    truth = np.array([[[0.1, 1.2, -0.1], [0.0, 0.8, 0.2], [0.3, 1.5, 0.0]]])
    xy = calib.project(truth)
    xy[0, 0, 0] += [6.0, -6.0]  # view 0 off by 8.5 px, under the rejection threshold
    conf = np.ones((4, 1, 3))
    sure = np.linalg.norm(triangulate(xy, conf, calib).points[0, 0] - truth[0, 0])
    conf[0, 0, 0] = 0.05
    unsure = np.linalg.norm(triangulate(xy, conf, calib).points[0, 0] - truth[0, 0])
    assert unsure < sure / 5
    # joint 1: one view only (the others unseen or under min_confidence) -> NaN
    xy[1:3, 0, 1] = np.nan
    conf[3, 0, 1] = 0.2
    tri = triangulate(xy, conf, calib, min_confidence=0.3)
    assert np.isnan(tri.points[0, 1]).all() and not tri.used[:, 0, 1].any()
    assert np.isnan(tri.errors[1:3, 0, 1]).all()
    # joint 2: seen by all, used by all
    assert tri.used[:, 0, 2].all() and np.linalg.norm(tri.points[0, 2] - truth[0, 2]) < 1e-6


def test_all_frames_at_once_equal_frame_by_frame(takes):
    truth = takes[-1][:12]
    calib = ring(truth, seed=5)
    xy, conf, _ = observe(truth, calib, 2.0, np.random.default_rng(5), outlier_view=1)
    whole = triangulate(xy, conf, calib)
    for t in range(len(truth)):
        one = triangulate(xy[:, t:t + 1], conf[:, t:t + 1], calib)
        assert np.array_equal(np.isnan(one.points), np.isnan(whole.points[t:t + 1]))
        assert np.nanmax(np.abs(one.points - whole.points[t:t + 1]), initial=0) < 1e-9
        assert np.array_equal(one.used, whole.used[:, t:t + 1])
    part = whole[3:5]
    assert len(part) == 2 and part.errors.shape == (4, 2, truth.shape[1])
    assert np.array_equal(whole[4].points, whole.points[4:5], equal_nan=True)
    med = whole.median_error()
    assert med.shape == (4,) and ((med > 0.5) & (med < 5)).all()  # 2 px noise per axis


def test_shapes_that_do_not_fit_are_refused():
    calib = ring(np.zeros((1, 1, 3)), views=3)
    xy, conf = np.zeros((3, 5, 2, 2)), np.ones((3, 5, 2))
    with pytest.raises(ValueError, match=r"`xy` must have shape \(V, T, J, 2\) with V = 3 "
                                         r"cameras, got \(4, 5, 2, 2\)"):
        triangulate(np.zeros((4, 5, 2, 2)), np.ones((4, 5, 2)), calib)
    with pytest.raises(ValueError, match=r"`confidence` must have shape \(3, 5, 2\), got "
                                         r"\(3, 5\)"):
        triangulate(xy, np.ones((3, 5)), calib)
    with pytest.raises(ValueError, match="`max_error_px` must be positive, got 0"):
        triangulate(xy, conf, calib, max_error_px=0)
    with pytest.raises(ValueError, match=r"`min_angle_deg` must be in \[0, 90\)"):
        triangulate(xy, conf, calib, min_angle_deg=90)
    with pytest.raises(ValueError, match=r"`errors` must have shape \(V, 5, 2\), got "
                                         r"\(3, 4, 2\)"):
        Triangulation(np.zeros((5, 2, 3)), np.zeros((3, 4, 2)), np.zeros((3, 4, 2), bool))
