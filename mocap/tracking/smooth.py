"""Trajectory smoothing of landmark series: offline Kalman + RTS, causal Kalman, One-Euro.

Every joint coordinate is an independent constant-velocity series. The pure, vectorised
core (:func:`kalman_filter`, :func:`rts_smooth`, :func:`one_euro`) works on ``(T, K)`` arrays
(T frames, K series) with one Python loop over time only; it is tested against filterpy's
``KalmanFilter.batch_filter`` / ``rts_smoother``. :func:`smooth_landmarks` applies a method
chosen by name (:data:`SMOOTHERS`) to ``(T, 33, 3)`` landmarks with per-joint confidence.

Model (per series): state ``[position, velocity]``, white-noise acceleration of spectral
density ``q`` (units²/s³), measurement ``z = position + noise`` with variance
``sigma² / confidence``. Frames whose confidence is below ``min_confidence`` (or whose value is
not finite) are missing: the filter predicts through them, so gaps are bridged and a
low-confidence joint is never pulled towards a bad value.

Parameter meaning (units are the series' units: image series are divided by the person's
height in px first, so image defaults are fractions of body height and apply at any
resolution; world series are metres):

* ``sigma`` — std of a fully confident measurement. Larger: trust measurements less.
* ``q`` — how fast velocity may change. Larger: follows fast motion more closely, smooths less.
  The offline RTS smoother has no lag whatever the values; causal filters lag more as ``q``
  shrinks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error

__all__ = [
    "SMOOTHERS",
    "SmoothConfig",
    "StreamSmoother",
    "get_smoother",
    "kalman_filter",
    "one_euro",
    "rts_smooth",
    "smooth_landmarks",
    "smooth_series",
]


# --------------------------------------------------------------------------------------
# vectorised core
# --------------------------------------------------------------------------------------
def _check_series(values: np.ndarray, times: np.ndarray, confidence: np.ndarray | None):
    values = np.asarray(values, np.float64)
    if values.ndim != 2:
        raise shape_error("values", "(T, K)", values.shape)
    t = values.shape[0]
    times = np.asarray(times, np.float64).reshape(-1)
    if times.shape != (t,):
        raise shape_error("times", f"({t},)", times.shape)
    if t > 1 and np.any(np.diff(times) <= 0):
        raise ValueError("`times` must be strictly increasing")
    if confidence is None:
        confidence = np.ones_like(values)
    confidence = np.asarray(confidence, np.float64)
    if confidence.shape != values.shape:
        raise shape_error("confidence", f"{values.shape}", confidence.shape)
    return values, times, confidence


@dataclass
class KalmanResult:
    """Forward-pass output of :func:`kalman_filter` (all float64).

    Attributes:
        x: (T, K, 2) filtered state (position, velocity) after each update.
        P: (T, K, 2, 2) filtered covariance.
        x_prior: (T, K, 2) predicted state before each update.
        P_prior: (T, K, 2, 2) predicted covariance.
        dt: (T,) seconds from the previous frame (0 for the first).
    """

    x: np.ndarray
    P: np.ndarray
    x_prior: np.ndarray
    P_prior: np.ndarray
    dt: np.ndarray


def _kf_predict(x: np.ndarray, p: np.ndarray, d: float, q: float):
    """Constant-velocity predict over ``d`` seconds for K series: x (K, 2), p (K, 2, 2).

    F = [[1, d], [0, 1]], Q = q [[d³/3, d²/2], [d²/2, d]] (white-noise acceleration).
    """
    x = np.stack([x[:, 0] + d * x[:, 1], x[:, 1]], axis=1)
    p00 = p[:, 0, 0] + 2 * d * p[:, 0, 1] + d * d * p[:, 1, 1] + q * d**3 / 3
    p01 = p[:, 0, 1] + d * p[:, 1, 1] + q * d**2 / 2
    p11 = p[:, 1, 1] + q * d
    p = np.stack([np.stack([p00, p01], -1), np.stack([p01, p11], -1)], -2)
    return x, p


def _kf_update(x: np.ndarray, p: np.ndarray, z: np.ndarray, r: np.ndarray, m: np.ndarray):
    """Position measurement update (H = [1, 0]) of the series selected by ``m`` (K,) bool;
    z, r (K,) measurement and its variance."""
    if not m.any():
        return x, p
    p00, p01, p11 = p[m, 0, 0], p[m, 0, 1], p[m, 1, 1]
    s = p00 + r[m]
    k0, k1 = p00 / s, p01 / s
    y = z[m] - x[m, 0]
    x = x.copy()
    x[m, 0] += k0 * y
    x[m, 1] += k1 * y
    p = p.copy()
    p[m, 0, 0] = (1 - k0) * p00
    p[m, 0, 1] = p[m, 1, 0] = (1 - k0) * p01
    p[m, 1, 1] = p11 - k1 * p01
    return x, p


def kalman_filter(values: np.ndarray, times: np.ndarray, confidence: np.ndarray | None = None,
                  *, sigma: float, q: float, min_confidence: float = 0.5,
                  velocity_std: float | None = None) -> KalmanResult:
    """Constant-velocity Kalman filter on K independent series (causal).

    Args:
        values: (T, K) measurements; NaN where unknown.
        times: (T,) seconds, strictly increasing (variable frame rate is honoured).
        confidence: (T, K) in [0, 1]; measurement variance is ``sigma² / confidence``;
            below ``min_confidence`` the frame is treated as missing. None: all 1.
        sigma: std of a confidence-1 measurement, in the series' units.
        q: white-noise acceleration spectral density, units²/s³.
        min_confidence: confidence under which a measurement is ignored.
        velocity_std: prior std of the initial velocity (units/s); default ``10 * sigma``
            per frame of the median frame interval.

    Returns:
        :class:`KalmanResult`. The initial state is the first valid measurement of each
        series with zero velocity; series with no valid measurement stay NaN.
    """
    values, times, confidence = _check_series(values, times, confidence)
    if sigma <= 0 or q <= 0:
        raise ValueError(f"`sigma` and `q` must be > 0, got {sigma} and {q}")
    t_len, k = values.shape
    valid = np.isfinite(values) & (confidence >= min_confidence) & (confidence > 0)
    r = np.where(valid, sigma**2 / np.where(valid, confidence, 1.0), np.inf)
    dt = np.zeros(t_len)
    dt[1:] = np.diff(times)
    if velocity_std is None:
        step = float(np.median(dt[1:])) if t_len > 1 else 1.0 / 30
        velocity_std = 10.0 * sigma / step
    # Initial prior: the first valid measurement, zero velocity.
    has = valid.any(axis=0)
    first = np.argmax(valid, axis=0)
    x = np.zeros((k, 2))
    x[:, 0] = np.where(has, values[first, np.arange(k)], np.nan)
    p = np.zeros((k, 2, 2))
    p[:, 0, 0] = np.where(has, r[first, np.arange(k)], 1.0)
    p[:, 1, 1] = velocity_std**2
    xs = np.empty((t_len, k, 2))
    ps = np.empty((t_len, k, 2, 2))
    xp = np.empty((t_len, k, 2))
    pp = np.empty((t_len, k, 2, 2))
    for i in range(t_len):
        x, p = _kf_predict(x, p, dt[i], q)
        xp[i], pp[i] = x, p
        x, p = _kf_update(x, p, values[i], r[i], valid[i])
        xs[i], ps[i] = x, p
    return KalmanResult(xs, ps, xp, pp, dt)


def rts_smooth(result: KalmanResult) -> tuple[np.ndarray, np.ndarray]:
    """Rauch-Tung-Striebel backward pass over a :func:`kalman_filter` result.

    Returns:
        (x, P): (T, K, 2) smoothed states and (T, K, 2, 2) covariances. Zero lag: every
        estimate uses past and future measurements.
    """
    xs, ps = result.x.copy(), result.P.copy()
    t_len = xs.shape[0]
    for i in range(t_len - 2, -1, -1):
        d = result.dt[i + 1]
        f = np.array([[1.0, d], [0.0, 1.0]])
        pp_next = result.P_prior[i + 1]
        # C = P_i F^T inv(P_prior_{i+1})
        c = result.P[i] @ f.T @ np.linalg.inv(pp_next)
        xs[i] = result.x[i] + np.einsum("kab,kb->ka", c, xs[i + 1] - result.x_prior[i + 1])
        ps[i] = result.P[i] + c @ (ps[i + 1] - pp_next) @ np.swapaxes(c, 1, 2)
    return xs, ps


def one_euro(values: np.ndarray, times: np.ndarray, confidence: np.ndarray | None = None, *,
             min_cutoff: float = 1.0, beta: float = 0.5, d_cutoff: float = 1.0,
             min_confidence: float = 0.5) -> np.ndarray:
    """Causal One-Euro filter (Casiez et al. 2012) on K series; missing frames hold the
    last estimate.

    Args:
        values: (T, K); NaN where unknown.
        times: (T,) seconds, strictly increasing.
        confidence: (T, K); below ``min_confidence`` the frame is missing. None: all 1.
        min_cutoff: Hz, cutoff at rest. Lower: less jitter when still, more lag.
        beta: s/unit, how much the cutoff rises with speed. Higher: less lag when moving.
        d_cutoff: Hz, cutoff of the speed estimate.
        min_confidence: confidence under which a measurement is ignored.

    Returns:
        (T, K) filtered values; NaN before a series' first valid measurement.
    """
    values, times, confidence = _check_series(values, times, confidence)
    valid = np.isfinite(values) & (confidence >= min_confidence)
    t_len, k = values.shape
    out = np.full((t_len, k), np.nan)
    x_hat = np.full(k, np.nan)
    dx_hat = np.zeros(k)
    t_last = np.full(k, np.nan)

    for i in range(t_len):
        x_hat, dx_hat, t_last = _one_euro_step(x_hat, dx_hat, t_last, values[i], times[i],
                                               valid[i], min_cutoff, beta, d_cutoff)
        out[i] = x_hat
    return out


def _one_euro_step(x_hat, dx_hat, t_last, z, t, m, min_cutoff, beta, d_cutoff):
    """One One-Euro step for K series (state arrays (K,), NaN before the first value)."""

    def alpha(cutoff, dt):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    x_hat, dx_hat, t_last = x_hat.copy(), dx_hat.copy(), t_last.copy()
    init = m & np.isnan(x_hat)
    x_hat[init] = z[init]
    t_last[init] = t
    upd = m & ~init
    if upd.any():
        dt = t - t_last[upd]
        zu = z[upd]
        dx = (zu - x_hat[upd]) / dt
        dx_hat[upd] += alpha(d_cutoff, dt) * (dx - dx_hat[upd])
        cutoff = min_cutoff + beta * np.abs(dx_hat[upd])
        x_hat[upd] += alpha(cutoff, dt) * (zu - x_hat[upd])
        t_last[upd] = t
    return x_hat, dx_hat, t_last


# --------------------------------------------------------------------------------------
# methods by name
# --------------------------------------------------------------------------------------
def _rts(values, times, confidence, cfg: _Params) -> np.ndarray:
    res = kalman_filter(values, times, confidence, sigma=cfg.sigma, q=cfg.q,
                        min_confidence=cfg.min_confidence)
    return rts_smooth(res)[0][..., 0]


def _kalman(values, times, confidence, cfg: _Params) -> np.ndarray:
    res = kalman_filter(values, times, confidence, sigma=cfg.sigma, q=cfg.q,
                        min_confidence=cfg.min_confidence)
    return res.x[..., 0]


def _one_euro(values, times, confidence, cfg: _Params) -> np.ndarray:
    return one_euro(values, times, confidence, min_cutoff=cfg.min_cutoff, beta=cfg.beta,
                    min_confidence=cfg.min_confidence)


def _none(values, times, confidence, cfg: _Params) -> np.ndarray:
    return np.where(confidence >= cfg.min_confidence, values, np.nan)


@dataclass(frozen=True)
class _Params:
    sigma: float
    q: float
    min_cutoff: float
    beta: float
    min_confidence: float


Smoother = Callable[[np.ndarray, np.ndarray, np.ndarray, _Params], np.ndarray]

#: Smoothing methods by name: ``rts`` (offline Kalman + RTS, zero lag; default), ``kalman``
#: (causal forward Kalman filter, for streaming), ``one_euro`` (causal), ``none``.
SMOOTHERS: dict[str, Smoother] = {
    "rts": _rts,
    "kalman": _kalman,
    "one_euro": _one_euro,
    "none": _none,
}


def get_smoother(name: str) -> Smoother:
    """Resolve a smoothing method name; the error lists the valid names."""
    try:
        return SMOOTHERS[name]
    except KeyError:
        raise ValueError(f"unknown smoothing method {name!r}; valid: "
                         f"{', '.join(SMOOTHERS)}") from None


@dataclass(frozen=True)
class SmoothConfig:
    """Smoothing parameters (validated on construction).

    Attributes:
        method: a key of :data:`SMOOTHERS`.
        image_sigma: std of a confident image landmark, as a fraction of the person's
            height (0.006 ≈ 2.4 px on a 400 px tall person).
        image_q: image acceleration noise density, (heights)²/s³.
        world_sigma: std of a confident world landmark, metres.
        world_q: world acceleration noise density, m²/s³.
        min_confidence: joint visibility under which a measurement is missing (bridged).
        one_euro_min_cutoff: Hz (``one_euro`` only).
        one_euro_beta: s per height (image) or s/m (world) (``one_euro`` only).
    """

    method: str = "rts"
    image_sigma: float = 0.006
    image_q: float = 0.5
    world_sigma: float = 0.01
    world_q: float = 1.0
    min_confidence: float = 0.5
    one_euro_min_cutoff: float = 1.5
    one_euro_beta: float = 1.0

    def __post_init__(self) -> None:
        get_smoother(self.method)
        for name in ("image_sigma", "image_q", "world_sigma", "world_q",
                     "one_euro_min_cutoff"):
            if not getattr(self, name) > 0:
                raise ValueError(f"`{name}` must be > 0, got {getattr(self, name)}")
        if not 0 <= self.min_confidence <= 1:
            raise ValueError(f"`min_confidence` must be in [0, 1], got {self.min_confidence}")
        if self.one_euro_beta < 0:
            raise ValueError(f"`one_euro_beta` must be >= 0, got {self.one_euro_beta}")


def smooth_series(values: np.ndarray, times: np.ndarray, confidence: np.ndarray | None = None,
                  *, method: str = "rts", sigma: float = 1.0, q: float = 1.0,
                  min_cutoff: float = 1.5, beta: float = 1.0,
                  min_confidence: float = 0.5) -> np.ndarray:
    """Smooth (T, K) series with a named method; see the module docstring for parameters.

    Series with no valid measurement at all are smoothed from all their finite values at
    confidence ``min_confidence`` instead (better a guarded estimate than nothing).

    Returns:
        (T, K) float64; gaps bridged (causal methods hold or extrapolate; NaN only before a
        series' first finite value).
    """
    values, times, confidence = _check_series(values, times, confidence)
    fn = get_smoother(method)
    conf = confidence.copy()
    finite = np.isfinite(values)
    dead = ~(finite & (conf >= min_confidence)).any(axis=0) & finite.any(axis=0)
    if dead.any():
        conf[:, dead] = np.where(finite[:, dead], max(min_confidence, 1e-3), 0.0)
    params = _Params(sigma, q, min_cutoff, beta, min_confidence)
    return fn(values, times, conf, params)


def smooth_landmarks(xyz: np.ndarray, times: np.ndarray, confidence: np.ndarray, *,
                     config: SmoothConfig = SmoothConfig(), space: str = "image",
                     scale: float = 1.0) -> np.ndarray:
    """Smooth one person's landmark trajectories.

    Args:
        xyz: (T, J, 3) px (image: x, y, z) or metres (world), or (T, J, 2) px (image x,
            y only); NaN where not observed.
        times: (T,) seconds, strictly increasing.
        confidence: (T, J) per-joint visibility in [0, 1] (0 where not observed).
        config: :class:`SmoothConfig`.
        space: ``"image"`` or ``"world"`` (selects the parameter pair).
        scale: for ``image``, the person's height in px: series are divided by it so the
            fractional parameters apply.

    Returns:
        (T, J, 3) or (T, J, 2) float32 smoothed landmarks, gaps bridged.
    """
    xyz = np.asarray(xyz, np.float64)
    if xyz.ndim != 3 or xyz.shape[2] not in (2, 3):
        raise shape_error("xyz", "(T, J, 3) or (T, J, 2)", xyz.shape)
    t_len, j, dim = xyz.shape
    confidence = np.asarray(confidence, np.float64)
    if confidence.shape != (t_len, j):
        raise shape_error("confidence", f"({t_len}, {j})", confidence.shape)
    if space == "image":
        sigma, q, unit = config.image_sigma, config.image_q, float(scale)
    elif space == "world":
        sigma, q, unit = config.world_sigma, config.world_q, 1.0
    else:
        raise ValueError(f"unknown landmark space {space!r}; valid: image, world")
    if not unit > 0:
        raise ValueError(f"`scale` must be > 0, got {scale}")
    if t_len == 0:
        return np.zeros((0, j, dim), np.float32)
    vals = xyz.reshape(t_len, j * dim) / unit
    conf = np.repeat(confidence, dim, axis=1)
    out = smooth_series(vals, times, conf, method=config.method, sigma=sigma, q=q,
                        min_cutoff=config.one_euro_min_cutoff, beta=config.one_euro_beta,
                        min_confidence=config.min_confidence)
    return (out * unit).reshape(t_len, j, dim).astype(np.float32)


class StreamSmoother:
    """Causal, frame-by-frame smoothing of one person's landmarks (for live use).

    A thin stateful shell over the same steps as the ``kalman`` and ``one_euro`` methods:
    feeding frames one by one gives what :func:`smooth_landmarks` gives offline with that
    method (for series that start at the first frame).

    Example:
        >>> s = StreamSmoother(SmoothConfig(method="one_euro"), scale=400.0)  # doctest: +SKIP
        >>> xyz_smooth = s.update(t, xyz, visibility)   # (33, 3) each frame
    """

    METHODS = ("kalman", "one_euro", "none")

    def __init__(self, config: SmoothConfig | None = None, *, space: str = "image",
                 scale: float = 1.0, joints: int = 33) -> None:
        """Args:
            config: :class:`SmoothConfig`; its method must be causal (``kalman``,
                ``one_euro`` or ``none``).
            space: ``"image"`` (units of ``scale`` px) or ``"world"`` (metres).
            scale: person height in px for ``image``.
            joints: landmarks per frame.
        """
        self.config = config or SmoothConfig(method="one_euro")
        if self.config.method not in self.METHODS:
            raise ValueError(f"method {self.config.method!r} cannot run causally; valid: "
                             f"{', '.join(self.METHODS)}")
        if space not in ("image", "world"):
            raise ValueError(f"unknown landmark space {space!r}; valid: image, world")
        if not scale > 0:
            raise ValueError(f"`scale` must be > 0, got {scale}")
        self.space, self.joints = space, joints
        self.unit = float(scale) if space == "image" else 1.0
        c = self.config
        self.sigma, self.q = ((c.image_sigma, c.image_q) if space == "image"
                              else (c.world_sigma, c.world_q))
        self.reset()

    def reset(self) -> None:
        k = self.joints * 3
        self._t: float | None = None
        self._x = np.full((k, 2), np.nan)
        self._p = np.zeros((k, 2, 2))
        self._xe = np.full(k, np.nan)  # One-Euro state
        self._dx = np.zeros(k)
        self._t_last = np.full(k, np.nan)

    def update(self, t: float, xyz: np.ndarray, confidence: np.ndarray) -> np.ndarray:
        """Add one frame and return its smoothed landmarks.

        Args:
            t: seconds, increasing.
            xyz: (J, 3) landmarks (NaN where unknown).
            confidence: (J,) visibility; below ``min_confidence`` a joint is missing.

        Returns:
            (J, 3) float32; NaN for joints never seen yet.
        """
        xyz = np.asarray(xyz, np.float64)
        if xyz.shape != (self.joints, 3):
            raise shape_error("xyz", f"({self.joints}, 3)", xyz.shape)
        confidence = np.asarray(confidence, np.float64)
        if confidence.shape != (self.joints,):
            raise shape_error("confidence", f"({self.joints},)", confidence.shape)
        if self._t is not None and not t > self._t:
            raise ValueError(f"timestamps must increase, got {t} after {self._t}")
        c = self.config
        z = xyz.reshape(-1) / self.unit
        conf = np.repeat(confidence, 3)
        m = np.isfinite(z) & (conf >= c.min_confidence) & (conf > 0)
        if c.method == "none":
            out = np.where(m, z, np.nan)
        elif c.method == "one_euro":
            self._xe, self._dx, self._t_last = _one_euro_step(
                self._xe, self._dx, self._t_last, z, t, m, c.one_euro_min_cutoff,
                c.one_euro_beta, 1.0)
            out = self._xe
        else:
            r = np.where(m, self.sigma**2 / np.where(m, conf, 1.0), np.inf)
            new = m & np.isnan(self._x[:, 0])
            if new.any():  # first sight: position = measurement, zero velocity
                self._x[new] = np.column_stack([z[new], np.zeros(new.sum())])
                self._p[new] = 0.0
                self._p[new, 0, 0] = r[new]
                step = 1.0 / 30 if self._t is None else max(t - self._t, 1e-3)
                self._p[new, 1, 1] = (10.0 * self.sigma / step) ** 2
            d = 0.0 if self._t is None else t - self._t
            known = ~np.isnan(self._x[:, 0])
            x, p = _kf_predict(np.nan_to_num(self._x), self._p, d, self.q)
            x, p = _kf_update(x, p, np.nan_to_num(z), r, m & known)
            self._x = np.where(known[:, None], x, np.nan)
            self._p = p
            out = self._x[:, 0]
        self._t = t
        return (np.asarray(out) * self.unit).reshape(self.joints, 3).astype(np.float32)
