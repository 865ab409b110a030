"""Multi-person tracking: give each person in a stream of :class:`~mocap.types.Poses2D` a
stable identity.

One constant-velocity Kalman filter (:class:`BoxFilter`, filterpy's arithmetic) per person
predicts the person's box ``(cx, cy, w, h)`` in the next frame. Observations are assigned to
predictions with the Hungarian method (``scipy.optimize.linear_sum_assignment``) in two stages:

1. tracks seen in the previous frame, on a cost ``1 - (w·IoU + (1-w)·OKS)`` that combines the
   box overlap and the keypoint similarity of the predicted pose;
2. tracks missing for a while (occlusion) and the still-unmatched observations, on the
   distance between the box centres (predicted or last seen, whichever is nearer) in
   person heights, with a gate that widens with the gap as far as a person can move: a
   person who reappears keeps the same id.

A new observation starts a *tentative* track; it is confirmed (born) after ``min_hits``
consecutive matches and dies if missed before that, so flickering false positives never
become people. A confirmed track dies after ``max_age`` frames without a match.

Identities: confirmed tracks have ids 1, 2, 3, ... in order of birth. A tentative track's
poses carry a provisional id <= -2 (so callers can buffer them); once it is confirmed,
:attr:`PoseTracker.resolved` maps the provisional id to the final one. -1 means "no track"
(e.g. over the ``max_people`` cap).

Joints whose visibility is below ``min_confidence`` are missing for boxes and OKS: they are
never treated as (0, 0).
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from mocap.geometry.boxes import box_iou, cxcywh_to_corners
from mocap.types import Poses2D

__all__ = [
    "PoseTracker",
    "TrackState",
    "TrackerConfig",
    "min_cost_assignment",
    "oks",
    "pose_boxes",
]

# Per-joint OKS falloff for the 33 BlazePose landmarks: COCO's sigmas where the joint exists,
# face points like the eyes, hands/feet like wrists/ankles.
_COCO_SIGMA = {0: 0.026, 2: 0.025, 5: 0.025, 7: 0.035, 8: 0.035, 11: 0.079, 12: 0.079,
               13: 0.072, 14: 0.072, 15: 0.062, 16: 0.062, 23: 0.107, 24: 0.107, 25: 0.087,
               26: 0.087, 27: 0.089, 28: 0.089}
OKS_SIGMAS = np.array([_COCO_SIGMA.get(i, 0.025 if i <= 10 else (0.062 if i <= 22 else 0.089))
                       for i in range(33)])


@dataclass(frozen=True)
class TrackerConfig:
    """Tracker parameters (validated on construction).

    Attributes:
        min_hits: consecutive matches before a tentative track is confirmed (born).
        max_age: frames a confirmed track survives without a match before it dies; the
            longest occlusion after which a person keeps their id.
        iou_weight: weight of box IoU against OKS in the stage-1 cost, in [0, 1].
        max_cost: stage-1 pairs with a cost above this are not matched, in (0, 1].
        reid_distance: stage-2 gate: max distance between the predicted box centre and
            an observed one, in person heights, right after the loss.
        reid_speed: the gate grows by this many person heights per frame of the gap (how
            far a hidden person may have moved: 0.08 ≈ 2.4 heights/s at 30 fps, a run).
        reid_size_ratio: stage-2 gate: max ratio between observed and predicted box height.
        min_confidence: joint visibility under which a joint is missing.
        max_people: cap on live tracks (tentative + confirmed); None: no cap.
        fix_left_right: a pose whose left and right limbs fit the person's previous frame
            far better swapped (a common mistake on people seen from behind) is swapped
            back (:meth:`mocap.types.Poses2D.mirrored`).
    """

    min_hits: int = 3
    max_age: int = 45
    iou_weight: float = 0.5
    max_cost: float = 0.85
    reid_distance: float = 0.6
    reid_speed: float = 0.08
    reid_size_ratio: float = 1.6
    min_confidence: float = 0.5
    max_people: int | None = None
    fix_left_right: bool = True

    def __post_init__(self) -> None:
        if self.min_hits < 1:
            raise ValueError(f"`min_hits` must be >= 1, got {self.min_hits}")
        if self.max_age < 1:
            raise ValueError(f"`max_age` must be >= 1, got {self.max_age}")
        if not 0 <= self.iou_weight <= 1:
            raise ValueError(f"`iou_weight` must be in [0, 1], got {self.iou_weight}")
        if not 0 < self.max_cost <= 1:
            raise ValueError(f"`max_cost` must be in (0, 1], got {self.max_cost}")
        if not self.reid_distance > 0 or not self.reid_size_ratio >= 1 \
                or not self.reid_speed >= 0:
            raise ValueError("`reid_distance` must be > 0, `reid_speed` >= 0 and "
                             "`reid_size_ratio` >= 1")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"`min_confidence` must be in [0, 1], got {self.min_confidence}")
        if self.max_people is not None and self.max_people < 1:
            raise ValueError(f"`max_people` must be >= 1, got {self.max_people}")


# --------------------------------------------------------------------------------------
# geometry (vectorised)
# --------------------------------------------------------------------------------------
def pose_boxes(poses: Poses2D, min_confidence: float = 0.5) -> np.ndarray:
    """Boxes around each pose's confident joints.

    Args:
        poses: N poses.
        min_confidence: visibility under which a joint is ignored.

    Returns:
        (N, 4) float64 ``cx, cy, w, h`` px. A pose with fewer than 2 confident joints uses
        its region of interest (``roi`` centre and size) instead.
    """
    n = len(poses)
    out = np.zeros((n, 4))
    if n == 0:
        return out
    ok = poses.visibility >= min_confidence
    xy = poses.xy.astype(np.float64)
    lo = np.where(ok[..., None], xy, np.inf).min(axis=1)
    hi = np.where(ok[..., None], xy, -np.inf).max(axis=1)
    enough = ok.sum(axis=1) >= 2
    out[:, :2] = (lo + hi) / 2
    out[:, 2:] = np.maximum(hi - lo, 1.0)
    roi = poses.roi.astype(np.float64)
    out[~enough, :2] = roi[~enough, :2]
    out[~enough, 2:] = np.maximum(roi[~enough, 2:3], 1.0) * np.array([0.5, 1.0])
    return out


def oks(xy_a: np.ndarray, ok_a: np.ndarray, xy_b: np.ndarray, ok_b: np.ndarray,
        area: np.ndarray) -> np.ndarray:
    """Object keypoint similarity between pose sets A and B (COCO's formula).

    Args:
        xy_a: (A, 33, 2) px; ok_a: (A, 33) bool, joints present in A.
        xy_b: (B, 33, 2) px; ok_b: (B, 33) bool.
        area: (A,) px², the scale² of each A pose (box area).

    Returns:
        (A, B) in [0, 1], averaged over joints present in both; 0 where none is.
    """
    d2 = ((xy_a[:, None] - xy_b[None]) ** 2).sum(-1)  # (A, B, 33)
    var = (2 * OKS_SIGMAS) ** 2
    e = np.exp(-d2 / (2 * np.maximum(area, 1.0)[:, None, None] * var))
    both = ok_a[:, None] & ok_b[None]
    cnt = both.sum(-1)
    return np.where(cnt > 0, (e * both).sum(-1) / np.maximum(cnt, 1), 0.0)


# Left/right landmark pairs of the limbs (shoulders to feet), for swap detection.
_LIMB_PAIRS = np.array([(11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28),
                        (29, 30), (31, 32)])


def swapped(track: TrackState, xy: np.ndarray, ok: np.ndarray, margin: float = 0.5) -> bool:
    """Whether a pose's left and right limbs are swapped relative to the track's last pose:
    with the labels exchanged, its limb landmarks lie within ``margin`` times the distance
    they have as they are (and that distance is more than a tenth of the person's size, so
    a person seen side-on, whose left and right overlap, is left alone)."""
    left, right = _LIMB_PAIRS[:, 0], _LIMB_PAIRS[:, 1]
    both = ok[left] & ok[right] & track.ok[left] & track.ok[right]
    if both.sum() < 3:
        return False
    prev = track.xy
    same = (np.linalg.norm(xy[left] - prev[left], axis=-1)
            + np.linalg.norm(xy[right] - prev[right], axis=-1))[both].mean()
    cross = (np.linalg.norm(xy[left] - prev[right], axis=-1)
             + np.linalg.norm(xy[right] - prev[left], axis=-1))[both].mean()
    return bool(cross < margin * same and same > 0.2 * max(track.scale, 1.0))


# --------------------------------------------------------------------------------------
# stateful shell
# --------------------------------------------------------------------------------------
class BoxFilter:
    """A linear Kalman filter with filterpy ``KalmanFilter``'s arithmetic (``predict``;
    ``update`` with the Joseph-form covariance), for one person's box: small and without
    filterpy's import cost (scipy.stats, ~0.4 s of start-up). Tested equal to filterpy.

    Attributes: ``x`` (n, 1) state, ``P`` (n, n), ``F``, ``H`` (m, n), ``R`` (m, m), ``Q``.
    """

    def __init__(self, x: np.ndarray, P: np.ndarray, F: np.ndarray, H: np.ndarray,
                 R: np.ndarray, Q: np.ndarray) -> None:
        self.x, self.P, self.F, self.H, self.R, self.Q = x, P, F, H, R, Q

    def predict(self) -> None:
        self.x = self.F @ self.x
        self.P = self.F @ self.P @ self.F.T + self.Q

    def update(self, z: np.ndarray) -> None:
        y = z - self.H @ self.x
        pht = self.P @ self.H.T
        gain = pht @ np.linalg.inv(self.H @ pht + self.R)
        self.x = self.x + gain @ y
        i_kh = np.eye(len(self.x)) - gain @ self.H
        self.P = i_kh @ self.P @ i_kh.T + gain @ self.R @ gain.T


def box_filter(box: np.ndarray) -> BoxFilter:
    """Constant-velocity filter of ``cx, cy, w, h`` and their rates (one frame per step)."""
    f = np.eye(8)
    f[:4, 4:] = np.eye(4)
    h = max(box[3], 1.0)
    # noise scales with the person's size: a far person moves fewer pixels
    return BoxFilter(
        x=np.concatenate([box, np.zeros(4)])[:, None],
        P=np.diag([0.1 * h, 0.1 * h, 0.2 * h, 0.2 * h, 0.1 * h, 0.1 * h, 0.05 * h,
                   0.05 * h]) ** 2,
        F=f, H=np.eye(4, 8),
        R=np.diag([0.05 * h, 0.05 * h, 0.1 * h, 0.1 * h]) ** 2,
        Q=np.diag([0.01 * h, 0.01 * h, 0.01 * h, 0.01 * h,
                   0.02 * h, 0.02 * h, 0.005 * h, 0.005 * h]) ** 2)


@dataclass
class TrackState:
    """One person's tracking state (read-only for callers).

    Attributes:
        id: final id (>= 1) once confirmed, else the provisional id (<= -2).
        confirmed: born (matched ``min_hits`` times in a row).
        hits: matches so far.
        time_since_update: frames since the last match (0: matched this frame).
        box: (4,) latest Kalman estimate ``cx, cy, w, h`` px.
        xy: (33, 2) px, last matched landmarks; ok: (33,) bool, which are confident.
        center: (2,) px, centre of the last matched box.
        scale: px, size of the region the last matched pose came from (``roi`` size; steadier
            than the joint box when a person crouches or flips).
    """

    id: int
    confirmed: bool
    kf: BoxFilter = field(repr=False)
    xy: np.ndarray = field(repr=False)
    ok: np.ndarray = field(repr=False)
    center: np.ndarray = field(repr=False)
    scale: float = 0.0
    hits: int = 1
    time_since_update: int = 0

    @property
    def box(self) -> np.ndarray:
        return np.asarray(self.kf.x[:4, 0], np.float64).copy()

    @property
    def lost(self) -> bool:
        return self.time_since_update > 0


#: Up to this many tracks or people an assignment is found by trying every one
#: (:func:`min_cost_assignment`); beyond, scipy's solver is imported.
EXHAUSTIVE_ASSIGNMENT = 6


@functools.lru_cache(maxsize=64)
def _arrangements(rows: int, cols: int) -> np.ndarray:
    """(P, rows) every ordered choice of ``rows`` distinct columns out of ``cols``."""
    return np.array(list(itertools.permutations(range(cols), rows)), np.intp).reshape(-1, rows)


def min_cost_assignment(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of a minimum-total-cost assignment of ``cost`` (R, C), as scipy's
    ``linear_sum_assignment`` (min(R, C) pairs, rows in order). The few tracks and people
    of a video are matched by trying every assignment (microseconds, and no
    ``scipy.optimize`` import: ~0.1 s of start-up); larger problems go to scipy."""
    cost = np.asarray(cost, np.float64)
    r, k = cost.shape
    if min(r, k) == 0:
        return np.zeros(0, np.intp), np.zeros(0, np.intp)
    if max(r, k) > EXHAUSTIVE_ASSIGNMENT:
        from scipy.optimize import linear_sum_assignment

        return linear_sum_assignment(cost)
    if r > k:
        cols, rows = min_cost_assignment(cost.T)
        order = np.argsort(rows)
        return rows[order], cols[order]
    options = _arrangements(r, k)
    best = options[int(np.argmin(cost[np.arange(r), options].sum(axis=1)))]
    return np.arange(r), best.copy()  # (not a view of the cached arrangements)


