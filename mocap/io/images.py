"""Still-image input: any file OpenCV can decode, as (H, W, 3) uint8 RGB, with clear errors."""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputError
from mocap.fileio import read_input
from mocap.io.video import VIDEO_EXTENSIONS

#: The largest image mocap reads (10000 x 10000 pixels). MoveNet sees a photo at 512 px on its
#: long side (and in tiles), BlazePose each person in a 256 x 256 crop: more pixels add
#: nothing but memory (a 1-gigapixel PNG took 4.3 GB and 25 s to decode). Checked on the
#: file's header, before anything is decoded.
MAX_PIXELS = 100_000_000


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as ``(H, W, 3)`` uint8 RGB.

    Grayscale is expanded to three channels, alpha is dropped, 16-bit and float images are
    scaled to 8 bits.

    Raises:
        InputError: the file is missing, empty, a directory, or not a decodable image.
    """
    p = Path(path)
    raw = read_input(p, "image")
    if not raw:
        raise InputError(f"{p}: empty file")
    size = header_pixels(raw)
    if size is not None:
        _check_pixels(p, size)
    try:
        img = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # OpenCV's own limits (a header it reads and Pillow does not)
        img = None
    if img is None:
        hint = (f"; it looks like a video: use `mocap convert {p} -o DIR`"
                if p.suffix.lower() in VIDEO_EXTENSIONS else "")
        raise InputError(f"{p}: not an image OpenCV can decode{hint}")
    h, w = img.shape[:2]
    _check_pixels(p, (f"{w} x {h} pixels", w * h))
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    elif img.dtype != np.uint8:  # float or 32-bit: stretched to 0..255, NaN and inf as 0
        img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        img = cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)
        img = img.astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[:, :, 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def header_pixels(data: bytes) -> tuple[str, int] | None:
    """``("W x H pixels", W * H)`` from an image file's header (Pillow reads only the header), or
    None where Pillow does not know the format (OpenCV may still decode it)."""
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                w, h = (int(v) for v in im.size)
                return f"{w} x {h} pixels", w * h
    except Image.DecompressionBombError as exc:  # over Pillow's own limit
        found = re.findall(r"\d+", str(exc))
        n = int(found[0]) if found else MAX_PIXELS + 1
        return f"{n / 1e6:.0f} megapixels", n
    except (OSError, ValueError, SyntaxError, EOFError):  # not a format Pillow reads
        return None


def _check_pixels(path: Path, size: tuple[str, int]) -> None:
    if size[1] > MAX_PIXELS:
        raise InputError(f"{path}: {size[0]} is over the {MAX_PIXELS // 1_000_000} "
                         "megapixels mocap reads; scale it down (a pose needs a few)")
