"""The focal length of a camera that turns (and zooms), from how its background moves.

Between two views of a camera turning about its centre the background moves by
``K_b R K_a^-1`` with ``K = diag(f, f, 1)`` about the image centre. At the wrong ``f`` no
rotation explains that motion exactly: a pan seen through too short a focal length bends
the straight shift that a long lens shows (and the reverse), by an amount that grows with
the turn and with the distance from the image centre. :func:`self_calibrate` searches the
first frame's ``f`` (a 1-D search, the zoom of each pair's first view carried along) for
the rotation model's smallest residual over many pairs of frames, robustly (each feature's
squared error capped), and gives its uncertainty by resampling the pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.perception.camera_fit import fit_rotation_zoom, rotation_errors

__all__ = ["FocalPair", "TurnFocal", "pair_costs", "self_calibrate"]


@dataclass(frozen=True)
class FocalPair:
    """One pair of frames: the background features of the first seen in the second.

    Attributes:
        a: (N, 2) centred px in the first frame of the pair (a keyframe).
        b: (N, 2) the same features in the second frame.
        zoom_a: the first frame's focal length / the video's first frame's.
        zoom: the second frame's focal length / the first frame's of the pair (a guess).
        group: pairs sharing their first frame share a group (resampled together).
    """

    a: np.ndarray
    b: np.ndarray
    zoom_a: float
    zoom: float
    group: int


@dataclass(frozen=True)
class TurnFocal:
    """A focal length from the turning of the camera.

    Attributes:
        focal: the video's first frame's focal length, px of the measured image.
        std: its standard deviation (pairs resampled), px.
        pairs: pairs of frames it rests on.
        turn_deg: the largest turn within one pair, degrees.
    """

    focal: float
    std: float
    pairs: int
    turn_deg: float


def pair_costs(pairs: list[FocalPair], focals: np.ndarray, cap_px: float) -> np.ndarray:
    """(P, G) each pair's mean capped squared residual, px², of the best rotation and zoom
    at each first-frame focal length ``focals`` (G,)."""
    out = np.empty((len(pairs), len(focals)))
    for i, p in enumerate(pairs):
        for j, f in enumerate(focals):
            fa = f * p.zoom_a
            rot, zoom = fit_rotation_zoom(p.a, p.b, fa, p.zoom)
            err = rotation_errors(p.a, p.b, rot, zoom, fa)
            out[i, j] = np.mean(np.minimum(err, cap_px) ** 2)
    return out


def _vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Where the parabola through the lowest point of ``y`` (over sorted ``x``) and its
    neighbours is lowest (the point itself at an end or where the parabola opens down)."""
    i = int(np.argmin(y))
    if i == 0 or i == len(y) - 1:
        return float(x[i])
    (x0, x1, x2), (y0, y1, y2) = x[i - 1:i + 2], y[i - 1:i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (y1 - y0) + x1 * (y0 - y2) + x0 * (y2 - y1)) / den
    b = (x2 ** 2 * (y0 - y1) + x1 ** 2 * (y2 - y0) + x0 ** 2 * (y1 - y2)) / den
    if a <= 0:
        return float(x[i])
    return float(np.clip(-b / (2 * a), x0, x2))


def self_calibrate(pairs: list[FocalPair], width: float, cap_px: float = 1.0,
                   max_rel_std: float = 0.15, min_turn_deg: float = 1.0,
                   seed: int = 0) -> TurnFocal | None:
    """The first frame's focal length from pairs of frames of a turning camera.

    Args:
        pairs: the pairs (:class:`FocalPair`), features already freed of outliers (e.g. the
            inliers of a homography).
        width: the measured image's width, px: the search runs from 0.15 to 10 widths
            (fields of view of about 147 to 6 degrees).
        cap_px: a feature's error counts at most this much, px.
        max_rel_std: an estimate less certain than this share of itself is no estimate.
        min_turn_deg: ... nor one where no pair turned this much.
        seed: seeds the resampling.

    Returns:
        A :class:`TurnFocal`, or None where the pairs cannot tell (too few, too little
        turn, a minimum at the end of the search, or too uncertain).
    """
    pairs = [p for p in pairs if len(p.a) >= 8]
    if len(pairs) < 3:
        return None
    coarse = np.linspace(np.log(0.15 * width), np.log(10.0 * width), 48)
    c_coarse = pair_costs(pairs, np.exp(coarse), cap_px)
    i = int(np.argmin(c_coarse.sum(axis=0)))
    if i == 0 or i == len(coarse) - 1:
        return None
    step = coarse[1] - coarse[0]
    fine = np.linspace(coarse[i] - 1.5 * step, coarse[i] + 1.5 * step, 13)
    fine = fine[np.abs(fine[:, None] - coarse[None]).min(axis=1) > 1e-9]  # no repeats
    grid = np.concatenate([coarse, fine])
    order = np.argsort(grid)
    grid = grid[order]
    cost = np.concatenate([c_coarse, pair_costs(pairs, np.exp(fine), cap_px)], axis=1)
    cost = cost[:, order]
    best = _vertex(grid, cost.sum(axis=0))
    # resampling whole groups: pairs sharing a keyframe share its features' errors
    groups = np.array([p.group for p in pairs])
    names = np.unique(groups)
    rows = [np.flatnonzero(groups == g) for g in names]
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(200):
        pick = np.concatenate([rows[k] for k in rng.integers(0, len(rows), len(rows))])
        draws.append(_vertex(grid, cost[pick].sum(axis=0)))
    std_log = float(np.std(draws)) if len(rows) > 1 else np.inf
    focal = float(np.exp(best))
    turn = 0.0
    for p in pairs:
        rot, _ = fit_rotation_zoom(p.a, p.b, focal * p.zoom_a, p.zoom)
        turn = max(turn, float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1) / 2,
                                                            -1, 1)))))
    if turn < min_turn_deg or std_log > max_rel_std:
        return None
    return TurnFocal(focal, focal * std_log, len(pairs), turn)
