"""Cameras calibrated from videos of a board: ChArUco or checkerboard.

All cameras film one take at the same time (frame ``f`` of every video is the same instant)
while the board is moved around in front of them. Per camera, the board's inner corners are
found in every ``every``-th frame (:func:`detect_board_video`); a selection of views spread
over the image gives the intrinsics (:func:`calibrate_intrinsics`: ``cv2.calibrateCamera``,
the pinhole model with ``k1 k2 p1 p2 k3``); the board's pose in each camera (``solvePnP``)
at the frames two cameras share gives their relative pose, robustly averaged and chained to
the first camera (:func:`calibrate_extrinsics`), then refined jointly over every camera and
board pose (Levenberg-Marquardt with a Huber loss, intrinsics fixed) to minimise the
reprojection error. :func:`calibrate_board` runs it all.

The board's own frame (:attr:`Board.corners_m`): origin at the outer corner of its
bottom-left square, x along its rows (left to right as printed), y up its columns (towards
its top edge as printed), z out of its printed face; metres. The **world frame** of the
calibration is the board's frame at the first frame in which the first camera sees it. A
board lying face up on the floor there makes the world Z up with its plane the floor (as
Pose2Sim's and Qualisys' Z-up worlds; :meth:`Calibration.to_y_up` then gives mocap's Y up).

"Top-left" is the board's own: for ChArUco, the corner of the markers' id 0 (OpenCV's
layout, unambiguous); for a checkerboard, the corner whose square is black. A checkerboard
with an odd count of squares one way and an even count the other (e.g. 8x5) is told apart
from itself turned by 180 degrees by the colour of that square; one with both counts odd or
both even (e.g. 7x5) is not, so cameras could disagree on its corners: several cameras need
a ChArUco board or such a checkerboard (:attr:`Board.symmetric`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.spatial.transform import Rotation

from mocap.errors import InputError
from mocap.io.video import open_video
from mocap.multiview.calibration import Calibration, Camera

#: Board kinds :class:`Board` knows.
BOARD_KINDS = ("charuco", "checkerboard")
#: OpenCV's predefined ArUco dictionaries by name (``DICT_4X4_50``, ...; case-insensitive).
DICTIONARIES: dict[str, int] = {
    name.upper(): getattr(cv2.aruco, name) for name in dir(cv2.aruco)
    if name.startswith("DICT_") and isinstance(getattr(cv2.aruco, name), int)}
DEFAULT_DICTIONARY = "DICT_4X4_50"
#: Marker side / square side of a ChArUco board when not given.
DEFAULT_MARKER_RATIO = 0.75
#: Fewest corners (not all on one line) a view needs to count.
MIN_CORNERS = 6
#: Fewest views of the board a camera needs for its intrinsics.
MIN_INTRINSIC_VIEWS = 6
#: Views given to ``cv2.calibrateCamera`` at most (its cost grows with them; 50 well
#: spread views constrain the lens as well as hundreds).
DEFAULT_MAX_VIEWS = 50
#: Frames a video is searched in when ``every`` is not given: every N-th frame so that
#: about this many are searched.
DEFAULT_SEARCHED_FRAMES = 300
#: Frames (shared by two cameras or more) the joint refinement uses at most.
MAX_REFINE_FRAMES = 200


def _positive(name: str, value) -> float:
    if (isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating)
            or not math.isfinite(value) or value <= 0):
        raise InputError(f"{name} must be a positive number of metres, got {value!r}")
    return float(value)


@dataclass(frozen=True, eq=False)
class Board:
    """A calibration board as printed.

    Attributes:
        kind: ``"charuco"`` or ``"checkerboard"``.
        squares: (across, down) squares, e.g. (7, 5); the inner corners are
            ``(across - 1) x (down - 1)``.
        square_m: side of a square, metres.
        marker_m: ChArUco: side of a marker, metres (default 0.75 of ``square_m``).
        dictionary: ChArUco: OpenCV's ArUco dictionary name (:data:`DICTIONARIES`).
        legacy: ChArUco: OpenCV's layout before 4.6 for an even count of rows (boards made
            by older OpenCV or by calib.io).
    """

    kind: str = "charuco"
    squares: tuple[int, int] = (7, 5)
    square_m: float = 0.04
    marker_m: float | None = None
    dictionary: str = DEFAULT_DICTIONARY
    legacy: bool = False

    def __post_init__(self) -> None:
        if self.kind not in BOARD_KINDS:
            raise InputError(f"unknown board {self.kind!r}; valid boards: "
                             f"{', '.join(BOARD_KINDS)}")
        sq = tuple(self.squares)
        if (len(sq) != 2 or not all(isinstance(s, int | np.integer) and not isinstance(s, bool)
                                    for s in sq) or min(sq) < 3):
            raise InputError(f"squares must be two whole numbers >= 3 (across x down, e.g. "
                             f"7x5), got {self.squares!r}")
        object.__setattr__(self, "squares", (int(sq[0]), int(sq[1])))
        object.__setattr__(self, "square_m", _positive("the square side", self.square_m))
        if self.kind == "charuco":
            marker = (DEFAULT_MARKER_RATIO * self.square_m if self.marker_m is None
                      else _positive("the marker side", self.marker_m))
            if marker >= self.square_m:
                raise InputError(f"the marker side ({marker:g} m) must be smaller than the "
                                 f"square side ({self.square_m:g} m)")
            object.__setattr__(self, "marker_m", marker)
            name = str(self.dictionary).upper()
            if name not in DICTIONARIES:
                raise InputError(f"unknown ArUco dictionary {self.dictionary!r}; valid "
                                 f"names: {', '.join(sorted(DICTIONARIES))}")
            object.__setattr__(self, "dictionary", name)
            have = len(cv2.aruco.getPredefinedDictionary(DICTIONARIES[name]).bytesList)
            need = sq[0] * sq[1] // 2
            if need > have:
                raise InputError(f"a {sq[0]}x{sq[1]} ChArUco board has {need} markers but "
                                 f"{name} holds {have}: choose a larger dictionary")

    @property
    def inner(self) -> tuple[int, int]:
        """(across, down) inner corners."""
        return self.squares[0] - 1, self.squares[1] - 1

    @property
    def corner_count(self) -> int:
        return self.inner[0] * self.inner[1]

    @property
    def symmetric(self) -> bool:
        """A checkerboard that looks the same turned by 180 degrees (both square counts odd
        or both even): its corners' order is ambiguous between cameras."""
        return self.kind == "checkerboard" and sum(self.squares) % 2 == 0

    @cached_property
    def corners_m(self) -> np.ndarray:
        """(N, 3) float64 metres: the inner corners in the board's frame (module
        docstring), by id: row by row from the top-left, ``id = row * across + column``."""
        cols, rows = self.inner
        c, r = np.meshgrid(np.arange(cols), np.arange(rows))
        s = self.square_m
        # OpenCV's layout has y down the print and z into it; turned 180 deg about x and
        # moved up by the board's height: y up, z out of the face, origin bottom-left
        x = (c.ravel() + 1) * s
        y = self.squares[1] * s - (r.ravel() + 1) * s
        out = np.stack([x, y, np.zeros_like(x)], 1).astype(np.float64)
        out.flags.writeable = False
        return out

    @cached_property
    def cv_board(self):
        """OpenCV's ``cv2.aruco.CharucoBoard`` (ChArUco only)."""
        if self.kind != "charuco":
            raise ValueError("only a ChArUco board has an OpenCV board object")
        board = cv2.aruco.CharucoBoard(
            self.squares, self.square_m, self.marker_m,
            cv2.aruco.getPredefinedDictionary(DICTIONARIES[self.dictionary]))
        board.setLegacyPattern(bool(self.legacy))
        return board

    @cached_property
    def _detector(self):
        return cv2.aruco.CharucoDetector(self.cv_board)

    def image(self, px_per_square: int = 100, margin_px: int | None = None) -> np.ndarray:
        """The board to print (or render): (H, W) uint8, white margin ``margin_px``
        (default half a square) around ``squares * px_per_square``. Board point ``(x, y)``
        metres (board frame) is at pixel ``(margin + x / s * p - 0.5,
        margin + (rows - y / s) * p - 0.5)`` (pixel centres at whole numbers)."""
        m = px_per_square // 2 if margin_px is None else margin_px
        w, h = self.squares[0] * px_per_square, self.squares[1] * px_per_square
        if self.kind == "charuco":
            return self.cv_board.generateImage((w + 2 * m, h + 2 * m), marginSize=m)
        j, i = np.mgrid[0:h, 0:w] // px_per_square
        img = np.full((h + 2 * m, w + 2 * m), 255, np.uint8)
        img[m:m + h, m:m + w] = np.where((i + j) % 2 == 0, 0, 255)  # top-left square black
        return img

    def detect(self, gray: np.ndarray) -> Detection | None:
        """The board's inner corners in one image.

        Args:
            gray: (H, W) uint8 image.

        Returns:
            The corners found (at least :data:`MIN_CORNERS`, not all on one line), or None.
        """
        if self.kind == "charuco":
            corners, ids, _, _ = self._detector.detectBoard(gray)
            if ids is None or len(ids) < MIN_CORNERS:
                return None
            ids = ids.reshape(-1).astype(np.int32)
            if self.cv_board.checkCharucoCornersCollinear(ids):
                return None
            xy = corners.reshape(-1, 2).astype(np.float64)
            order = np.argsort(ids)
            return Detection(ids[order], xy[order])
        found, corners = cv2.findChessboardCornersSB(gray, self.inner,
                                                     flags=cv2.CALIB_CB_NORMALIZE_IMAGE)
        if not found or corners is None:
            return None
        grid = _canonical_grid(gray, corners.reshape(self.inner[1], self.inner[0], 2),
                               self.squares)
        return Detection(np.arange(self.corner_count, dtype=np.int32),
                         grid.reshape(-1, 2).astype(np.float64))


