"""Tests for mocap.video: streaming decode, timestamps, bad input."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.errors import InputError
from mocap.video import open_video

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DEMO = DATA / "videos" / "sports2d_demo.mp4"


def _write_video(path: Path, n: int = 12, size=(64, 48), fps: float = 25.0) -> list[np.ndarray]:
    """Frames whose mean brightness encodes the index (survives lossy coding)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened()
    frames = []
    for i in range(n):
        bgr = np.zeros((h, w, 3), np.uint8)
        bgr[..., 2] = (10 + 15 * i) % 250  # red channel in BGR
        bgr[: h // 2, : w // 2, 0] = 200  # a blue quadrant top-left
        writer.write(bgr)
        frames.append(bgr)
    writer.release()
    return frames


def test_reads_all_frames_with_index_and_timestamps(tmp_path):
    path = tmp_path / "v.mp4"
    _write_video(path, n=12, fps=25.0)
    with open_video(path) as video:
        assert video.info.fps == pytest.approx(25.0)
        assert (video.info.width, video.info.height) == (64, 48)
        frames = list(video)
    assert [f.index for f in frames] == list(range(12))
    ts = np.array([f.timestamp for f in frames])
    np.testing.assert_allclose(ts, np.arange(12) / 25.0, atol=1e-3)
    assert video.frames_read == 12
    assert not video.truncated
    # RGB order: the red channel carries the ramp, blue quadrant lands in channel 2.
    reds = [float(f.image[30:, 40:, 0].mean()) for f in frames]  # 10..175, no wrap
    assert np.all(np.diff(reds) > 5)
    assert frames[0].image[5, 5, 2] > 150 and frames[0].image[5, 5, 0] < 60


@pytest.mark.parametrize("prefetch", [0, 2])
def test_prefetch_modes_agree_and_memory_is_bounded(tmp_path, prefetch):
    path = tmp_path / "v.mp4"
    _write_video(path, n=20)
    with open_video(path, prefetch=prefetch) as video:
        seen = 0
        for frame in video:
            seen += 1
            if prefetch:
                # the decode-ahead queue never holds more than `prefetch` frames
                assert video._queue.qsize() <= prefetch
            assert frame.image.dtype == np.uint8 and frame.image.shape == (48, 64, 3)
    assert seen == 20


def test_max_frames_and_single_iteration(tmp_path):
    path = tmp_path / "v.mp4"
    _write_video(path, n=10)
    video = open_video(path, max_frames=4)
    assert len(list(video)) == 4
    assert not video.truncated
    with pytest.raises(RuntimeError, match="only once"):
        list(video)


def test_truncated_file_yields_decodable_frames(tmp_path):
    # AVI (MJPG) frames precede the index, so a file cut in half keeps decodable frames.
    avi = tmp_path / "v.avi"
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 30, (160, 120))
    rng = np.random.default_rng(0)
    for _ in range(60):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    data = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with open_video(cut) as video:
        n = sum(1 for _ in video)
    assert 0 < n < 60
    assert video.frames_read == n
    if video.info.frame_count > 0:  # declared count survives only in some headers
        assert video.truncated


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        open_video(path)


def test_non_video_file(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 100)
    with pytest.raises(InputError, match=r"cannot be opened|no decodable"):
        open_video(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_video(tmp_path / "nope.mp4")
    with pytest.raises(InputError, match="directory"):
        open_video(tmp_path)


def test_bad_arguments(tmp_path):
    path = tmp_path / "v.mp4"
    _write_video(path, n=3)
    with pytest.raises(ValueError, match="prefetch"):
        open_video(path, prefetch=-1)


def test_early_close_stops_reader_thread(tmp_path):
    path = tmp_path / "v.mp4"
    _write_video(path, n=30)
    video = open_video(path, prefetch=2)
    it = iter(video)
    next(it)
    video.close()
    assert video._thread is None


@pytest.mark.slow
def test_demo_video_metadata_and_timestamps():
    if not DEMO.exists():
        pytest.skip(f"demo video not found at {DEMO}")
    with open_video(DEMO) as video:
        info = video.info
        ts = np.array([f.timestamp for f in video])
    assert (info.width, info.height, info.fps) == (1768, 994, 30.0)
    assert info.codec.upper().startswith("VP9") or info.codec.upper() == "VP90"
    assert len(ts) == 230 and not video.truncated
    np.testing.assert_allclose(np.diff(ts), 1 / 30, atol=2e-3)
