"""Still-image input: any file OpenCV can decode, as (H, W, 3) uint8 RGB, with clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputError
from mocap.fileio import read_input
from mocap.io.video import VIDEO_EXTENSIONS

# OpenCV refuses images above 2**30 pixels by default; say so before it does.
MAX_PIXELS = 1 << 30


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as ``(H, W, 3)`` uint8 RGB.

    Grayscale is expanded to three channels, alpha is dropped, 16-bit and float images are
    scaled to 8 bits.

    Raises:
        InputError: the file is missing, empty, a directory, or not a decodable image.
    """
    p = Path(path)
    data = np.frombuffer(read_input(p, "image"), np.uint8)
    if data.size == 0:
        raise InputError(f"{p}: empty file")
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if img is None:
        hint = (f"; it looks like a video: use `mocap convert {p} -o DIR`"
                if p.suffix.lower() in VIDEO_EXTENSIONS else "")
        raise InputError(f"{p}: not an image OpenCV can decode (or over {MAX_PIXELS} "
                         f"pixels){hint}")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX)
        img = img.astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