def _canonical_grid(gray: np.ndarray, grid: np.ndarray, squares: tuple[int, int]
                    ) -> np.ndarray:
    """A checkerboard's corners (rows, cols, 2) px in the board's own order: rows down and
    columns across as printed (seen from the front, the turn from the first row to the
    first column is clockwise in the image), and the top-left square black where the
    board's colours tell (an odd and an even square count)."""
    def turn(g):  # z of (first row direction x first column direction), image y down
        a, b = g[0, -1] - g[0, 0], g[-1, 0] - g[0, 0]
        return a[0] * b[1] - a[1] * b[0]

    if turn(grid) < 0:
        grid = grid[:, ::-1]
    if sum(squares) % 2 == 0:
        return grid
    rows, cols = grid.shape[:2]
    # squares in OpenCV's board units: inner corner (c, r) is at (c + 1, r + 1)
    obj = np.stack(np.meshgrid(np.arange(1, cols + 1), np.arange(1, rows + 1)), -1)
    hom, _ = cv2.findHomography(obj.reshape(-1, 2).astype(np.float64),
                                grid.reshape(-1, 2).astype(np.float64))
    if hom is None:
        return grid
    i, j = np.meshgrid(np.arange(squares[0]), np.arange(squares[1]))
    centres = np.stack([i.ravel() + 0.5, j.ravel() + 0.5], 1).reshape(-1, 1, 2)
    px = cv2.perspectiveTransform(centres.astype(np.float64), hom).reshape(-1, 2)
    h, w = gray.shape[:2]
    inside = ((px >= 1) & (px < [w - 2, h - 2])).all(1)
    if not inside.any():
        return grid
    x, y = np.round(px[inside]).astype(int).T
    value = np.mean([gray[y + dy, x + dx].astype(float) for dy in (-1, 0, 1)
                     for dx in (-1, 0, 1)], 0)
    even = ((i.ravel() + j.ravel()) % 2 == 0)[inside]
    if even.all() or not even.any():
        return grid
    if value[even].mean() > value[~even].mean():  # the top-left square is white: turned
        grid = grid[::-1, ::-1]
    return grid


