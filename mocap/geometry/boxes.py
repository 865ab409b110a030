"""Axis-aligned boxes: overlap (IoU) and greedy non-maximum suppression.

Boxes are ``xmin, ymin, xmax, ymax`` (corners) unless a name says ``cxcywh`` (centre, size).
"""

from __future__ import annotations

import numpy as np


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix ``(len(a), len(b))`` of ``xmin, ymin, xmax, ymax`` boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def greedy_keep(similarity: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression over items already sorted best first.

    Args:
        similarity: (N, N) pairwise similarity (IoU, OKS, ...).
        threshold: an item more similar than this to a better kept item is dropped.

    Returns:
        (N,) bool mask of the kept items.
    """
    keep = np.ones(len(similarity), bool)
    for i in range(len(similarity)):
        if keep[i]:
            dup = similarity[i] > threshold
            dup[: i + 1] = False
            keep &= ~dup
    return keep


def cxcywh_to_corners(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) ``cx, cy, w, h`` -> (N, 4) ``xmin, ymin, xmax, ymax``."""
    x = np.asarray(boxes, np.float64).reshape(-1, 4)
    return np.concatenate([x[:, :2] - x[:, 2:] / 2, x[:, :2] + x[:, 2:] / 2], axis=1)
