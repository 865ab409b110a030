"""Streaming video decode: one RGB frame at a time, with its index and timestamp.

Memory stays bounded whatever the length: a reader thread decodes ahead into a small queue
(``prefetch`` frames) so decoding overlaps the caller's work (OpenCV releases the GIL while
it decodes). Timestamps come from the container (presentation times), so variable frame rate
is honoured; ``fps`` is what the container declares. Rotation metadata is applied by OpenCV's
FFmpeg backend (``CAP_PROP_ORIENTATION_AUTO``), so frames come out upright.

Example:
    >>> with open_video("walk.mp4") as video:           # doctest: +SKIP
    ...     for frame in video:
    ...         frame.index, frame.timestamp, frame.image.shape   # 0, 0.0, (994, 1768, 3)
    ...     video.frames_read, video.truncated
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.fileio import check_input

#: File suffixes of still images (`mocap convert` points them to `mocap pose`).
STILL_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: File suffixes taken for videos (batch folders; the hint that a video is not a photo).
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv",
                    ".flv", ".ts", ".mts")

__all__ = ["Frame", "VideoInfo", "VideoReader", "frames_at", "open_video"]


#: Frame rates mocap believes a container declares; outside them (a corrupt or hand-made
#: header) frames are timed at 30 fps, so no output gets a frame time of days or of
#: microseconds (a declared 1e-5 fps wrote `Frame Time: 100000`).
MIN_FPS, MAX_FPS = 1.0, 1000.0
#: The rate frames are timed at where the container declares none mocap believes.
DEFAULT_FPS = 30.0


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a video (before decoding it all).

    Attributes:
        path: the file.
        width: frame width in px, after rotation metadata is applied.
        height: frame height in px, after rotation metadata is applied.
        fps: frames per second declared by the container (average rate for VFR video)
            where it is credible (:data:`MIN_FPS` to :data:`MAX_FPS`); 0 where the container
            declares none or an impossible one (then frames are timed at 30 fps).
        frame_count: frames the container declares; ``-1`` when it does not say. The true
            number is known only after decoding (:attr:`VideoReader.frames_read`).
        rotation: rotation metadata in degrees (0, 90, 180, 270) that was applied.
        codec: FourCC of the video stream as OpenCV reports it (e.g. ``"VP90"``, ``"h264"``).
    """

    path: Path
    width: int
    height: int
    fps: float
    frame_count: int
    rotation: int
    codec: str

    @property
    def rate(self) -> float:
        """The frame rate frames are timed at: :attr:`fps`, else :data:`DEFAULT_FPS`."""
        return self.fps if self.fps > 0 else DEFAULT_FPS

    @property
    def duration(self) -> float:
        """Declared duration in seconds (``frame_count / fps``; 0 when unknown)."""
        if self.frame_count <= 0 or self.fps <= 0:
            return 0.0
        return self.frame_count / self.fps


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: 0-based position in decode order.
        timestamp: presentation time in seconds from the start of the stream.
        image: (H, W, 3) uint8 RGB.
    """

    index: int
    timestamp: float
    image: np.ndarray


_END = object()


class VideoReader:
    """Iterate over a video's frames once, decoding ahead on a background thread.

    Use :func:`open_video` to make one; it probes the file so unreadable input fails before
    any work starts. A reader is iterable once; it is also a context manager (``close``
    stops the thread and releases the file).

    Attributes:
        info: the container's description, :class:`VideoInfo`.
        frames_read: frames decoded so far (the total once iteration has ended).
        truncated: True when decoding stopped before the declared frame count (a cut or
            corrupt file); the decodable frames were still delivered.
    """

    def __init__(self, path: str | os.PathLike, *, prefetch: int = 4,
                 max_frames: int | None = None, threads: int | None = None,
                 on_frame: Callable[[Frame], None] | None = None,
                 yield_cpu: bool = False) -> None:
        """Open and probe ``path``.

        Args:
            path: video file.
            prefetch: frames decoded ahead of the consumer (memory bound: ``prefetch + 2``
                frames). ``0`` decodes on the calling thread.
            max_frames: stop after this many frames (None: all).
            threads: decoder threads (None: FFmpeg's choice). 1 leaves the other cores to
                inference running at the same time.
            on_frame: called with every frame as it is decoded, on the decoding thread
                (work a later stage needs from the frames, done beside the consumer's;
                what it raises is raised to the consumer).
            yield_cpu: the decoding thread runs at a lower priority (Linux: nice +10 for
                that thread; elsewhere as is): on busy cores the consumer's work (the
                models, whose threads wait for each other) goes first and decoding fills
                the gaps (the tracking loop ran 4 % faster so).

        Raises:
            InputError: the file is missing, empty, not a video, or has no decodable frame.
        """
        import cv2

        self.path = Path(path)
        if prefetch < 0:
            raise ValueError(f"`prefetch` must be >= 0, got {prefetch}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"`max_frames` must be >= 1, got {max_frames}")
        if check_input(self.path, "video") == 0:
            raise InputError(f"{self.path}: file is empty (0 bytes)")
        if threads is not None and threads < 1:
            raise ValueError(f"`threads` must be >= 1, got {threads}")
        if self.path.suffix.lower() in STILL_IMAGE_EXTENSIONS:
            # FFmpeg opens a photo as a one-frame video; nobody wants a 1-frame animation
            raise InputError(f"{self.path}: is a still image, not a video; use `mocap pose "
                             f"{self.path}` for photos")
        params = [] if threads is None else [cv2.CAP_PROP_N_THREADS, int(threads)]
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, params)
        if not cap.isOpened():
            cap.release()
            raise InputError(f"{self.path}: cannot be opened as a video (not a video file, "
                             "or a codec OpenCV's FFmpeg cannot read)")
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        self._cap = cap
        self._prefetch = prefetch
        self._max_frames = max_frames
        self._on_frame = on_frame
        self._yield_cpu = yield_cpu
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        rotation = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360
        # an impossible declared rate (1e-5 fps) comes with a time base not to believe;
        # a missing one (0) with container times that may still be good
        self._container_times = not (np.isfinite(fps) and fps > 0
                                     and not MIN_FPS <= fps <= MAX_FPS)
        if not (np.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
            fps = 0.0
        self._rate = fps or DEFAULT_FPS
        self._decoded = 0
        self._last_ts = -np.inf
        # Decode the first frame now: a file that opens but has nothing decodable must fail
        # here, before the caller creates outputs.
        first = self._read_one()
        if first is None:
            cap.release()
            raise InputError(f"{self.path}: contains no decodable video frames")
        h, w = first.image.shape[:2]
        self._first: Frame | None = first
        self.info = VideoInfo(self.path, w, h, fps,
                              count if count > 0 else -1, rotation, codec)
        self.frames_read = 0
        self._started = False
        self._stop = threading.Event()
        self._queue: queue.Queue | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    # -- decoding ---------------------------------------------------------------------
    def _read_one(self) -> Frame | None:
        import cv2

        ok, bgr = self._cap.read()
        if not ok or bgr is None or bgr.size == 0:
            return None
        index = self._decoded
        self._decoded += 1
        ts = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0 if self._container_times \
            else -1.0
        rate, last = self._rate, self._last_ts
        # Container times can be missing (raw streams report 0) or repeat; fall back to
        # index / fps then, keeping timestamps strictly increasing.
        if not np.isfinite(ts) or ts < 0 or (index > 0 and ts <= last):
            ts = index / rate if last == -np.inf else max(index / rate, last + 1.0 / rate)
        self._last_ts = ts
        if bgr.ndim == 2:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
        else:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        return Frame(index, ts, rgb)

    def _frames_sync(self) -> Iterator[Frame]:
        limit = self._max_frames
        frame, self._first = self._first, None
        while frame is not None:
            if self._on_frame is not None:
                self._on_frame(frame)
            yield frame
            if limit is not None and frame.index + 1 >= limit:
                return
            frame = self._read_one()

    def _worker(self) -> None:
        if self._yield_cpu and sys.platform.startswith("linux"):
            with contextlib.suppress(OSError, AttributeError):  # (a thread's own niceness)
                me = threading.get_native_id()
                os.setpriority(os.PRIO_PROCESS, me,
                               min(os.getpriority(os.PRIO_PROCESS, me) + 10, 19))
        try:
            for frame in self._frames_sync():
                while not self._stop.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as exc:  # re-raised on the consumer's thread
            self._error = exc
        finally:
            while not self._stop.is_set():
                try:
                    self._queue.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    def __iter__(self) -> Iterator[Frame]:
        if self._started:
            raise RuntimeError("a VideoReader can be iterated only once; open the file again")
        self._started = True
        if self._prefetch == 0:
            for frame in self._frames_sync():
                self.frames_read += 1
                yield frame
            self._release()
            return
        self._queue = queue.Queue(maxsize=self._prefetch)
        self._thread = threading.Thread(target=self._worker, name="mocap-video-reader",
                                        daemon=True)
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    break
                self.frames_read += 1
                yield item
            if self._error is not None:
                raise self._error
        finally:
            self.close()

    # -- state ------------------------------------------------------------------------
    @property
    def truncated(self) -> bool:
        """Fewer frames decoded than declared (meaningful once iteration has ended)."""
        if self._max_frames is not None and self.frames_read >= self._max_frames:
            return False
        return self.info.frame_count > 0 and self.frames_read < self.info.frame_count

    def _release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def close(self) -> None:
        """Stop the reader thread and release the file. Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._release()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: str | os.PathLike, *, prefetch: int = 4,
               max_frames: int | None = None, threads: int | None = None,
               on_frame: Callable[[Frame], None] | None = None,
               yield_cpu: bool = False) -> VideoReader:
    """Open a video for streaming decode; see :class:`VideoReader`.

    Raises:
        InputError: missing, empty, non-video or frameless input.
    """
    return VideoReader(path, prefetch=prefetch, max_frames=max_frames, threads=threads,
                       on_frame=on_frame, yield_cpu=yield_cpu)


def frames_at(path: str | os.PathLike, indices) -> dict[int, np.ndarray]:
    """Single frames by index, upright RGB (H, W, 3) uint8, by seeking (for thumbnails: a
    few frames of a long video without decoding all of it). Frames that cannot be read
    are left out."""
    import cv2

    out: dict[int, np.ndarray] = {}
    if not os.path.isfile(path):
        return out
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    try:
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        for i in sorted({int(i) for i in indices}):
            cap.set(cv2.CAP_PROP_POS_FRAMES, i)
            ok, bgr = cap.read()
            if ok and bgr is not None and bgr.size:
                out[i] = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB if bgr.ndim == 2
                                      else cv2.COLOR_BGR2RGB)
    finally:
        cap.release()
    return out
