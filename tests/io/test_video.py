"""Tests for mocap.io.video: streaming decode, timestamps, bad input."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.errors import InputError
from mocap.io.video import open_video


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


def _box_chain(buf: bytes, path: list[bytes], start: int = 0, end: int | None = None):
    """Offsets of the MP4 boxes along ``path`` (e.g. moov/trak/.../stts), or None."""
    end = len(buf) if end is None else end
    i = start
    while i < end:
        size, kind = struct.unpack(">I4s", buf[i:i + 8])
        if kind == path[0]:
            if len(path) == 1:
                return [i]
            sub = _box_chain(buf, path[1:], i + 8, i + size)
            if sub:
                return [i, *sub]
        i += size
    return None


def _mp4v(path: Path, n: int, size=(160, 120), fps=25.0, stripe=False):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(n):
        bgr = np.full((size[1], size[0], 3), 25 * i % 250, np.uint8)
        if stripe:
            bgr[:, : size[0] // 4] = 255  # a white stripe down the left edge
        writer.write(bgr)
    writer.release()
    return bytearray(path.read_bytes())


def test_variable_frame_rate_timestamps_come_from_the_container(tmp_path):
    # OpenCV writes constant-rate MP4s; rewrite the sample-time table (stts) with one
    # duration per frame. OpenCV's MP4 keeps moov after mdat, so no chunk offset moves.
    data = _mp4v(tmp_path / "cfr.mp4", 8)
    chain = _box_chain(data, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stts"])
    mdhd = _box_chain(data, [b"moov", b"trak", b"mdia", b"mdhd"])[-1]
    assert data[mdhd + 8] == 0  # version 0 layout
    scale = struct.unpack(">I", data[mdhd + 20:mdhd + 24])[0]
    # irregular frame durations with the same total (0.32 s), so the track, media and
    # edit-list durations written by OpenCV stay valid
    durations = np.array([0.02, 0.06, 0.02, 0.08, 0.04, 0.02, 0.04, 0.04])
    times = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    deltas = np.round(durations * scale).astype(int).tolist()
    stts = chain[-1]
    old_size = struct.unpack(">I", data[stts:stts + 4])[0]
    body = struct.pack(">I4sII", 16 + 8 * len(deltas), b"stts", 0, len(deltas))
    body += b"".join(struct.pack(">II", 1, d) for d in deltas)
    grow = len(body) - old_size
    data[stts:stts + old_size] = body
    for box in chain[:-1]:  # parents grow with it
        size = struct.unpack(">I", data[box:box + 4])[0]
        data[box:box + 4] = struct.pack(">I", size + grow)
    vfr = tmp_path / "vfr.mp4"
    vfr.write_bytes(bytes(data))
    with open_video(vfr) as video:
        got = np.array([f.timestamp for f in video])
    np.testing.assert_allclose(got, times, atol=1e-3)
    assert video.frames_read == 8


def test_rotation_metadata_is_applied(tmp_path):
    data = _mp4v(tmp_path / "r0.mp4", 3, size=(160, 120), stripe=True)
    tkhd = _box_chain(data, [b"moov", b"trak", b"tkhd"])[-1]
    assert data[tkhd + 8] == 0  # version 0: the matrix is 40 bytes after the header
    m = tkhd + 8 + 40
    assert struct.unpack(">9i", data[m:m + 36])[0] == 0x10000  # identity to start with
    data[m:m + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    rotated = tmp_path / "r90.mp4"
    rotated.write_bytes(bytes(data))
    with open_video(rotated) as video:
        frame = next(iter(video))
    assert video.info.rotation == 90
    assert (video.info.width, video.info.height) == (120, 160)
    assert frame.image.shape == (160, 120, 3)
    # 90 degrees clockwise: the left-edge stripe is now along the top
    assert frame.image[:30].mean() > 200 and frame.image[-30:].mean() < 100


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


@pytest.mark.parametrize("prefetch", [0, 2])
def test_on_frame_sees_every_frame_as_it_is_decoded(tmp_path, prefetch):
    """``on_frame`` gets every frame in order, on the decoding thread when it decodes
    ahead; what it raises reaches the consumer."""
    import threading

    path = tmp_path / "v.mp4"
    _write_video(path, n=15)
    seen, threads = [], set()

    def tap(frame):
        seen.append(frame.index)
        threads.add(threading.current_thread().name)

    with open_video(path, prefetch=prefetch, max_frames=12, on_frame=tap) as video:
        got = [f.index for f in video]
    assert seen == got == list(range(12))
    assert threads == ({"mocap-video-reader"} if prefetch else {threading.current_thread().name})

    def broken(frame):
        if frame.index == 5:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), open_video(
            path, prefetch=prefetch, on_frame=broken) as video:
        for _ in video:
            pass


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
def test_demo_video_metadata_and_timestamps(demo_video_path):
    with open_video(demo_video_path) as video:
        info = video.info
        ts = np.array([f.timestamp for f in video])
    assert (info.width, info.height, info.fps) == (1768, 994, 30.0)
    assert info.codec.upper().startswith("VP9") or info.codec.upper() == "VP90"
    assert len(ts) == 230 and not video.truncated
    np.testing.assert_allclose(np.diff(ts), 1 / 30, atol=2e-3)


def _avi_declaring(path: Path, scale: int, rate: int, n: int = 5) -> Path:
    """An MJPEG AVI whose stream header declares ``rate / scale`` frames per second."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(n):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    data = bytearray(path.read_bytes())
    at = data.index(b"strh") + 28  # dwScale, dwRate of the stream header
    assert struct.unpack("<II", data[at:at + 8]) == (1, 30)
    data[at:at + 8] = struct.pack("<II", scale, rate)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("scale", "rate"), [(100_000, 1), (1, 100_000)],
                         ids=["1e-5 fps", "100000 fps"])
