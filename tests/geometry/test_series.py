"""Time series helpers: the path length of the root over the ground."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.geometry.series import PATH_SMOOTH_S, path_length

FPS = 30.0


def _walk_there_and_back(metres: float = 5.0, speed: float = 1.2) -> np.ndarray:
    """(T, 2) x, z of a walk ``metres`` along x and back, at ``speed`` m/s."""
    leg = np.arange(0, metres, speed / FPS)
    x = np.concatenate([leg, metres - leg])
    return np.column_stack([x, 0.1 * np.sin(x)])


def test_a_straight_line_keeps_its_length_exactly():
    x = np.column_stack([np.linspace(0, 5, 90), np.linspace(0, -1, 90)])
    assert path_length(x, FPS) == pytest.approx(np.hypot(5, 1), abs=1e-9)


def test_there_and_back_is_the_path_not_the_net_displacement():
    clean = _walk_there_and_back()
    true = np.linalg.norm(np.diff(clean, axis=0), axis=1).sum()
    assert true == pytest.approx(10.0, abs=0.1)
    assert np.linalg.norm(clean[-1] - clean[0]) < 0.1  # net: about nothing
    # root jitter of 3 cm per frame: summed frame by frame it adds metres (the demo's
    # walker: 7.6 m frame by frame for a 5.9 m walk)
    noisy = clean + np.random.default_rng(0).normal(scale=0.03, size=clean.shape)
    naive = np.linalg.norm(np.diff(noisy, axis=0), axis=1).sum()
    assert naive > 1.3 * true
    # smoothed, the jitter is gone; only the turn's corner is rounded (-4.5 %)
    assert path_length(noisy, FPS) == pytest.approx(true, rel=0.06)


def test_never_shorter_than_the_net_displacement_and_nan_skipped():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.normal(scale=0.05, size=(200, 2)), axis=0)
    assert path_length(x, FPS) >= np.linalg.norm(x[-1] - x[0]) - 1e-9
    x[50:60] = np.nan
    assert np.isfinite(path_length(x, FPS))
    assert path_length(x[:1], FPS) == 0.0
    # a person standing still with jitter travels (almost) nowhere
    still = rng.normal(scale=0.01, size=(150, 2))
    assert path_length(still, FPS) < 0.1
    assert PATH_SMOOTH_S == 0.25