@dataclass(frozen=True, eq=False)
class Detection:
    """The board's inner corners found in one image.

    Attributes:
        ids: (n,) int32 corner ids (rows of :attr:`Board.corners_m`), increasing.
        xy: (n, 2) float64 px.
    """

    ids: np.ndarray
    xy: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, eq=False)
class VideoDetections:
    """The board as found through one video.

    Attributes:
        name: the camera's name (the video file's stem).
        path: the video.
        size: (width, height) px.
        frames_read: frames decoded.
        frames_searched: frames searched for the board (every ``every``-th).
        detections: frame index -> :class:`Detection`, where the board was found.
    """

    name: str
    path: Path
    size: tuple[int, int]
    frames_read: int
    frames_searched: int
    detections: dict[int, Detection]


def detect_board_video(path: str | os.PathLike, board: Board, *, every: int = 1,
                       name: str | None = None,
                       progress: Callable[[int, int], None] | None = None
                       ) -> VideoDetections:
    """Find the board in every ``every``-th frame of a video (frames 0, every, 2 every, ...).

    Args:
        path: the video.
        board: the board shown.
        every: search every N-th frame (>= 1).
        name: the camera's name (default: the file's stem).
        progress: called ``progress(frames_done, frames_total)`` (total -1 if unknown).

    Raises:
        InputError: the video cannot be read, or its frame size changes.
    """
    if every < 1:
        raise InputError(f"every must be >= 1, got {every}")
    path = Path(path)
    found: dict[int, Detection] = {}
    searched = 0
    with open_video(path) as video:
        w, h = video.info.width, video.info.height
        total = video.info.frame_count
        for frame in video:
            img = frame.image
            if img.shape[:2] != (h, w):
                raise InputError(f"{path}: frame {frame.index} is {img.shape[1]}x"
                                 f"{img.shape[0]} px but the video began at {w}x{h}: the "
                                 "frame size must not change")
            if frame.index % every == 0:
                searched += 1
                det = board.detect(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY))
                if det is not None:
                    found[frame.index] = det
            if progress is not None:
                progress(frame.index + 1, total)
        read = video.frames_read
    return VideoDetections(name or path.stem, path, (w, h), read, searched, found)


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """One camera's lens.

    Attributes:
        K: (3, 3) float64 px.
        dist: (5,) float64, ``k1 k2 p1 p2 k3``.
        rms_px: RMS reprojection error of the views used, px (``cv2.calibrateCamera``'s).
        frames: the frame indices of the views used.
    """

    K: np.ndarray
    dist: np.ndarray
    rms_px: float
    frames: tuple[int, ...]


