"""A fixed camera's focal length from the straight lines of a man-made scene.

Rooms, courts, tracks and buildings are mostly built along three perpendicular directions
(a "Manhattan" scene): their edges meet, in the picture, at three vanishing points. The
image alone fixes where those points are; only at the right focal length are the three
directions they stand for perpendicular. So for each focal length on a grid the best
perpendicular triple is searched (RANSAC: two segments give a first direction, a third
segment a second one perpendicular to it, the third follows) and scored by the length of
the segments that point at one of its vanishing points (within :data:`ANGLE_TOL_DEG`, an
image angle, so the score does not drift with the focal length); the focal length whose
best triple explains the most is the estimate, refined by a parabola in log focal length.
Its uncertainty is a bootstrap over the segments (robust spread, with a floor).

Where the scene has no such structure (a field, a plain wall, one set of parallel lines)
the score does not peak: :func:`focal_from_lines` returns None and the people or the prior
decide (:mod:`mocap.app.lens`).

Measured on Pose2Sim's Demo_MultiPerson (four portrait phones in a lab, calibrated
1674-1682 px): ``python benchmarks/eval_focal.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.geometry.focal import grid_minimum

__all__ = ["LineFocal", "focal_from_lines"]

#: A segment points at a vanishing point when the line from its middle to that point is
#: within this angle of it, degrees.
ANGLE_TOL_DEG = 1.5
#: Fields of view searched, degrees on the image's long side.
FOV_SEARCH_DEG = (20.0, 120.0)
#: Segments shorter than this share of the image's long side are left out.
MIN_LENGTH = 0.03
#: The peak must explain this many times the median score over the grid.
MIN_PROMINENCE = 1.12
#: The estimate is returned only under this relative uncertainty.
MAX_UNCERTAINTY = 0.1
#: The uncertainty is never taken under this (the principal point is assumed at the
#: image centre, where calibrated phones put it 10-30 px off, and the lens undistorted).
MIN_UNCERTAINTY = 0.02
#: ... and the estimate is dropped when more than this share of the bootstrap resamples
#: peak further than :data:`MAX_UNCERTAINTY` from it.
MAX_LOST = 0.2
#: Each vanishing point of the best triple needs this share of the segments it explains.
MIN_SHARE = 0.1


@dataclass(frozen=True)
class LineFocal:
    """A focal length from the scene's lines.

    Attributes:
        focal_px: focal length, px of the video (principal point at the image centre).
        uncertainty: relative one-sigma uncertainty (bootstrap over the segments, at
            least :data:`MIN_UNCERTAINTY`).
        segments: segments used.
        explained: share of their length the best perpendicular triple explains.
        prominence: the peak's score over the median score of the grid.
    """

    focal_px: float
    uncertainty: float
    segments: int
    explained: float
    prominence: float


def segments(image: np.ndarray, work: int = 960) -> np.ndarray:
    """Line segments (N, 4) ``x0, y0, x1, y1`` px of ``image`` (RGB or grey), found on a
    copy at most ``work`` px on its long side (OpenCV's LSD), at least :data:`MIN_LENGTH`
    of the long side.

    People's segments are kept: leaving out everything in their boxes left out most of
    the floor in a close portrait view (Demo_MultiPerson cam01, cam02: no estimate), and
    the few straight edges of a body point at no common vanishing point.
    """
    import cv2

    grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    scale = min(1.0, work / max(grey.shape))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    found = cv2.createLineSegmentDetector(cv2.LSD_REFINE_STD).detect(grey)[0]
    if found is None:
        return np.zeros((0, 4))
    lines = found.reshape(-1, 4).astype(np.float64) / scale
    length = np.hypot(lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1])
    lines = lines[length >= MIN_LENGTH * max(image.shape[:2])]
    return lines


def _explained(lines: np.ndarray, focal: float, center: np.ndarray, picks: np.ndarray,
               tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For each hypothesis (three segment indices in ``picks`` (H, 3)) at ``focal``: which
    segments point at one of its three vanishing points (H, N) and at which (H, N) (-1:
    none)."""
    lines = lines.astype(np.float32)  # single precision: a fifth of a degree is plenty
    center, focal = center.astype(np.float32), np.float32(focal)
    p = np.concatenate([(lines[:, :2] - center) / focal, np.ones((len(lines), 1),
                                                                 np.float32)], 1)
    q = np.concatenate([(lines[:, 2:] - center) / focal, np.ones((len(lines), 1),
                                                                 np.float32)], 1)
    normal = np.cross(p, q)  # each segment's plane through the camera centre
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    d1 = np.cross(normal[picks[:, 0]], normal[picks[:, 1]])
    n1 = np.linalg.norm(d1, axis=1)
    d1 /= np.maximum(n1, 1e-12)[:, None]
    d2 = np.cross(d1, normal[picks[:, 2]])
    n2 = np.linalg.norm(d2, axis=1)
    d2 /= np.maximum(n2, 1e-12)[:, None]
    dirs = np.stack([d1, d2, np.cross(d1, d2)], 1)  # (H, 3, 3) perpendicular directions
    # vanishing points, homogeneous px (at infinity too), and the image angle to each
    vp = np.concatenate([focal * dirs[..., :2] + center * dirs[..., 2:], dirs[..., 2:]], -1)
    mid = 0.5 * (lines[:, :2] + lines[:, 2:])
    along = lines[:, 2:] - lines[:, :2]
    along /= np.linalg.norm(along, axis=1, keepdims=True)
    to_x = vp[..., 0, None] - mid[:, 0] * vp[..., 2, None]  # (H, 3, N)
    to_y = vp[..., 1, None] - mid[:, 1] * vp[..., 2, None]
    # sin^2 of the angle between each segment and the line to each point
    sin2 = (to_x * along[:, 1] - to_y * along[:, 0]) ** 2 / np.maximum(
        to_x ** 2 + to_y ** 2, 1e-24)
    s0, s1, s2 = sin2[:, 0], sin2[:, 1], sin2[:, 2]  # (three slices: argmin over the
    # middle axis of three is several times slower)
    hit = (np.minimum(np.minimum(s0, s1), s2) < tol ** 2) & \
        ((n1 > 0.05) & (n2 > 0.05))[:, None]
    which = np.where((s0 <= s1) & (s0 <= s2), 0, np.where(s1 <= s2, 1, 2))
    return hit, np.where(hit, which, -1)


def focal_from_lines(images, size: tuple[int, int], *, grid: int = 48,
                     hypotheses: int = 800, max_segments: int = 300, bootstrap: int = 40,
                     seed: int = 0) -> LineFocal | None:
    """The focal length of a fixed camera from the lines of its scene, or None where they
    do not fix it (see the module docstring).

    Args:
        images: frames of the video (RGB or grey arrays; a few spread over it).
        size: (width, height) px.
        grid: focal lengths tried, log-spaced over :data:`FOV_SEARCH_DEG` (long side).
        hypotheses: RANSAC triples tried (the same at every focal length).
        max_segments: the longest this many segments are used.
        bootstrap: resamples of the segments for the uncertainty.
        seed: seeds the sampling.
    """
    width, height = int(size[0]), int(size[1])
    found = [segments(im) for im in images]
    lines = np.concatenate(found) if found else np.zeros((0, 4))
    length = np.hypot(lines[:, 2] - lines[:, 0], lines[:, 3] - lines[:, 1])
    order = np.argsort(-length)[:max_segments]
    lines, length = lines[order], length[order]
    if len(lines) < 12:
        return None
    rng = np.random.default_rng(seed)
    picks = np.stack([rng.choice(len(lines), 3, replace=False) for _ in range(hypotheses)])
    long_side = max(width, height)
    lo, hi = FOV_SEARCH_DEG
    log_f = np.linspace(np.log(0.5 * long_side / np.tan(np.radians(hi) / 2)),
                        np.log(0.5 * long_side / np.tan(np.radians(lo) / 2)), grid)
    center = np.array([width / 2.0, height / 2.0])
    tol = np.sin(np.radians(ANGLE_TOL_DEG))
    hits = np.stack([_explained(lines, float(f), center, picks, tol)[0]
                     for f in np.exp(log_f)]).astype(np.float32)  # (G, H, N)
    length = length.astype(np.float32)

    def peak(score: np.ndarray) -> tuple[float, bool, int, int, np.ndarray]:
        """Of ``score`` (G, H) (the length each hypothesis explains at each focal length):
        (log focal of the best score, refined; whether inside the grid; its grid index;
        its best hypothesis; the best score per focal length)."""
        best_h = score.argmax(axis=1)
        curve = score[np.arange(len(log_f)), best_h]
        i = int(curve.argmax())
        return (*grid_minimum(log_f, -curve.astype(np.float64)), i, int(best_h[i]), curve)

    best, inside, i, h, curve = peak(hits @ length)
    if not inside:
        return None
    prominence = float(curve[i] / max(np.median(curve), 1e-9))
    which = _explained(lines, float(np.exp(log_f[i])), center, picks[h:h + 1], tol)[1][0]
    shares = np.array([length[which == k].sum() for k in range(3)]) / curve[i]
    if prominence < MIN_PROMINENCE or np.sort(shares)[1] < MIN_SHARE:
        return None  # no peak, or one direction explains nearly everything
    weights = np.stack([length * np.bincount(rng.integers(0, len(lines), len(lines)),
                                             minlength=len(lines)) for _ in range(bootstrap)],
                       axis=1)  # (N, B): every resample scored in one product
    scores = (hits.reshape(-1, len(lines)) @ weights).reshape(*hits.shape[:2], bootstrap)
    draws = []
    for k in range(bootstrap):
        b, ok, *_ = peak(scores[..., k])
        draws.append(b if ok else best + np.log(2.0))
    draws = np.asarray(draws)
    # robust spread: a few resamples that lose the peak say it is not sharp, but their
    # share does that better than their distance (``MAX_LOST``)
    lost = float(np.mean(np.abs(draws - best) > np.log1p(MAX_UNCERTAINTY)))
    spread = 1.4826 * float(np.median(np.abs(draws - np.median(draws))))
    uncertainty = max(float(np.expm1(spread)), MIN_UNCERTAINTY)
    if uncertainty > MAX_UNCERTAINTY or lost > MAX_LOST:
        return None
    return LineFocal(float(np.exp(best)), uncertainty, len(lines),
                     float(curve[i] / length.sum()), prominence)