def test_an_impossible_declared_frame_rate_is_read_at_30_fps(tmp_path, scale, rate):
    """A header declaring 1e-5 fps wrote `Frame Time: 100000` (which retarget then refused);
    frames are timed at 30 fps instead and the container's time base is not believed."""
    path = _avi_declaring(tmp_path / "odd.avi", scale, rate)
    assert cv2.VideoCapture(str(path)).get(cv2.CAP_PROP_FPS) == pytest.approx(rate / scale)
    reader = open_video(path)
    times = [f.timestamp for f in reader]
    assert reader.info.fps == 0.0 and len(times) == 5
    np.testing.assert_allclose(times, np.arange(5) / 30.0)


@pytest.mark.slow
def test_convert_of_a_1e_5_fps_video_writes_a_readable_bvh(tmp_path, model_paths,
                                                           demo_video_path):
    from mocap.io.bvh import read_bvh
    from tests.helpers import run_cli

    # the demo's first 12 frames (a person walks in from the start), at 1e-5 fps
    cap = cv2.VideoCapture(str(demo_video_path))
    path = tmp_path / "slow.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (884, 497))
    for _ in range(12):
        ok, frame = cap.read()
        assert ok
        writer.write(cv2.resize(frame, (884, 497)))
    writer.release()
    data = bytearray(path.read_bytes())
    at = data.index(b"strh") + 28
    data[at:at + 8] = struct.pack("<II", 100_000, 1)
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    proc = run_cli("convert", path, "-o", out, "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    bvh = read_bvh(next(out.glob("person_*.bvh")))
    assert bvh.frame_time == pytest.approx(1 / 30, rel=1e-6)
    back = run_cli("retarget", next(out.glob("person_*.bvh")), "--rig", "smpl", "-o",
                   tmp_path / "again.bvh", "-q")
    assert back.returncode == 0, back.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's niceness: Linux")
def test_yield_cpu_lowers_the_decoding_threads_priority(tmp_path):
    import os
    import threading

    path = tmp_path / "v.mp4"
    _write_video(path, n=4)
    nice = {}

    def tap(frame):
        nice[frame.index] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    for yield_cpu, expected in ((True, min(base + 10, 19)), (False, base)):
        with open_video(path, on_frame=tap, yield_cpu=yield_cpu) as video:
            list(video)
        assert set(nice.values()) == {expected}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
