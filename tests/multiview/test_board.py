"""Board calibration against ground truth: synthetic videos of a ChArUco board and of a
checkerboard, rendered into virtual cameras of known lens and pose (the board image warped
exactly through each camera's model, lens distortion included, 2x supersampled, lossless
FFV1), found by OpenCV's real detectors, then calibrated."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.errors import InputError
from mocap.multiview.board import (
    Board,
    Detection,
    VideoDetections,
    _canonical_grid,
    calibrate_board,
    calibrate_extrinsics,
    calibrate_intrinsics,
    default_every,
    detect_board_video,
)
from mocap.multiview.calibration import Calibration, Camera
from tests.multiview.synthetic import look_at

SIZE = (640, 480)
#: A mild lens for 640x480 at f = 560 px: about 10 px of barrel at the corners.
LENS = (-0.12, 0.05, 0.0005, -0.0004, 0.0)
TARGET = (0.0, 1.2, 0.0)


def rig(n: int = 3, dist=LENS, radius: float = 1.8) -> Calibration:
    """``n`` cameras (Y up) on an arc in front of the board's volume, 35 degrees apart."""
    cams = []
    for i, az in enumerate(np.radians([0.0, -35.0, 35.0][:n])):
        centre = (radius * np.sin(az), 1.45 + 0.1 * i, radius * np.cos(az))
        cams.append(look_at(f"cam{i + 1}", centre, TARGET, size=SIZE,
                            focal=560.0 + 20 * i, dist=dist))
    return Calibration(tuple(cams))


def board_motion(board: Board, frames: int, seed: int = 0) -> list[tuple[np.ndarray,
                                                                          np.ndarray]]:
    """Per frame the board's pose, board -> world (R, t): its face towards +z (the
    cameras), centred within +-0.35 m of the target, tilted up to 40 deg about x and y."""
    rng = np.random.default_rng(seed)
    centre = np.array([board.squares[0], board.squares[1], 0.0]) * board.square_m / 2
    out = []
    for _ in range(frames):
        r = Rotation.from_euler("xyz", [rng.uniform(-40, 40), rng.uniform(-40, 40),
                                        rng.uniform(-20, 20)], degrees=True).as_matrix()
        pos = np.asarray(TARGET) + rng.uniform([-0.35, -0.3, -0.3], [0.35, 0.3, 0.3])
        out.append((r, pos - r @ centre))
    return out


def render(board: Board, cam: Camera, pose, px_per_square: int = 64, ss: int = 2,
           rays: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8: the board at ``pose`` (board -> world) seen by ``cam`` on a grey
    background. Each of ``ss x ss`` subpixels takes the board image where its ray meets the
    board's plane (exact through the lens), then they are averaged."""
    w, h = cam.size
    if rays is None:
        rays = camera_rays(cam, ss)
    img = board.image(px_per_square)
    m = px_per_square // 2
    s, p = board.square_m, px_per_square
    to_px = np.array([[p / s, 0, m - 0.5], [0, -p / s, m + board.squares[1] * p - 0.5],
                      [0, 0, 1.0]])
    r = cam.R @ pose[0]
    t = cam.R @ pose[1] + cam.t
    plane = np.column_stack([r[:, 0], r[:, 1], t])  # board (x, y, 1) -> normalised ray
    g = to_px @ np.linalg.inv(plane)
    q = rays @ g.T
    front = q[..., 2] > 0
    u = np.where(front, q[..., 0] / q[..., 2], -1e4).astype(np.float32)
    v = np.where(front, q[..., 1] / q[..., 2], -1e4).astype(np.float32)
    big = cv2.remap(img, u, v, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                    borderValue=110)
    return cv2.resize(big, (w, h), interpolation=cv2.INTER_AREA)


def camera_rays(cam: Camera, ss: int = 2) -> np.ndarray:
    """(H*ss, W*ss, 3) undistorted normalised rays (x, y, 1) of the subpixel centres."""
    w, h = cam.size
    sx, sy = np.meshgrid(np.arange(w * ss), np.arange(h * ss))
    # subpixel centre s of output pixel o: s = ss * o + (ss - 1) / 2
    o = np.stack([(sx - (ss - 1) / 2) / ss, (sy - (ss - 1) / 2) / ss], -1)
    n = cam.normalize(o.reshape(-1, 2)).reshape(h * ss, w * ss, 2)
    return np.concatenate([n, np.ones((h * ss, w * ss, 1))], -1)


def write_videos(folder: Path, board: Board, calib: Calibration, poses, noise: float = 2.0,
                 hide: dict[int, range] | None = None) -> list[Path]:
    """One lossless video per camera (FFV1 in .mkv, 30 fps); ``hide[v]``: frames in which
    camera ``v`` sees no board."""
    rng = np.random.default_rng(0)
    paths = []
    for v, cam in enumerate(calib):
        path = folder / f"{cam.name}.mkv"
        out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, cam.size)
        assert out.isOpened()
        rays = camera_rays(cam)
        for f, pose in enumerate(poses):
            if hide and f in hide.get(v, ()):
                img = np.full(cam.size[::-1], 110, np.uint8)
            else:
                img = render(board, cam, pose, rays=rays)
            img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
            out.write(cv2.cvtColor(img, cv2.COLOR_GRAY2BGR))
        out.release()
        paths.append(path)
    return paths


