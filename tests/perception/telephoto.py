"""Telephoto pans and zooms made from real footage, with burned-in overlays.

A narrow window of the demo video (a fixed camera) is filmed again by a virtual camera that
turns about the real camera's centre (a perspective-correct moving crop,
:func:`tests.helpers.virtual_view`) and shown enlarged: a 400 px wide window on a 1280 px
picture has 3.2 times the source's focal length, 4 times with a 1.25x zoom. The crop's
centre and size are the truth: the pan of every frame and the focal length. A timer (a
changing number) and a logo are burned in afterwards, where they stay put on the screen.
"""

from __future__ import annotations

import cv2
import numpy as np

from tests.helpers import true_path, view_rotation, virtual_view

SRC_FOV = 60.0


def read_frames(path, count: int, step: int = 1) -> list[np.ndarray]:
    """``count`` RGB frames of a video, every ``step``-th from the first."""
    cap = cv2.VideoCapture(str(path))
    out, i = [], 0
    while len(out) < count:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % step == 0:
            out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return out


def burn_overlays(image: np.ndarray, frame: int, fps: float = 30.0) -> np.ndarray:
    """``image`` with a running timer (top left) and a logo (bottom right) drawn on it,
    sized to the picture."""
    h, w = image.shape[:2]
    s = w / 1280
    out = image.copy()
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.rectangle(out, (int(20 * s), int(20 * s)), (int(330 * s), int(95 * s)), (0, 0, 0), -1)
    cv2.putText(out, f"{frame / fps:06.2f} s", (int(35 * s), int(78 * s)), font, 1.6 * s,
                (255, 255, 255), max(1, int(3 * s)), cv2.LINE_AA)
    x0, y0 = w - int(300 * s), h - int(110 * s)
    cv2.rectangle(out, (x0, y0), (w - int(20 * s), h - int(20 * s)), (200, 30, 30), -1)
    cv2.rectangle(out, (x0 + int(8 * s), y0 + int(8 * s)),
                  (w - int(28 * s), h - int(28 * s)), (255, 255, 255), max(1, int(2 * s)))
    cv2.putText(out, "MOCAP TV", (x0 + int(25 * s), h - int(45 * s)), font, 1.3 * s,
                (255, 255, 255), max(1, int(3 * s)), cv2.LINE_AA)
    return out


def telephoto_clip(frames: list[np.ndarray], yaw_deg, zoom=None, size=(1280, 720),
                   window: float = 400.0, pitch_deg=None, overlays: bool = True):
    """Film ``frames`` (of a fixed camera with a :data:`SRC_FOV` field of view) again
    through a narrow window ``window`` px of the source wide, turned by ``yaw_deg[i]`` /
    ``pitch_deg[i]`` degrees and narrowed further by ``zoom[i]``, shown at ``size``.

    Returns:
        ``(images, truth)``: the RGB frames and a dict with ``rotation`` (F, 3, 3) (the
        :class:`mocap.types.CameraPath` convention), ``zoom`` (F,) (relative to the first
        frame), ``focal_px`` (F,) (px of the clip) and ``yaw_deg`` (F,).
    """
    n = len(yaw_deg)
    zoom = np.ones(n) if zoom is None else np.asarray(zoom, float)
    pitch = np.zeros(n) if pitch_deg is None else np.asarray(pitch_deg, float)
    sw = frames[0].shape[1]
    f_src = 0.5 * sw / np.tan(np.radians(SRC_FOV) / 2)
    mag = size[0] / window * zoom  # the clip's focal length / the source's
    views = np.stack([view_rotation(y, p) for y, p in zip(yaw_deg, pitch, strict=True)])
    images = []
    for i in range(n):
        im = virtual_view(frames[i], views[i], mag[i], size, SRC_FOV)
        images.append(burn_overlays(im, i) if overlays else im)
    truth = {"rotation": true_path(views), "zoom": zoom / zoom[0], "focal_px": f_src * mag,
             "yaw_deg": np.asarray(yaw_deg, float)}
    return images, truth
