"""mocap.tracking.smooth: the vectorised Kalman/RTS core against filterpy, and accuracy."""

from __future__ import annotations

import numpy as np
import pytest
from filterpy.kalman import KalmanFilter

from mocap.tracking.smooth import (
    SMOOTHERS,
    SmoothConfig,
    StreamSmoother,
    get_smoother,
    kalman_filter,
    one_euro,
    rts_smooth,
    smooth_landmarks,
    smooth_series,
)


def _filterpy_reference(z, times, conf, sigma, q, min_conf, x0, p0):
    """filterpy KalmanFilter.batch_filter + rts_smoother on one series."""
    kf = KalmanFilter(dim_x=2, dim_z=1)
    kf.x = np.array([[x0], [0.0]])
    kf.P = p0.copy()
    kf.H = np.array([[1.0, 0.0]])
    dts = np.diff(times, prepend=times[0])
    fs = [np.array([[1.0, d], [0.0, 1.0]]) for d in dts]
    qs = [q * np.array([[d**3 / 3, d**2 / 2], [d**2 / 2, d]]) for d in dts]
    zs = [None if not (np.isfinite(v) and c >= min_conf) else np.array([[v]])
          for v, c in zip(z, conf, strict=True)]
    rs = [sigma**2 / max(c, 1e-9) for c in conf]
    mu, cov, _, _ = kf.batch_filter(zs, Fs=fs, Qs=qs, Rs=rs)
    xs, ps, _, _ = kf.rts_smoother(mu, cov, Fs=fs, Qs=qs)
    return mu[:, :, 0], cov, xs[:, :, 0], ps


def test_vectorised_kalman_and_rts_match_filterpy():
    rng = np.random.default_rng(0)
    t_len, k = 60, 4
    times = np.cumsum(rng.uniform(0.02, 0.05, t_len))  # variable frame rate
    truth = np.sin(times[:, None] * np.arange(1, k + 1)) * 10
    z = truth + rng.normal(0, 0.5, (t_len, k))
    conf = rng.uniform(0.2, 1.0, (t_len, k))
    z[10:15, 1] = np.nan  # a gap
    sigma, q, min_conf = 0.5, 20.0, 0.4
    res = kalman_filter(z, times, conf, sigma=sigma, q=q, min_confidence=min_conf)
    xs, ps = rts_smooth(res)
    for j in range(k):
        first = int(np.argmax(np.isfinite(z[:, j]) & (conf[:, j] >= min_conf)))
        p0 = res.P_prior[0, j].copy()  # dt=0 on the first step: prior == initial P
        mu, cov, sx, sp = _filterpy_reference(z[:, j], times, conf[:, j], sigma, q, min_conf,
                                              z[first, j], p0)
        np.testing.assert_allclose(res.x[:, j], mu, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(res.P[:, j], cov, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(xs[:, j], sx, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(ps[:, j], sp, rtol=1e-6, atol=1e-8)


def _noisy_walk(seed=0, t_len=200, k=6, noise=0.02, fps=30.0):
    rng = np.random.default_rng(seed)
    times = np.arange(t_len) / fps
    freq = rng.uniform(0.3, 1.2, k)
    phase = rng.uniform(0, 2 * np.pi, k)
    truth = 0.3 * np.sin(2 * np.pi * freq * times[:, None] + phase) + 0.1 * times[:, None]
    return times, truth, truth + rng.normal(0, noise, truth.shape)


@pytest.mark.parametrize(
    ("method", "max_ratio"),
    # offline RTS halves the error; causal filters trade noise for lag, so less
    [("rts", 0.6), ("kalman", 0.9), ("one_euro", 0.95)],
)
def test_smoothers_lower_rmse_against_truth(method, max_ratio):
    times, truth, z = _noisy_walk()
    out = smooth_series(z, times, method=method, sigma=0.02, q=2.0, min_cutoff=4.0, beta=20.0)
    rmse_raw = np.sqrt(np.mean((z - truth) ** 2))
    rmse = np.sqrt(np.nanmean((out - truth) ** 2))
    assert rmse < max_ratio * rmse_raw, (method, rmse, rmse_raw)


def test_rts_beats_causal_and_has_no_lag():
    times, truth, z = _noisy_walk(seed=1, noise=0.03)
    rts = smooth_series(z, times, method="rts", sigma=0.03, q=2.0)
    causal = smooth_series(z, times, method="kalman", sigma=0.03, q=2.0)
    err = lambda x: np.sqrt(np.mean((x - truth) ** 2))  # noqa: E731
    assert err(rts) < err(causal)
    # lag: cross-correlation of velocity peaks at 0 for RTS
    v_t, v_s = np.diff(truth[:, 0]), np.diff(rts[:, 0])
    lags = range(-5, 6)
    corr = [np.corrcoef(np.roll(v_s, lag)[10:-10], v_t[10:-10])[0, 1] for lag in lags]
    assert list(lags)[int(np.argmax(corr))] == 0


def test_low_confidence_is_missing_and_gaps_are_bridged():
    times, truth, z = _noisy_walk(seed=2, noise=0.005)
    truth, z = truth + 1.0, z + 1.0  # keep the truth well away from the garbage zeros
    conf = np.ones_like(z)
    z_bad = z.copy()
    z_bad[80:90] = 0.0  # garbage (0,0)-like values...
    conf[80:90] = 0.1  # ...flagged as low confidence
    out = smooth_series(z_bad, times, conf, method="rts", sigma=0.005, q=2.0)
    # the bridged values follow the truth, not the garbage zeros
    assert np.abs(out[80:90] - truth[80:90]).max() < 0.1


def test_confidence_scales_measurement_noise():
    times = np.arange(50) / 30.0
    z = np.zeros((50, 1))
    z[25] = 1.0  # one outlier
    conf_hi = np.ones_like(z)
    conf_lo = conf_hi.copy()
    conf_lo[25] = 0.55
    hi = smooth_series(z, times, conf_hi, method="rts", sigma=0.1, q=1.0)
    lo = smooth_series(z, times, conf_lo, method="rts", sigma=0.1, q=1.0)
    assert lo[25, 0] < hi[25, 0]


def test_series_without_confident_values_is_still_estimated():
    times = np.arange(30) / 30.0
    z = np.linspace(0, 1, 30)[:, None]
    conf = np.full_like(z, 0.2)
    out = smooth_series(z, times, conf, method="rts", sigma=0.01, q=1.0, min_confidence=0.5)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], z[:, 0], atol=0.05)


def test_one_euro_holds_through_missing_and_is_nan_before_first():
    times = np.arange(10) / 30.0
    z = np.arange(10, dtype=float)[:, None]
    z[:2] = np.nan
    z[5:7] = np.nan
    out = one_euro(z, times)
    assert np.all(np.isnan(out[:2]))
    assert out[2, 0] == 2.0
    assert out[5, 0] == out[4, 0] == out[6, 0]


def test_smooth_landmarks_image_and_world():
    rng = np.random.default_rng(3)
    t_len = 90
    times = np.arange(t_len) / 30.0
    base = rng.uniform(100, 500, (33, 3))
    truth = base[None] + 40 * np.sin(times)[:, None, None]
    xyz = truth + rng.normal(0, 3.0, truth.shape)
    conf = np.ones((t_len, 33))
    xyz[40:45] = np.nan
    conf[40:45] = 0.0
    out = smooth_landmarks(xyz, times, conf, space="image", scale=400.0)
    assert out.shape == (t_len, 33, 3) and out.dtype == np.float32
    assert np.all(np.isfinite(out))
    ok = np.isfinite(xyz)
    assert np.sqrt(np.mean((out[ok] - truth[ok]) ** 2)) < 0.7 * 3.0
    world = smooth_landmarks(xyz / 400, times, conf, space="world")
    assert np.all(np.isfinite(world))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"method": "median"}, "valid: rts, kalman, one_euro, none"),
     ({"image_sigma": 0}, "image_sigma"),
     ({"min_confidence": 2}, "min_confidence")],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmoothConfig(**kwargs)


