"""Matched persons -> one 3D track each.

For every person of a :class:`~mocap.multiview.match.TrackMatch`, its tracks' 33 landmarks
(raw image positions, where observed) are triangulated frame by frame on the first view's
frame axis (:func:`~mocap.multiview.triangulate.triangulate`, each view's confidence its
landmark visibility), then smoothed with the tracker's own Kalman/RTS smoother in ``world``
space (:func:`mocap.tracking.smooth.smooth_landmarks`, metres), which bridges the joints
and frames the views did not fix. A frame counts as observed where at least half of the
landmarks were triangulated. Bone lengths (:data:`mocap.types.SKELETON_EDGES`) are reported
as medians over the triangulated frames.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error
from mocap.multiview.calibration import Calibration
from mocap.multiview.match import TrackMatch, check_offsets, frame_span, sample_landmarks
from mocap.multiview.triangulate import MAX_ERROR_PX, triangulate
from mocap.tracking.smooth import SmoothConfig, smooth_landmarks
from mocap.types import NUM_LANDMARKS, SKELETON_EDGES, Track

#: Default visibility at or under which a view's landmark is not used.
MIN_VISIBILITY = 0.3


@dataclass
class Person3D:
    """One person triangulated from several views over T frames (the first view's frames).

    Attributes:
        frames: (T,) int64 frame indices of the first view, contiguous.
        times: (T,) float64 seconds.
        points: (T, 33, 3) float32 metres, the calibration's world axes: the landmarks
            smoothed, gaps bridged.
        raw: (T, 33, 3) float64 metres, as triangulated; NaN where not.
        observed: (T,) bool, at least half of the landmarks triangulated that frame.
        errors: (V, T, 33) float32 px, each view's reprojection error of the raw points
            (NaN where the view has no landmark or there is no point; views dropped from
            a point included).
        used: (V, T, 33) bool, the views each raw point was solved from.
        bone_lengths: (B,) float64 metres, the median length of each bone of
            :data:`mocap.types.SKELETON_EDGES` over the frames where both ends were
            triangulated (NaN where never).
    """

    frames: np.ndarray
    times: np.ndarray
    points: np.ndarray
    raw: np.ndarray
    observed: np.ndarray
    errors: np.ndarray
    used: np.ndarray
    bone_lengths: np.ndarray

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, np.int64).reshape(-1)
        t = len(self.frames)
        self.times = np.asarray(self.times, np.float64)
        self.points = np.asarray(self.points, np.float32)
        self.raw = np.asarray(self.raw, np.float64)
        self.observed = np.asarray(self.observed, bool)
        self.errors = np.asarray(self.errors, np.float32)
        self.used = np.asarray(self.used, bool)
        self.bone_lengths = np.asarray(self.bone_lengths, np.float64)
        for name, shape in (("times", (t,)), ("points", (t, NUM_LANDMARKS, 3)),
                            ("raw", (t, NUM_LANDMARKS, 3)), ("observed", (t,)),
                            ("bone_lengths", (len(SKELETON_EDGES),))):
            if getattr(self, name).shape != shape:
                raise shape_error(name, str(shape), getattr(self, name).shape)
        if self.errors.ndim != 3 or self.errors.shape[1:] != (t, NUM_LANDMARKS):
            raise shape_error("errors", f"(V, {t}, {NUM_LANDMARKS})", self.errors.shape)
        if self.used.shape != self.errors.shape:
            raise shape_error("used", str(self.errors.shape), self.used.shape)

    def __len__(self) -> int:
        return len(self.frames)

    def median_error(self) -> np.ndarray:
        """(V,) float64 px: each view's median reprojection error over the points it was
        used for (NaN for a view never used)."""
        out = np.full(len(self.errors), np.nan)
        for v, err in enumerate(self.errors):
            if self.used[v].any():
                out[v] = float(np.median(err[self.used[v]]))
        return out


def _fps(tracks: list[Track]) -> float:
    rates = [np.diff(tr.frames) / np.diff(tr.times) for tr in tracks if len(tr.frames) > 1]
    rates = np.concatenate(rates) if rates else np.zeros(0)
    rates = rates[np.isfinite(rates) & (rates > 0)]
    return float(np.median(rates)) if len(rates) else 30.0


def triangulate_persons(tracks: Sequence[Sequence[Track]], match: TrackMatch,
                        calibration: Calibration, *, offsets: Sequence[float] | None = None,
                        fps: float | None = None, min_visibility: float = MIN_VISIBILITY,
                        max_error_px: float = MAX_ERROR_PX,
                        smooth: SmoothConfig | None = None) -> list[Person3D]:
    """One :class:`Person3D` per matched person (see the module docstring).

    Args:
        tracks: per view, its tracks, as given to
            :func:`~mocap.multiview.match.match_tracks`.
        match: its result.
        calibration: the V cameras.
        offsets: per view, frames (view ``v``'s frame ``f + offsets[v]`` is the first
            view's ``f``); default all 0. Fractional offsets sample the view's landmarks
            between its frames (:func:`~mocap.multiview.match.sample_landmarks`).
        fps: frames per second of the first view's frame axis; default from the tracks'
            times.
        min_visibility: a view's landmark at or under this visibility is not used.
        max_error_px: reprojection error above which a view is dropped from a point.
        smooth: the smoother's settings (its ``world`` pair applies); default
            :class:`~mocap.tracking.smooth.SmoothConfig`().

    Returns:
        The persons, in the match's order.
    """
    v_count = len(calibration)
    if len(tracks) != v_count or len(match.labels) != v_count:
        raise ValueError(f"`tracks` and `match` must hold one entry per camera ({v_count}), "
                         f"got {len(tracks)} and {len(match.labels)}")
    offs = check_offsets(offsets, v_count)
    out = []
    for person in match.persons:
        members = [(v, tracks[v][i]) for v, i in person]
        rate = float(fps) if fps is not None else _fps([tr for _, tr in members])
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"`fps` must be a finite number > 0, got {fps}")
        spans = [frame_span(tr, offs[v]) for v, tr in members]
        first = min(lo for lo, _ in spans)
        last = max(hi for _, hi in spans)
        t = last - first + 1
        xy = np.full((v_count, t, NUM_LANDMARKS, 2), np.nan)
        conf = np.zeros((v_count, t, NUM_LANDMARKS))
        at = np.arange(first, last + 1, dtype=np.float64)
        for v, tr in members:
            view_xy, vis = sample_landmarks(tr, at + offs[v])
            seen = vis > min_visibility
            xy[v][seen] = view_xy[seen]
            conf[v][seen] = vis[seen]
        tri = triangulate(xy, conf, calibration, max_error_px=max_error_px)
        found = np.isfinite(tri.points).all(-1)  # (T, 33)
        frames = np.arange(first, last + 1)
        times = frames / rate
        points = smooth_landmarks(tri.points, times, found.astype(np.float64),
                                  config=smooth or SmoothConfig(), space="world")
        edges = np.array(SKELETON_EDGES)
        lengths = np.linalg.norm(tri.points[:, edges[:, 0]] - tri.points[:, edges[:, 1]],
                                 axis=-1)  # (T, B)
        bones = np.array([np.nanmedian(col) if np.isfinite(col).any() else np.nan
                          for col in lengths.T])
        out.append(Person3D(frames, times, points, tri.points,
                            found.sum(1) >= NUM_LANDMARKS / 2, tri.errors, tri.used,
                            bones))
    return out
