"""The camera's turning and zooming, measured from real footage whose true motion is known.

Frames of the demo video (a fixed camera) are filmed again by a virtual camera that turns
and zooms about the real camera's centre (``tests.helpers.virtual_view``: a
perspective-correct moving crop), so the answer is exact.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mocap.perception.camera_motion import CameraMotionConfig, CameraMotionEstimator
from mocap.types import CameraPath
from tests.helpers import true_path, view_rotation, virtual_view

SRC_FOV = 60.0


@pytest.fixture(scope="module")
def frames(demo_video_path) -> list[np.ndarray]:
    """The first 60 frames of the demo video, RGB (1768 x 994, a fixed camera)."""
    cap = cv2.VideoCapture(str(demo_video_path))
    out = []
    for _ in range(60):
        ok, bgr = cap.read()
        assert ok
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def _fov(width: int, zoom: float = 1.0, src_width: int = 1768) -> float:
    """Horizontal field of view of a virtual view ``width`` px wide of the source camera."""
    f_src = 0.5 * src_width / np.tan(np.radians(SRC_FOV) / 2)
    return float(2 * np.degrees(np.arctan(0.5 * width / (f_src * zoom))))


def _measure(images, fov, boxes=None) -> CameraPath:
    h, w = images[0].shape[:2]
    est = CameraMotionEstimator((w, h), CameraMotionConfig(fov_deg=fov))
    for i, im in enumerate(images):
        est.update(im, None if boxes is None else boxes[i])
    return est.finish()


def test_angles_follow_the_turned_view():
    for yaw, pitch, roll in ((10, 0, 0), (-7, 4, 0), (0, 0, 3), (20, -10, 5)):
        views = np.stack([np.eye(3), view_rotation(yaw, pitch, roll)])
        path = CameraPath(true_path(views), np.ones(2), np.zeros(2), np.ones(2),
                          np.ones(2, bool))
        np.testing.assert_allclose(path.angles_deg()[1], [yaw, pitch, roll], atol=1e-9)
    still = CameraPath.still(4)
    np.testing.assert_array_equal(still.angles_deg(), np.zeros((4, 3)))
    assert not still.moving and not still.translating


@pytest.mark.slow
def test_a_fixed_camera_reads_as_fixed(frames):
    path = _measure(frames, SRC_FOV)
    assert not path.moving and not path.translating
    assert np.abs(path.angles_deg()).max() < 0.1  # degrees
    assert np.abs(path.zoom - 1).max() < 0.005
    assert path.reliable.all()


@pytest.mark.slow
def test_pan_tilt_and_zoom_are_recovered(frames):
    n = len(frames)
    yaw, pitch, zoom = np.linspace(0, 8, n), np.linspace(0, -3, n), np.linspace(1, 1.12, n)
    views = np.stack([view_rotation(y, p) for y, p in zip(yaw, pitch, strict=True)])
    images = [virtual_view(f, v, z, (960, 540), SRC_FOV)
              for f, v, z in zip(frames, views, zoom, strict=True)]
    path = _measure(images, _fov(960))
    truth = CameraPath(true_path(views), zoom, np.zeros(n), np.ones(n), np.ones(n, bool))
    err = np.abs(path.angles_deg() - truth.angles_deg())
    assert path.moving and not path.translating
    assert err[:, 0].max() < 0.5 and err[:, 1].max() < 0.5 and err[:, 2].max() < 0.5, err.max(0)
    assert np.abs(path.zoom - zoom).max() < 0.01
    assert path.angles_deg()[-1, 0] == pytest.approx(8.0, abs=0.5)  # turned right: pan +


@pytest.mark.slow
def test_parallax_reads_as_a_travelling_camera(frames):
    """The upper half of real footage slides three times slower than the lower half, as
    far and near things do past a camera carried sideways: no turn explains both."""
    images = []
    for i, f in enumerate(frames):
        g = f.copy()
        g[:497] = np.roll(f, 2 * i, axis=1)[:497]
        g[497:] = np.roll(f, 6 * i, axis=1)[497:]
        images.append(g[:, 200:1568])  # the wrapped columns cut away
    path = _measure(images, _fov(1368))
    assert path.moving and path.translating


@pytest.mark.slow
def test_a_large_person_walking_past_does_not_move_the_camera(frames):
    """A textured block covering a third of a fixed camera's view moves right: with the
    person's box left out the camera stays put; fitted to everything it would not."""
    images, boxes = [], []
    patch = cv2.resize(frames[0][500:900, 1200:1600], (600, 800))
    for i, f in enumerate(frames):
        g = f.copy()
        x0 = 200 + 8 * i
        g[100:900, x0:x0 + 600] = patch
        images.append(g)
        boxes.append(np.array([[x0, 100, x0 + 600, 900]], float))
    path = _measure(images, SRC_FOV, boxes)
    assert not path.moving
    assert np.abs(path.angles_deg()).max() < 0.2


