"""The focal length from a turning camera, burned-in overlays, and no false alarms on a
fixed camera: telephoto pans and zooms made from real footage with a known crop
(``tests.perception.telephoto``), so the true focal length and pan are exact."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mocap.app.checks import camera_warnings
from mocap.perception.camera_motion import CameraMotionConfig, CameraMotionEstimator
from mocap.perception.camera_overlay import OverlayMask, border_bars
from mocap.types import CameraPath
from tests.perception.telephoto import read_frames, telephoto_clip

SIZE = (1280, 720)


@pytest.fixture(scope="module")
def source(demo_video_path) -> list[np.ndarray]:
    """Every other frame of the demo video's first 120 (a fixed camera), RGB."""
    return read_frames(demo_video_path, 60, step=2)


def _run(images, config=None, boxes=None):
    est = CameraMotionEstimator(images[0].shape[1::-1], config)
    for i, im in enumerate(images):
        est.update(im, None if boxes is None else boxes[i])
    return est, est.finish()


def _pan_error(path: CameraPath, truth: dict) -> float:
    n = len(path)
    true = CameraPath(truth["rotation"], truth["zoom"], np.zeros(n), np.ones(n),
                      np.ones(n, bool))
    return float(np.abs(path.angles_deg()[:, 0] - true.angles_deg()[:, 0]).max())


@pytest.mark.slow
def test_telephoto_pan_gives_its_focal_length(source):
    """A 400 px window panning 36 deg, shown at 1280 px (3.2x the source's focal length,
    4.4x what a 60 deg guess assumes), with a running timer and a logo burned in."""
    yaw = np.linspace(-18, 18, len(source))
    images, truth = telephoto_clip(source, yaw, size=SIZE)
    est, path = _run(images)
    f_true = truth["focal_px"][0]
    assert path.focal_source == "rotation"
    assert abs(path.focal_px / f_true - 1) < 0.10, (path.focal_px, f_true)
    assert 0 < path.focal_std_px < 0.1 * f_true
    assert path.fitted_focal_px == pytest.approx(path.focal_px)
    assert _pan_error(path, truth) < 2.5  # degrees over a 36 deg pan
    assert path.moving and path.reliable.all()
    # the timer (top left) and the logo (bottom right) are found as overlays
    s = est.scale
    assert est.overlay.covers(np.array([[100 * s, 60 * s], [1150 * s, 660 * s]])).all()
    assert not est.overlay.covers(np.array([[640 * s, 360 * s]])).any()


@pytest.mark.slow
def test_telephoto_pan_and_zoom(source):
    n = len(source)
    yaw, zoom = np.linspace(-15, 15, n), np.linspace(1.0, 1.3, n)
    images, truth = telephoto_clip(source, yaw, zoom, size=SIZE)
    _, path = _run(images)
    assert path.focal_px is not None
    assert abs(path.focal_px / truth["focal_px"][0] - 1) < 0.10
    assert np.abs(path.zoom / truth["zoom"] - 1).max() < 0.05  # a 30 % zoom
    assert _pan_error(path, truth) < 2.5


@pytest.mark.slow
def test_a_camera_that_barely_turns_cannot_tell(source):
    images, _ = telephoto_clip(source[:30], np.linspace(0, 1.5, 30), size=(640, 360))
    _, path = _run(images)
    assert path.focal_px is None and path.focal_source is None
    assert path.fitted_focal_px == pytest.approx(0.5 * 640 / np.tan(np.radians(30)))


@pytest.mark.slow
def test_a_given_focal_length_is_used(source):
    images, truth = telephoto_clip(source[:30], np.linspace(0, 8, 30), size=(640, 360))
    f_true = float(truth["focal_px"][0])
    _, path = _run(images, CameraMotionConfig(focal_px=f_true))
    assert path.focal_px is None and path.fitted_focal_px == pytest.approx(f_true)
    assert _pan_error(path, truth) < 0.3


def test_tripod_before_a_plain_wall_raises_no_warning():
    """A fixed camera, a plain wall (too few features to measure anything), a textured
    walker crossing in their box: a fixed camera, not an unreliable one."""
    rng = np.random.default_rng(0)
    wall = np.clip(150 + rng.normal(0, 1.0, (360, 640, 3)), 0, 255).astype(np.uint8)
    walker = rng.integers(0, 255, (200, 80, 3), dtype=np.uint8)
    images, boxes = [], []
    for i in range(20):
        im = wall.copy()
        x0 = 100 + 15 * i
        im[100:300, x0:x0 + 80] = walker
        images.append(im)
        boxes.append(np.array([[x0, 100, x0 + 80, 300]], float))
    _, path = _run(images, boxes=boxes)
    assert not path.moving and not path.translating
    assert camera_warnings(path) == []
    blank = [np.full((360, 640, 3), 128, np.uint8)] * 8
    assert camera_warnings(_run(blank)[1]) == []


