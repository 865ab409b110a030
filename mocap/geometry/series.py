"""Time series along axis 0 (frames first): gap filling, moving averages, runs, jitter."""

from __future__ import annotations

import numpy as np


def fill_nan(x: np.ndarray) -> np.ndarray:
    """Linear interpolation of NaN frames along axis 0 (edges held)."""
    x = np.array(x, np.float64)
    flat = x.reshape(len(x), -1)
    idx = np.arange(len(x))
    for c in range(flat.shape[1]):
        good = np.isfinite(flat[:, c])
        if good.any() and not good.all():
            flat[:, c] = np.interp(idx, idx[good], flat[good, c])
    return flat.reshape(x.shape)


def moving_average(x: np.ndarray, half_window: float) -> np.ndarray:
    """Centred moving average along axis 0 over ``2 * half_window + 1`` frames (the end
    frames repeated at the edges), so landmark jitter does not read as foot speed."""
    h = round(half_window)
    if h < 1 or len(x) < 3:
        return x
    pad = np.concatenate([np.repeat(x[:1], h, 0), x, np.repeat(x[-1:], h, 0)])
    c = np.cumsum(np.concatenate([np.zeros((1, *x.shape[1:])), pad]), axis=0)
    return (c[2 * h + 1:] - c[:-2 * h - 1]) / (2 * h + 1)


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with standard deviation ``sigma`` frames (the end
    frames repeated at the edges, as :func:`moving_average` does)."""
    if sigma <= 0 or len(x) < 3:
        return x
    r = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = np.concatenate([np.repeat(x[:1], r, 0), x, np.repeat(x[-1:], r, 0)])
    flat = pad.reshape(len(pad), -1)
    out = np.stack([np.convolve(flat[:, c], k, mode="valid") for c in range(flat.shape[1])],
                   axis=1)
    return out.reshape(x.shape)


#: The path of :func:`path_length` is smoothed with a Gaussian of this standard deviation,
#: seconds: a walk's path keeps its length (the demo's walker: 5.9 m smoothed, 7.6 m frame
#: by frame, 5.8 m from start to end), frame-to-frame jitter of the root does not add up.
PATH_SMOOTH_S = 0.25


def path_length(points: np.ndarray, fps: float, smooth_s: float = PATH_SMOOTH_S) -> float:
    """Length of the path ``points`` (T, D) (e.g. the root over the ground, (T, 2)), in
    their units, measured on the path smoothed over time.

    The smoothing is a Gaussian of ``smooth_s`` seconds standard deviation, each end
    extended by point reflection, so the smoothed path starts and ends exactly where
    ``points`` do (never shorter than the net displacement) and a straight line keeps its
    length; jitter between frames, which frame-by-frame sums would add up (+30 % on a
    walk), is averaged away. Slower wobble (monocular depth swaying with a jumping
    person's size in the image) still counts. NaN frames are skipped.
    """
    x = np.asarray(points, np.float64)
    x = x[np.isfinite(x).all(axis=1)]
    if len(x) < 2:
        return 0.0
    sigma = smooth_s * fps
    r = min(int(np.ceil(3 * sigma)), len(x) - 1)
    if sigma > 0 and r >= 1:
        k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
        k /= k.sum()
        pad = np.concatenate([2 * x[:1] - x[r:0:-1], x, 2 * x[-1:] - x[-2:-r - 2:-1]])
        x = np.stack([np.convolve(pad[:, c], k, mode="valid") for c in range(x.shape[1])],
                     axis=1)
    return float(np.linalg.norm(np.diff(x, axis=0), axis=1).sum())


def segments(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


def jitter(x: np.ndarray, observed: np.ndarray) -> float:
    """Mean absolute second difference over runs of observed frames (units of ``x``)."""
    if len(x) < 3:
        return 0.0
    d2 = np.abs(x[2:] - 2 * x[1:-1] + x[:-2])
    ok = observed[2:] & observed[1:-1] & observed[:-2]
    vals = d2[ok]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else 0.0