def in_board_frame(calib: Calibration, pose) -> Calibration:
    """The true cameras re-expressed in the board's frame at ``pose`` (board -> world)."""
    r, t = pose
    return calib.transformed(rotation=r.T, translation=-r.T @ t)


def angle_deg(r1: np.ndarray, r2: np.ndarray) -> float:
    return float(np.degrees(Rotation.from_matrix(r1 @ r2.T).magnitude()))


def compare(result, truth: Calibration, poses) -> dict[str, np.ndarray]:
    """Per camera: focal error %, principal point error px, centre error m, angle deg."""
    ref = in_board_frame(truth, poses[result.world_frame])
    got = result.calibration
    return {
        "focal_pct": np.array([100 * abs(g.K[0, 0] / r.K[0, 0] - 1) for g, r in
                               zip(got, ref, strict=True)]),
        "pp_px": np.array([np.linalg.norm(g.K[:2, 2] - r.K[:2, 2]) for g, r in
                           zip(got, ref, strict=True)]),
        "centre_m": np.linalg.norm(got.centers - ref.centers, axis=1),
        "angle_deg": np.array([angle_deg(g.R, r.R) for g, r in zip(got, ref, strict=True)]),
    }


@pytest.fixture(scope="module")
def charuco_take(tmp_path_factory):
    board = Board("charuco", (7, 5), 0.1)
    truth = rig(3)
    poses = board_motion(board, 45)
    folder = tmp_path_factory.mktemp("charuco")
    return board, truth, poses, write_videos(folder, board, truth, poses)


@pytest.mark.slow
def test_charuco_cameras_match_the_truth(charuco_take):
    board, truth, poses, videos = charuco_take
    result = calibrate_board(videos, board, every=1)
    err = compare(result, truth, poses)
    print({k: np.round(v, 4) for k, v in err.items()},
          [(r.views_found, r.intrinsic_rms_px, r.extrinsic_rms_px) for r in result.reports])
    assert result.calibration.names == ("cam1", "cam2", "cam3")
    assert (err["focal_pct"] < 1.0).all()
    assert (err["pp_px"] < 4.0).all()
    assert (err["centre_m"] < 0.015).all()
    assert (err["angle_deg"] < 0.5).all()
    for rep in result.reports:
        assert rep.intrinsic_rms_px < 0.5 and rep.extrinsic_rms_px < 0.5
        assert rep.views_found >= 20
    # the world is the board at the first frame the first camera saw it: its corners
    # project where the first camera found them
    det = detect_board_video(videos[0], board).detections[result.world_frame]
    px = result.calibration[0].project(board.corners_m[det.ids])
    assert np.abs(px - det.xy).max() < 1.0


@pytest.mark.slow
def test_the_distortion_is_recovered(charuco_take):
    """The lens's displacement field (each pixel to where an ideal pinhole of the same K
    would see its ray) agrees with the true lens's over the part of the image the board
    covered, where the true lens moves points by several pixels."""
    board, truth, _, videos = charuco_take
    det = detect_board_video(videos[0], board)
    lens = calibrate_intrinsics(det, board)
    cam = truth[0]
    est = Camera("e", cam.size, lens.K, lens.dist, np.eye(3), np.zeros(3))
    xy = np.concatenate([d.xy for d in det.detections.values()])
    lo, hi = xy.min(0), xy.max(0)
    g = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 9), np.linspace(lo[1], hi[1], 7)),
                 -1).reshape(-1, 2)

    def displacement(c: Camera) -> np.ndarray:
        return g - (c.normalize(g) @ c.K[:2, :2].T + c.K[:2, 2])

    true_shift, est_shift = displacement(cam), displacement(est)
    assert np.linalg.norm(true_shift, axis=1).max() > 5.0  # the lens is not nothing
    off = np.linalg.norm(est_shift - true_shift, axis=1)
    # measured: median 0.03 px, 0.5 px at the far corners of the covered box
    assert np.median(off) < 0.15 and off.max() < 1.0


@pytest.mark.slow
def test_the_joint_refinement_lowers_the_reprojection_error(charuco_take):
    """The chained pairwise poses leave each camera's board reprojection error above what
    the joint solution reaches (measured 0.19-0.33 px -> 0.10-0.15 px)."""
    board, _, _, videos = charuco_take
    found = [detect_board_video(v, board) for v in videos]
    lenses = [calibrate_intrinsics(f, board) for f in found]
    _, chained, _, _ = calibrate_extrinsics(found, lenses, board, refine=False)
    _, joint, _, _ = calibrate_extrinsics(found, lenses, board, refine=True)
    for before, after in zip(chained, joint, strict=True):
        assert after.extrinsic_rms_px < 0.8 * before.extrinsic_rms_px
        assert after.extrinsic_rms_px < 0.2


