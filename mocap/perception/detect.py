"""Person detection with BlazePose's detector: SSD anchors, decoding, weighted NMS, ROIs.

The detector sees 224x224 views of the image in [-1, 1]. Its 2254 anchors (strides 8, 16,
32, 32, 32; two per cell; fixed size) each predict a face box and four keypoints: hip
centre, a full-body scale/rotation point, shoulder centre and an upper-body point. A person's
region of interest is the rotated square centred on the hip centre with side
``2 * |kp1 - kp0| * 1.25``, rotated so that hips -> scale point points up (MediaPipe's
``AlignmentPointsRectsCalculator`` and ``RectTransformationCalculator``).

People far smaller than the image vanish at 224x224, so :func:`detection_views` also cuts
overlapping square tiles at several scales; every view runs in one batch and the results are
merged with weighted NMS in image pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from mocap.geometry.boxes import box_iou
from mocap.types import Rois


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, in ``x``'s floating type (scipy's ``expit`` without importing
    scipy.special: ~0.1 s of start-up)."""
    x = np.asarray(x)
    with np.errstate(over="ignore"):  # exp(-x) -> inf for very negative x: gives 0
        return 1 / (1 + np.exp(-x))

DETECTOR_SIZE = 224
NUM_ANCHORS = 2254
ROI_SCALE = 1.25


def ssd_anchors(size: int = DETECTOR_SIZE, strides=(8, 16, 32, 32, 32)) -> np.ndarray:
    """Anchor centres ``(2254, 2)`` in [0, 1], MediaPipe's order (layers merged by stride).

    With fixed anchor size and one aspect ratio plus the interpolated scale, every cell of
    every layer holds two anchors; layers sharing a stride share a grid, so their anchors
    are emitted together cell by cell.
    """
    centres = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        same = 0
        while i < len(strides) and strides[i] == stride:
            same += 1
            i += 1
        n = math.ceil(size / stride)
        ys, xs = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, 2 * same, axis=0))
    return np.concatenate(centres).astype(np.float32)


