"""Overlay drawing: skeletons, landmarks and labels onto RGB frames (one drawer for all)."""

from __future__ import annotations

import cv2
import numpy as np

from mocap.types import HAND_EDGES, SKELETON_EDGES, Hands2D, Poses2D

# Distinct colours (RGB) for people, chosen by id or index.
PALETTE = (
    (255, 99, 71), (65, 105, 225), (50, 205, 50), (255, 215, 0), (186, 85, 211),
    (0, 206, 209), (255, 140, 0), (220, 20, 60),
)  # fmt: skip


def color_for(index: int) -> tuple[int, int, int]:
    return PALETTE[int(index) % len(PALETTE)]


def line_scale(image: np.ndarray) -> int:
    """Line width / text size unit for an image (1 up to ~700 px, more for larger)."""
    return max(1, round(max(image.shape[:2]) / 700))


def draw_label(image: np.ndarray, points: np.ndarray, text: str, color) -> None:
    """Write ``text`` just above the topmost of ``points`` (K, 2) px, in place."""
    if not len(points):
        return
    scale = line_scale(image)
    x, y = int(points[:, 0].min()), int(points[:, 1].min()) - 10 * scale
    cv2.putText(image, text, (x, max(y, 20 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale,
                color, 2 * scale, cv2.LINE_AA)


def draw_skeleton(image: np.ndarray, xy: np.ndarray, visibility: np.ndarray, color,
                  label: str | None = None, seen: bool = True,
                  min_visibility: float = 0.5) -> np.ndarray:
    """Draw one person's 33-landmark skeleton onto ``image`` (H, W, 3) uint8 RGB, in place.

    Joints below ``min_visibility`` or not finite are skipped. ``seen=False`` draws a thin
    skeleton without joint dots (a frame where the person was not observed but bridged).
    """
    scale = line_scale(image)
    width = 2 * scale if seen else max(1, scale)
    ok = (visibility >= min_visibility) & np.isfinite(xy).all(1)
    pts = np.round(np.nan_to_num(xy)).astype(np.int32)
    for a, b in SKELETON_EDGES:
        if ok[a] and ok[b]:
            cv2.line(image, tuple(pts[a]), tuple(pts[b]), color, width, cv2.LINE_AA)
    for j in np.flatnonzero(ok) if seen else ():
        cv2.circle(image, tuple(pts[j]), 2 * scale, (255, 255, 255), -1, cv2.LINE_AA)
    if label:
        draw_label(image, pts[ok] if ok.any() else pts[np.isfinite(xy).all(1)], label, color)
    return image


def draw_hand(image: np.ndarray, xy: np.ndarray, color, scale: float = 1.0) -> np.ndarray:
    """Draw one hand's 21 landmarks ``xy`` (21, 2) px (thin bones, small joints) onto
    ``image`` in place, ``xy`` multiplied by ``scale`` first; nothing where not finite."""
    if not np.isfinite(xy).all():
        return image
    unit = line_scale(image)
    pts = np.round(np.asarray(xy, np.float64) * scale).astype(np.int32)
    for a, b in HAND_EDGES:
        cv2.line(image, tuple(pts[a]), tuple(pts[b]), color, unit, cv2.LINE_AA)
    for q in pts:
        cv2.circle(image, tuple(q), unit, (255, 255, 255), -1, cv2.LINE_AA)
    return image


def dashed_line(image: np.ndarray, a, b, color, width: int, dash: int) -> None:
    """A dashed line from ``a`` to ``b`` (px) onto ``image`` in place: ``dash`` px drawn,
    ``dash`` px left out, starting with a dash."""
    h, w = image.shape[:2]
    inside, pa, pb = cv2.clipLine((0, 0, w, h), tuple(int(v) for v in np.round(a)),
                                  tuple(int(v) for v in np.round(b)))
    if not inside:  # only the part on the image is walked (a far end costs nothing)
        return
    a, b = np.asarray(pa, np.float64), np.asarray(pb, np.float64)
    length = float(np.linalg.norm(b - a))
    if length < 1:
        return
    for s in np.arange(0.0, length, 2 * dash):
        p = a + (b - a) * (s / length)
        q = a + (b - a) * (min(s + dash, length) / length)
        cv2.line(image, tuple(np.round(p).astype(int)), tuple(np.round(q).astype(int)), color,
                 width, cv2.LINE_AA)


def draw_rig(image: np.ndarray, pts: np.ndarray, parents: np.ndarray, color,
             label: str | None = None, seen: bool = True) -> np.ndarray:
    """Draw a rig's projected joints ``pts`` (J, 2) px, bones from ``parents`` (J,), onto
    ``image`` (H, W, 3) uint8 RGB, in place; nothing when a joint does not project.

    ``seen=False`` (a frame where the person was not seen and the motion is bridged)
    draws the bones dashed and thinner, without the white joint dots."""
    if not np.isfinite(pts).all() or np.abs(pts).max() > 2**20:
        return image  # (a joint next to a camera's plane projects near infinity)
    scale = line_scale(image)
    pts = np.round(pts).astype(np.int32)
    for j in range(1, len(parents)):
        if seen:
            cv2.line(image, tuple(pts[j]), tuple(pts[parents[j]]), color, 2 * scale,
                     cv2.LINE_AA)
        else:
            dashed_line(image, pts[j], pts[parents[j]], color, max(1, scale), 5 * scale)
    for q in pts if seen else ():
        cv2.circle(image, tuple(q), 2 * scale, (255, 255, 255), -1, cv2.LINE_AA)
    if label:
        draw_label(image, pts, label, color)
    return image


def draw_poses(image: np.ndarray, poses: Poses2D, min_visibility: float = 0.5,
               labels: list[str] | None = None, hands: Hands2D | None = None) -> np.ndarray:
    """Return a copy of ``image`` (H, W, 3) uint8 RGB with each person's skeleton drawn.

    Colour follows ``track_id`` when set, else the person's index; ``labels`` (one per
    person) are written above each head; ``hands`` (rows aligned with ``poses``) are drawn
    where found.
    """
    out = np.ascontiguousarray(image.copy())
    for k in range(len(poses)):
        key = poses.track_id[k] if poses.track_id[k] >= 0 else k
        draw_skeleton(out, poses.xy[k], poses.visibility[k], color_for(key),
                      labels[k] if labels is not None else None,
                      min_visibility=min_visibility)
        for side in range(2) if hands is not None else ():
            draw_hand(out, hands.xy[k, side], color_for(key))
    return out