def _spread_views(video: VideoDetections, board: Board, max_views: int) -> list[int]:
    """Up to ``max_views`` frames whose views differ most: where the board is in the image,
    how large, and how it is tilted (farthest-point selection over these)."""
    frames = sorted(video.detections)
    if len(frames) <= max_views:
        return frames
    w, h = video.size
    guess = np.array([[max(w, h), 0, (w - 1) / 2], [0, max(w, h), (h - 1) / 2], [0, 0, 1.0]])
    feats = []
    for f in frames:
        det = video.detections[f]
        c = det.xy.mean(0)
        spread = det.xy.std(0).mean() / max(w, h)
        ok, rvec, _ = cv2.solvePnP(board.corners_m[det.ids], det.xy, guess, None)
        normal = cv2.Rodrigues(rvec)[0][:, 2] if ok else np.zeros(3)
        feats.append([c[0] / w, c[1] / h, 2 * spread, normal[0], normal[1],
                      len(det) / board.corner_count * 0.2])
    feats = np.asarray(feats)
    chosen = [int(np.argmax([len(video.detections[f]) for f in frames]))]
    dist = np.linalg.norm(feats - feats[chosen[0]], axis=1)
    while len(chosen) < max_views:
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(feats - feats[nxt], axis=1))
    return sorted(frames[i] for i in chosen)


def calibrate_intrinsics(video: VideoDetections, board: Board, *,
                         max_views: int = DEFAULT_MAX_VIEWS, flags: int = 0) -> Intrinsics:
    """A camera's intrinsics from its views of the board (``cv2.calibrateCamera``).

    Up to ``max_views`` views spread over the image are used; views whose error is far
    above the others' (a bad detection) are dropped and the lens solved again.

    Args:
        video: the board found through the camera's video.
        board: the board.
        max_views: views used at most.
        flags: ``cv2.calibrateCamera`` flags (0: ``k1 k2 p1 p2 k3``, all free).

    Raises:
        InputError: no board found, or fewer than :data:`MIN_INTRINSIC_VIEWS` views.
    """
    if not video.detections:
        raise InputError(f"no board found in {video.path.name} (searched "
                         f"{video.frames_searched} frames): check --board/--squares/"
                         "--dictionary")
    if len(video.detections) < MIN_INTRINSIC_VIEWS:
        raise InputError(f"{video.path.name}: the board was found in only "
                         f"{len(video.detections)} frames; its lens needs at least "
                         f"{MIN_INTRINSIC_VIEWS} views (show the board all over the image, "
                         "tilted different ways, or search more frames with a smaller "
                         "--every)")
    frames = _spread_views(video, board, max(max_views, MIN_INTRINSIC_VIEWS))
    for attempt in range(2):
        obj = [board.corners_m[video.detections[f].ids].astype(np.float32) for f in frames]
        img = [video.detections[f].xy.astype(np.float32) for f in frames]
        rms, k, dist, _, _, _, _, per_view = cv2.calibrateCameraExtended(
            obj, img, video.size, None, None, flags=flags)
        per_view = np.asarray(per_view).reshape(-1)
        bad = per_view > max(3.0 * float(np.median(per_view)), 1.0)
        if attempt or not bad.any() or len(frames) - bad.sum() < MIN_INTRINSIC_VIEWS:
            break
        frames = [f for f, b in zip(frames, bad, strict=True) if not b]
    return Intrinsics(np.asarray(k, np.float64), np.asarray(dist, np.float64).reshape(-1)[:5],
                      float(rms), tuple(frames))


def board_poses(video: VideoDetections, board: Board, intrinsics: Intrinsics,
                max_error_px: float = 3.0) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """The board's pose in the camera at each frame it was found in (``solvePnP``, the
    planar IPPE solutions refined by Levenberg-Marquardt).

    Returns:
        frame -> (R (3, 3), t (3,) metres): board frame -> camera, ``p_cam = R p + t``;
        views whose RMS reprojection error exceeds ``max_error_px`` are left out.
    """
    out = {}
    for f, det in video.detections.items():
        obj = board.corners_m[det.ids]
        n, rvecs, tvecs, errs = cv2.solvePnPGeneric(obj, det.xy, intrinsics.K, intrinsics.dist,
                                                    flags=cv2.SOLVEPNP_IPPE)
        if not n:
            continue
        best = int(np.argmin(np.asarray(errs).reshape(-1)))
        rvec, tvec = cv2.solvePnPRefineLM(obj, det.xy, intrinsics.K, intrinsics.dist,
                                          rvecs[best].copy(), tvecs[best].copy())
        proj = cv2.projectPoints(obj, rvec, tvec, intrinsics.K, intrinsics.dist)[0]
        err = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - det.xy) ** 2, 1))))
        if err <= max_error_px and tvec[2, 0] > 0:
            out[f] = (cv2.Rodrigues(rvec)[0], tvec.reshape(3))
    return out