def test_shape_and_time_errors():
    with pytest.raises(ValueError, match=r"`times` must have shape \(3,\)"):
        smooth_series(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="strictly increasing"):
        smooth_series(np.zeros((3, 2)), np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match="unknown landmark space"):
        smooth_landmarks(np.zeros((2, 33, 3)), np.arange(2.0), np.ones((2, 33)), space="x")
    assert set(SMOOTHERS) == {"rts", "kalman", "one_euro", "none"}
    assert get_smoother("rts") is SMOOTHERS["rts"]


@pytest.mark.parametrize("method", ["kalman", "one_euro", "none"])
def test_stream_smoother_matches_offline_causal_method(method):
    rng = np.random.default_rng(4)
    t_len = 60
    times = np.arange(t_len) / 30.0
    truth = 300 + 50 * np.sin(times)[:, None, None] + rng.uniform(0, 100, (1, 33, 3))
    xyz = truth + rng.normal(0, 2.0, truth.shape)
    conf = rng.uniform(0.6, 1.0, (t_len, 33))
    conf[20:25, 5] = 0.1  # a gap in one joint
    cfg = SmoothConfig(method=method)
    offline = smooth_landmarks(xyz, times, conf, config=cfg, scale=400.0)
    stream = StreamSmoother(cfg, scale=400.0)
    online = np.stack([stream.update(t, x, c) for t, x, c in zip(times, xyz, conf,
                                                                   strict=True)])
    if method == "none":
        assert np.isnan(online[20:25, 5]).all()
        np.testing.assert_allclose(online[:20], xyz[:20], rtol=1e-5)
    else:
        np.testing.assert_allclose(online, offline, rtol=1e-5, atol=1e-3)


def test_stream_smoother_rejects_offline_method_and_bad_input():
    with pytest.raises(ValueError, match="valid: kalman, one_euro, none"):
        StreamSmoother(SmoothConfig(method="rts"))
    s = StreamSmoother()
    s.update(0.0, np.zeros((33, 3)), np.ones(33))
    with pytest.raises(ValueError, match="increase"):
        s.update(0.0, np.zeros((33, 3)), np.ones(33))
    with pytest.raises(ValueError, match=r"`xyz` must have shape \(33, 3\)"):
        s.update(1.0, np.zeros((17, 3)), np.ones(33))
