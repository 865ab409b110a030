"""mocap.io.images.load_image: the pixel cap (from the header, before decoding) and odd
pixel types."""

from __future__ import annotations

import struct
import time
import warnings
import zlib

import cv2
import numpy as np
import pytest

from mocap.errors import InputError
from mocap.io.images import MAX_PIXELS, load_image
from tests.helpers import assert_one_line_error, run_cli


def _png_header(path, width: int, height: int):
    """A PNG whose header says ``width x height`` (8-bit grey) with a token of image data:
    what a 520 KB 65535 x 65535 PNG looks like to a reader before it decodes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize(("width", "height"), [(65535, 65535), (40000, 30000), (10001, 10000)])
def test_images_over_the_cap_are_refused_from_their_header(tmp_path, width, height):
    path = _png_header(tmp_path / "big.png", width, height)
    start = time.perf_counter()
    with pytest.raises(InputError, match="megapixels mocap reads") as info:
        load_image(path)
    assert time.perf_counter() - start < 2.0  # nothing decoded
    assert str(info.value).startswith(f"{path}: ") and "\n" not in str(info.value)


def test_a_real_image_just_over_the_cap_is_refused(tmp_path):
    path = tmp_path / "over.png"
    assert cv2.imwrite(str(path), np.zeros((10000, 10001), np.uint8),
                       [cv2.IMWRITE_PNG_COMPRESSION, 1])
    with pytest.raises(InputError, match="10001 x 10000 pixels is over the 100 megapixels"):
        load_image(path)
    assert MAX_PIXELS == 10000 * 10000  # the README's 10000x10000 row is processed


def test_pose_refuses_a_huge_png_in_one_line(tmp_path):
    path = _png_header(tmp_path / "huge.png", 65535, 65535)
    out = tmp_path / "out.json"
    proc = run_cli("pose", path, "--coco", out)
    assert_one_line_error(proc, "4295 megapixels is over the 100 megapixels")
    assert proc.returncode == 2 and not out.exists()


def test_a_float_tiff_with_nan_loads_without_warnings(tmp_path):
    img = np.linspace(0, 1, 64 * 48 * 3, dtype=np.float32).reshape(48, 64, 3)
    img[3, 4] = np.nan
    img[5, 6] = np.inf
    path = tmp_path / "f.tiff"
    assert cv2.imwrite(str(path), img)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning leaked to stderr here
        out = load_image(path)
    assert out.shape == (48, 64, 3) and out.dtype == np.uint8
    assert out.max() == 255
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw.dtype == np.float32 and np.isnan(raw[3, 4]).any():  # OpenCV 4.9 writes no NaN
        assert out[3, 4].max() == 0
