"""How the camera turns and zooms, from the background of the video.

A phone following the action pans, tilts and zooms about (nearly) one point. Between two
views of such a camera the background moves by the homography ``K_f R K_0^-1``: a rotation
``R`` seen through the two frames' intrinsics (focal length, principal point at the image
centre). :class:`CameraMotionEstimator` measures it frame by frame:

* corners (``cv2.goodFeaturesToTrack``) are found on a *keyframe*, away from every person's
  box (people move on their own), and followed frame to frame by pyramidal Lucas-Kanade
  (``cv2.calcOpticalFlowPyrLK``) on a grey copy at most :attr:`CameraMotionConfig.work_width`
  pixels wide;
* each frame, the rotation from the keyframe is fitted to the keyframe positions and the
  current ones by RANSAC over two-point rotations (:func:`mocap.geometry.rotations.kabsch`
  on the viewing rays), refined on the inliers together with the zoom (a 1-D search);
* measuring from the keyframe rather than the previous frame keeps errors from adding up
  frame after frame; a new keyframe is taken (chaining its rotation on) only when too few
  of its features are left in view or explained, so drift grows with the keyframes, not
  with the frames;
* afterwards (:meth:`CameraMotionEstimator.finish`) unreliable frames are interpolated, the
  path is smoothed lightly, and it is decided whether the camera moved at all and whether
  the background shows motion no turn explains (the camera travelling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.geometry.camera import DEFAULT_FOV_DEG, focal_px
from mocap.geometry.rotations import kabsch, matrix_to_rotvec, normalize, rotvec_to_matrix
from mocap.geometry.series import fill_nan, gaussian_smooth
from mocap.types import CameraPath

__all__ = ["CameraMotionConfig", "CameraMotionEstimator"]


@dataclass(frozen=True)
class CameraMotionConfig:
    """Settings of the camera-motion estimate (validated on construction).

    Attributes:
        fov_deg: horizontal field of view of the first frame, degrees (``--fov``).
        work_width: frames are measured on a grey copy at most this wide, px.
        max_features: corners taken on a keyframe.
        min_features: a keyframe is replaced when fewer of its corners are left explained.
        keep_share: ... or when fewer than this share of them is.
        inlier_px: a feature within this distance (px of the working copy) of where the
            model puts it is explained by it.
        person_margin: people's boxes are widened by this share on every side before the
            background is taken from outside them.
        moving_deg: the camera moved when it turned more than this (from the first frame)
            in some frame, degrees.
        moving_zoom: ... or zoomed by more than this share.
        translating_share: the camera travels when, over the frames it moved in, the model
            leaves more than ``1 - translating_inliers`` of the features unexplained in at
            least this share of frames.
        translating_inliers: see ``translating_share``.
        smooth_frames: standard deviation of the Gaussian that smooths the path, frames.
    """

    fov_deg: float = DEFAULT_FOV_DEG
    work_width: int = 480
    max_features: int = 250
    min_features: int = 40
    keep_share: float = 0.5
    inlier_px: float = 1.5
    person_margin: float = 0.15
    moving_deg: float = 1.0
    moving_zoom: float = 0.02
    translating_share: float = 0.3
    translating_inliers: float = 0.8
    smooth_frames: float = 1.0

    def __post_init__(self) -> None:
        focal_px(100, self.fov_deg)  # checks the range
        if self.work_width < 64:
            raise ValueError(f"`work_width` must be >= 64, got {self.work_width}")
        if not 4 <= self.min_features <= self.max_features:
            raise ValueError("`min_features` must be in [4, max_features], got "
                             f"{self.min_features}")
        for name in ("keep_share", "person_margin", "translating_share",
                     "translating_inliers"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}")
        for name in ("inlier_px", "moving_deg", "moving_zoom"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")


def _rays(px: np.ndarray, focal: float) -> np.ndarray:
    """(N, 2) centred pixel positions -> (N, 3) unit viewing rays (camera axes)."""
    return normalize(np.concatenate([px / focal, np.ones((len(px), 1))], axis=1))[0]


def _to_pixels(rays: np.ndarray, focal: float) -> np.ndarray:
    """(..., N, 3) rays -> (..., N, 2) centred pixel positions (NaN behind the camera)."""
    z = np.where(rays[..., 2] > 1e-6, rays[..., 2], np.nan)
    return focal * rays[..., :2] / z[..., None]


class CameraMotionEstimator:
    """Frame-by-frame rotation and zoom of the camera; call :meth:`update` on every frame
    in order, then :meth:`finish`.

    Args:
        size: (width, height) of the video, px.
        config: :class:`CameraMotionConfig`.
        seed: seeds the RANSAC sampling (results are repeatable).
    """

    def __init__(self, size: tuple[int, int], config: CameraMotionConfig | None = None,
                 seed: int = 0) -> None:
        self.config = cfg = config or CameraMotionConfig()
        w, h = size
        self.size = (int(w), int(h))
        scale = min(1.0, cfg.work_width / max(w, 1))
        self.work = (max(round(w * scale), 16), max(round(h * scale), 16))
        self.scale = self.work[0] / max(w, 1)  # what the resize does
        self.center = np.array([self.work[0] / 2.0, self.work[1] / 2.0])
        self.focal0 = focal_px(self.work[0], cfg.fov_deg)
        self._rng = np.random.default_rng(seed)
        self._prev = None  # previous grey frame
        self._key_px = np.zeros((0, 2), np.float32)  # keyframe positions (working copy px)
        self._cur_px = np.zeros((0, 2), np.float32)
        self._key_count = 0
        self._explained = 0  # keyframe features the last fit explained
        self._key_rot = np.eye(3)  # first frame -> keyframe
        self._key_zoom = 1.0
        self._last_rel = np.eye(3)  # keyframe -> previous frame (RANSAC fallback)
        self._last_zoom = 1.0
        self._rot: list[np.ndarray] = []
        self._zoom: list[float] = []
        self._residual: list[float] = []
        self._inliers: list[float] = []
        self._reliable: list[bool] = []

    # -- per frame ---------------------------------------------------------------------
    def update(self, image: np.ndarray, person_boxes: np.ndarray | None = None) -> None:
        """Measure one frame.

        Args:
            image: (H, W, 3) uint8 RGB (or (H, W) grey) frame of the video.
            person_boxes: (P, 4) x0, y0, x1, y1 px of the people in this frame (their
                features are left out).
        """
        import cv2

        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if grey.shape[1] != self.work[0]:  # one channel to shrink, not three
            grey = cv2.resize(grey, self.work, interpolation=cv2.INTER_LINEAR)
        boxes = self._work_boxes(person_boxes)
        if self._prev is None:
            self._new_keyframe(grey, boxes, np.eye(3), 1.0)
            self._record(np.eye(3), 1.0, np.nan, np.nan, True)
            self._prev = grey
            return
        rot, zoom, residual, share, ok = self._measure(grey, boxes)
        self._record(rot, zoom, residual, share, ok)
        if not ok or self._explained < max(self.config.min_features,
                                           self.config.keep_share * self._key_count):
            self._new_keyframe(grey, boxes, rot, zoom)
        self._prev = grey

    def _work_boxes(self, boxes) -> np.ndarray:
        if boxes is None or not len(boxes):
            return np.zeros((0, 4))
        b = np.asarray(boxes, np.float64).reshape(-1, 4) * self.scale
        m = self.config.person_margin
        wh = (b[:, 2:] - b[:, :2]) * m
        return np.concatenate([b[:, :2] - wh, b[:, 2:] + wh], axis=1)

    @staticmethod
    def _outside(px: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if not len(boxes) or not len(px):
            return np.ones(len(px), bool)
        x, y = px[:, 0, None], px[:, 1, None]
        inside = (x >= boxes[:, 0]) & (x <= boxes[:, 2]) & (y >= boxes[:, 1]) & \
            (y <= boxes[:, 3])
        return ~inside.any(axis=1)

    def _new_keyframe(self, grey, boxes, rot, zoom) -> None:
        import cv2

        cfg = self.config
        mask = np.full(grey.shape, 255, np.uint8)
        for x0, y0, x1, y1 in np.round(boxes).astype(int):
            mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = 0
        pts = cv2.goodFeaturesToTrack(grey, cfg.max_features, 0.01, 8, mask=mask,
                                      blockSize=7)
        pts = np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2)
        self._key_px, self._cur_px = pts.copy(), pts.copy()
        self._key_count = self._explained = len(pts)
        self._key_rot, self._key_zoom = rot, zoom
        self._last_rel, self._last_zoom = np.eye(3), 1.0

    def _measure(self, grey, boxes):
        """(rotation first frame -> this frame, zoom, residual px of the video, inlier share,
        reliable); follows the keyframe's features into ``grey``."""
        import cv2

        cfg = self.config
        hold = (self._rot[-1], self._zoom[-1], np.nan, np.nan, False)
        if len(self._cur_px) < 4:
            return hold
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(
            self._prev, grey, self._cur_px.reshape(-1, 1, 2), None, winSize=(15, 15),
            maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        nxt = nxt.reshape(-1, 2)
        w, h = self.work
        keep = (status.reshape(-1) == 1) & np.isfinite(nxt).all(axis=1) & \
            (nxt[:, 0] >= 0) & (nxt[:, 0] < w) & (nxt[:, 1] >= 0) & (nxt[:, 1] < h) & \
            self._outside(nxt, boxes)
        key, cur = self._key_px[keep], nxt[keep]
        self._key_px, self._cur_px = key, cur
        if len(key) < cfg.min_features // 2 or len(key) < 4:
            return hold
        fit = self._fit(key - self.center, cur - self.center)
        if fit is None:
            return hold
        rel, zoom_rel, inliers, residual = fit
        # the features the model does not explain are kept: their share tells a camera that
        # travels (parallax) from one that turns; a new keyframe comes when it grows
        self._explained = int(inliers.sum())
        share = float(inliers.mean())
        self._last_rel, self._last_zoom = rel, zoom_rel
        ok = inliers.sum() >= cfg.min_features // 2
        return (rel @ self._key_rot, zoom_rel * self._key_zoom, residual / self.scale, share,
                bool(ok))

    def _fit(self, key: np.ndarray, cur: np.ndarray):
        """RANSAC over two-feature rotations, then the zoom and a least-squares rotation on
        the inliers: (rotation keyframe -> frame, zoom keyframe -> frame, inlier mask,
        median inlier residual px of the working copy), or None."""
        cfg = self.config
        f_key = self.focal0 * self._key_zoom
        a = _rays(key, f_key)
        n = len(a)

        def model(zoom: float, mask: np.ndarray):
            b = _rays(cur, f_key * zoom)
            rot = kabsch(a[mask], b[mask])
            err = np.linalg.norm(_to_pixels(a @ rot.T, f_key * zoom) - cur, axis=1)
            return rot, np.nan_to_num(err, nan=np.inf)

        zoom = self._last_zoom
        b = _rays(cur, f_key * zoom)
        pairs = self._rng.integers(0, n, size=(64, 2))
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        hyp = kabsch(a[pairs], b[pairs])  # (H, 3, 3)
        hyp = np.concatenate([hyp, self._last_rel[None]], axis=0)  # the previous frame's
        pred = _to_pixels(np.matmul(a, np.swapaxes(hyp, 1, 2)), f_key * zoom)
        err = np.nan_to_num(np.linalg.norm(pred - cur[None], axis=2), nan=np.inf)
        best = int(np.argmax((err < cfg.inlier_px).sum(axis=1)))
        inliers = err[best] < cfg.inlier_px
        if inliers.sum() < 4:
            return None
        # rotation and zoom in turn on the inliers: the rotation by Kabsch for the current
        # zoom, then the zoom that best scales the rotated rays onto the features (closed
        # form); a few rounds settle both
        for _ in range(3):
            rot = model(zoom, inliers)[0]
            q = _to_pixels(a[inliers] @ rot.T, f_key)
            ok = np.isfinite(q).all(axis=1)
            if ok.sum() >= 4:
                zoom = float(np.clip(np.sum(q[ok] * cur[inliers][ok]) / np.sum(q[ok] ** 2),
                                     0.5 * zoom, 2.0 * zoom))
        rot, err = model(zoom, inliers)
        inliers = err < cfg.inlier_px
        if inliers.sum() < 4:
            return None
        rot, err = model(zoom, inliers)
        return rot, zoom, inliers, float(np.median(err[inliers]))

    def _record(self, rot, zoom, residual, share, ok) -> None:
        self._rot.append(rot)
        self._zoom.append(float(zoom))
        self._residual.append(float(residual))
        self._inliers.append(float(share))
        self._reliable.append(bool(ok))

    # -- the whole video ---------------------------------------------------------------
    def finish(self) -> CameraPath:
        """The :class:`~mocap.types.CameraPath` over every frame given to :meth:`update`."""
        cfg = self.config
        f = len(self._rot)
        if f == 0:
            return CameraPath.still(0)
        reliable = np.array(self._reliable, bool)
        rv = matrix_to_rotvec(np.stack(self._rot))
        log_zoom = np.log(np.array(self._zoom))
        rv[~reliable], log_zoom[~reliable] = np.nan, np.nan
        rv[0], log_zoom[0] = 0.0, 0.0
        rv, log_zoom = fill_nan(rv), fill_nan(log_zoom)
        rv, log_zoom = gaussian_smooth(rv, cfg.smooth_frames), gaussian_smooth(log_zoom,
                                                                    cfg.smooth_frames)
        rv -= rv[0]
        log_zoom -= log_zoom[0]
        rot = rotvec_to_matrix(rv)
        zoom = np.exp(log_zoom)
        angle = np.degrees(np.linalg.norm(rv, axis=1))
        moving = bool((angle > cfg.moving_deg).any()
                      or (np.abs(zoom - 1) > cfg.moving_zoom).any())
        share = np.array(self._inliers)
        measured = np.isfinite(share)
        unexplained = measured & (share < cfg.translating_inliers)
        translating = bool(moving and measured.any()
                           and unexplained.sum() >= cfg.translating_share * measured.sum())
        return CameraPath(rot, zoom, np.array(self._residual), share, reliable, moving,
                          translating)