def _average_pose(rotations: np.ndarray, translations: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Robust mean of rigid transforms (R (n, 3, 3), t (n, 3)): the chordal mean rotation
    and mean translation of those within 3 median deviations (at least 0.5 deg / 1 cm) of
    the median. Returns (R, t, kept mask)."""
    rot = Rotation.from_matrix(rotations)
    keep = np.ones(len(rot), bool)
    for _ in range(2):
        mean_r = rot[keep].mean()
        t_med = np.median(translations[keep], 0)
        ang = (mean_r.inv() * rot).magnitude()
        dt = np.linalg.norm(translations - t_med, axis=1)
        keep = ((ang <= max(3 * np.median(ang[keep]), np.radians(0.5)))
                & (dt <= max(3 * np.median(dt[keep]), 0.01)))
        if not keep.any():
            keep = dt <= np.median(dt)
    return rot[keep].mean().as_matrix(), translations[keep].mean(0), keep


@dataclass(frozen=True, eq=False)
class CameraReport:
    """How well one camera was calibrated.

    Attributes:
        name: the camera.
        frames_searched: frames searched for the board.
        views_found: frames the board was found in.
        views_used: views given to the intrinsic calibration.
        intrinsic_rms_px: RMS reprojection error of the intrinsic calibration, px.
        extrinsic_frames: frames of the joint (extrinsic) solution the camera saw.
        extrinsic_rms_px: RMS reprojection error of the board posed in the world by the
            joint solution, in this camera, px (NaN when no frame was shared).
        placed_from: the camera whose shared views placed it first (None for the first).
        shared_frames: frames it shared with ``placed_from``.
    """

    name: str
    frames_searched: int
    views_found: int
    views_used: int
    intrinsic_rms_px: float
    extrinsic_frames: int
    extrinsic_rms_px: float
    placed_from: str | None
    shared_frames: int

    def to_json(self) -> dict:
        def num(v):
            return None if not math.isfinite(v) else round(float(v), 4)

        return {"name": self.name, "frames_searched": self.frames_searched,
                "views_found": self.views_found, "views_used": self.views_used,
                "intrinsic_rms_px": num(self.intrinsic_rms_px),
                "extrinsic_frames": self.extrinsic_frames,
                "extrinsic_rms_px": num(self.extrinsic_rms_px),
                "placed_from": self.placed_from, "shared_frames": self.shared_frames}


@dataclass(frozen=True, eq=False)
class BoardCalibration:
    """The result of :func:`calibrate_board`.

    Attributes:
        calibration: the cameras, in the videos' order; metres; world frame: the board at
            ``world_frame`` (module docstring).
        reports: per camera, :class:`CameraReport`.
        world_frame: the frame index whose board pose is the world.
        every: every how many frames the board was searched for.
        refined: whether the joint refinement ran.
        board_poses: frame -> (R (3, 3), t (3,) metres), the board's pose in the world
            (board -> world) at the frames the extrinsics were solved from.
    """

    calibration: Calibration
    reports: tuple[CameraReport, ...]
    world_frame: int
    every: int
    refined: bool
    board_poses: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def summary(self) -> dict:
        """A JSON-ready summary: per camera its report, size and intrinsics."""
        cams = []
        for cam, rep in zip(self.calibration, self.reports, strict=True):
            cams.append({**rep.to_json(), "size": list(cam.size),
                         "fx": round(float(cam.K[0, 0]), 3), "fy": round(float(cam.K[1, 1]), 3),
                         "cx": round(float(cam.K[0, 2]), 3), "cy": round(float(cam.K[1, 2]), 3),
                         "dist": [round(float(d), 6) for d in cam.dist],
                         "center_m": [round(float(c), 4) for c in cam.center]})
        return {"world_frame": self.world_frame, "every": self.every, "refined": self.refined,
                "cameras": cams}


def _compose(r_a, t_a, r_b, t_b):
    """(R_a, t_a) o (R_b, t_b): first b, then a."""
    return r_a @ r_b, r_a @ t_b + t_a


def _inverse(r, t):
    return r.T, -r.T @ t


class _Problem:
    """The joint refinement's residuals, vectorised over every corner of every view.

    Parameters ``x``: per camera (world -> camera) a Rodrigues vector and a translation,
    then per frame but the first (the world's, fixed at the identity) the board's pose
    (board -> world), 6 numbers each.
    """

    def __init__(self, obs, frames, videos, board: Board, lens: np.ndarray) -> None:
        self.n_cam, self.n_obs = len(videos), len(obs)
        cam, frame, view, obj, xy = [], [], [], [], []
        for k, (c, i) in enumerate(obs):
            det = videos[c].detections[frames[i]]
            cam.append(np.full(len(det), c))
            frame.append(np.full(len(det), i))
            view.append(np.full(len(det), k))
            obj.append(board.corners_m[det.ids])
            xy.append(det.xy)
        self.cam, self.frame, self.view = (np.concatenate(a) for a in (cam, frame, view))
        self.obj, self.xy = np.concatenate(obj), np.concatenate(xy)
        self.lens = lens[self.cam]

    def unpack(self, x):
        cams = x[:6 * self.n_cam].reshape(self.n_cam, 6)
        boards = np.concatenate([np.zeros((1, 6)), x[6 * self.n_cam:].reshape(-1, 6)])
        return cams, boards

    def residuals(self, x) -> np.ndarray:
        cams, boards = self.unpack(x)
        rb = Rotation.from_rotvec(boards[:, :3]).as_matrix()[self.frame]
        rc = Rotation.from_rotvec(cams[:, :3]).as_matrix()[self.cam]
        world = np.einsum("pij,pj->pi", rb, self.obj) + boards[self.frame, 3:]
        p = np.einsum("pij,pj->pi", rc, world) + cams[self.cam, 3:]
        fx, fy, cx, cy, k1, k2, p1, p2, k3 = self.lens.T
        x_, y_ = p[:, 0] / p[:, 2], p[:, 1] / p[:, 2]
        r2 = x_ * x_ + y_ * y_
        radial = 1 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x_ * radial + 2 * p1 * x_ * y_ + p2 * (r2 + 2 * x_ * x_)
        yd = y_ * radial + p1 * (r2 + 2 * y_ * y_) + 2 * p2 * x_ * y_
        return (np.stack([fx * xd + cx, fy * yd + cy], 1) - self.xy).ravel()

    def jacobian(self, x: np.ndarray, eps: float = 1e-6) -> csr_matrix:
        """The residuals' Jacobian by central differences, 24 evaluations whatever the size:
        one parameter of every camera moved at once (their rows are disjoint), then one of
        every board pose."""
        rows = np.arange(2 * len(self.cam))
        point = rows // 2
        moving = self.frame[point] > 0
        data, rr, cc = [], [], []
        for j in range(6):
            for group in ("camera", "board"):
                dx = np.zeros_like(x)
                if group == "camera":
                    dx[6 * np.arange(self.n_cam) + j] = eps
                    col, keep = 6 * self.cam[point] + j, slice(None)
                else:
                    dx[6 * self.n_cam + j::6] = eps
                    col = 6 * self.n_cam + 6 * (self.frame[point][moving] - 1) + j
                    keep = moving
                d = (self.residuals(x + dx) - self.residuals(x - dx)) / (2 * eps)
                data.append(d[keep])
                rr.append(rows[keep])
                cc.append(col)
        return coo_matrix((np.concatenate(data), (np.concatenate(rr), np.concatenate(cc))),
                          shape=(len(rows), len(x))).tocsr()

    def solve(self, x: np.ndarray, f_scale: float = 1.0, max_iter: int = 100) -> np.ndarray:
        """Levenberg-Marquardt on the Huber cost of each corner's error (``f_scale`` px),
        by reweighting. The normal equations are small (6 numbers per camera and frame)
        and solved exactly: SciPy's sparse trust region (LSMR) crawled on this problem
        (hundreds of evaluations without converging)."""
        def cost_weights(x):
            r = self.residuals(x)
            e = np.sqrt((r.reshape(-1, 2) ** 2).sum(1))
            rho = np.where(e <= f_scale, e * e, 2 * f_scale * e - f_scale ** 2)
            w = np.where(e <= f_scale, 1.0, f_scale / np.maximum(e, 1e-12))
            return float(rho.sum()), np.repeat(w, 2), r

        cost, w, r = cost_weights(x)
        lam = 1e-3
        for _ in range(max_iter):
            jac = self.jacobian(x)
            jw = jac.multiply(w[:, None]).tocsr()
            a = (jac.T @ jw).toarray()
            g = jw.T @ r
            improved = False
            while lam < 1e10:
                step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g)
                x_new = x + step
                new_cost, new_w, new_r = cost_weights(x_new)
                if new_cost < cost:
                    improved = cost - new_cost > 1e-10 * cost
                    x, w, r, cost = x_new, new_w, new_r, new_cost
                    lam = max(lam / 3, 1e-9)
                    break
                lam *= 4
            if not improved:
                break
        return x

    def view_rms(self, x) -> np.ndarray:
        """(n_obs,) RMS reprojection error per view (camera, frame), px."""
        sq = (self.residuals(x).reshape(-1, 2) ** 2).sum(1)
        return np.sqrt(np.bincount(self.view, sq, self.n_obs)
                       / np.bincount(self.view, minlength=self.n_obs))


def calibrate_extrinsics(videos: Sequence[VideoDetections], intrinsics: Sequence[Intrinsics],
                         board: Board, *, refine: bool = True,
                         max_frames: int = MAX_REFINE_FRAMES
                         ) -> tuple[Calibration, tuple[CameraReport, ...], int,
                                    dict[int, tuple[np.ndarray, np.ndarray]]]:
    """Place every camera in the world from the frames in which cameras see the board at
    the same time.

    Each pair of cameras' relative pose is the robust mean over their shared frames; the
    cameras are chained from the first, each placed from the placed camera it shares the
    most frames with; then (``refine``) every camera pose and the board's pose at each
    shared frame are solved together (intrinsics fixed; Huber loss, 1 px) to minimise the
    reprojection error of the board's corners.

    Args:
        videos: per camera, the board found through its video (same frame indices).
        intrinsics: per camera, its lens.
        board: the board.
        refine: run the joint refinement.
        max_frames: shared frames the refinement uses at most (evenly chosen).

    Returns:
        (calibration, per-camera reports, the world frame, the board's pose in the world
        at the frames used: frame -> (R, t), board -> world).

    Raises:
        InputError: a camera never saw the board at the same time as the others.
    """
    n_cam = len(videos)
    poses = [board_poses(v, board, i) for v, i in zip(videos, intrinsics, strict=True)]
    if not poses[0]:
        raise InputError(f"{videos[0].path.name}: no view of the board could be posed")
    world_frame = min(poses[0])
    cam_r: list[np.ndarray | None] = [None] * n_cam
    cam_t: list[np.ndarray | None] = [None] * n_cam
    # world = the board at world_frame: world -> camera 0 is the board's pose there
    cam_r[0], cam_t[0] = poses[0][world_frame]
    placed_from: list[str | None] = [None] * n_cam
    shared_count = [0] * n_cam
    while any(r is None for r in cam_r):
        best = None
        for b in range(n_cam):
            if cam_r[b] is not None:
                continue
            for a in range(n_cam):
                if cam_r[a] is None:
                    continue
                common = sorted(set(poses[a]) & set(poses[b]))
                if common and (best is None or len(common) > len(best[2])):
                    best = (a, b, common)
        if best is None:
            lost = [videos[b].name for b in range(n_cam) if cam_r[b] is None]
            seen = [videos[a].name for a in range(n_cam) if cam_r[a] is not None]
            raise InputError(
                f"cannot place {', '.join(lost)}: never saw the board at the same time as "
                f"{', '.join(seen)}; film the board where it and another camera both see it")
        a, b, common = best
        rel = [_compose(*poses[b][f], *_inverse(*poses[a][f])) for f in common]  # a -> b
        r_ab, t_ab, _ = _average_pose(np.stack([r for r, _ in rel]),
                                      np.stack([t for _, t in rel]))
        cam_r[b], cam_t[b] = _compose(r_ab, t_ab, cam_r[a], cam_t[a])
        placed_from[b], shared_count[b] = videos[a].name, len(common)

    # the board in the world at the frames seen by two cameras or more (plus the world's)
    count: dict[int, int] = {}
    for p in poses:
        for f in p:
            count[f] = count.get(f, 0) + 1
    shared = sorted(f for f, n in count.items() if n >= 2 and f != world_frame)
    if len(shared) > max_frames - 1:
        shared = [shared[i] for i in np.linspace(0, len(shared) - 1, max_frames - 1)
                  .round().astype(int)]
    frames = [world_frame, *shared]
    board_r, board_t = [], []
    for f in frames:
        seen = [c for c in range(n_cam) if f in poses[c]]
        c = max(seen, key=lambda c: len(videos[c].detections[f]))
        # board -> world = (world -> cam c)^-1 o (board -> cam c)
        r, t = _compose(*_inverse(cam_r[c], cam_t[c]), *poses[c][f])
        board_r.append(r)
        board_t.append(t)
    board_r[0], board_t[0] = np.eye(3), np.zeros(3)
    obs = [(c, i) for i, f in enumerate(frames) for c in range(n_cam) if f in poses[c]]
    x0 = np.concatenate(
        [np.concatenate([Rotation.from_matrix(r).as_rotvec(), t]) for r, t in
         zip(cam_r, cam_t, strict=True)]
        + [np.concatenate([Rotation.from_matrix(r).as_rotvec(), t]) for r, t in
           zip(board_r[1:], board_t[1:], strict=True)])
    lens = np.array([[i.K[0, 0], i.K[1, 1], i.K[0, 2], i.K[1, 2], *i.dist[:5]]
                     for i in intrinsics])
    x = x0
    problem = _Problem(obs, frames, videos, board, lens)
    if refine:
        x = problem.solve(x)
        # views the solution cannot explain (a wrong detection) out, and solved again
        rms = problem.view_rms(x)
        bad = rms > max(5 * float(np.median(rms)), 2.0)
        if bad.any() and not bad.all():
            obs = [o for o, b in zip(obs, bad, strict=True) if not b]
            problem = _Problem(obs, frames, videos, board, lens)
            x = problem.solve(x)
    rms = problem.view_rms(x)
    cams, boards = problem.unpack(x)
    cameras, reports = [], []
    for c, video in enumerate(videos):
        mine = np.array([o[0] == c for o in obs])
        n_pts = np.array([len(videos[o[0]].detections[frames[o[1]]]) for o in obs])
        err = (float(np.sqrt(np.sum(rms[mine] ** 2 * n_pts[mine]) / n_pts[mine].sum()))
               if mine.any() else math.nan)
        cameras.append(Camera(video.name, video.size, intrinsics[c].K, intrinsics[c].dist,
                              Rotation.from_rotvec(cams[c, :3]).as_matrix(), cams[c, 3:]))
        reports.append(CameraReport(video.name, video.frames_searched, len(video.detections),
                                    len(intrinsics[c].frames), intrinsics[c].rms_px,
                                    int(mine.sum()), err, placed_from[c], shared_count[c]))
    board_world = {f: (Rotation.from_rotvec(boards[i, :3]).as_matrix(), boards[i, 3:])
                   for i, f in enumerate(frames)}
    return Calibration(tuple(cameras)), tuple(reports), world_frame, board_world


def default_every(frame_counts: Sequence[int]) -> int:
    """Every how many frames to search so that about :data:`DEFAULT_SEARCHED_FRAMES`
    frames of the longest video are searched (1 for unknown lengths)."""
    longest = max([n for n in frame_counts if n > 0], default=0)
    return max(1, round(longest / DEFAULT_SEARCHED_FRAMES))


def calibrate_board(videos: Sequence[str | os.PathLike], board: Board, *,
                    every: int | None = None, max_views: int = DEFAULT_MAX_VIEWS,
                    refine: bool = True,
                    progress: Callable[[str, int, int], None] | None = None
                    ) -> BoardCalibration:
    """Intrinsics and extrinsics of every camera from synchronised videos of a board.

    Args:
        videos: one video per camera (frame ``f`` of each is the same instant); the
            cameras are named by the files' stems, in this order.
        board: the board shown.
        every: search every N-th frame (None: :func:`default_every`).
        max_views: views per camera for its intrinsics at most.
        refine: jointly refine every camera and board pose (intrinsics fixed).
        progress: ``progress(camera_name, frames_done, frames_total)`` while reading, then
            ``progress("solve", done, total)`` per camera calibrated.

    Raises:
        InputError: an unreadable video or one whose frame size changes, two videos with
            the same stem, a camera in which the board is never found or too few times, a
            camera that never sees the board with the others, a symmetric checkerboard
            for several cameras.
    """
    paths = [Path(v) for v in videos]
    if not paths:
        raise InputError("no video given")
    names = [p.stem for p in paths]
    for n in names:
        if names.count(n) > 1:
            raise InputError(f"two videos are named {n!r}: cameras are named by their "
                             "videos' file names, which must differ")
    if board.symmetric and len(paths) > 1:
        raise InputError(
            f"a {board.squares[0]}x{board.squares[1]} checkerboard looks the same turned by "
            "180 degrees, so cameras could disagree on its corners: use one with an odd and "
            "an even count of squares (e.g. "
            f"{board.squares[0] + 1}x{board.squares[1]}) or a ChArUco board")
    if every is None:
        counts = []
        for p in paths:
            with open_video(p, prefetch=0) as v:  # unreadable input fails before any work
                counts.append(v.info.frame_count)
        every = default_every(counts)
    found = []
    for p, name in zip(paths, names, strict=True):
        def step(done, total, name=name):
            if progress is not None:
                progress(name, done, total)
        found.append(detect_board_video(p, board, every=every, name=name, progress=step))
    for video in found:
        if not video.detections:
            raise InputError(f"no board found in {video.path.name} (searched "
                             f"{video.frames_searched} frames): check --board/--squares/"
                             "--dictionary")
    lens = []
    for i, video in enumerate(found):
        lens.append(calibrate_intrinsics(video, board, max_views=max_views))
        if progress is not None:
            progress("solve", i + 1, len(found) + 1)
    calib, reports, world_frame, boards = calibrate_extrinsics(found, lens, board,
                                                               refine=refine)
    if progress is not None:
        progress("solve", len(found) + 1, len(found) + 1)
    return BoardCalibration(calib, reports, world_frame, every, refine, boards)
