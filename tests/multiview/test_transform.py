"""Calibration.transformed / to_y_up: a calibration re-expressed in another world frame."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.multiview.calibration import Z_UP_TO_Y_UP, Calibration, Camera
from tests.multiview.synthetic import look_at, ring


@pytest.fixture
def scene():
    rng = np.random.default_rng(0)
    points = rng.uniform(-1.0, 1.0, (50, 3)) + np.array([0.0, 1.0, 0.0])
    return points, ring(points[None], views=4, seed=3)


@pytest.mark.parametrize("scale", [1.0, 0.001, 2.5])
def test_projections_of_moved_points_unchanged(scene, scale):
    points, calib = scene
    rw = Rotation.from_rotvec([0.3, -1.1, 0.7]).as_matrix()
    tw = np.array([4.0, -2.0, 0.5])
    moved = calib.transformed(rw, tw, scale)
    new_points = scale * points @ rw.T + tw
    np.testing.assert_allclose(moved.project(new_points), calib.project(points), atol=1e-6)
    # the centres move as points do; intrinsics, lens and names stay
    np.testing.assert_allclose(moved.centers, scale * calib.centers @ rw.T + tw, atol=1e-9)
    for a, b in zip(moved, calib, strict=True):
        assert a.name == b.name and a.size == b.size
        np.testing.assert_array_equal(a.K, b.K)
        np.testing.assert_array_equal(a.dist, b.dist)
        assert np.linalg.det(a.R) == pytest.approx(1.0)


def test_identity_is_identity(scene):
    _, calib = scene
    for a, b in zip(calib.transformed(), calib, strict=True):
        np.testing.assert_allclose(a.R, b.R, atol=1e-12)
        np.testing.assert_allclose(a.t, b.t, atol=1e-12)


def test_z_up_to_y_up():
    assert np.linalg.det(Z_UP_TO_Y_UP) == pytest.approx(1.0)
    np.testing.assert_array_equal(Z_UP_TO_Y_UP @ [0, 0, 1], [0, 1, 0])  # up is up
    np.testing.assert_array_equal(Z_UP_TO_Y_UP @ [1, 0, 0], [1, 0, 0])
    # a Z-up camera 3 m up looking down at the origin: Y-up, it stands at y = 3
    r = np.array([[1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0]])  # looks along -z, image y = -world y
    cam = Camera("c", (100, 100), [[50, 0, 50], [0, 50, 50], [0, 0, 1]], np.zeros(5), r,
                 -r @ [0.0, 0.0, 3.0])
    yup = Calibration((cam,)).to_y_up()
    np.testing.assert_allclose(yup.centers[0], [0.0, 3.0, 0.0], atol=1e-12)
    foot = np.array([0.2, 0.1, 0.0])  # Z-up
    np.testing.assert_allclose(yup.project(Z_UP_TO_Y_UP @ foot), Calibration((cam,)).project(foot),
                               atol=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    ({"rotation": np.diag([1.0, 1.0, -1.0])}, "`rotation` must be a rotation (det +1)"),
    ({"rotation": np.eye(2)}, "`rotation` must have shape (3, 3)"),
    ({"translation": [1.0, np.nan, 0.0]}, "`translation` must be finite"),
    ({"scale": 0.0}, "`scale` must be a finite number > 0"),
    ({"scale": float("inf")}, "`scale` must be a finite number > 0"),
])
def test_bad_transform_refused(kwargs, message):
    calib = Calibration((look_at("a", [3.0, 1.5, 0.0], [0.0, 1.0, 0.0]),))
    with pytest.raises(ValueError) as err:
        calib.transformed(**kwargs)
    assert message in str(err.value)