@pytest.mark.slow
def test_checkerboard_cameras_match_the_truth(tmp_path):
    board = Board("checkerboard", (8, 5), 0.09)
    truth = rig(2, dist=(0, 0, 0, 0, 0))
    poses = board_motion(board, 36, seed=1)
    videos = write_videos(tmp_path, board, truth, poses)
    result = calibrate_board(videos, board, every=1)
    err = compare(result, truth, poses)
    print({k: np.round(v, 4) for k, v in err.items()},
          [(r.views_found, r.intrinsic_rms_px, r.extrinsic_rms_px) for r in result.reports])
    assert (err["focal_pct"] < 1.0).all()
    assert (err["pp_px"] < 4.0).all()
    assert (err["centre_m"] < 0.015).all()
    assert (err["angle_deg"] < 0.5).all()
    assert all(r.extrinsic_rms_px < 0.5 for r in result.reports)


@pytest.mark.parametrize("turn", [0, 1, 2, 3])
def test_a_checkerboards_corners_come_in_its_own_order(turn):
    """Whatever order the detector lists the corners in (turned 180 degrees, mirrored), they
    come back in the board's: the first corner beside the black top-left square."""
    board = Board("checkerboard", (8, 5), 0.05)
    img = board.image(40)
    found = board.detect(img)
    assert found is not None
    grid = found.xy.reshape(4, 7, 2)
    # true positions of the inner corners in the printed image (pixel centres whole)
    c, r = np.meshgrid(np.arange(7), np.arange(4))
    truth = np.stack([20 + (c + 1) * 40 - 0.5, 20 + (r + 1) * 40 - 0.5], -1)
    assert np.abs(grid - truth).max() < 0.3
    shuffled = [grid, grid[::-1, ::-1], grid[::-1], grid[:, ::-1]][turn]
    again = _canonical_grid(img, shuffled, board.squares)
    assert np.abs(again - truth).max() < 0.3


def test_the_board_frame_is_y_up_with_its_origin_bottom_left():
    board = Board("charuco", (7, 5), 0.1)
    det = board.detect(board.image(60))
    assert det is not None and len(det) == 24
    pts = board.corners_m[det.ids]
    # the first corner found at the top left of the printed image is (0.1, 0.4) m
    top_left = det.xy.sum(1).argmin()
    assert np.allclose(pts[top_left], [0.1, 0.4, 0.0])
    assert np.allclose(board.corners_m.max(0), [0.6, 0.4, 0.0])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"kind": "aruco"}, "unknown board 'aruco'; valid boards: charuco, checkerboard"),
    ({"squares": (7, 2)}, "squares must be two whole numbers >= 3"),
    ({"square_m": 0.0}, "square side must be a positive number"),
    ({"marker_m": 0.05, "square_m": 0.04}, "must be smaller than the square side"),
    ({"dictionary": "DICT_4X4_51"}, "valid names: DICT_4X4_100"),
    ({"squares": (12, 9), "dictionary": "DICT_4X4_50"}, "54 markers but DICT_4X4_50 holds 50"),
])
def test_bad_boards_are_refused(kwargs, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Board(**kwargs)


def test_too_few_views_and_no_board_are_refused():
    board = Board()
    empty = VideoDetections("cam2", Path("cam2.mp4"), SIZE, 10, 10, {})
    with pytest.raises(InputError, match=r"no board found in cam2.mp4 .*check --board"):
        calibrate_intrinsics(empty, board)
    det = Detection(np.arange(6, dtype=np.int32), np.zeros((6, 2)))
    few = VideoDetections("cam2", Path("cam2.mp4"), SIZE, 10, 10, {i: det for i in range(3)})
    with pytest.raises(InputError, match="found in only 3 frames"):
        calibrate_intrinsics(few, board)


def test_a_camera_never_seen_with_the_others_cannot_be_placed(tmp_path):
    board = Board("charuco", (7, 5), 0.1)
    truth = rig(2)
    poses = board_motion(board, 24, seed=2)
    # camera 2 sees the board only while camera 1 does not
    videos = write_videos(tmp_path, board, truth, poses,
                          hide={0: range(12, 24), 1: range(0, 12)})
    with pytest.raises(InputError, match="cannot place cam2: never saw the board at the "
                                         "same time as cam1"):
        calibrate_board(videos, board, every=1)


def test_default_every_searches_about_300_frames():
    assert default_every([100]) == 1
    assert default_every([9000, 8990]) == 30
    assert default_every([-1]) == 1
