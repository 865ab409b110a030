"""How the camera turns and zooms, and its focal length, from the background of the video.

A phone following the action pans, tilts and zooms about (nearly) one point. Between two
views of such a camera the background moves by the homography ``K_f R K_0^-1``: a rotation
``R`` seen through the two frames' intrinsics (focal length, principal point at the image
centre). :class:`CameraMotionEstimator` measures it in two passes:

* while the video plays (:meth:`~CameraMotionEstimator.update`), corners
  (``cv2.goodFeaturesToTrack``) are found on a *keyframe*, away from every person's box
  (people move on their own), from burned-in overlays (:mod:`.camera_overlay`) and from
  letterbox bars, and followed frame to frame by pyramidal Lucas-Kanade on a grey copy at
  most :attr:`CameraMotionConfig.work_width` pixels wide; each frame, a homography from the
  keyframe sorts the features that move with the background from the rest (it does so at
  any focal length) and the positions are kept; a new keyframe is taken only when too few
  of its features are left in view or explained, so drift grows with the keyframes, not
  with the frames; a cheap check comes first: where nearly every feature is still where
  the keyframe had it, the camera is still (no homography is sought), and while it stays
  still only every :attr:`CameraMotionConfig.still_stride`-th frame is measured (the
  frames between are interpolated), so a camera on a tripod costs a fraction of a moving
  one;
* afterwards (:meth:`~CameraMotionEstimator.finish`), the focal length is found from the
  turning (:func:`.camera_focal.self_calibrate`, unless it was given), the rotation and zoom
  of every frame from its keyframe are fitted at that focal length (Kabsch on the viewing
  rays, the zoom in closed form) and chained over the keyframes, unreliable frames are
  interpolated, the path is smoothed lightly, and it is decided whether the camera moved at
  all and whether the background shows motion no turn explains (the camera travelling).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.geometry.camera import DEFAULT_FOV_DEG, focal_px
from mocap.geometry.rotations import matrix_to_rotvec, rotvec_to_matrix
from mocap.geometry.series import fill_nan, gaussian_smooth
from mocap.perception.camera_fit import fit_homography, fit_rotation_zoom, rotation_errors
from mocap.perception.camera_focal import FocalPair, TurnFocal, self_calibrate
from mocap.perception.camera_overlay import OverlayMask, border_bars
from mocap.types import CameraPath

__all__ = ["CameraMotionConfig", "CameraMotionEstimator"]


@dataclass(frozen=True)
class CameraMotionConfig:
    """Settings of the camera-motion estimate (validated on construction).

    Attributes:
        fov_deg: horizontal field of view of the first frame, degrees (``--fov``): the
            focal length used where it is neither given nor found from the turning.
        focal_px: the first frame's focal length, px of the video, when known (it is then
            used and not estimated); None: estimated from the turning where it can be.
        self_calibrate: estimate the focal length from the turning (else ``fov_deg``).
        min_turn_deg: the focal length is estimated only if the camera turned this much
            (from the first frame) somewhere, degrees.
        focal_rel_std: ... and only if its standard deviation is under this share of it.
        work_width: frames are measured on a grey copy at most this wide, px.
        max_features: corners taken on a keyframe.
        min_features: a keyframe is replaced when fewer of its corners are left explained.
        keep_share: ... or when fewer than this share of them is.
        inlier_px: a feature within this distance (px of the working copy) of where the
            model puts it is explained by it.
        person_margin: people's boxes are widened by this share on every side before the
            background is taken from outside them.
        max_person_cover: where the widened boxes cover more than this share of a frame (a
            telephoto close-up: a person's region can be wider than the picture), they
            leave too little to measure: features are then taken everywhere, the
            homography is sought among those beside the people's own (unwidened) boxes
            first, and the features inside the boxes do not count towards the camera
            travelling (a person walking is no parallax).
        coast_frames: a frame the background could not be measured in continues the last
            measured frame-to-frame turn and zoom (from two measured frames in a row), for
            at most this many unmeasured frames since such a pair (then the camera is
            held); a keyframe taken meanwhile starts from there.
        overlay_votes: a place where features stayed put while the background moved in this
            many frames is a burned-in overlay (left out from then on).
        moving_deg: the camera moved when it turned more than this (from the first frame)
            in some frame, degrees.
        moving_zoom: ... or zoomed by more than this share.
        translating_share: the camera travels when, over the frames measured, the model
            leaves more than ``1 - translating_inliers`` of the background features
            unexplained in at least this share of frames. A frame is measured when at least
            ``min_features // 2`` features outside the people were followed into it; one
            that rests on fewer than ``min_features`` counts as that share of a frame.
        translating_inliers: see ``translating_share``.
        translating_min_frames: ... and only when at least this many frames were measured
            (counted as in ``translating_share``): in a telephoto close-up the people cover
            the view but in the few frames where the tracker lost them, and the person
            walking there is no sign of a travelling camera.
        translating_min_measured: ... and at least this share of the video's frames.
        smooth_frames: standard deviation of the Gaussian that smooths the path, frames.
        still_share: a frame is still when at least this share of its followed features
            (and at least ``min_features // 2``) lies within ``inlier_px`` of where its
            keyframe had them: no homography is sought (the identity explains them).
        still_stride: while the camera is still, only every this-many-th frame is
            measured; the frames between take the path interpolated from their measured
            neighbours, and the last measured frame's residual and explained share
            (1: every frame).
    """

    fov_deg: float = DEFAULT_FOV_DEG
    focal_px: float | None = None
    self_calibrate: bool = True
    min_turn_deg: float = 3.0
    focal_rel_std: float = 0.15
    work_width: int = 480
    max_features: int = 250
    min_features: int = 40
    keep_share: float = 0.5
    inlier_px: float = 1.5
    person_margin: float = 0.15
    max_person_cover: float = 0.6
    coast_frames: int = 10
    overlay_votes: int = 3
    moving_deg: float = 1.0
    moving_zoom: float = 0.02
    translating_share: float = 0.3
    translating_inliers: float = 0.8
    translating_min_frames: int = 10
    translating_min_measured: float = 0.2
    smooth_frames: float = 1.0
    still_share: float = 0.9
    still_stride: int = 5

    def __post_init__(self) -> None:
        focal_px(100, self.fov_deg)  # checks the range
        if self.focal_px is not None and not self.focal_px > 0:
            raise ValueError(f"`focal_px` must be > 0, got {self.focal_px}")
        if self.work_width < 64:
            raise ValueError(f"`work_width` must be >= 64, got {self.work_width}")
        if not 4 <= self.min_features <= self.max_features:
            raise ValueError("`min_features` must be in [4, max_features], got "
                             f"{self.min_features}")
        if self.translating_min_frames < 1:
            raise ValueError("`translating_min_frames` must be >= 1, got "
                             f"{self.translating_min_frames}")
        if self.coast_frames < 0:
            raise ValueError(f"`coast_frames` must be >= 0, got {self.coast_frames}")
        if self.still_stride < 1:
            raise ValueError(f"`still_stride` must be >= 1, got {self.still_stride}")
        if self.overlay_votes < 1:
            raise ValueError(f"`overlay_votes` must be >= 1, got {self.overlay_votes}")
        for name in ("keep_share", "person_margin", "max_person_cover", "translating_share",
                     "translating_inliers", "translating_min_measured", "still_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}")
        for name in ("inlier_px", "moving_deg", "moving_zoom", "min_turn_deg",
                     "focal_rel_std"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")


@dataclass
class _Frame:
    """One frame's measurement against its keyframe (working-copy px, centred)."""

    key: int  # the keyframe's number
    idx: np.ndarray  # (N,) the keyframe features still followed
    cur: np.ndarray  # (N, 2) float32 where they are now
    inliers: np.ndarray | None  # (N,) bool moving with the background; None: not measured
    shift: float  # median distance moved from the keyframe (NaN: under 3 features)
    person: np.ndarray | None = None  # (N,) bool inside a person's box not left out
    skipped: bool = False  # not measured (the camera was still): interpolated


@dataclass
class _Solution:
    rot: np.ndarray  # (F, 3, 3) first frame -> frame
    zoom: np.ndarray  # (F,)
    rel_zoom: np.ndarray  # (F,) zoom from the frame's keyframe
    key_zoom: np.ndarray  # (K,)
    residual: np.ndarray  # (F,) px of the working copy
    share: np.ndarray  # (F,) explained share of the background features (NaN: too few)
    support: np.ndarray  # (F,) background features ``share`` rests on
    ok: np.ndarray  # (F,) bool


class CameraMotionEstimator:
    """Frame-by-frame rotation and zoom of the camera and its focal length; call
    :meth:`update` on every frame in order, then :meth:`finish`.

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
        # the first frame's focal length in working px where nothing better is known
        self.focal0 = (cfg.focal_px * self.scale if cfg.focal_px is not None
                       else focal_px(self.work[0], cfg.fov_deg))
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self.overlay = OverlayMask(self.work, votes=cfg.overlay_votes)
        self._prev = None  # previous grey frame
        self._keys: list[np.ndarray] = []  # (N, 2) keyframe features, centred
        self._anchor: list[int] = []  # the frame each keyframe was taken at
        self._idx = np.zeros(0, int)
        self._cur_px = np.zeros((0, 2), np.float32)  # followed features, working px
        self._explained = 0
        self._frames: list[_Frame] = []
        self._still = False  # the last measured frame was still (see ``still_share``)
        self._measured = 0  # the last measured frame

    # -- per frame ---------------------------------------------------------------------
    def update(self, image: np.ndarray, person_boxes: np.ndarray | None = None) -> None:
        """Measure one frame.

        Args:
            image: (H, W, 3) uint8 RGB (or (H, W) grey) frame of the video.
            person_boxes: (P, 4) x0, y0, x1, y1 px of the people in this frame (their
                features are left out).
        """
        import cv2

        cfg = self.config
        t = len(self._frames)
        if self._still and t - self._measured < cfg.still_stride:
            self._frames.append(_Frame(len(self._keys) - 1, self._idx[:0],
                                       np.zeros((0, 2), np.float32), None, np.nan,
                                       skipped=True))
            return
        self._measured = t
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        if grey.shape[1] != self.work[0]:  # one channel to shrink, not three
            grey = cv2.resize(grey, self.work, interpolation=cv2.INTER_LINEAR)
        boxes = self._work_boxes(person_boxes, cfg.person_margin)
        people = np.zeros((0, 4))
        if self._cover(boxes) > cfg.max_person_cover:
            # a close-up: features everywhere, those beside the people (not widened)
            # preferred by the homography
            boxes, people = people, self._work_boxes(person_boxes, 0.0)
        if self._prev is None:
            self._new_keyframe(grey, boxes, t)
            self._frames.append(_Frame(0, self._idx.copy(), self._keys[0].copy(),
                                       np.ones(len(self._idx), bool), 0.0))
            self._prev = grey
            return
        frame = self._measure(grey, boxes, people)
        self._frames.append(frame)
        ok = frame.inliers is not None and self._explained >= cfg.min_features // 2
        if not ok or self._explained < max(cfg.min_features,
                                           cfg.keep_share * len(self._keys[-1])):
            self._new_keyframe(grey, boxes, t)
        self._prev = grey

    def _work_boxes(self, boxes, m: float) -> np.ndarray:
        """``boxes`` in working px, widened by ``m`` of their size on every side."""
        if boxes is None or not len(boxes):
            return np.zeros((0, 4))
        b = np.asarray(boxes, np.float64).reshape(-1, 4) * self.scale
        wh = (b[:, 2:] - b[:, :2]) * m
        return np.concatenate([b[:, :2] - wh, b[:, 2:] + wh], axis=1)

    def _cover(self, boxes: np.ndarray) -> float:
        """The share of the working frame inside ``boxes`` (working px)."""
        if not len(boxes):
            return 0.0
        w, h = self.work
        inside = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in np.round(boxes).astype(int):
            inside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
        return float(inside.mean())

    @staticmethod
    def _outside(px: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if not len(boxes) or not len(px):
            return np.ones(len(px), bool)
        x, y = px[:, 0, None], px[:, 1, None]
        inside = (x >= boxes[:, 0]) & (x <= boxes[:, 2]) & (y >= boxes[:, 1]) & \
            (y <= boxes[:, 3])
        return ~inside.any(axis=1)

    def _new_keyframe(self, grey, boxes, frame: int) -> None:
        import cv2

        cfg = self.config
        mask = ~(border_bars(grey) | self.overlay.image_mask())
        for x0, y0, x1, y1 in np.round(boxes).astype(int):
            mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = False
        pts = cv2.goodFeaturesToTrack(grey, cfg.max_features, 0.01, 8,
                                      mask=mask.astype(np.uint8) * 255, blockSize=7)
        pts = np.zeros((0, 2), np.float32) if pts is None else pts.reshape(-1, 2)
        self._keys.append((pts - self.center).astype(np.float32))
        self._anchor.append(frame)
        self._idx = np.arange(len(pts))
        self._cur_px = pts.copy()
        self._explained = len(pts)

    def _measure(self, grey, boxes, people) -> _Frame:
        """Follows the keyframe's features into ``grey`` and sorts them by a homography;
        features inside ``boxes`` are dropped, those inside ``people`` marked."""
        import cv2

        cfg = self.config
        key_id = len(self._keys) - 1
        self._still = False
        if len(self._cur_px) < 4:
            self._explained = 0
            return _Frame(key_id, self._idx[:0], np.zeros((0, 2), np.float32), None, np.nan)
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(
            self._prev, grey, self._cur_px.reshape(-1, 1, 2), None, winSize=(15, 15),
            maxLevel=3, criteria=(cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03))
        nxt = nxt.reshape(-1, 2)
        w, h = self.work
        keep = (status.reshape(-1) == 1) & np.isfinite(nxt).all(axis=1) & \
            (nxt[:, 0] >= 0) & (nxt[:, 0] < w) & (nxt[:, 1] >= 0) & (nxt[:, 1] < h) & \
            self._outside(nxt, boxes) & ~self.overlay.covers(nxt)
        self._idx, self._cur_px = self._idx[keep], nxt[keep]
        key = self._keys[key_id][self._idx]
        cur = (self._cur_px - self.center).astype(np.float32)
        moved = np.linalg.norm(cur - key, axis=1)
        person = ~self._outside(self._cur_px, people) if len(people) else None
        shift = float(np.median(moved)) if len(key) >= 3 else np.nan
        enough = len(key) >= max(cfg.min_features // 2, 8)
        stay = moved < cfg.inlier_px
        if enough and stay.mean() >= cfg.still_share:  # the cheap check: a still camera
            self._still = True
            fit = np.eye(3), stay
        else:
            fit = (fit_homography(key.astype(np.float64), cur.astype(np.float64), self._rng,
                                  cfg.inlier_px, prefer=None if person is None else ~person)
                   if enough else None)
        if fit is None:
            self._explained = 0
            return _Frame(key_id, self._idx.copy(), cur, None, shift, person)
        hom, inliers = fit
        self._explained = int(inliers.sum())
        # an overlay: a feature that stayed put where the background should have moved
        p = np.concatenate([key, np.ones((len(key), 1))], axis=1) @ hom.T
        expected = np.linalg.norm(p[:, :2] / p[:, 2:] - key, axis=1)
        self.overlay.vote(self._cur_px, ~inliers & (moved < 0.5) & (expected > 2.0))
        return _Frame(key_id, self._idx.copy(), cur, inliers, shift, person)

    # -- the whole video ---------------------------------------------------------------
    def _solve(self, focal: float) -> _Solution:
        """Every frame's rotation and zoom at the first frame's focal length ``focal``
        (working px), chained over the keyframes."""
        cfg = self.config
        n = len(self._frames)
        rot, zoom, rel_zoom = np.tile(np.eye(3), (n, 1, 1)), np.ones(n), np.ones(n)
        residual, share, ok = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)
        support = np.zeros(n, int)
        ok[0] = True
        key_rot, key_zoom = [np.eye(3)], [1.0]
        step_rot, step_zoom, coasted = np.eye(3), 1.0, 0
        for t in range(1, n):
            fr = self._frames[t]
            if fr.skipped:  # held here (interpolated by finish()); it stands for a still
                # frame like the last measured one, whose numbers it takes
                rot[t], zoom[t], rel_zoom[t], ok[t] = rot[t - 1], zoom[t - 1], \
                    rel_zoom[t - 1], ok[t - 1]
                residual[t], share[t], support[t] = residual[t - 1], share[t - 1], \
                    support[t - 1]
                continue
            # where not measured: the last measured frame-to-frame motion goes on for a
            # while (a pan does not stop because the background was hidden; a keyframe
            # taken meanwhile then starts where the camera is), then the camera is held
            if coasted < cfg.coast_frames:
                rot[t], zoom[t] = step_rot @ rot[t - 1], step_zoom * zoom[t - 1]
            else:
                rot[t], zoom[t] = rot[t - 1], zoom[t - 1]
            if fr.inliers is not None and fr.key < len(key_rot):
                a = self._keys[fr.key][fr.idx].astype(np.float64)
                b = fr.cur.astype(np.float64)
                fk = focal * key_zoom[fr.key]
                rel, z = fit_rotation_zoom(a[fr.inliers], b[fr.inliers], fk)
                err = rotation_errors(a, b, rel, z, fk)
                inl = err < cfg.inlier_px
                if inl.sum() >= 4:
                    rel, z = fit_rotation_zoom(a[inl], b[inl], fk, z)
                    err = rotation_errors(a, b, rel, z, fk)
                    inl = err < cfg.inlier_px
                if inl.any():
                    # the features the model does not explain are kept: their share tells
                    # a camera that travels (parallax) from one that turns; those on people
                    # (where their boxes could not be left out) move on their own
                    bg = np.ones(len(inl), bool) if fr.person is None else ~fr.person
                    residual[t] = np.median(err[inl])
                    if bg.sum() >= cfg.min_features // 2:
                        share[t], support[t] = inl[bg].mean(), bg.sum()
                    ok[t] = inl.sum() >= cfg.min_features // 2
                    rot[t], zoom[t], rel_zoom[t] = rel @ key_rot[fr.key], z * key_zoom[fr.key], z
            if ok[t] and ok[t - 1] and not self._frames[t - 1].skipped:
                # (a step from the frame before: not the motion over skipped frames)
                step_rot, step_zoom, coasted = rot[t] @ rot[t - 1].T, zoom[t] / zoom[t - 1], 0
            elif not ok[t]:
                coasted += 1
            if len(key_rot) < len(self._anchor) and self._anchor[len(key_rot)] == t:
                key_rot.append(rot[t])
                key_zoom.append(zoom[t])
        return _Solution(rot, zoom, rel_zoom, np.array(key_zoom), residual, share, support,
                         ok)

    def _pairs(self, sol: _Solution, most: int = 40, features: int = 120) -> list[FocalPair]:
        """Pairs of frames (keyframe, frame) for the focal search: per keyframe the frames
        that moved at least half as far as its farthest, a few, the farthest overall."""
        rng = np.random.default_rng(self._seed)
        cand: dict[int, list[tuple[float, int]]] = {}
        for t, fr in enumerate(self._frames[1:], start=1):
            if fr.inliers is None or fr.inliers.sum() < 8 or not np.isfinite(fr.shift):
                continue
            cand.setdefault(fr.key, []).append((fr.shift, t))
        chosen = []
        for items in cand.values():
            top = max(s for s, _ in items)
            far = [it for it in items if it[0] >= 0.5 * top and it[0] >= 2.0]
            far.sort(key=lambda it: it[1])
            chosen += [far[i] for i in np.unique(np.linspace(0, len(far) - 1, 3).round()
                                                  .astype(int))] if far else []
        chosen.sort(reverse=True)
        out = []
        for _, t in chosen[:most]:
            fr = self._frames[t]
            a = self._keys[fr.key][fr.idx][fr.inliers].astype(np.float64)
            b = fr.cur[fr.inliers].astype(np.float64)
            if len(a) > features:
                pick = rng.choice(len(a), features, replace=False)
                a, b = a[pick], b[pick]
            out.append(FocalPair(a, b, float(sol.key_zoom[fr.key]), float(sol.rel_zoom[t]),
                                 fr.key))
        return out

    def _drop_overlays(self) -> None:
        """Leaves out the features on overlays found after their keyframe was taken."""
        for fr in self._frames:
            if not len(fr.idx):
                continue
            keep = ~self.overlay.covers(self._keys[fr.key][fr.idx] + self.center)
            if not keep.all():
                fr.idx, fr.cur = fr.idx[keep], fr.cur[keep]
                if fr.person is not None:
                    fr.person = fr.person[keep]
                if fr.inliers is not None:
                    fr.inliers = fr.inliers[keep]
                    if fr.inliers.sum() < 8:
                        fr.inliers = None

    def estimate_focal(self) -> tuple[TurnFocal | None, _Solution]:
        """The first frame's focal length from the turning (working px; None: cannot
        tell, or not to be estimated) and the solution at the focal length used."""
        cfg = self.config
        sol = self._solve(self.focal0)
        if cfg.focal_px is not None or not cfg.self_calibrate:
            return None, sol
        est = None
        for _ in range(2):  # the keyframes' zooms depend a little on the focal length
            found = self_calibrate(self._pairs(sol), self.work[0],
                                   max_rel_std=cfg.focal_rel_std, seed=self._seed)
            if found is None:
                break
            est, sol = found, self._solve(found.focal)
            if np.abs(np.log(sol.zoom)).max() < np.log1p(cfg.moving_zoom):
                break  # no zoom to carry along
        if est is None:
            return None, sol  # the solution at the assumed focal length
        turn = np.degrees(np.linalg.norm(matrix_to_rotvec(sol.rot), axis=1)).max()
        if turn < cfg.min_turn_deg:  # too little turn to tell a focal length by
            return None, self._solve(self.focal0)
        return est, sol

    def _travels(self, sol: _Solution) -> bool:
        """Whether the background shows motion no turn or zoom explains in enough of the
        frames measured, and enough were measured to tell (``translating_*`` settings)."""
        cfg = self.config
        measured = np.isfinite(sol.share)
        # a frame whose share rests on few features is a weaker witness (one feature more or
        # less moves it by several %): it counts as part of a frame
        weight = np.where(measured, np.minimum(sol.support / cfg.min_features, 1.0), 0.0)
        evidence = weight.sum()
        if evidence < max(cfg.translating_min_frames,
                          cfg.translating_min_measured * len(sol.share)):
            return False  # too few frames show background to call the camera travelling
        low = weight[measured & (sol.share < cfg.translating_inliers)].sum()
        return bool(low >= cfg.translating_share * evidence)

    def finish(self) -> CameraPath:
        """The :class:`~mocap.types.CameraPath` over every frame given to :meth:`update`."""
        cfg = self.config
        f = len(self._frames)
        if f == 0:
            return CameraPath.still(0)
        self._drop_overlays()
        est, sol = self.estimate_focal()
        focal = est.focal if est is not None else self.focal0
        reliable = sol.ok
        rv = matrix_to_rotvec(sol.rot)
        log_zoom = np.log(sol.zoom)
        skipped = np.array([fr.skipped for fr in self._frames])
        rv[~reliable | skipped], log_zoom[~reliable | skipped] = np.nan, np.nan
        rv[0], log_zoom[0] = 0.0, 0.0
        rv, log_zoom = fill_nan(rv), fill_nan(log_zoom)
        rv, log_zoom = gaussian_smooth(rv, cfg.smooth_frames), gaussian_smooth(log_zoom,
                                                                    cfg.smooth_frames)
        rv -= rv[0]
        log_zoom -= log_zoom[0]
        rot = rotvec_to_matrix(rv)
        zoom = np.exp(log_zoom)
        angle = np.degrees(np.linalg.norm(rv, axis=1))
        # only measured motion counts: a few features drifting on a plain wall are no sign
        moving = bool((angle > cfg.moving_deg).any()
                      or (np.abs(zoom - 1) > cfg.moving_zoom).any())
        translating = moving and self._travels(sol)
        return CameraPath(
            rot, zoom, sol.residual / self.scale, sol.share, reliable, moving, translating,
            focal_px=None if est is None else est.focal / self.scale,
            focal_std_px=None if est is None else est.std / self.scale,
            focal_source=None if est is None else "rotation",
            fitted_focal_px=focal / self.scale)
