"""The learned 3D stage: a whole track's 2D, confidences and BlazePose 3D in, corrected
root-relative 3D landmarks out (same shape and axes as ``Track.world``).

torch is imported only when a track is lifted (the network in :mod:`mocap.lift.model`); the
weights are read once per process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.geometry.camera import outside_image
from mocap.geometry.series import gaussian_smooth
from mocap.lift.data import HIPS, MODEL_FPS, mirror, mirror_input, model_input
from mocap.lift.prior import constrain
from mocap.types import NUM_LANDMARKS, Track

#: The committed weights (trained by ``training/train_lifter.py``; see MODEL_CARD.md).
WEIGHTS = Path(__file__).with_name("lifter.pt")
# Landmarks outside the image get at most this confidence (as in training: BlazePose's
# guesses there are weak).
_OUTSIDE_CONF = 0.3
# Resample to the model's rate when the track's differs by more than this fraction.
_RATE_TOLERANCE = 0.1
#: The network's output is smoothed over time with a Gaussian of this standard deviation,
#: seconds: unsmoothed its frame-to-frame jitter was up to 2.8x that of BlazePose's
#: smoothed world landmarks (median 1.4x, on the demo and a 4-camera take); at 0.05 s it
#: is 0.57x (median; at most 0.73x), and PA-MPJPE is 0.3 mm better.
SMOOTH_S = 0.05
#: The root placed from a lifted track is smoothed over time with a Gaussian of this
#: standard deviation, seconds (:func:`mocap.motion.world.scene_world_motion`): the lifted
#: 3D is not drawn by the 2D's own network, so the depth solved per frame from the two
#: jittered more (the demo's jumper: 24 mm/frame^2 at the root against BlazePose's 17; at
#: 0.05 s, 9).
ROOT_SMOOTH_S = 0.05


@functools.lru_cache(maxsize=2)
def _network(path: str):
    from mocap.lift.model import load

    return load(path)


def _resample(values: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Linear interpolation of (T, ...) ``values`` at times ``src`` onto times ``dst``."""
    pos = np.interp(dst, src, np.arange(len(src), dtype=np.float64))
    i = np.minimum(np.floor(pos).astype(int), max(len(src) - 2, 0))
    w = (pos - i).reshape(-1, *([1] * (values.ndim - 1)))
    j = np.minimum(i + 1, len(src) - 1)
    return values[i] * (1 - w) + values[j] * w