@dataclass
class Detections:
    """Raw detector output for one image, in image pixels.

    Attributes:
        boxes: (N, 4) float32 px, face boxes ``xmin, ymin, xmax, ymax``.
        keypoints: (N, 4, 2) float32 px: hip centre, body scale point, shoulder centre,
            upper-body point.
        scores: (N,) float32 in [0, 1].
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def decode(raw_boxes: np.ndarray, raw_scores: np.ndarray, anchors: np.ndarray,
           threshold: float, clip: float = 100.0):
    """Decode one view's raw outputs into normalised boxes and keypoints above ``threshold``.

    Args:
        raw_boxes: (2254, 12) float32: dx, dy, w, h, then 4 keypoints (x, y), in input px.
        raw_scores: (2254,) logits.
        anchors: (2254, 2) anchor centres in [0, 1].
        threshold: minimum sigmoid score.
        clip: logits are clipped to +-clip before the sigmoid (MediaPipe's
            ``score_clipping_thresh``).

    Returns:
        boxes (K, 4) xmin, ymin, xmax, ymax; keypoints (K, 4, 2); scores (K,), normalised
        to the view.
    """
    scores = sigmoid(np.clip(raw_scores, -clip, clip))
    keep = scores >= threshold
    raw, anc = raw_boxes[keep] / DETECTOR_SIZE, anchors[keep]
    cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
    w, h = raw[:, 2], raw[:, 3]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)
    kps = raw[:, 4:12].reshape(-1, 4, 2) + anc[:, None, :]
    return boxes, kps, scores[keep]


def weighted_nms(dets: Detections, iou_threshold: float = 0.3) -> Detections:
    """MediaPipe's weighted NMS: each cluster averages its members' geometry by score.

    The highest-scoring detection left takes every other one whose face box overlaps it by
    more than ``iou_threshold``; the cluster's box and keypoints are the score-weighted mean
    and its score is the top score.
    """
    if len(dets) == 0:
        return dets
    order = np.argsort(-dets.scores, kind="stable")
    boxes, kps, scores = dets.boxes[order], dets.keypoints[order], dets.scores[order]
    iou = box_iou(boxes, boxes)
    alive = np.ones(len(scores), bool)
    out_b, out_k, out_s = [], [], []
    for i in range(len(scores)):
        if not alive[i]:
            continue
        members = alive & (iou[i] > iou_threshold)
        members[i] = True
        alive &= ~members
        w = scores[members] / scores[members].sum()
        out_b.append((boxes[members] * w[:, None]).sum(0))
        out_k.append((kps[members] * w[:, None, None]).sum(0))
        out_s.append(scores[i])
    return Detections(np.array(out_b, np.float32), np.array(out_k, np.float32),
                      np.array(out_s, np.float32))


def rois_from_points(centre: np.ndarray, scale_point: np.ndarray, scores: np.ndarray,
                     scale: float = ROI_SCALE) -> Rois:
    """Square ROIs centred on ``centre`` (N, 2) px, side ``2 * |scale_point - centre| * scale``,
    rotated so that ``centre -> scale_point`` points up in the crop."""
    d = scale_point - centre
    size = 2.0 * np.hypot(d[:, 0], d[:, 1]) * scale
    rotation = np.pi / 2 - np.arctan2(-d[:, 1], d[:, 0])
    rotation = (rotation + np.pi) % (2 * np.pi) - np.pi
    return Rois(centre, size, rotation, scores)


def rois_from_detections(dets: Detections) -> Rois:
    return rois_from_points(dets.keypoints[:, 0], dets.keypoints[:, 1], dets.scores)


@dataclass(frozen=True)
class DetectorConfig:
    """Detector settings.

    Attributes:
        score_threshold: minimum detection score (MediaPipe: 0.2 in its model card's
            multi-pose setting).
        nms_iou: weighted-NMS IoU threshold on face boxes.
        tile_scales: besides the whole image (letterboxed), cut square tiles whose side is
            this fraction of the image's shorter side, overlapping by ``tile_overlap``;
            ``()`` = whole image only.
        tile_overlap: fraction of a tile shared with its neighbour.
        min_tile_px: tiles smaller than this many image pixels are skipped (no gain from
            upsampling below the detector's own resolution).
        whole_image: also look at the whole image, letterboxed; when False it is used only
            if no tile applies (e.g. a square image with ``tile_scales=(1.0,)``).
    """

    score_threshold: float = 0.2
    nms_iou: float = 0.3
    tile_scales: tuple[float, ...] = (1.0, 0.5)
    tile_overlap: float = 0.3
    min_tile_px: int = 160
    whole_image: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.score_threshold < 1.0:
            raise ValueError(f"`score_threshold` must be in (0, 1), got {self.score_threshold}")
        if any(not 0.0 < s <= 1.0 for s in self.tile_scales):
            raise ValueError(f"`tile_scales` must be in (0, 1], got {self.tile_scales}")
        if not 0.0 <= self.tile_overlap < 1.0:
            raise ValueError(f"`tile_overlap` must be in [0, 1), got {self.tile_overlap}")


def detection_views(height: int, width: int, config: DetectorConfig) -> np.ndarray:
    """Square views ``(V, 3)``: x0, y0, side in image px. The first is the whole image,
    letterboxed (centred, padded), unless ``config.whole_image`` is off and tiles cover
    the image; then overlapping tiles for each scale."""
    side = max(height, width)
    whole = [((width - side) / 2, (height - side) / 2, side)]
    views = []
    short = min(height, width)
    for s in config.tile_scales:
        tile = s * short
        if tile < config.min_tile_px or (s == 1.0 and height == width):
            continue
        step = tile * (1.0 - config.tile_overlap)
        nx = max(1, math.ceil((width - tile) / step) + 1) if width > tile else 1
        ny = max(1, math.ceil((height - tile) / step) + 1) if height > tile else 1
        xs = np.linspace(0, max(width - tile, 0), nx)
        ys = np.linspace(0, max(height - tile, 0), ny)
        views += [(x, y, tile) for y in ys for x in xs]
    if config.whole_image or not views:
        views = whole + views
    return np.array(views, np.float32)


def crop_views(image: np.ndarray, views: np.ndarray, size: int = DETECTOR_SIZE) -> np.ndarray:
    """Resample each square view to ``size`` x ``size``; outside the image is black.

    Returns:
        (V, size, size, 3) float32 in [-1, 1], the detector's input range.
    """
    out = np.empty((len(views), size, size, 3), np.float32)
    for k, (x0, y0, side) in enumerate(views):
        s = size / side
        # Pixel centres: image px p maps to view px (p + 0.5 - x0) * s - 0.5.
        m = np.array([[s, 0, (0.5 - x0) * s - 0.5], [0, s, (0.5 - y0) * s - 0.5]], np.float32)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        crop = cv2.warpAffine(image, m, (size, size), flags=interp,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        out[k] = crop
    out *= 2.0 / 255.0
    out -= 1.0
    return out


def merge_views(raw_boxes: np.ndarray, raw_scores: np.ndarray, views: np.ndarray,
                config: DetectorConfig, anchors: np.ndarray) -> Detections:
    """Decode every view, map to image px, and merge with weighted NMS."""
    boxes, kps, scores = [], [], []
    for k, (x0, y0, side) in enumerate(views):
        b, p, s = decode(raw_boxes[k], raw_scores[k].reshape(-1), anchors,
                         config.score_threshold)
        boxes.append(b * side + np.array([x0, y0, x0, y0], np.float32))
        kps.append(p * side + np.array([x0, y0], np.float32))
        scores.append(s)
    dets = Detections(np.concatenate(boxes), np.concatenate(kps), np.concatenate(scores))
    return weighted_nms(dets, config.nms_iou)
