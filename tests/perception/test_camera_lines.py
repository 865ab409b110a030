"""A fixed camera's focal length from its scene's lines (mocap.perception.camera_lines):
rooms drawn through known cameras (OpenCV's projectPoints), scenes without three
perpendicular directions, and Pose2Sim's calibrated phone views."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mocap.app.lens import lines_lens
from mocap.multiview.calibration import read_calibration
from mocap.perception.camera_lines import focal_from_lines


def _room_edges(rng: np.random.Generator) -> np.ndarray:
    """(N, 2, 3) segments of a room 8 x 3 x 10 m (y up): floor tiles, wall panels, door
    frames, shelves, and some clutter in random directions."""
    edges = []
    for x in np.arange(-4, 4.01, 0.5):  # floor tiles along z and along x
        edges.append([[x, 0, 0], [x, 0, 10]])
    for z in np.arange(0, 10.01, 0.5):
        edges.append([[-4, 0, z], [4, 0, z]])
    for z in np.arange(0, 10.01, 1.0):  # side walls' panels: verticals and rails
        for x in (-4, 4):
            edges.append([[x, 0, z], [x, 3, z]])
    for y in (1.0, 2.2):
        for x in (-4, 4):
            edges.append([[x, y, 0], [x, y, 10]])
    for x in np.arange(-4, 4.01, 1.0):  # the back wall
        edges.append([[x, 0, 10], [x, 3, 10]])
    for y in (0.9, 1.8, 2.6):
        edges.append([[-4, y, 10], [4, y, 10]])
    for _ in range(40):  # clutter
        a = rng.uniform([-3.5, 0, 1], [3.5, 2.5, 9.5])
        d = rng.normal(size=3)
        edges.append([a, a + 0.6 * d / np.linalg.norm(d)])
    return np.asarray(edges, np.float64)


def _render(edges: np.ndarray, size, focal, yaw_deg, pitch_deg, position) -> np.ndarray:
    """The room's edges drawn by a pinhole camera (principal point at the centre) at
    ``position`` looking along +z turned by yaw (left/right) and pitch (down +)."""
    w, h = size
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)],
                   [0, np.sin(pitch), np.cos(pitch)]])
    flip = np.diag([1.0, -1.0, 1.0])  # world y up -> camera y down
    r_cam = rx @ flip @ ry.T  # world -> camera
    k = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1]])
    image = np.full((h, w), 200, np.uint8)
    for a, b in edges:
        ca, cb = r_cam @ (a - position), r_cam @ (b - position)
        if ca[2] < 0.2 and cb[2] < 0.2:
            continue
        if ca[2] < 0.2 or cb[2] < 0.2:  # clip at the near plane
            s = (0.2 - ca[2]) / (cb[2] - ca[2])
            ca, cb = (ca + s * (cb - ca), cb) if ca[2] < 0.2 else (ca, ca + s * (cb - ca))
        pts, _ = cv2.projectPoints(np.array([ca, cb]), np.zeros(3), np.zeros(3), k, None)
        p, q = pts.reshape(2, 2)
        if np.abs(np.concatenate([p, q])).max() > 1e5:
            continue
        cv2.line(image, tuple(np.round(p).astype(int)), tuple(np.round(q).astype(int)), 40,
                 3, cv2.LINE_AA)
    noise = np.random.default_rng(1).normal(0, 4, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size,fov_long,yaw,pitch", [
    ((1280, 720), 65.0, 25.0, 15.0),
    ((1080, 1920), 55.0, -30.0, 20.0),
    ((1920, 1080), 40.0, 35.0, 10.0),
    ((1280, 720), 90.0, 20.0, 25.0),
])
def test_a_room_gives_the_focal_length(size, fov_long, yaw, pitch):
    focal = 0.5 * max(size) / np.tan(np.radians(fov_long) / 2)
    edges = _room_edges(np.random.default_rng(0))
    image = _render(edges, size, focal, yaw, pitch, np.array([0.5, 1.6, 0.5]))
    est = focal_from_lines([image], size)
    assert est is not None and est.segments >= 12
    # within 3 %, or within twice the uncertainty it states (a long lens's vanishing
    # points lie far out: 40 deg gave 4.5 % with 5.6 % stated)
    assert abs(est.focal_px / focal - 1) < max(0.03, 2 * est.uncertainty), (est, focal)
    assert 0.0 < est.uncertainty <= 0.1


def test_no_three_directions_no_estimate():
    """A blank or noisy picture, one family of parallel lines (a louvred wall seen square
    on), or random sticks: nothing to measure, so None (the people or the prior decide)."""
    size = (1280, 720)
    rng = np.random.default_rng(3)
    blank = np.full((720, 1280), 128, np.uint8)
    noise = rng.integers(0, 255, (720, 1280)).astype(np.uint8)
    stripes = blank.copy()
    for y in range(40, 700, 30):
        cv2.line(stripes, (60, y), (1220, y), 20, 3, cv2.LINE_AA)
    sticks = blank.copy()
    for _ in range(150):
        a = rng.uniform([0, 0], [1280, 720])
        b = a + rng.normal(0, 120, 2)
        cv2.line(sticks, tuple(a.astype(int)), tuple(b.astype(int)), 20, 3, cv2.LINE_AA)
    for image in (blank, noise, stripes, sticks):
        assert focal_from_lines([image], size) is None


def test_a_level_camera_facing_a_wall_tells_nothing():
    """Looking straight at the back wall with no tilt: verticals and horizontals stay
    parallel in the picture (vanishing points at infinity), any focal length fits them,
    so there is no estimate rather than a wrong one."""
    size = (1280, 720)
    edges = _room_edges(np.random.default_rng(0))
    wall = edges[np.isclose(edges[:, :, 2], 10).all(axis=1)]
    image = _render(wall, size, 900.0, 0.0, 0.0, np.array([0.0, 1.5, 2.0]))
    assert focal_from_lines([image], size) is None


@pytest.mark.slow
def test_calibrated_phone_views(multiview_demo):
    """Pose2Sim's Demo_MultiPerson: four portrait phones in a lab, each one frame (the
    middle) against its calibration (1674-1682 px): within 3 % (measured 0.4-1.1 %, where
    the people alone gave -10 % on two of them)."""
    from mocap.io.video import open_video

    names = [f"cam0{i}" for i in range(1, 5)]
    sizes = []
    for name in names:
        with open_video(multiview_demo[f"{name}.mp4"], prefetch=0) as video:
            sizes.append((video.info.width, video.info.height, video.info.frame_count))
    calib, _ = read_calibration(multiview_demo["Calib.qca.txt"]).for_videos(
        names, [s[:2] for s in sizes], "Calib.qca.txt")
    for name, cam, (w, h, n) in zip(names, calib, sizes, strict=True):
        lens = lines_lens(multiview_demo[f"{name}.mp4"], (w, h), n // 2)
        assert lens is not None and lens.source == "lines", name
        assert abs(lens.focal_px / cam.K[0, 0] - 1) < 0.03, (name, lens, cam.K[0, 0])
