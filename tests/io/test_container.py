"""The lens a phone states in a QuickTime/MP4 container (mocap.io.container), read from
files FFmpeg wrote (imageio-ffmpeg's binary, the muxer phones' files are re-muxed with) and
from atoms laid out as Apple's QuickTime File Format describes them; a conversion of the
demo video carrying the key places people with it."""

from __future__ import annotations

import json
import math
import struct
import subprocess
from pathlib import Path

import pytest

from mocap.io.container import FOCAL_35MM_KEY, LENS_MODEL_KEY, lens_metadata
from tests.helpers import run_cli

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
LENS = "iPhone 13 back camera 5.1mm f/1.6"


def _ffmpeg(*args) -> None:
    proc = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr


def _tagged(out: Path, *tags: str) -> Path:
    """A 1 s test pattern written to ``out`` with QuickTime keys (``key=value``)."""
    meta = [a for tag in tags for a in ("-metadata", tag)]
    _ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x180:rate=10", "-t", "1", "-c:v", "mpeg4",
            "-movflags", "use_metadata_tags", *meta, str(out))
    return out


@pytest.mark.parametrize("suffix", [".mov", ".mp4"])
def test_ffmpeg_written_keys_are_read(tmp_path, suffix):
    path = _tagged(tmp_path / f"phone{suffix}", f"{FOCAL_35MM_KEY}=26",
                   f"{LENS_MODEL_KEY}={LENS}")
    meta = lens_metadata(path)
    assert meta.focal_35mm == 26.0 and meta.lens_model == LENS
    # 26 mm on a 36 x 24 mm frame's diagonal (43.27 mm) is a 79.5 deg diagonal view:
    # 1324 px on a 1920 x 1080 frame (horizontal 71.9 deg)
    assert meta.focal_px((1920, 1080)) == pytest.approx(26 / math.hypot(36, 24)
                                                       * math.hypot(1920, 1080))
    assert meta.focal_px((1080, 1920)) == meta.focal_px((1920, 1080))  # portrait alike


def test_absent_implausible_or_broken_metadata_is_none(tmp_path, demo_video_path):
    assert lens_metadata(demo_video_path) is None  # an MP4 that states no lens
    plain = _tagged(tmp_path / "plain.mp4", "title=no lens here")
    assert lens_metadata(plain) is None
    assert lens_metadata(_tagged(tmp_path / "tiny.mov", f"{FOCAL_35MM_KEY}=2")) is None
    assert lens_metadata(_tagged(tmp_path / "text.mov", f"{FOCAL_35MM_KEY}=wide")) is None
    data = _tagged(tmp_path / "cut.mov", f"{FOCAL_35MM_KEY}=26").read_bytes()
    for cut in (7, 40, len(data) // 2, len(data) - 3):  # truncated anywhere
        (tmp_path / "cut2.mov").write_bytes(data[:cut])
        assert lens_metadata(tmp_path / "cut2.mov") is None
    (tmp_path / "noise.mov").write_bytes(bytes(range(256)) * 40)
    assert lens_metadata(tmp_path / "noise.mov") is None
    assert lens_metadata(tmp_path / "missing.mov") is None


def _atom(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _quicktime(value_type: int, raw: bytes, iso_meta: bool) -> bytes:
    """A file as Apple's recorder lays it out: ftyp, then moov/udta/meta (hdlr 'mdta',
    keys, ilst), the value a 'data' atom of the given well-known type."""
    key = b"mdta" + FOCAL_35MM_KEY.encode()
    keys = _atom(b"keys", struct.pack(">II", 0, 1) + struct.pack(">I", 4 + len(key))
                 + key)
    data = _atom(b"data", struct.pack(">II", value_type, 0) + raw)
    ilst = _atom(b"ilst", _atom(struct.pack(">I", 1), data))
    hdlr = _atom(b"hdlr", bytes(8) + b"mdta" + bytes(13))
    meta = _atom(b"meta", (bytes(4) if iso_meta else b"") + hdlr + keys + ilst)
    return (_atom(b"ftyp", b"qt  " + bytes(4)) + _atom(b"mdat", bytes(100))
            + _atom(b"moov", _atom(b"mvhd", bytes(100)) + _atom(b"udta", meta)))


@pytest.mark.parametrize("value_type,raw", [(23, struct.pack(">f", 52.0)),
                                            (24, struct.pack(">d", 52.0)),
                                            (21, struct.pack(">h", 52)),
                                            (22, struct.pack(">I", 52)),
                                            (1, b"52")])
@pytest.mark.parametrize("iso_meta", [False, True])
def test_numbers_of_every_well_known_type(tmp_path, value_type, raw, iso_meta):
    path = tmp_path / "tele.mov"
    path.write_bytes(_quicktime(value_type, raw, iso_meta))
    assert lens_metadata(path).focal_35mm == 52.0
    assert lens_metadata(path).lens_model == ""


@pytest.mark.slow
def test_convert_places_people_with_the_stated_focal(tmp_path, demo_video_path):
    """The demo re-encoded into a MOV stating a 26 mm equivalent: report.json's focal block
    says ``metadata`` with its px; --focal-px still wins."""
    mov = tmp_path / "demo.mov"
    _ffmpeg("-i", str(demo_video_path), "-c:v", "mpeg4", "-q:v", "3", "-movflags",
            "use_metadata_tags", "-metadata", f"{FOCAL_35MM_KEY}=26", str(mov))
    out = tmp_path / "out"
    proc = run_cli("convert", mov, "-o", out, "--no-preview", "--formats", "json")
    assert proc.returncode == 0, proc.stderr
    focal = json.loads((out / "report.json").read_text())["camera"]["focal"]
    expected = lens_metadata(mov).focal_px((1768, 994))
    assert focal["source"] == "metadata" and "26 mm" in focal["detail"]
    assert focal["focal_px"] == pytest.approx(expected, abs=0.1)
    assert "focal" in proc.stdout and "metadata" in proc.stdout
    given = run_cli("convert", mov, "-o", tmp_path / "given", "--no-preview", "--formats",
                    "json", "--focal-px", "1500", "--json")
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["focal"]["source"] == "user"
