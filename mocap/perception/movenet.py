"""Body-based multi-person detection with MoveNet MultiPose Lightning.

MoveNet sees the whole person (not the face), bottom-up: one call on an RGB uint8 image
whose sides are multiples of 32 gives up to 6 people, each with 17 COCO keypoints (y, x,
score, normalised to the input), a box and a score. :func:`movenet_input` resizes the image
keeping its aspect ratio so that the long side is ``input_size`` and pads the rest (bottom,
right) to a multiple of 32; :func:`decode_movenet` maps the output back to image pixels.

Small people vanish at 256-384 px, so :class:`MoveNetDetector` can also look at
overlapping tiles at a finer scale; the views' people are merged by keypoint similarity.

:func:`rois_from_bodies` turns each person into the rotated square region BlazePose's
landmark model expects, the way BlazePose's own detector defines it: centred on the hip
centre, rotated so that hips -> shoulders points up, its side from the body's extent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from mocap.geometry.boxes import greedy_keep
from mocap.perception.detect import rois_from_points
from mocap.types import BodyDetections, Rois

#: MoveNet's input sides must be multiples of this.
STRIDE = 32
#: COCO-17 keypoint indices used for regions.
L_SHOULDER, R_SHOULDER, L_HIP, R_HIP = 5, 6, 11, 12
#: COCO's per-keypoint OKS sigmas (nose, eyes, ears, shoulders, elbows, wrists, hips,
#: knees, ankles).
COCO_SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
                        0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089])


@dataclass(frozen=True)
class MoveNetConfig:
    """Settings of MoveNet detection.

    Attributes:
        input_size: long side of the whole-image view, px (a multiple of 32).
        tile_size: long side of each tile's view (a multiple of 32).
        tiles: also look at overlapping tiles (2 across the long side, 1 or 2 across the
            short side) at ``tile_size``: finds people too small for the whole view.
        min_score: people scoring below this are dropped.
        min_keypoints: people with fewer keypoints above ``keypoint_threshold`` are dropped.
        keypoint_threshold: a keypoint with a lower score counts as not found.
        duplicate_oks: two people (from different views) more similar than this are one.
    """

    input_size: int = 384
    tile_size: int = 384
    tiles: bool = True
    min_score: float = 0.1
    min_keypoints: int = 4
    keypoint_threshold: float = 0.2
    duplicate_oks: float = 0.5

    def __post_init__(self) -> None:
        for name in ("input_size", "tile_size"):
            v = getattr(self, name)
            if v < STRIDE or v % STRIDE:
                raise ValueError(f"`{name}` must be a positive multiple of {STRIDE}, got {v}")
        for name in ("min_score", "keypoint_threshold", "duplicate_oks"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}")


def movenet_input(image: np.ndarray, input_size: int) -> tuple[np.ndarray, float]:
    """``image`` (H, W, 3) uint8 RGB -> ``(x (1, h, w, 3) uint8, scale)``.

    The image is resized by ``scale`` (input px per image px) so that its long side is
    ``input_size``, then padded with black at the bottom and right to multiples of 32.
    """
    h, w = image.shape[:2]
    scale = input_size / max(h, w)
    rh, rw = max(1, round(h * scale)), max(1, round(w * scale))
    ih, iw = math.ceil(rh / STRIDE) * STRIDE, math.ceil(rw / STRIDE) * STRIDE
    resized = cv2.resize(image, (rw, rh), interpolation=cv2.INTER_AREA if scale < 1
                         else cv2.INTER_LINEAR)
    x = np.zeros((1, ih, iw, 3), np.uint8)
    x[0, :rh, :rw] = resized
    return x, scale


def decode_movenet(output: np.ndarray, input_hw: tuple[int, int], scale: float,
                   offset: tuple[float, float] = (0.0, 0.0)) -> BodyDetections:
    """MoveNet's ``(1, 6, 56)`` (or ``(6, 56)``) output -> people in image pixels.

    Args:
        output: 17 x (y, x, score) normalised to the input, box (ymin, xmin, ymax, xmax)
            normalised, score, per person.
        input_hw: (h, w) of the input tensor, px.
        scale: input px per image px (:func:`movenet_input`).
        offset: (x, y) image px of the view's top-left corner (tiles).
    """
    out = np.asarray(output, np.float32).reshape(-1, 56)
    h, w = input_hw
    kp = out[:, :51].reshape(-1, 17, 3)
    xy = np.stack([kp[..., 1] * w, kp[..., 0] * h], axis=-1) / scale + np.asarray(offset)
    box = out[:, 51:55]
    boxes = np.stack([box[:, 1] * w, box[:, 0] * h, box[:, 3] * w, box[:, 2] * h],
                     axis=-1) / scale + np.tile(np.asarray(offset), 2)
    return BodyDetections(boxes, xy, kp[..., 2], out[:, 55])


def oks_matrix(a: BodyDetections, b: BodyDetections, threshold: float = 0.2) -> np.ndarray:
    """COCO's object keypoint similarity ``(len(a), len(b))`` over keypoints both found,
    with the scale taken from the two people's box areas."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    d2 = ((a.keypoints[:, None] - b.keypoints[None]) ** 2).sum(-1)
    area = np.sqrt(a.area()[:, None] * b.area()[None, :])
    var = (2 * COCO_SIGMAS) ** 2
    e = d2 / (2 * np.maximum(area, 1.0)[..., None] * var)
    both = (a.keypoint_scores[:, None] > threshold) & (b.keypoint_scores[None] > threshold)
    n = both.sum(-1)
    return np.where(n > 0, (np.exp(-e) * both).sum(-1) / np.maximum(n, 1), 0.0)


