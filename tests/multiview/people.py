"""Synthetic people for the multiview matching and scene tests: CMU takes (the seeded probe
motion in a plain clone) as 33 "landmarks" each, placed apart on the floor, seen by virtual
cameras, and turned into per-view :class:`mocap.types.Track` lists as the tracker would
report them (noise, dropouts, ids shuffled per view)."""

from __future__ import annotations

import numpy as np

from mocap.multiview.calibration import Calibration
from mocap.types import NUM_LANDMARKS, Track
from tests.multiview.synthetic import bvh_files, observe, take_positions

FPS = 30.0


def people(count: int, frames: int = 90) -> list[np.ndarray]:
    """``count`` persons (T, 33, 3) metres, Y up: different takes where ../shared has them
    (else key frames of the probe motion joined linearly, each person its own), each
    centred, then set 1.6 m apart in x and 0.8 m in z; the 33 points are the take's joints
    taken in turn (any points serve: every view sees the same ones)."""
    files = bvh_files(iclone_every=15)
    out = []
    for p in range(count):
        if files:
            pos = take_positions(files[p % len(files)], max_frames=frames)
        else:  # the probe motion's random poses as key frames 0.5 s apart, joined linearly
            keys = take_positions(None)[5 * p:][: frames // 15 + 1]
            at = np.linspace(0, len(keys) - 1, frames)
            lo = np.floor(at).astype(int).clip(0, len(keys) - 2)
            w = (at - lo)[:, None, None]
            pos = keys[lo] * (1 - w) + keys[lo + 1] * w
        if len(pos) < frames:  # a short take: played forward then back
            pos = np.concatenate([pos, pos[::-1]] * (frames // len(pos) + 1))[:frames]
        lm = pos[:, np.arange(NUM_LANDMARKS) % pos.shape[1]]
        centre = np.nanmean(lm[..., [0, 2]], axis=(0, 1))
        lm = lm - [centre[0], 0.0, centre[1]]
        out.append(lm + np.array([1.6 * p, 0.0, 0.8 * (p % 2)]))
    return out


def track(track_id: int, xy: np.ndarray, conf: np.ndarray, first: int = 0) -> Track:
    """A Track from one view's (T, 33, 2) px and (T, 33) confidences (NaN / 0 unseen)."""
    t = len(xy)
    seen = conf > 0
    observed = seen.any(1)
    raw = np.concatenate([xy, np.zeros((t, NUM_LANDMARKS, 1))], -1)
    raw[~seen] = np.nan
    world = np.zeros((t, NUM_LANDMARKS, 3))
    return Track(id=track_id, frames=np.arange(first, first + t),
                 times=np.arange(first, first + t) / FPS, observed=observed, image_raw=raw,
                 world_raw=world, visibility=conf, presence=conf, score=observed * 0.9,
                 image=np.nan_to_num(raw), world=world)


def view_tracks(persons: list[np.ndarray], calibration: Calibration, seed: int,
                noise_px: float = 1.5, only_view: dict[int, int] | None = None
                ) -> tuple[list[list[Track]], list[np.ndarray]]:
    """Per view, one track per person it sees, in a shuffled order with shuffled ids.

    Args:
        only_view: ``{person: view}`` for persons seen by that one view only.

    Returns:
        ``(tracks per view, truth)``: ``truth[v][i]`` is the person of view v's track i.
    """
    rng = np.random.default_rng(seed)
    only_view = only_view or {}
    obs = [observe(p, calibration, noise_px, rng, dropout=0.1)[:2] for p in persons]
    tracks, truth = [], []
    for v in range(len(calibration)):
        who = [p for p in range(len(persons)) if only_view.get(p, v) == v]
        who = [who[k] for k in rng.permutation(len(who))]
        ids = rng.permutation(len(who)) + 1
        tracks.append([track(int(i), obs[p][0][v], obs[p][1][v])
                       for i, p in zip(ids, who, strict=True)])
        truth.append(np.array(who))
    return tracks, truth


def shifted_view_tracks(persons: list[np.ndarray], calibration: Calibration,
                        offsets, seed: int, noise_px: float = 1.5, dropout: float = 0.1,
                        only_view: dict[int, int] | None = None,
                        seen_by: dict[int, tuple[int, ...]] | None = None
                        ) -> tuple[list[list[Track]], list[np.ndarray]]:
    """As :func:`view_tracks` (``seen_by``: ``{person: views}`` for persons seen by those
    views only), but views that did not start together: view ``v``'s frame
    ``g`` shows the instant ``g - offsets[v]`` of the motion (in the persons' frames, which
    are view 0's when ``offsets[0]`` is 0), the 3D motion interpolated in time (cubic
    spline). A view records its frames from 0 on; each track holds the frames whose instant
    lies within the motion.

    Returns:
        ``(tracks per view, truth)`` as :func:`view_tracks`.
    """
    from scipy.interpolate import CubicSpline

    rng = np.random.default_rng(seed)
    only_view = only_view or {}
    splines = [CubicSpline(np.arange(len(p)), p, axis=0) for p in persons]
    tracks, truth = [], []
    for v, off in enumerate(offsets):
        cam = calibration.subset([v])
        who = [p for p in range(len(persons)) if only_view.get(p, v) == v
               and v in (seen_by or {}).get(p, (v,))]
        who = [who[k] for k in rng.permutation(len(who))]
        ids = rng.permutation(len(who)) + 1
        view = []
        for i, p in zip(ids, who, strict=True):
            first = max(0, int(np.ceil(off - 1e-9)))
            last = int(np.floor(len(persons[p]) - 1 + off + 1e-9))
            frames = np.arange(first, last + 1)
            xy, conf, _ = observe(splines[p](frames - off), cam, noise_px, rng, dropout=dropout)
            view.append(track(int(i), xy[0], conf[0], first=first))
        tracks.append(view)
        truth.append(np.array(who))
    return tracks, truth
