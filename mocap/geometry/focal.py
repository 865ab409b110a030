"""The focal length of a fixed camera from the people in it.

A person's metric 3D (BlazePose's hip-centred world landmarks) and their 2D fix their
distance only as ``f * size_m / size_px``: a wrong focal length ``f`` stretches every depth
by the same factor while leaving the across-image positions alone. What that stretch breaks
is the floor: everybody's standing feet lie on one plane whose normal is the people's own
"up" (their ankle-to-shoulder direction, metric and independent of ``f``). With a camera
pitched over a floor, people at different distances (or a person walking in depth) put
their feet at heights along that up that agree only at the right ``f``: the classic
single-view metrology of people's heights against the horizon, done in 3D.

Two things measured on Pose2Sim's Demo_MultiPerson shaped the method:

* BlazePose's world landmarks are turned towards the ray through the person (it sees a
  crop as if centred): a person 15 deg above the image centre leans 15 deg back in camera
  axes. Each frame's landmarks are therefore turned by the ray's rotation (which itself
  depends on ``f``) before anything else; that halved the people's up error there.
* The perspective inside one body (its depth extent against its 2D foreshortening) is no
  use: BlazePose's depth differences favour a near-orthographic camera on every view
  (residual minimum at 1.5-2.7x the true focal length).

The score of a focal length is the spread of the contact feet's heights along the common
up; its minimum over a log grid of fields of view (on the long side), refined by a
parabola, is the estimate. Its uncertainty joins a block bootstrap over frames with the
shift a 3 deg error in the up's pitch would cause (20-30 % at a 20 deg camera pitch: the
method's real weakness), and the result is weighed with a prior field of view on the
image's *long* side by their variances (in log focal length). Where the people cannot tell
(one person standing still, everybody at one distance, a level camera), the uncertainty is
over twice the prior's or the minimum sits on the grid's edge, and the prior alone is
returned.

Camera axes: x right, y down, z forward (OpenCV's); principal point at the image centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError
from mocap.geometry.camera import solve_root
from mocap.geometry.rotations import axis_matrix, normalize

#: The prior field of view on the image's long side, degrees: a phone's main lens (26 mm
#: equivalent: 65 deg over a 4:3 sensor's long side, 69 over 16:9's).
PRIOR_FOV_LONG_DEG = 65.0
#: The prior's relative uncertainty: phone and action-camera main lenses span about
#: 50-85 deg on the long side.
PRIOR_UNCERTAINTY = 0.35
#: The fields of view searched, degrees on the long side.
FOV_SEARCH_DEG = (20.0, 120.0)
#: Above this relative uncertainty the people's estimate is not trusted (prior instead).
MAX_UNCERTAINTY = 1.0
#: The up's pitch error (degrees) whose effect on the estimate counts in its uncertainty
#: (the people's mean up was 3-8 deg off the calibrated vertical on Demo_MultiPerson).
UP_PITCH_ERROR_DEG = 3.0

# BlazePose landmark indices
_SHOULDERS, _HIPS, _ANKLES, _FEET = (11, 12), (23, 24), (27, 28), (29, 30, 31, 32)
#: A foot counts as standing when its image speed is under this share of the person's
#: height in px per second (f-independent, so the choice of frames does not move with f).
_STILL_HEIGHTS_PER_S = 0.6
#: Frames whose up is this far (degrees) from the person's median up are dropped (a bow,
#: a fall, a detector slip).
_UP_OUTLIER_DEG = 25.0


@dataclass(frozen=True)
class FocalEstimate:
    """The focal length of a fixed camera and where it came from.

    Attributes:
        focal_px: focal length, px (square pixels, principal point at the image centre).
        source: ``"people"`` (measured) or ``"prior"`` (:data:`PRIOR_FOV_LONG_DEG`).
        uncertainty: relative one-sigma uncertainty (0.08 = +-8 %).
        fov_long_deg: the field of view on the image's long side, degrees.
        people: persons whose frames were used (0 for a prior with nobody usable).
        frames: person-frames used (standing feet).
        reason: why the prior was used; for a measured one blended with the prior, the
            people's own estimate and its weight ("" when not blended).
    """

    focal_px: float
    source: str
    uncertainty: float
    fov_long_deg: float
    people: int = 0
    frames: int = 0
    reason: str = ""


def focal_from_fov(long_side: int, fov_deg: float) -> float:
    """Focal length, px, of a field of view ``fov_deg`` over ``long_side`` px."""
    return 0.5 * float(long_side) / np.tan(np.radians(fov_deg) / 2)


def fov_from_focal(long_side: int, focal: float) -> float:
    """Field of view, degrees, over ``long_side`` px at focal length ``focal`` px."""
    return float(np.degrees(2 * np.arctan(0.5 * float(long_side) / focal)))


def prior_focal(image_size: tuple[int, int], reason: str = "", people: int = 0,
                fov_long_deg: float = PRIOR_FOV_LONG_DEG) -> FocalEstimate:
    """The prior: ``fov_long_deg`` on the image's long side (portrait or landscape alike).

    Args:
        image_size: (width, height) px.
        reason: why the prior is used, for the report.
        people: persons seen (for the report).
        fov_long_deg: the prior field of view, degrees.
    """
    long_side = max(_check_size(image_size))
    return FocalEstimate(focal_from_fov(long_side, fov_long_deg), "prior", PRIOR_UNCERTAINTY,
                         float(fov_long_deg), people, 0, reason)


def _check_size(image_size) -> tuple[int, int]:
    size = tuple(image_size) if isinstance(image_size, Sequence | np.ndarray) else ()
    if len(size) != 2 or not all(np.isfinite(s) and s >= 1 for s in size):
        raise InputError(f"`image_size` must be (width, height) in px, got {image_size!r}")
    return int(size[0]), int(size[1])


def _unit(v: np.ndarray) -> np.ndarray:
    return normalize(v)[0]


def ray_rotation(dirs: np.ndarray) -> np.ndarray:
    """(..., 3, 3) the smallest rotations taking the optical axis (0, 0, 1) to the unit
    rays ``dirs`` (..., 3) (Rodrigues)."""
    dirs = _unit(np.asarray(dirs, np.float64))
    axis = np.stack([-dirs[..., 1], dirs[..., 0], np.zeros(dirs.shape[:-1])], -1)  # z x d
    s = np.linalg.norm(axis, axis=-1)
    k = axis / np.maximum(s, 1e-12)[..., None]
    kx = np.zeros((*dirs.shape[:-1], 3, 3))
    kx[..., 0, 1], kx[..., 0, 2] = -k[..., 2], k[..., 1]
    kx[..., 1, 0], kx[..., 1, 2] = k[..., 2], -k[..., 0]
    kx[..., 2, 0], kx[..., 2, 1] = -k[..., 1], k[..., 0]
    c = dirs[..., 2]
    return np.eye(3) + s[..., None, None] * kx + (1 - c)[..., None, None] * (kx @ kx)


@dataclass
class _Person:
    world: np.ndarray  # (T, 33, 3) m, as BlazePose gives them (turned towards the ray)
    xy: np.ndarray  # (T, 33, 2) px
    weight: np.ndarray  # (T, 33)
    still: np.ndarray  # (T,) bool: the lowest foot in the image stands still


def _people(tracks, fps: float, min_frames: int) -> list[_Person]:
    out = []
    need = (*_SHOULDERS, *_HIPS, *_ANKLES, *_FEET)
    for tr in tracks:
        world = np.asarray(tr.world, np.float64)
        xy = np.asarray(tr.image, np.float64)[..., :2]
        vis = np.nan_to_num(np.asarray(tr.visibility, np.float64))
        observed = np.asarray(getattr(tr, "observed", np.ones(len(world), bool)), bool)
        ok = (observed & np.isfinite(world[:, need]).all(axis=(1, 2))
              & np.isfinite(xy[:, need]).all(axis=(1, 2)))
        if ok.sum() < min_frames:
            continue
        world, xy, vis = world[ok], xy[ok], vis[ok]
        height = np.nanmax(xy[..., 1], 1) - np.nanmin(xy[..., 1], 1)
        lowest = np.argmax(xy[:, _FEET, 1], axis=1)
        foot = xy[:, _FEET][np.arange(len(xy)), lowest]
        speed = (np.linalg.norm(np.gradient(foot, axis=0), axis=-1) * fps
                 if len(foot) >= 2 else np.zeros(len(foot)))
        still = speed < _STILL_HEIGHTS_PER_S * np.maximum(height, 1.0)
        out.append(_Person(world, xy, vis, still))
    return out


def _geometry(person: _Person, focals: np.ndarray, center: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """At each focal length of ``focals`` (G,): each frame's up (G, T, 3) (unit, camera
    axes: pointing up, so mostly -y) and its four foot points (G, T, 4, 3) metres in
    camera axes (every focal length in one pass)."""
    g, t = len(focals), len(person.xy)
    hip = 0.5 * (person.xy[:, _HIPS[0]] + person.xy[:, _HIPS[1]]) - center
    rays = np.concatenate([hip[None] / focals[:, None, None], np.ones((g, t, 1))], -1)
    world = np.einsum("gtij,tkj->gtki", ray_rotation(rays), person.world)
    k = world.shape[2]
    root = solve_root(world.reshape(g * t, k, 3), np.tile(person.xy, (g, 1, 1)),
                      np.tile(person.weight, (g, 1)), np.repeat(focals, t),
                      (center[0], center[1])).reshape(g, t, 1, 3)
    up = _unit(world[:, :, _SHOULDERS].mean(2) - world[:, :, _ANKLES].mean(2))
    return up, (world + root)[:, :, _FEET]


@dataclass
class _Cache:
    """Per person, at every grid focal length: ups (G, T, 3) and feet (G, T, 4, 3)."""

    focals: np.ndarray
    ups: list[np.ndarray]
    feet: list[np.ndarray]


def _score(cache: _Cache, people: list[_Person], weights: list[np.ndarray],
           tilt: np.ndarray | None = None) -> np.ndarray:
    """Spread (m^2) of the standing feet's heights along the common up, per grid focal
    (all focal lengths at once)."""
    ups = []
    for u, w in zip(cache.ups, weights, strict=True):
        med = _unit(np.median(u, axis=1))  # (G, 3)
        angle = np.degrees(np.arccos(np.clip(np.einsum("gtc,gc->gt", u, med), -1, 1)))
        keep = w * (angle < _UP_OUTLIER_DEG)  # (G, T)
        summed = _unit((u * keep[..., None]).sum(1))
        ups.append(np.where((keep.sum(1) > 0)[:, None], summed, med))
    up = _unit(np.mean(ups, axis=0))  # (G, 3)
    if tilt is not None:
        up = up @ tilt.T
    heights, hw = [], []
    for p, w in enumerate(weights):
        m = w * people[p].still
        if m.sum() == 0:
            continue
        heights.append(np.einsum("gtkc,gc->gtk", cache.feet[p], up).min(axis=2))  # (G, T)
        hw.append(m / m.sum())  # each person counts once, however long their track
    if not heights:
        return np.full(len(cache.focals), np.nan)
    h, hw = np.concatenate(heights, axis=1), np.concatenate(hw)
    mean = (h * hw).sum(1, keepdims=True) / hw.sum()
    return (hw * (h - mean) ** 2).sum(1) / hw.sum()


def grid_minimum(log_f: np.ndarray, score: np.ndarray) -> tuple[float, bool]:
    """The minimum of ``score`` over ``log_f`` refined by a parabola, and whether it lies
    inside the grid (not on an edge)."""
    if not np.isfinite(score).any():
        return float("nan"), False
    i = int(np.nanargmin(score))
    if i == 0 or i == len(score) - 1 or not np.isfinite(score[i - 1:i + 2]).all():
        return float(log_f[i]), False
    y0, y1, y2 = score[i - 1:i + 2]
    den = y0 - 2 * y1 + y2
    step = log_f[i + 1] - log_f[i]
    shift = 0.5 * (y0 - y2) / den if den > 0 else 0.0
    return float(log_f[i] + np.clip(shift, -1, 1) * step), True


def estimate_focal(tracks: Sequence, image_size: tuple[int, int], fps: float, *,
                   grid: int = 48, bootstrap: int = 40, min_frames: int = 10,
                   max_uncertainty: float = MAX_UNCERTAINTY,
                   prior_fov_long_deg: float = PRIOR_FOV_LONG_DEG,
                   blend: bool = True, seed: int = 0) -> FocalEstimate:
    """The focal length of a fixed camera from the people in its video.

    Args:
        tracks: the take's :class:`mocap.types.Track` values (any objects with ``world``
            (T, 33, 3) metres, hip-centred, camera axes; ``image`` (T, 33, 2+) px;
            ``visibility`` (T, 33); optionally ``observed`` (T,) bool).
        image_size: (width, height) px of the video.
        fps: frames per second (for the feet's image speed).
        grid: focal lengths tried, log-spaced over :data:`FOV_SEARCH_DEG` (long side).
        bootstrap: resamples of the frames (blocks of a quarter second) for the
            uncertainty.
        min_frames: fewest frames with every body and foot landmark for a person to count.
        max_uncertainty: above this relative uncertainty the prior is returned (so it is
            too above twice the prior's own, in log units).
        blend: weigh the people's estimate with the prior's by their variances (log
            focal length): the people's alone is easily 10-30 % off when their up is a
            few degrees off (see the module docstring); False: the people's alone.
        prior_fov_long_deg: the prior's field of view on the long side, degrees.
        seed: the bootstrap's random seed.

    Returns:
        A :class:`FocalEstimate`: ``source="people"`` when measured, else the prior with
        its reason.

    Raises:
        InputError: ``image_size`` or ``fps`` is not valid.
    """
    width, height = _check_size(image_size)
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"`fps` must be a positive number, got {fps!r}")
    long_side = max(width, height)
    people = _people(tracks, float(fps), min_frames)
    standing = sum(int(p.still.sum()) for p in people)
    if not people:
        return prior_focal(image_size, "nobody seen long enough", 0, prior_fov_long_deg)
    lo, hi = FOV_SEARCH_DEG
    log_f = np.linspace(np.log(focal_from_fov(long_side, hi)),
                        np.log(focal_from_fov(long_side, lo)), grid)
    center = np.array([width / 2.0, height / 2.0])
    focals = np.exp(log_f)
    # a few focal lengths at a time: working arrays of a few MB (reused) rather than
    # hundreds (fresh pages cost ~1.6 ms a MB in a virtual machine)
    parts = [[_geometry(p, focals[k:k + 6], center) for k in range(0, len(focals), 6)]
             for p in people]
    cache = _Cache(focals, [np.concatenate([g[0] for g in per]) for per in parts],
                   [np.concatenate([g[1] for g in per]) for per in parts])
    ones = [np.ones(len(p.world)) for p in people]
    best, inside = grid_minimum(log_f, _score(cache, people, ones))
    if not inside:
        return prior_focal(image_size, "the people's feet do not fix it (minimum at the "
                           "edge of the search)", len(people), prior_fov_long_deg)
    # uncertainty: a block bootstrap over frames, and the shift of a pitch error of the up
    rng = np.random.default_rng(seed)
    block = max(1, round(0.25 * fps))
    draws = []
    for _ in range(bootstrap):
        weights = []
        for p in people:
            t = len(p.world)
            starts = rng.integers(0, max(t - block, 0) + 1, size=int(np.ceil(t / block)))
            w = np.zeros(t)
            for s in starts:
                w[s:s + block] += 1
            weights.append(w)
        b, ok = grid_minimum(log_f, _score(cache, people, weights))
        draws.append(b if ok else np.nan)
    draws = np.asarray(draws)
    # a resample whose minimum left the grid counts as a wide miss
    spread = np.nanstd(np.where(np.isfinite(draws), draws, best + np.log(2.0)))
    tilted = [grid_minimum(log_f, _score(cache, people, ones,
                                         axis_matrix(0, np.radians(s * UP_PITCH_ERROR_DEG))))
              for s in (-1, 1)]
    sys_err = (0.5 * abs(tilted[1][0] - tilted[0][0]) if all(ok for _, ok in tilted)
               else np.log(2.0))
    sigma = float(np.hypot(spread, sys_err))
    prior_sigma = float(np.log1p(PRIOR_UNCERTAINTY))
    focal = float(np.exp(best))
    if sigma > 2 * prior_sigma or np.expm1(sigma) > max_uncertainty:
        return prior_focal(image_size, f"the people's estimate ({focal:.0f} px) is too "
                           f"uncertain (+-{100 * np.expm1(sigma):.0f} %)", len(people),
                           prior_fov_long_deg)
    note = ""
    if blend:  # the people's and the prior's estimates weighed by their variances (log f)
        prior_log = np.log(focal_from_fov(long_side, prior_fov_long_deg))
        weight = prior_sigma ** 2 / (prior_sigma ** 2 + sigma ** 2)
        best = weight * best + (1 - weight) * prior_log
        sigma = float(1 / np.sqrt(1 / sigma ** 2 + 1 / prior_sigma ** 2))
        note = (f"the people's {focal:.0f} px (+-{100 * np.expm1(np.hypot(spread, sys_err)):.0f}"
                f" %), weight {100 * weight:.0f} %, blended with the prior")
        focal = float(np.exp(best))
    return FocalEstimate(focal, "people", float(np.expm1(sigma)),
                         fov_from_focal(long_side, focal), len(people), standing, note)
