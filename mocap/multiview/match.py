"""People across views: each view's tracks grouped into persons by reprojection consistency.

Every pair of tracks from two different views that share frames (after the views' frame
offsets) is scored: their torso landmarks (shoulders and hips by default) are triangulated
from the two views over the shared frames and the median reprojection error, in units of the
person's size in each view (the median diagonal of the box around its visible landmarks), is
the pair's cost. Pairs are then joined greedily, cheapest first, while their cost is under
``gate``, with complete linkage: two groups merge only if every pair across them that shares
frames is under the gate, and no view would hold two tracks over the same frames. A group
that spans two or more views is a person; a track left alone (seen by one camera only, or by
none consistently) is unmatched and never glued to someone else.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error
from mocap.multiview.calibration import Calibration
from mocap.multiview.triangulate import triangulate
from mocap.types import Track

#: The landmarks compared across views by default: shoulders (11, 12) and hips (23, 24) of
#: BlazePose's 33, the ones a detector finds most steadily on a person's trunk.
MATCH_JOINTS = (11, 12, 23, 24)
#: Default gate: the largest median reprojection error, as a share of the person's size in
#: the image, for two tracks to be the same person.
GATE = 0.08
#: Default least number of frames two tracks must share (with their joints seen) to be
#: compared.
MIN_SHARED = 5


@dataclass
class TrackMatch:
    """Tracks of V views grouped into P persons.

    Attributes:
        labels: per view, (N_v,) int64: the person of each of that view's tracks (0 .. P-1,
            in order of their first track, view by view), -1 where the track is unmatched.
        errors: (P,) float64, each person's reprojection error as a share of its size in
            the image: its tracks triangulated together, the worst track's median.
    """

    labels: tuple[np.ndarray, ...]
    errors: np.ndarray

    def __post_init__(self) -> None:
        self.labels = tuple(np.asarray(lab, np.int64).reshape(-1) for lab in self.labels)
        self.errors = np.asarray(self.errors, np.float64)
        if self.errors.ndim != 1:
            raise shape_error("errors", "(P,)", self.errors.shape)
        p = len(self.errors)
        for v, lab in enumerate(self.labels):
            if len(lab) and (lab.min() < -1 or lab.max() >= p):
                raise ValueError(f"`labels[{v}]` must be in [-1, {p}), got "
                                 f"{lab.min()}..{lab.max()}")
        for person in range(p):
            views = {v for v, lab in enumerate(self.labels) if (lab == person).any()}
            if len(views) < 2:
                raise ValueError(f"person {person} must span at least two views, got "
                                 f"{sorted(views)}")

    def __len__(self) -> int:
        return len(self.errors)

    @property
    def persons(self) -> list[list[tuple[int, int]]]:
        """Per person, its tracks as ``(view, index in that view's list)``."""
        return [[(v, int(i)) for v, lab in enumerate(self.labels)
                 for i in np.flatnonzero(lab == p)] for p in range(len(self))]

    @property
    def unmatched(self) -> list[tuple[int, int]]:
        """The tracks of no person, as ``(view, index)``."""
        return [(v, int(i)) for v, lab in enumerate(self.labels) for i in np.flatnonzero(lab < 0)]


def sample_landmarks(track: Track, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A track's raw landmarks at fractional frames of its own frame axis.

    At a whole frame the observation itself; between two frames the linear interpolation of
    the two neighbouring observations, where both frames were observed and the landmark was
    seen (finite, visibility > 0) in both. Elsewhere (before, after, in a gap) the landmark
    is missing at that instant.

    Args:
        track: the track.
        at: (F,) float frames of the track's video (``track.frames`` units).

    Returns:
        ``(xy (F, 33, 2) float64 px, NaN where missing; visibility (F, 33) float64, 0 where
        missing)``.
    """
    at = np.asarray(at, np.float64).reshape(-1)
    whole = np.round(at)
    # a frame a rounding error off a whole one (offset 0.1 + 0.2) is that frame, not a gap
    at = np.where(np.abs(at - whole) < 1e-9, whole, at)
    lo = np.floor(at)
    frac = at - lo
    count = len(track.frames)
    first = int(track.frames[0]) if count else 0
    i0 = np.where(np.isfinite(lo), lo - first, -1).astype(np.int64)
    i1 = i0 + (frac > 0)
    inside = (i0 >= 0) & (i1 < count)
    i0, i1 = np.where(inside, i0, 0), np.where(inside, i1, 0)
    raw = track.image_raw[:, :, :2].astype(np.float64)
    vis = np.nan_to_num(track.visibility.astype(np.float64))
    seen = np.isfinite(raw).all(-1) & (vis > 0) & track.observed[:, None] if count \
        else np.zeros((0, raw.shape[1]), bool)
    xy = np.full((len(at), raw.shape[1], 2), np.nan)
    conf = np.zeros((len(at), raw.shape[1]))
    if not count:
        return xy, conf
    ok = inside[:, None] & seen[i0] & seen[i1]
    w = frac[:, None]
    # at a whole frame (w == 0) the observation itself, bit for bit
    mixed_xy = np.where(w[..., None] > 0, raw[i0] * (1 - w[..., None]) + raw[i1] * w[..., None],
                        raw[i0])
    mixed_vis = np.where(w > 0, vis[i0] * (1 - w) + vis[i1] * w, vis[i0])
    xy[ok] = mixed_xy[ok]
    conf[ok] = mixed_vis[ok]
    return xy, conf


def check_offsets(offsets: Sequence[float] | None, count: int) -> np.ndarray:
    """(V,) float64 frames: ``offsets`` checked (one finite value per view), default 0."""
    offs = np.zeros(count) if offsets is None else np.asarray(offsets, np.float64).reshape(-1)
    if len(offs) != count:
        raise ValueError(f"`offsets` must hold one value per camera ({count}), got {len(offs)}")
    if not np.isfinite(offs).all():
        raise ValueError(f"`offsets` must be finite numbers, got {offs.tolist()}")
    return offs


def frame_span(track: Track, offset: float) -> tuple[int, int]:
    """The first and last whole frames of the first view where ``track`` (of a view
    ``offset`` frames later) has an instant: ``ceil(first - offset)``, ``floor(last -
    offset)``."""
    lo = float(track.frames[0]) - offset
    hi = float(track.frames[-1]) - offset
    # rounding errors (frame 3 - offset 2.9999999999) are not a lost frame
    return math.ceil(lo - 1e-9), math.floor(hi + 1e-9)


def _aligned(track: Track, offset: float, first: int, frames: int, joints: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """A track's joints on the common frame axis: xy (F, K, 2) px, NaN where not seen;
    visibility (F, K); its size in px (median box diagonal over its observed frames)."""
    xy, vis = sample_landmarks(track, np.arange(first, first + frames) + offset)
    return xy[:, joints], vis[:, joints], track_size(track)


def track_size(track: Track) -> float:
    """A track's size in px: the median diagonal of the box around its seen landmarks over
    its observed frames (NaN when it has none)."""
    seen = track.image_raw[:, :, :2].astype(np.float64)[track.observed]
    if not len(seen):
        return math.nan
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: NaN is the answer
        diag = np.linalg.norm(np.nanmax(seen, 1) - np.nanmin(seen, 1), axis=-1)
    return float(np.nanmedian(diag)) if np.isfinite(diag).any() else math.nan


def match_tracks(tracks: Sequence[Sequence[Track]], calibration: Calibration, *,
                 offsets: Sequence[float] | None = None, joints: Sequence[int] = MATCH_JOINTS,
                 gate: float = GATE, min_shared: int = MIN_SHARED) -> TrackMatch:
    """Group each view's tracks into persons (see the module docstring for the method).

    Args:
        tracks: per view (``calibration[v]``), its tracks (:func:`mocap.tracking.loop.
            track_video`'s ``tracks``).
        calibration: the V cameras.
        offsets: per view, frames: view ``v``'s frame ``f + offsets[v]`` is the first
            view's frame ``f`` (default all 0); fractional offsets sample the view's
            landmarks between frames (:func:`sample_landmarks`).
        joints: landmark indices compared across views.
        gate: largest median reprojection error, as a share of the person's size, for two
            tracks to be one person.
        min_shared: least number of frames two tracks must share to be compared.

    Returns:
        :class:`TrackMatch`.

    Raises:
        ValueError: a view count that differs from the calibration's, or bad settings.
    """
    v_count = len(calibration)
    if len(tracks) != v_count:
        raise ValueError(f"`tracks` must hold one list per camera ({v_count}), got {len(tracks)}")
    offs = check_offsets(offsets, v_count)
    if not (math.isfinite(gate) and gate > 0):
        raise ValueError(f"`gate` must be a finite number > 0, got {gate}")
    if min_shared < 1:
        raise ValueError(f"`min_shared` must be at least 1, got {min_shared}")
    joint_idx = np.asarray(joints, np.int64)
    items = [(v, i, tr) for v, view in enumerate(tracks) for i, tr in enumerate(view)]
    labels = [np.full(len(view), -1, np.int64) for view in tracks]
    if not items:
        return TrackMatch(tuple(labels), np.zeros(0))
    spans = [frame_span(tr, offs[v]) for v, _, tr in items if len(tr.frames)]
    first = min((lo for lo, _ in spans), default=0)
    frames = max((hi for _, hi in spans), default=0) - first + 1
    data = [_aligned(tr, offs[v], first, frames, joint_idx) for v, _, tr in items]
    present = [np.isfinite(xy).all(-1).any(-1) for xy, _, _ in data]  # (F,) per track

    cost, overlap = _pair_costs(items, data, present, calibration, min_shared)
    return _group(items, data, labels, cost, overlap, calibration, gate, min_shared)


def _pair_costs(items, data, present, calibration: Calibration, min_shared: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """(N, N) cost of every pair of tracks (inf where not comparable) and (N, N) bool: the
    pair shares frames."""
    n = len(items)
    cost = np.full((n, n), np.inf)
    overlap = np.zeros((n, n), bool)
    for a in range(n):
        for b in range(a + 1, n):
            va, vb = items[a][0], items[b][0]
            shared = present[a] & present[b]
            overlap[a, b] = overlap[b, a] = bool(shared.any())
            if va == vb or shared.sum() < min_shared:
                continue
            (xa, ca, sa), (xb, cb, sb) = data[a], data[b]
            if not (sa > 0 and sb > 0):
                continue
            tri = triangulate(np.stack([xa[shared], xb[shared]]),
                              np.stack([ca[shared], cb[shared]]),
                              calibration.subset([va, vb]), max_error_px=math.inf)
            rel = tri.errors / np.array([sa, sb])[:, None, None]
            if np.isfinite(rel).sum() >= min_shared:
                cost[a, b] = cost[b, a] = float(np.nanmedian(rel))
    return cost, overlap


def _group_cost(members: list[int], items, data, calibration: Calibration,
                min_shared: int) -> float:
    """The worst member's median relative reprojection error when the group's tracks are
    triangulated together (every view of the group at once, none dropped); inf where a
    member shares fewer than ``min_shared`` frames with the rest."""
    v_count = len(calibration)
    frames, k = data[members[0]][0].shape[:2]
    xy = np.full((v_count, frames, k, 2), np.nan)
    conf = np.zeros((v_count, frames, k))
    for m in members:
        v = items[m][0]
        seen = np.isfinite(data[m][0]).all(-1)
        xy[v][seen] = data[m][0][seen]
        conf[v][seen] = data[m][1][seen]
    tri = triangulate(xy, conf, calibration, max_error_px=math.inf)
    worst = 0.0
    for m in members:
        v = items[m][0]
        seen = np.isfinite(data[m][0]).all(-1)
        rel = tri.errors[v][seen] / data[m][2]
        rel = rel[np.isfinite(rel)]
        if len(rel) < min_shared * k:
            return math.inf
        worst = max(worst, float(np.median(rel)))
    return worst


def _group(items, data, labels, cost: np.ndarray, overlap: np.ndarray,
           calibration: Calibration, gate: float, min_shared: int) -> TrackMatch:
    """Greedy grouping of the tracks, cheapest pair first (module docstring)."""
    n = len(items)
    group = list(range(n))  # each track's group, by the group's first track
    members = {k: [k] for k in range(n)}
    group_error = {k: math.inf for k in range(n)}
    order = np.argsort(cost[np.triu_indices(n, 1)], kind="stable")
    pairs = np.stack(np.triu_indices(n, 1), -1)[order]
    for a, b in pairs:
        if not cost[a, b] <= gate:
            break
        ga, gb = group[a], group[b]
        if ga == gb:
            continue
        union = members[ga] + members[gb]
        if any(overlap[x, y] and items[x][0] == items[y][0]
               for x in members[ga] for y in members[gb]):
            continue  # one view would hold two tracks over the same frames
        error = _group_cost(union, items, data, calibration, min_shared)
        if error <= gate:
            keep, gone = min(ga, gb), max(ga, gb)
            members.pop(gone)
            members[keep] = sorted(union)
            group_error[keep] = error
            for k in union:
                group[k] = keep

    errors = []
    for root in sorted(members):
        group_members = members[root]
        if len({items[k][0] for k in group_members}) < 2:
            continue
        person = len(errors)
        for k in group_members:
            labels[items[k][0]][items[k][1]] = person
        errors.append(group_error[root])
    return TrackMatch(tuple(labels), np.array(errors))
