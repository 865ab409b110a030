"""Videos of one take -> each view's time offset, to a fraction of a frame, from the people's
motion.

Convention (that of :func:`~mocap.multiview.match.match_tracks` and
:func:`~mocap.multiview.scene.triangulate_persons`): view ``v``'s frame ``f + offsets[v]``
shows the same instant as the first view's frame ``f``; ``offsets[0] = 0``.

1. **Motion profiles.** Per track, one number per frame: the median over the limbs' and
   trunk's landmarks (:data:`SYNC_JOINTS`, visibility over ``min_visibility``) of their image
   speed (central difference, px per frame) divided by the person's size in that frame (the
   diagonal of the box around its seen landmarks, a running median over about a second), so
   that views near and far compare. A person moves at the same instants in every view; the
   profile's shape is what the views share, its scale is not (the normalised correlation
   below ignores scale).
2. **Coarse lag.** For every track of view 0 (or of the view it is chained to) and every
   track of view ``v``, the normalised cross-correlation of their profiles at every integer
   lag within ``max_lag_s``, over the frames both profiles cover (at least ``min_overlap_s``
   of them). The evidence of a pair at a lag is its Fisher z (``atanh(r) sqrt(n - 3)``), so
   a long overlap counts more than a short lucky one; at each lag the tracks are paired one
   to one (the assignment of largest total positive z) and the lag with the largest total
   wins: several people agree on one lag, and a bystander seen by one view only finds no
   partner that agrees with him. The chosen pairs' correlation curves, weighted by their
   overlaps, give a parabola through the peak and its two neighbours: the sub-frame lag, and
   the peak correlation as the view's score.
3. **Chaining.** The views' lags form a tree grown from view 0, each view joined by its
   surest lag to a view already timed (its offset the sum): a view with no reliable lag
   against view 0 (no people in common, too little overlap), or only a weak one (two
   different people can correlate by chance), is timed through another view.
4. **Refinement** (``calibration`` given): the tracks are matched across views at the coarse
   offsets (:func:`~mocap.multiview.match.match_tracks`); for each view, its people are
   triangulated with those of its reference view (view 0 where they share a person), the
   view's landmarks sampled at fractional frames
   (:func:`~mocap.multiview.match.sample_landmarks`), and the mean squared reprojection
   error (a share of the person's size, capped against outliers) is the cost of an offset.
   The cost is evaluated on grids of whole-frame steps (2 either side of the coarse offset,
   then 1 either side of each new estimate), with the parabola through the best point and
   its neighbours giving the next estimate; the views are refined in turn, each with the
   others where they stand, for up to :data:`REFINE_PASSES` rounds (the joint minimum,
   whatever the start), never further than 2.5 frames from the coarse offset. Steps of
   whole frames keep the view's sampling phase the same across a grid: interpolating
   between two frames averages their noise (half the variance midway), a dip in the cost
   at every half frame that would pull the estimate; at one phase it is the same constant
   for every point of the grid.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.signal import correlation_lags, fftconvolve

from mocap.errors import InputError, shape_error
from mocap.multiview.calibration import Calibration
from mocap.multiview.match import frame_span, match_tracks, sample_landmarks, track_size
from mocap.multiview.triangulate import triangulate
from mocap.types import Track

#: Landmarks whose motion is compared (BlazePose's 33): shoulders, elbows, wrists, hips,
#: knees, ankles: the limbs that move and the trunk that carries them, no face or fingers.
SYNC_JOINTS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: Default visibility above which a landmark counts as seen for the motion profile.
MIN_VISIBILITY = 0.5
#: Default half-baseline, in seconds, of the central difference that gives a landmark's
#: speed: over one frame a still person's detector jitter is as large as a slow motion.
SPEED_STEP_S = 0.05
#: Default least overlap, in seconds, of two tracks' profiles for a lag to be considered.
MIN_OVERLAP_S = 1.0
#: Default least peak correlation for a lag to be trusted.
MIN_CORRELATION = 0.3
#: Default least total evidence (Fisher z of the pairs agreeing on the lag) to trust it.
MIN_EVIDENCE = 4.0
#: How much surer (peak correlation) each link of a chain of views must be than a view's
#: own lag against view 0 for the chain to time it (each link adds its error).
CHAIN_MARGIN = 0.1
#: Frames either side of the coarse offset searched by the refinement.
REFINE_SPAN = 2
#: Most frames per person the refinement triangulates (the person's busiest).
REFINE_FRAMES = 150
#: Most rounds of the refinement over the views (each view timed with the others where the
#: last round left them), stopped early once no view moves by 0.05 frame.
REFINE_PASSES = 4


@dataclass
class Sync:
    """Each view's time offset, found from the people's motion.

    Attributes:
        offsets: (V,) float64 frames: view ``v``'s frame ``f + offsets[v]`` is the first
            view's frame ``f`` (``offsets[0]`` = 0).
        scores: (V,) float64: how sure each offset is, the peak correlation (in [-1, 1]) of
            the motion profiles that agree on it (1 for view 0).
        refined: the calibration refinement ran (a calibration was given); see
            ``refined_views`` for which views it moved.
        coarse: (V,) float64 frames, the offsets from the motion profiles alone.
        reference: (V,) int64, the view each view was timed against (0 directly, another
            where chained; -1 for view 0).
        pairs: per view, the track pairs that agreed on its lag: ``(index in the reference
            view's tracks, index in this view's tracks, correlation)``; () for view 0.
        refined_views: (V,) bool, the views whose offset the refinement set (False for
            view 0 and for a view sharing no matched person with a timed view).
        errors: (V,) float64, the refinement's root mean squared reprojection error at the
            chosen offset, as a share of the person's size (NaN where not refined).
    """

    offsets: np.ndarray
    scores: np.ndarray
    refined: bool = False
    coarse: np.ndarray | None = None
    reference: np.ndarray | None = None
    pairs: tuple[tuple[tuple[int, int, float], ...], ...] = ()
    refined_views: np.ndarray | None = None
    errors: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.offsets = np.asarray(self.offsets, np.float64).reshape(-1)
        v = len(self.offsets)
        self.scores = np.asarray(self.scores, np.float64)
        self.coarse = (self.offsets.copy() if self.coarse is None
                       else np.asarray(self.coarse, np.float64))
        self.reference = (np.full(v, -1, np.int64) if self.reference is None
                          else np.asarray(self.reference, np.int64))
        self.refined_views = (np.zeros(v, bool) if self.refined_views is None
                              else np.asarray(self.refined_views, bool))
        self.errors = (np.full(v, np.nan) if self.errors is None
                       else np.asarray(self.errors, np.float64))
        for name in ("scores", "coarse", "reference", "refined_views", "errors"):
            if getattr(self, name).shape != (v,):
                raise shape_error(name, f"({v},)", getattr(self, name).shape)
        if not self.pairs:
            self.pairs = ((),) * v
        if len(self.pairs) != v:
            raise ValueError(f"`pairs` must hold one entry per view ({v}), got {len(self.pairs)}")

    def __len__(self) -> int:
        return len(self.offsets)

    def seconds(self, fps: float) -> np.ndarray:
        """(V,) float64 seconds: the offsets at ``fps`` frames per second."""
        return self.offsets / float(fps)


def landmark_speeds(track: Track, joints: Sequence[int] = SYNC_JOINTS,
                   min_visibility: float = MIN_VISIBILITY, size_window: int = 31,
                   step: int = 1) -> np.ndarray:
    """A track's motion per frame and landmark: how fast each moves, in person sizes.

    Args:
        track: the track.
        joints: the K landmarks whose speeds are taken.
        min_visibility: a landmark at or under this visibility is not used.
        size_window: frames of the running median of the person's size (odd).
        step: frames either side of the central difference.

    Returns:
        (T, K) float64, per ``track.frames``: each landmark's image speed (central
        difference over ``2 step`` frames, px per frame) over the person's size (px: the
        diagonal of the box around its seen landmarks, a running median); NaN where the
        landmark was not seen ``step`` frames before and after, or the size is unknown.
    """
    count = len(track.frames)
    idx = np.asarray(joints, np.int64)
    speed = np.full((count, len(idx)), np.nan)
    if count <= 2 * step:
        return speed
    raw = track.image_raw[:, :, :2].astype(np.float64)
    vis = np.nan_to_num(track.visibility.astype(np.float64))
    seen = np.isfinite(raw).all(-1) & (vis > min_visibility) & track.observed[:, None]
    pts = np.where(seen[..., None], raw, np.nan)
    with warnings.catch_warnings():  # all-NaN rows: NaN is the answer
        warnings.simplefilter("ignore", RuntimeWarning)
        diag = np.linalg.norm(np.nanmax(pts, 1) - np.nanmin(pts, 1), axis=-1)
    diag[seen.sum(1) < 4] = np.nan  # a box of 3 points is no size
    size = _running_nanmedian(diag, size_window)
    sel = pts[:, idx]
    vel = (sel[2 * step:] - sel[:-2 * step]) / (2.0 * step)
    speed[step:-step] = np.linalg.norm(vel, axis=-1) / size[step:-step, None]
    speed[~np.isfinite(speed)] = np.nan
    return speed


def motion_profile(track: Track, joints: Sequence[int] = SYNC_JOINTS,
                   min_visibility: float = MIN_VISIBILITY, step: int = 1) -> np.ndarray:
    """A track's motion per frame: the median of :func:`landmark_speeds` over the landmarks.

    The median is steadier than any one landmark (a detector's slip on a wrist does not
    make the body move) and than the mean.

    Returns:
        (T,) float64 person sizes per frame, NaN where fewer than 3 landmarks had a speed.
    """
    speed = landmark_speeds(track, joints, min_visibility, step=step)
    enough = np.isfinite(speed).sum(1) >= 3
    out = np.full(len(speed), np.nan)
    if enough.any():
        out[enough] = np.nanmedian(speed[enough], axis=1)
    return out


def _running_nanmedian(x: np.ndarray, window: int) -> np.ndarray:
    """Running median over ``window`` samples (centred), NaN ignored; NaN where the window
    holds nothing finite."""
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    win = np.lib.stride_tricks.sliding_window_view(padded, window)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(win).any(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[ok] = np.nanmedian(win[ok], axis=1)
    return out


def _ncc(a: np.ndarray, a0: int, b: np.ndarray, b0: int, max_lag: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """Normalised cross-correlation of two tracks' motion (T, K) with gaps, at every
    integer lag.

    ``a`` starts at frame ``a0`` of its view, ``b`` at ``b0`` of the other; lag ``L``
    pairs ``a``'s frame ``f`` with ``b``'s frame ``f + L``. Each lag's correlation is
    pooled over the K landmarks (each landmark its own mean over the frames both cover;
    covariances and variances summed over landmarks): one landmark's speed seen by two
    cameras is one signal, the landmarks are the repeated measurements.

    Returns:
        ``(r (2 max_lag + 1,), n (2 max_lag + 1,))`` for lags ``-max_lag .. max_lag``: the
        correlation (NaN where undefined) and the number of frames compared (the most
        over the landmarks).
    """
    ma, mb = np.isfinite(a).astype(np.float64), np.isfinite(b).astype(np.float64)
    xa, xb = np.nan_to_num(a), np.nan_to_num(b)

    def corr(p, q):  # per landmark: sum over n of p[n + k] q[n], k the index into lags
        return fftconvolve(p, q[::-1], mode="full", axes=0)

    lags = correlation_lags(len(b), len(a), mode="full") + b0 - a0
    n = np.rint(corr(mb, ma))
    sa, sb = corr(mb, xa), corr(xb, ma)
    saa, sbb = corr(mb, xa * xa), corr(xb * xb, ma)
    sab = corr(xb, xa)
    ok = n >= 4
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(ok, 1.0 / np.maximum(n, 1), 0.0)
        cov = np.where(ok, sab - sa * sb * inv, 0.0).sum(1)
        va = np.where(ok, saa - sa * sa * inv, 0.0).sum(1)
        vb = np.where(ok, sbb - sb * sb * inv, 0.0).sum(1)
        scale = np.where(ok, saa, 0.0).sum(1) * np.where(ok, sbb, 0.0).sum(1)
        # FFT sums carry rounding errors: a variance that small is none
        good = (va > 1e-9 * np.sqrt(scale)) & (vb > 1e-9 * np.sqrt(scale)) & (va > 0) & (vb > 0)
        r_full = np.where(good, cov / np.sqrt(va * vb), np.nan)
    r_full = np.clip(r_full, -1.0, 1.0)
    n_full = np.where(ok, n, 0).max(1)
    out_r = np.full(2 * max_lag + 1, np.nan)
    out_n = np.zeros(2 * max_lag + 1)
    keep = np.abs(lags) <= max_lag
    out_r[lags[keep] + max_lag] = r_full[keep]
    out_n[lags[keep] + max_lag] = n_full[keep]
    return out_r, out_n


@dataclass
class _Lag:
    """One view's lag against another: relative offset (frames), peak correlation, total
    evidence, the agreeing pairs."""

    offset: float
    score: float
    evidence: float
    pairs: tuple[tuple[int, int, float], ...]


def _pair_lag(profiles_u: list[tuple[np.ndarray, int]], profiles_v: list[tuple[np.ndarray, int]],
              max_lag: int, min_overlap: int) -> _Lag | None:
    """The lag of view v against view u from their tracks' profiles (module docstring,
    step 2); None where no lag has any evidence."""
    if not profiles_u or not profiles_v:
        return None
    lags = 2 * max_lag + 1
    r = np.full((len(profiles_u), len(profiles_v), lags), np.nan)
    n = np.zeros_like(r)
    for i, (a, a0) in enumerate(profiles_u):
        for j, (b, b0) in enumerate(profiles_v):
            r[i, j], n[i, j] = _ncc(a, a0, b, b0, max_lag)
    usable = np.isfinite(r) & (n >= min_overlap)
    with np.errstate(invalid="ignore"):
        z = np.where(usable, np.arctanh(np.clip(r, -0.999, 0.999)) * np.sqrt(np.maximum(n - 3, 0)),
                     0.0)
    z = np.maximum(z, 0.0)  # anti-correlation is no evidence for a lag
    totals = np.zeros(lags)
    for k in np.flatnonzero(z.any((0, 1))):
        rows, cols = linear_sum_assignment(z[:, :, k], maximize=True)
        totals[k] = z[rows, cols, k].sum()
    if not totals.any():
        return None
    best = int(np.argmax(totals))
    rows, cols = linear_sum_assignment(z[:, :, best], maximize=True)
    chosen = [(i, j) for i, j in zip(rows, cols, strict=True) if z[i, j, best] > 0]

    def combined(k: int) -> float:  # the chosen pairs' correlation at lag index k
        if not 0 <= k < lags:
            return math.nan
        rr = np.array([r[i, j, k] for i, j in chosen])
        ww = np.array([n[i, j, k] for i, j in chosen])
        ok = np.isfinite(rr) & (ww > 0)
        return float((rr[ok] * ww[ok]).sum() / ww[ok].sum()) if ok.any() else math.nan

    peak = combined(best)
    shift = _parabola_vertex(combined(best - 1), peak, combined(best + 1), maximum=True)
    pairs = tuple((int(i), int(j), float(r[i, j, best])) for i, j in chosen)
    return _Lag(best - max_lag + shift, peak, float(totals[best]), pairs)


def _parabola_vertex(left: float, mid: float, right: float, *, maximum: bool) -> float:
    """The vertex of the parabola through (-1, left), (0, mid), (1, right), in [-0.5, 0.5]
    (0 where a neighbour is missing or the three are not curved the right way)."""
    if not (math.isfinite(left) and math.isfinite(mid) and math.isfinite(right)):
        return 0.0
    curve = left - 2 * mid + right
    if (curve >= 0) if maximum else (curve <= 0):
        return 0.0
    return float(np.clip(0.5 * (left - right) / curve, -0.5, 0.5))


def estimate_offsets(tracks: Sequence[Sequence[Track]], fps: float,
                     calibration: Calibration | None = None, *, max_lag_s: float = 10.0,
                     min_overlap_s: float = MIN_OVERLAP_S,
                     min_correlation: float = MIN_CORRELATION,
                     min_evidence: float = MIN_EVIDENCE,
                     joints: Sequence[int] = SYNC_JOINTS,
                     min_visibility: float = MIN_VISIBILITY,
                     speed_step_s: float = SPEED_STEP_S) -> Sync:
    """Each view's sub-frame time offset from the people's motion (see the module docstring).

    Args:
        tracks: per view, its tracks (:func:`mocap.tracking.loop.track_video`'s
            ``tracks``); view 0 is the reference.
        fps: frames per second of the videos (the lags searched and overlaps needed are
            given in seconds).
        calibration: the V cameras; given, the offsets are refined by triangulation
            consistency.
        max_lag_s: the largest offset searched, seconds either way.
        min_overlap_s: the least time two tracks' profiles must share at a lag.
        min_correlation: the least peak correlation for a view's lag to be trusted.
        min_evidence: the least total evidence (Fisher z of the agreeing pairs) for it.
        joints: the landmarks whose motion is compared.
        min_visibility: a landmark at or under this visibility is not used.
        speed_step_s: half the baseline of the central difference of the motion profiles
            (at least one frame).

    Returns:
        :class:`Sync`.

    Raises:
        InputError: a view with no usable motion (nobody tracked, or nobody moving), or
            whose motion agrees with no other view's at any lag; the message names the
            video (1-based) and says to pass ``--offsets``.
        ValueError: bad settings, or a calibration whose camera count differs.
    """
    v_count = len(tracks)
    if v_count < 1:
        raise ValueError("`tracks` must hold at least one view")
    if not (math.isfinite(fps) and fps > 0):
        raise ValueError(f"`fps` must be a finite number > 0, got {fps}")
    if not (math.isfinite(max_lag_s) and max_lag_s > 0):
        raise ValueError(f"`max_lag_s` must be a finite number > 0, got {max_lag_s}")
    if calibration is not None and len(calibration) != v_count:
        raise ValueError(f"`calibration` must hold one camera per view ({v_count}), "
                         f"got {len(calibration)}")
    max_lag = max(1, round(max_lag_s * fps))
    min_overlap = max(8, round(min_overlap_s * fps))
    step = max(1, round(speed_step_s * fps))

    profiles = []
    for v, view in enumerate(tracks):
        prof = [(motion_profile(tr, joints, min_visibility, step)[:, None], int(tr.frames[0]))
                for tr in view if len(tr.frames) >= 3]
        prof = [(p, f0) for p, f0 in prof if np.isfinite(p).any(1).sum() >= min_overlap
                and np.nanstd(p) > 0]
        if not prof:
            raise InputError(f"video {v + 1}: no moving person long enough to synchronise "
                             f"it by ({len(view)} tracks); pass --offsets")
        profiles.append(prof)

    coarse = np.zeros(v_count)
    scores = np.ones(v_count)
    reference = np.full(v_count, -1, np.int64)
    pairs: list[tuple[tuple[int, int, float], ...]] = [()] * v_count
    timed = [0]
    cache: dict[tuple[int, int], _Lag | None] = {}

    def lag(u: int, v: int) -> _Lag | None:
        if (u, v) not in cache:
            found = _pair_lag(profiles[u], profiles[v], max_lag, min_overlap)
            trusted = found is not None and found.score >= min_correlation \
                and found.evidence >= min_evidence
            cache[u, v] = found if trusted else None
        return cache[u, v]

    waiting = list(range(1, v_count))
    while waiting:
        # a tree of the most trusted lags grown from view 0 (Prim's, the widest path): a
        # view is timed against view 0 unless a chain through other views agrees more
        # surely in each of its links (two people never seen together can correlate by
        # chance; the same person seen twice correlates well); view 0's own lags win ties
        options = [(found.score + (CHAIN_MARGIN if u == 0 else 0.0), v, u, found)
                   for v in waiting for u in timed if (found := lag(u, v)) is not None]
        if not options:
            v = waiting[0]
            raise InputError(f"video {v + 1}: its people's motion matches no other "
                             f"video's within {max_lag_s:g} s; pass --offsets")
        _, v, u, found = max(options, key=lambda o: o[0])
        coarse[v] = coarse[u] + found.offset
        scores[v] = found.score
        reference[v] = u
        pairs[v] = found.pairs
        timed.append(v)
        waiting.remove(v)

    sync = Sync(coarse.copy(), scores, False, coarse, reference, tuple(pairs))
    if calibration is not None:
        _refine(sync, tracks, calibration, timed, joints, min_visibility)
    return sync


def _busiest_frames(own: list[Track], offset: float, joints: Sequence[int],
                    min_visibility: float, most: int = REFINE_FRAMES) -> np.ndarray:
    """(F,) float64 frames of the first view: at most ``most`` where the view's tracks
    ``own`` (of one person) move fastest, among those they cover for every offset within
    ``REFINE_SPAN + 1`` frames of ``offset``.

    A still person says nothing about time, and the cost of the refinement grows with the
    frames: the fastest frames carry the timing."""
    frames, speeds = [], []
    for tr in own:
        lo, hi = frame_span(tr, offset)
        at = np.arange(lo + REFINE_SPAN + 1, hi - REFINE_SPAN)
        if not len(at):
            continue
        prof = motion_profile(tr, joints, min_visibility)
        near = np.clip(np.rint(at + offset).astype(np.int64) - int(tr.frames[0]), 0,
                       len(tr.frames) - 1)
        frames.append(at)
        speeds.append(np.nan_to_num(prof[near], nan=-1.0))
    if not frames:
        return np.zeros(0)
    frames, speeds = np.concatenate(frames), np.concatenate(speeds)
    keep = np.sort(np.argsort(-speeds, kind="stable")[:most])
    return frames[keep].astype(np.float64)


def _refine(sync: Sync, tracks: Sequence[Sequence[Track]], calibration: Calibration,
            order: list[int], joints: Sequence[int], min_visibility: float) -> None:
    """Set ``sync``'s offsets by triangulation consistency (module docstring, step 4)."""
    match = match_tracks(tracks, calibration, offsets=sync.coarse)
    idx = np.asarray(joints, np.int64)
    v_count = len(calibration)
    sizes = [[track_size(tr) for tr in view] for view in tracks]
    for _ in range(REFINE_PASSES):
        moved = 0.0
        for v in order[1:]:
            # every person v shares with other views, triangulated with all of them
            persons = [person for person in match.persons if any(u == v for u, _ in person)]
            if not persons:
                continue
            # a chained view moves with the view it was timed against
            ref = int(sync.reference[v])
            centre = float(sync.offsets[v]) if sync.refined_views[v] else \
                float(sync.coarse[v] + sync.offsets[ref] - sync.coarse[ref])
            frames = [_busiest_frames([tracks[v][i] for u, i in person if u == v], centre,
                                      joints, min_visibility) for person in persons]

            def errors(offset: float, _v=v, _persons=persons, _frames=frames) -> np.ndarray:
                """Squared reprojection errors (shares of the person's size) of v's persons
                with view ``_v`` at ``offset`` and the others where they are."""
                offs = sync.offsets.copy()
                offs[_v] = offset
                out = []
                for person, at in zip(_persons, _frames, strict=True):
                    xy = np.full((v_count, len(at), len(idx), 2), np.nan)
                    conf = np.zeros((v_count, len(at), len(idx)))
                    size = np.full((v_count, 1, 1), np.nan)
                    for u, i in person:
                        pts, vis = sample_landmarks(tracks[u][i], at + offs[u])
                        pts, vis = pts[:, idx], vis[:, idx]
                        seen = vis > min_visibility
                        xy[u][seen], conf[u][seen] = pts[seen], vis[seen]
                        size[u] = sizes[u][i]
                    tri = triangulate(xy, conf, calibration, max_error_px=math.inf)
                    rel = tri.errors / size
                    out.append(rel[np.isfinite(rel)] ** 2)
                return np.concatenate(out) if out else np.zeros(0)

            def cost(offset: float, cap: float, _errors=errors) -> float:
                e2 = _errors(offset)
                return float(np.minimum(e2, cap).mean()) if len(e2) else math.nan

            base = errors(centre)
            if len(base) < 10:
                continue
            # outliers (a wrong detection) capped at 5 times the typical error at the start
            cap = 25.0 * float(np.median(base))
            steps = np.arange(-REFINE_SPAN, REFINE_SPAN + 1, dtype=np.float64)
            values = np.array([cost(centre + s, cap) for s in steps])
            if not np.isfinite(values).all():
                continue
            k = min(max(int(np.argmin(values)), 1), len(steps) - 2)
            estimate = centre + steps[k] + _parabola_vertex(*values[k - 1:k + 2], maximum=False)
            for _ in range(2):  # then finer: the parabola through the estimate and +-1 frame
                near = [cost(estimate + s, cap) for s in (-1.0, 0.0, 1.0)]
                shift = _parabola_vertex(*near, maximum=False)
                estimate += shift
                if abs(shift) < 0.01:
                    break
            # never further from the motion's lag than the first grid reaches: the
            # triangulation only refines it (a shallow cost must not wander pass by pass)
            start = float(sync.coarse[v] + sync.offsets[ref] - sync.coarse[ref])
            estimate = float(np.clip(estimate, start - REFINE_SPAN - 0.5,
                                     start + REFINE_SPAN + 0.5))
            moved = max(moved, abs(estimate - sync.offsets[v]))
            sync.offsets[v] = estimate
            final = errors(estimate)
            sync.errors[v] = float(np.sqrt(np.minimum(final, cap).mean()))
            sync.refined_views[v] = True
        if moved < 0.05:
            break
    sync.refined = True