def merge_views(views: list[BodyDetections], config: MoveNetConfig) -> BodyDetections:
    """People of several views as one list: weak and sparse people dropped, duplicates
    (OKS above ``duplicate_oks``) merged into the better-scored one, best first."""
    people = BodyDetections.concat(views)
    found = (people.keypoint_scores > config.keypoint_threshold).sum(1)
    people = people[(people.score >= config.min_score) & (found >= config.min_keypoints)]
    if len(people) < 2:
        return people
    people = people[np.argsort(-people.score, kind="stable")]
    return people[greedy_keep(oks_matrix(people, people, config.keypoint_threshold),
                              config.duplicate_oks)]


def tile_views(height: int, width: int, tile_size: int, input_size: int,
               fraction: float = 0.6) -> list[tuple[float, float, float, float]]:
    """Overlapping tiles ``(x0, y0, w, h)`` in image px, each ``fraction`` of the image
    across the long side (2 tiles) and, unless the image is wide, across the short side
    too (2 more); none when the image is hardly larger than ``input_size`` or a tile at
    ``tile_size`` would not be at least 1.2 times finer than the whole image."""
    long = max(height, width)
    if long < 1.2 * input_size:  # the whole view already shows it at (nearly) full size
        return []
    wide = min(height, width) / long < 0.7
    tw = fraction * width if (width >= height or not wide) else width
    th = fraction * height if (height > width or not wide) else height
    if tile_size / max(tw, th) < 1.2 * input_size / long:
        return []
    xs = [0.0, width - tw] if tw < width else [0.0]
    ys = [0.0, height - th] if th < height else [0.0]
    return [(float(x), float(y), float(tw), float(th)) for y in ys for x in xs]