def lift_inputs(xy: np.ndarray, visibility: np.ndarray, world: np.ndarray,
                image_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The network's inputs for one person's frames, missing values filled.

    Args:
        xy: (T, 33, 2) px (NaN where unknown).
        visibility: (T, 33) in [0, 1].
        world: (T, 33, 3) metres, hip-centred, camera axes (NaN where unknown).
        image_size: (width, height) px.

    Returns:
        ``(inputs (T, 198) float32, known (T,) bool)``: ``known`` is False for frames with
        no finite 3D landmark (filled from the nearest known frame; their output is NaN).
    """
    xy = np.asarray(xy, np.float64).copy()
    conf = np.clip(np.nan_to_num(np.asarray(visibility, np.float64)), 0.0, 1.0)
    world = np.asarray(world, np.float64).copy()
    ok = np.isfinite(xy).all(-1) & np.isfinite(world).all(-1)
    known = ok.any(-1)
    if not known.any():
        return np.zeros((len(xy), NUM_LANDMARKS * 6), np.float32), known
    # whole frames missing: hold the nearest known frame
    idx = np.arange(len(xy))
    have = idx[known]
    after = np.minimum(np.searchsorted(have, idx), len(have) - 1)
    before = np.maximum(after - 1, 0)
    near = np.where(np.abs(have[before] - idx) <= np.abs(have[after] - idx), have[before],
                    have[after])
    xy, world, conf, ok = xy[near], world[near], conf[near], ok[near]
    # single landmarks missing: at the frame's mean, with no confidence
    mean_xy = np.nanmean(np.where(ok[..., None], xy, np.nan), 1, keepdims=True)
    xy = np.where(ok[..., None], xy, mean_xy)
    world = np.where(ok[..., None], world, 0.0)
    conf = np.where(ok, conf, 0.0)
    conf = np.where(outside_image(xy, *image_size), np.minimum(conf, _OUTSIDE_CONF), conf)
    return model_input(xy, conf, world), known


def lift_track(track: Track, image_size: tuple[int, int], fps: float,
               weights: str | Path | None = None, prior: bool = True) -> np.ndarray:
    """Re-estimate a track's 3D landmarks with the learned temporal network.

    The track is resampled to the model's 30 fps when its rate differs by more than 10 %,
    the network runs over the whole track at once (its first and last poses extended at
    the ends) and over its mirror image (the two estimates averaged), the result sampled
    back at the track's frames, passed through the prior and smoothed over time
    (:data:`SMOOTH_S`).

    Args:
        track: one person: ``image`` (T, 33, 3) px (smoothed; x, y used), ``visibility``
            (T, 33), ``world`` (T, 33, 3) BlazePose's metres (x right, y down, z away from
            the camera, hip-centred).
        image_size: (width, height) of the video, px.
        fps: the track's frame rate (frames per second).
        weights: a weights file from ``training/train_lifter.py``; None: the committed
            :data:`WEIGHTS`.
        prior: pass the result through :func:`mocap.lift.prior.constrain` (bones of
            constant length, left and right alike, legs that straighten, knees never
            backwards): on the real 4-camera take depth error 90 -> 86 mm, a standing
            woman's knees 150 -> 163 deg, PA-MPJPE level.

    Returns:
        (T, 33, 3) float32 metres, root-relative (the hips' midpoint at the origin), the
        axes of ``track.world``; NaN rows for frames with no 3D at all.

    Raises:
        InputError: a non-positive ``fps`` or image size, or a weights file that is not
            there.
    """
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"fps must be positive, got {fps}")
    if len(image_size) != 2 or min(image_size) <= 0:
        raise InputError(f"image_size must be (width, height) > 0, got {tuple(image_size)}")
    path = Path(weights) if weights is not None else WEIGHTS
    if not path.is_file():
        raise InputError(f"lifter weights not found: {path}")
    t = len(track.frames)
    if t == 0:
        return np.zeros((0, NUM_LANDMARKS, 3), np.float32)
    inputs, known = lift_inputs(track.image[..., :2], track.visibility, track.world,
                                image_size)
    if not known.any():
        return np.full((t, NUM_LANDMARKS, 3), np.nan, np.float32)
    src = np.arange(t) / fps
    resample = abs(fps - MODEL_FPS) > _RATE_TOLERANCE * MODEL_FPS and t > 1
    if resample:
        dst = np.arange(int(np.floor(src[-1] * MODEL_FPS)) + 1) / MODEL_FPS
        inputs = _resample(inputs, src, dst).astype(np.float32)
    import torch

    net = _network(str(path.resolve()))
    # the mirror image's estimate, mirrored back, averaged in: 2-3 mm better on the real
    # 4-camera take (benchmarks/eval_depth.py), at twice the (tiny) network cost
    both = np.stack([inputs, mirror_input(inputs)])
    with torch.inference_mode():
        out = net(torch.from_numpy(np.ascontiguousarray(both))).numpy()
    out = 0.5 * (out[0] + mirror(out[1]))
    if resample:
        out = _resample(out, dst, np.minimum(src, dst[-1]))
        out = out - out[:, list(HIPS)].mean(1, keepdims=True)
    if prior:
        out = constrain(out)
    # last: the prior's knee flips and length fixes are per frame
    out = gaussian_smooth(out, SMOOTH_S * fps)
    out[~known] = np.nan
    return out.astype(np.float32)