class PoseTracker:
    """SORT-style tracker over BlazePose poses with occlusion re-identification.

    Example:
        >>> tracker = PoseTracker(TrackerConfig(max_people=2))    # doctest: +SKIP
        >>> for poses in per_frame_poses:
        ...     poses = tracker.update(poses)     # poses.track_id filled in
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.reset()

    def reset(self) -> None:
        self.tracks: list[TrackState] = []
        self.resolved: dict[int, int] = {}
        self.frame = -1
        self._next_id = 1
        self._next_provisional = -2

    # -- queries ----------------------------------------------------------------------
    @property
    def confirmed_tracks(self) -> list[TrackState]:
        return [t for t in self.tracks if t.confirmed]

    @property
    def any_lost(self) -> bool:
        """A confirmed track went unmatched in the last update."""
        return any(t.confirmed and t.lost for t in self.tracks)

    # -- update -----------------------------------------------------------------------
    def update(self, poses: Poses2D | None) -> Poses2D:
        """Advance one frame.

        Args:
            poses: this frame's observations (None or empty: nobody seen).

        Returns:
            ``poses`` (a copy) with ``track_id``: final id (>= 1), provisional id (<= -2) for
            a tentative track, or -1 for an observation no track took.
        """
        cfg = self.config
        self.frame += 1
        poses = Poses2D.empty() if poses is None else poses[np.arange(len(poses))]
        n = len(poses)
        ids = np.full(n, -1, np.int64)
        for t in self.tracks:
            if t.time_since_update > 0:
                t.kf.x[6:8] = 0.0  # a lost person's size stops changing
            t.kf.predict()
            t.time_since_update += 1
        boxes = pose_boxes(poses, cfg.min_confidence)
        scales = np.where(poses.roi[:, 2] > 0, poses.roi[:, 2], boxes[:, 3]).astype(np.float64)
        ok = poses.visibility >= cfg.min_confidence
        unmatched = set(range(n))

        # stage 1: tracks seen last frame, IoU + OKS on the predicted pose
        recent = [i for i, t in enumerate(self.tracks) if t.time_since_update == 1]
        if recent and n:
            cost = self._stage1_cost([self.tracks[i] for i in recent], boxes, poses.xy, ok)
            pairs = self._assign(cost, cfg.max_cost)
            if cfg.fix_left_right and pairs:
                flip = np.zeros(n, bool)
                for r, c in pairs:
                    flip[c] = swapped(self.tracks[recent[r]], poses.xy[c], ok[c])
                if flip.any():
                    poses = poses.mirrored(flip)
                    ok = poses.visibility >= cfg.min_confidence
            for r, c in pairs:
                self._match(self.tracks[recent[r]], boxes[c], poses.xy[c], ok[c], scales[c])
                ids[c] = self.tracks[recent[r]].id
                unmatched.discard(c)

        # stage 2: confirmed tracks missing for a while, by centre distance in heights
        waiting = [i for i, t in enumerate(self.tracks)
                   if t.confirmed and t.time_since_update >= 1]
        rest = sorted(unmatched)
        if waiting and rest:
            cost = self._stage2_cost([self.tracks[i] for i in waiting], boxes[rest],
                                     scales[rest])
            for r, c in self._assign(cost, 1.0):
                t = self.tracks[waiting[r]]
                self._match(t, boxes[rest[c]], poses.xy[rest[c]], ok[rest[c]], scales[rest[c]])
                ids[rest[c]] = t.id
                unmatched.discard(rest[c])

        # deaths: tentative tracks missed once, confirmed ones missed for max_age frames
        self.tracks = [t for t in self.tracks
                       if t.time_since_update == 0
                       or (t.confirmed and t.time_since_update <= cfg.max_age)]

        # births, most confident first, within the cap
        for c in sorted(unmatched, key=lambda j: -float(poses.score[j])):
            if cfg.max_people is not None and len(self.tracks) >= cfg.max_people:
                break
            t = TrackState(self._next_provisional, False, box_filter(boxes[c]),
                           poses.xy[c].astype(np.float64), ok[c].copy(), boxes[c, :2].copy(),
                           float(scales[c]))
            self._next_provisional -= 1
            self._confirm_if_ready(t)
            self.tracks.append(t)
            ids[c] = t.id

        # ids of tentative tracks confirmed during this update
        ids = np.array([self.resolved.get(int(i), int(i)) for i in ids], np.int64)
        poses.track_id = ids
        return poses

    # -- internals --------------------------------------------------------------------
    def _stage1_cost(self, tracks, boxes, xy, ok) -> np.ndarray:
        w = self.config.iou_weight
        pred = np.stack([t.box for t in tracks])
        iou = box_iou(cxcywh_to_corners(pred), cxcywh_to_corners(boxes))
        # the predicted pose: last landmarks moved with the predicted box centre
        shift = pred[:, :2] - np.stack([t.center for t in tracks])
        t_xy = np.stack([t.xy for t in tracks]) + shift[:, None]
        t_ok = np.stack([t.ok for t in tracks])
        sim = oks(t_xy, t_ok, xy.astype(np.float64), ok, pred[:, 2] * pred[:, 3])
        return 1.0 - (w * iou + (1 - w) * sim)

    def _stage2_cost(self, tracks, boxes, scales) -> np.ndarray:
        cfg = self.config
        pred = np.stack([t.box for t in tracks])
        # person size: the region size (0.8 x region ≈ standing height), steady under poses
        h = np.maximum(np.array([t.scale for t in tracks])[:, None] * 0.8, 1.0)
        dist = np.linalg.norm(pred[:, None, :2] - boxes[None, :, :2], axis=-1) / h
        # distance from the last seen centre: a long-lost person's Kalman velocity is stale
        last = np.stack([t.center for t in tracks])
        dist_last = np.linalg.norm(last[:, None] - boxes[None, :, :2], axis=-1) / h
        dist = np.minimum(dist, dist_last)
        gap = np.array([t.time_since_update for t in tracks], np.float64)[:, None]
        gate = cfg.reid_distance + cfg.reid_speed * (gap - 1)
        obs = np.maximum(scales[None, :] * 0.8, 1.0)
        ratio = np.maximum(obs / h, h / obs)
        cost = dist / gate
        cost[ratio > cfg.reid_size_ratio] = np.inf
        return cost

    @staticmethod
    def _assign(cost: np.ndarray, max_cost: float) -> list[tuple[int, int]]:
        big = 1e6
        c = np.where(np.isfinite(cost) & (cost <= max_cost), cost, big)
        rows, cols = min_cost_assignment(c)
        return [(int(r), int(k)) for r, k in zip(rows, cols, strict=True) if c[r, k] < big]

    def _match(self, t: TrackState, box, xy, ok, scale) -> None:
        t.kf.update(box[:, None])
        t.scale = float(scale)
        t.xy = xy.astype(np.float64)
        t.ok = ok.copy()
        t.center = box[:2].copy()
        t.hits = t.hits + 1 if t.time_since_update == 1 or t.confirmed else 1
        t.time_since_update = 0
        self._confirm_if_ready(t)

    def confirm_survivors(self) -> None:
        """At the end of a clip too short to confirm anyone (fewer than ``min_hits``
        frames): confirm the tentative tracks matched in every frame since their birth, so
        a 1- or 2-frame clip has its people too (their ids land in :attr:`resolved`)."""
        for t in self.tracks:
            if not t.confirmed and t.time_since_update == 0:
                t.hits = max(t.hits, self.config.min_hits)
                self._confirm_if_ready(t)

    def _confirm_if_ready(self, t: TrackState) -> None:
        if not t.confirmed and t.hits >= self.config.min_hits:
            self.resolved[t.id] = self._next_id
            t.id = self._next_id
            t.confirmed = True
            self._next_id += 1
