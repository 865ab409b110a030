"""Overlay drawing: skeletons, landmarks and ids onto RGB frames."""

from __future__ import annotations

import cv2
import numpy as np

from mocap.types import SKELETON_EDGES, Poses2D

# Distinct colours (RGB) for people, chosen by id or index.
PALETTE = (
    (255, 99, 71), (65, 105, 225), (50, 205, 50), (255, 215, 0), (186, 85, 211),
    (0, 206, 209), (255, 140, 0), (220, 20, 60),
)  # fmt: skip


def color_for(index: int) -> tuple[int, int, int]:
    return PALETTE[int(index) % len(PALETTE)]


def draw_poses(image: np.ndarray, poses: Poses2D, min_visibility: float = 0.5,
               labels: list[str] | None = None) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 RGB with each person's skeleton drawn.

    Joints below ``min_visibility`` are not drawn. Colour follows ``track_id`` when set,
    else the person's index; ``labels`` (one per person) are written above each head.
    """
    out = np.ascontiguousarray(image.copy())
    scale = max(1, round(max(image.shape[:2]) / 640))
    for k in range(len(poses)):
        key = poses.track_id[k] if poses.track_id[k] >= 0 else k
        color = color_for(key)
        pts = poses.xy[k]
        vis = poses.visibility[k] >= min_visibility
        for a, b in SKELETON_EDGES:
            if vis[a] and vis[b]:
                cv2.line(out, tuple(np.round(pts[a]).astype(int)),
                         tuple(np.round(pts[b]).astype(int)), color, 2 * scale, cv2.LINE_AA)
        for j in np.flatnonzero(vis):
            cv2.circle(out, tuple(np.round(pts[j]).astype(int)), 2 * scale, (255, 255, 255),
                       -1, cv2.LINE_AA)
        if labels is not None:
            top = pts[vis].min(0) if vis.any() else pts.min(0)
            org = (int(top[0]), max(int(top[1]) - 8 * scale, 12 * scale))
            cv2.putText(out, labels[k], org, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, color,
                        2 * scale, cv2.LINE_AA)
    return out