def test_a_moving_camera_that_cannot_be_measured_is_unreliable():
    n = 40
    reliable = np.ones(n, bool)
    reliable[10:30] = False
    path = CameraPath(np.tile(np.eye(3), (n, 1, 1)), np.ones(n), np.zeros(n), np.ones(n),
                      reliable, moving=True)
    assert [w.code for w in camera_warnings(path)] == ["camera_moving", "camera_unreliable"]
    still = CameraPath(path.rotation, path.zoom, path.residual_px, path.inlier_share,
                       reliable)
    assert camera_warnings(still) == []


def test_letterbox_bars_are_found():
    rng = np.random.default_rng(0)
    grey = rng.integers(40, 255, (100, 200), dtype=np.uint8)
    grey[:12], grey[-12:] = 0, 3
    bars = border_bars(grey)
    assert bars[:16].all() and bars[-16:].all()
    assert not bars[20:80].any()
    assert not border_bars(rng.integers(40, 255, (100, 200), dtype=np.uint8)).any()


def test_overlay_mask_needs_votes():
    mask = OverlayMask((160, 120), cell=8, votes=3)
    px = np.array([[20.0, 20.0], [100.0, 100.0]])
    for _ in range(2):
        mask.vote(px, np.array([True, False]))
    assert not mask.covers(px).any()
    mask.vote(px, np.array([True, False]))
    assert mask.covers(px).tolist() == [True, False]
    assert mask.image_mask()[20, 20] and not mask.image_mask()[100, 100]


def test_camera_path_focal_fields_are_checked():
    n = 3
    args = (np.tile(np.eye(3), (n, 1, 1)), np.ones(n), np.zeros(n), np.ones(n),
            np.ones(n, bool))
    with pytest.raises(ValueError):
        CameraPath(*args, focal_px=1000.0)  # without its source
    with pytest.raises(ValueError):
        CameraPath(*args, focal_px=-1.0, focal_source="rotation")
    assert np.isnan(CameraPath.still(2).fitted_focal_px)


@pytest.mark.slow
def test_a_close_up_whose_person_box_covers_the_view_is_still_measured(source):
    """A telephoto close-up: the tracker's region of the person (a square wider than the
    picture) covers the whole view. The background is still measured (the homography
    sorts it from the people), and the features inside the region, which may be the
    person's own, do not call the camera travelling."""
    n = 40
    images, truth = telephoto_clip(source[:n], np.linspace(-10, 10, n), size=(960, 540))
    boxes = [np.array([[-100.0, -250.0, 1060.0, 790.0]])] * n
    _, path = _run(images, boxes=boxes)
    assert path.moving and not path.translating
    assert path.focal_source == "rotation"
    assert abs(path.focal_px / truth["focal_px"][0] - 1) < 0.10, path.focal_px
    assert _pan_error(path, truth) < 2.5  # as a telephoto pan's
    assert path.reliable.all()
    assert [w.code for w in camera_warnings(path)] == ["camera_moving"]


@pytest.mark.slow
def test_a_close_up_whose_person_is_lost_in_a_few_frames_is_not_travelling(source):
    """A telephoto pan following a person who fills much of the view: the tracker's region
    covers the whole picture, except in three frames where it lost her. Only those frames
    leave background to measure, and there she (a textured block walking across) moves on
    her own: three frames with unexplained motion are no travelling camera."""
    n = 40
    images, _ = telephoto_clip(source[:n], np.linspace(-10, 10, n), size=(960, 540),
                               overlays=False)
    person = cv2.GaussianBlur(cv2.resize(source[0][500:900, 1200:1600], (200, 480)), (0, 0), 3)
    boxes, lost = [], (12, 24, 36)
    for i, im in enumerate(images):
        x0 = 200 + 5 * i  # she walks right across the view while the background pans
        im[30:510, x0:x0 + 200] = person
        boxes.append(np.zeros((0, 4)) if i in lost else
                     np.array([[-100.0, -250.0, 1060.0, 790.0]]))
    _, path = _run(images, boxes=boxes)
    measured = np.isfinite(path.inlier_share)
    assert measured.sum() == len(lost)  # background is seen in the lost frames only ...
    assert (path.inlier_share[measured] < CameraMotionConfig().translating_inliers).all()
    assert path.moving and not path.translating  # ... too few to call the camera travelling
    assert [w.code for w in camera_warnings(path)] == ["camera_moving"]