class MoveNetDetector:
    """MoveNet MultiPose on the whole image (and tiles): ``detector(image) -> BodyDetections``.

    Args:
        runner: a model runner (:func:`mocap.perception.engine.runtime.make_runner`) taking
            uint8 ``(1, h, w, 3)`` of any size with sides multiple of 32.
        config: :class:`MoveNetConfig`.
    """

    def __init__(self, runner, config: MoveNetConfig | None = None) -> None:
        self.runner = runner
        self.config = config or MoveNetConfig()

    def view(self, image: np.ndarray, size: int,
             offset: tuple[float, float] = (0.0, 0.0)) -> BodyDetections:
        """People in one view of ``image`` at long side ``size``."""
        x, scale = movenet_input(image, size)
        (out,) = self.runner(x)
        return decode_movenet(out, x.shape[1:3], scale, offset)

    def __call__(self, image: np.ndarray, tiles: bool | None = None) -> BodyDetections:
        """Every person in ``image`` (H, W, 3) uint8 RGB, best first."""
        cfg = self.config
        views = [self.view(image, cfg.input_size)]
        if cfg.tiles if tiles is None else tiles:
            h, w = image.shape[:2]
            for x0, y0, tw, th in tile_views(h, w, cfg.tile_size, cfg.input_size):
                crop = image[round(y0):round(y0 + th), round(x0):round(x0 + tw)]
                views.append(self.view(crop, cfg.tile_size, (round(x0), round(y0))))
        return merge_views(views, cfg)


def rois_from_bodies(bodies: BodyDetections, threshold: float = 0.2,
                     extent_scale: float = 1.15, torso_scale: float = 1.9) -> Rois:
    """BlazePose regions from MoveNet people, the way BlazePose's detector defines them.

    Centre: the hip centre (shoulder centre minus a torso where the hips are not found).
    Rotation: hips -> shoulders points up. Size: twice the body's radius around the hip
    centre times 1.25, the radius being the farthest found keypoint times ``extent_scale``
    (the keypoints are joints, the body reaches beyond them), and at least ``torso_scale``
    torso lengths (a person cut off by the image border, or crouched, still gets a region
    the model knows).

    Args:
        bodies: people with COCO-17 keypoints, image px.
        threshold: keypoint score under which a keypoint counts as not found.
        extent_scale: radius = farthest found keypoint * this.
        torso_scale: the radius is at least this many torso (hips - shoulders) lengths.
    """
    if len(bodies) == 0:
        return Rois.empty()
    kp, ok = bodies.keypoints.astype(np.float64), bodies.keypoint_scores > threshold
    hips_ok = ok[:, L_HIP] & ok[:, R_HIP]
    sh_ok = ok[:, L_SHOULDER] & ok[:, R_SHOULDER]

    def centre(a: int, b: int, good: np.ndarray) -> np.ndarray:
        one = np.where(ok[:, a, None], kp[:, a], kp[:, b])  # one side found: use it
        return np.where(good[:, None], 0.5 * (kp[:, a] + kp[:, b]), one)

    hips = centre(L_HIP, R_HIP, hips_ok)
    shoulders = centre(L_SHOULDER, R_SHOULDER, sh_ok)
    any_hip = ok[:, L_HIP] | ok[:, R_HIP]
    any_sh = ok[:, L_SHOULDER] | ok[:, R_SHOULDER]
    box = bodies.boxes.astype(np.float64)
    box_c = 0.5 * (box[:, :2] + box[:, 2:])
    box_h = np.maximum(box[:, 3] - box[:, 1], 1.0)
    # no torso found at all: an upright region around the box
    up = np.where((any_hip & any_sh)[:, None], shoulders - hips,
                  np.stack([np.zeros(len(kp)), -0.3 * box_h], -1))
    hips = np.where(any_hip[:, None], hips,
                    np.where(any_sh[:, None], shoulders - up, box_c[:, :]))
    torso = np.linalg.norm(up, axis=-1)
    dist = np.linalg.norm(kp - hips[:, None], axis=-1)
    extent = np.where(ok, dist, 0.0).max(1) * extent_scale
    radius = np.maximum(extent, torso_scale * torso)
    radius = np.where(radius > 1.0, radius, 0.5 * box_h)
    direction = up / np.maximum(torso, 1e-9)[:, None]
    return rois_from_points(hips, hips + direction * radius[:, None], bodies.score)
