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