def _pan(frames, degrees: float, size=(960, 540)):
    n = len(frames)
    yaw = np.linspace(0, degrees, n)
    views = np.stack([view_rotation(y, 0.0) for y in yaw])
    images = [virtual_view(f, v, 1.0, size, SRC_FOV) for f, v in zip(frames, views,
                                                                       strict=True)]
    truth = CameraPath(true_path(views), np.ones(n), np.zeros(n), np.ones(n), np.ones(n, bool))
    return images, truth


@pytest.mark.slow
def test_a_pan_goes_on_while_the_background_is_hidden(frames):
    """An 8 deg pan whose frames 25-31 show nothing to measure (something passing right
    in front of the lens): the turn measured before goes on through them, so the camera
    is where it should be when the background comes back; held still instead
    (coast_frames=0) it falls behind by the turn it missed."""
    images, truth = _pan(frames, 8.0)
    for i in range(25, 32):
        images[i] = np.full_like(images[i], 90)
    h, w = images[0].shape[:2]
    errors = {}
    for coast in (10, 0):
        est = CameraMotionEstimator((w, h), CameraMotionConfig(fov_deg=_fov(960),
                                                               coast_frames=coast))
        for im in images:
            est.update(im)
        path = est.finish()
        errors[coast] = np.abs(path.angles_deg()[:, 0] - truth.angles_deg()[:, 0])
        assert not path.reliable[25:32].any() and path.moving
    assert errors[10].max() < 0.5, errors[10].max()
    assert errors[0][35:].min() > 0.6  # the missed 7 frames' turn (0.95 deg), for good


@pytest.mark.slow
def test_a_close_up_the_camera_follows_leaves_the_background_to_measure(frames):
    """A textured person covering 70 % of the picture stays put (the camera follows them)
    while the background pans 8 deg: their widened box covers too much to leave out, so
    features are taken everywhere, and the homography is sought beside their box first:
    the pan is the background's, not the person's standstill."""
    images, truth = _pan(frames, 8.0)
    patch = cv2.resize(frames[0][450:950, 1150:1650], (672, 540))
    boxes = np.array([[144.0, 0.0, 816.0, 540.0]])
    for im in images:
        im[:, 144:816] = patch
    path = _measure(images, _fov(960), [boxes] * len(images))
    err = np.abs(path.angles_deg()[:, 0] - truth.angles_deg()[:, 0])
    assert path.moving and err.max() < 0.5, err.max()


@pytest.mark.slow
def test_a_blank_video_is_unreliable_not_moving():
    images = [np.full((360, 640, 3), 128, np.uint8)] * 12
    path = _measure(images, SRC_FOV)
    assert not path.moving and not path.translating
    assert not path.reliable[1:].any()
    np.testing.assert_allclose(path.rotation, np.tile(np.eye(3), (12, 1, 1)))


@pytest.mark.parametrize("bad", [{"work_width": 10}, {"min_features": 2},
                                 {"keep_share": 1.5}, {"inlier_px": 0.0},
                                 {"fov_deg": 5.0}, {"translating_min_frames": 0},
                                 {"translating_min_measured": 1.5}, {"coast_frames": -1}])
def test_config_is_checked(bad):
    with pytest.raises(ValueError):
        CameraMotionConfig(**bad)
