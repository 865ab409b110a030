"""Preview video: the input with each tracked person's skeleton and id drawn on it (and the
hand landmarks found, with ``--hands``).

Writes an MP4 (``mp4v``) at most :data:`PREVIEW_MAX_SIDE` px on its longer side, under a
temporary name that the caller publishes (see :class:`mocap.fileio.OutputDir`), so a
failed run leaves no partial file. Its frames come from :class:`PreviewFrames` where the
tracking pass kept them (a video short enough for :data:`PREVIEW_KEEP_BYTES`): the video is
decoded once; a longer one is decoded a second time (its frames are never kept).
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

import cv2
import numpy as np

from mocap.app.draw import color_for, draw_hand, draw_rig, draw_skeleton
from mocap.app.person import PersonResult
from mocap.errors import OutputError
from mocap.geometry.camera import focal_px, project
from mocap.io.video import Frame, open_video
from mocap.types import Track

__all__ = ["PreviewFrames", "draw_tracks", "grid_layout", "render_video", "rig_pixels",
           "write_preview", "write_rig_preview", "write_views_preview"]

def draw_tracks(image: np.ndarray, people: list[tuple], min_visibility: float = 0.5
                ) -> np.ndarray:
    """Draw skeletons and ids onto ``image`` in place.

    Args:
        image: (H, W, 3) uint8 RGB.
        people: ``(id, xy (33, 2) px, visibility (33,))`` per person, optionally with a
            fourth item ``observed`` (bool): False draws a thin skeleton without joints
            (a frame bridged by the smoother, where the person was not seen).
        min_visibility: joints below this are not drawn.

    Returns:
        ``image``.
    """
    for person in people:
        pid, xy, vis = person[:3]
        seen = bool(person[3]) if len(person) > 3 else True
        draw_skeleton(image, xy, vis, color_for(pid - 1), f"#{pid}" if seen else f"#{pid}?",
                      seen, min_visibility)
    return image


def _draw_hands(image: np.ndarray, track: Track, i: int, scale: float) -> None:
    """The hand landmarks found in the track's frame ``i`` (with ``--hands``), in place."""
    if track.has_hands:
        for side in range(2):
            draw_hand(image, track.hands_image[i, side], (255, 255, 255), scale)


def write_preview(video_path: str | os.PathLike, tracks: list[Track], out_path: Path, *,
                  smoothed: bool = True, fps: float | None = None,
                  progress: Callable[[int], None] | None = None) -> Path:
    """Write the video with every track drawn to ``out_path`` (MP4, mp4v).

    Args:
        video_path: the video the tracks came from.
        tracks: the people to draw (:class:`~mocap.tracking.loop.Track`).
        out_path: file to write (the caller's temporary name).
        smoothed: draw smoothed landmarks (else raw; bridged gaps are then not drawn).
        fps: output frame rate; default the container's.
        progress: called with frames written so far.

    Raises:
        OutputError: the MP4 cannot be written.
    """
    by_frame: dict[int, list[tuple[Track, int]]] = {}
    for t in tracks:
        for i, f in enumerate(t.frames):
            by_frame.setdefault(int(f), []).append((t, i))

    def draw(frame: Frame, scale: float) -> np.ndarray:
        people = []
        for t, i in by_frame.get(frame.index, []):
            xyz = t.image[i] if smoothed else t.image_raw[i]
            vis = t.visibility[i] if t.observed[i] else np.ones(len(xyz))
            people.append((t.id, xyz[:, :2] * scale, vis, bool(t.observed[i])))
        img = draw_tracks(np.ascontiguousarray(frame.image), people)
        for t, i in by_frame.get(frame.index, []):
            _draw_hands(img, t, i, scale)
        return img

    return render_video(video_path, out_path, draw, fps=fps, progress=progress)


#: The preview's longer side is at most this (px): enough to see the rig on each person.
#: Its encoder (mp4v, one thread) is the preview's bottleneck and costs with the pixels:
#: 2.5 ms a frame at 1280x720, 1.4 at 960x540 (a 1080p or 4K frame several times more).
PREVIEW_MAX_SIDE = 960

#: The tracking pass keeps the frames at the preview's size (YUV 4:2:0, 1.5 bytes a pixel:
#: 0.78 MB a 960x540 frame) up to this many bytes, ~17 s of 30 fps video; a longer video
#: is decoded again for the preview (memory stays bounded whatever the length).
PREVIEW_KEEP_BYTES = 400 * 1024 * 1024

#: Frames kept per block of memory (one allocation each, its pages mapped at once).
_CHUNK_FRAMES = 32


def preview_size(size: tuple[int, int], max_side: int = PREVIEW_MAX_SIDE) -> tuple[int, int]:
    """(width, height) of the preview of a ``size`` video: scaled down so that its longer
    side is at most ``max_side``, even sides (what MPEG-4 encoders want)."""
    w, h = size
    scale = min(1.0, max_side / max(w, h, 1))
    return max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def _block(nbytes: int) -> np.ndarray:
    """``nbytes`` of zeroed memory with its pages mapped at once where the system can
    (Linux's ``MAP_POPULATE``): in a virtual machine, touching fresh pages one at a time
    cost 1.6 ms per MB here, mapping them at once 0.3."""
    import mmap

    populate = getattr(mmap, "MAP_POPULATE", 0)
    if not populate:
        return np.zeros(nbytes, np.uint8)
    block = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(block, np.uint8)


class PreviewFrames:
    """The frames at the preview's size, kept as the tracking pass decodes them (call it
    with each :class:`~mocap.io.video.Frame` in order, e.g. as ``track_video``'s
    ``on_frame``, on the decoding thread), as YUV 4:2:0 (1.5 bytes a pixel), up to
    ``budget`` bytes. Past the budget (a long video) or given a frame out of order, what was
    kept is let go and the preview decodes the video again.

    Args:
        size: (width, height) of the video, px.
        budget: bytes kept at most.
    """

    def __init__(self, size: tuple[int, int], budget: int = PREVIEW_KEEP_BYTES) -> None:
        self.size = preview_size(size)
        w, h = self.size
        self._shape = (h * 3 // 2, w)  # one frame in OpenCV's I420 layout
        self._budget = budget
        self._blocks: list[np.ndarray] = []
        self._small = np.empty((h, w, 3), np.uint8)  # the resized frame, reused
        self.frames: list[Frame] | None = []  # None: let go (over budget)

    def __call__(self, frame: Frame) -> None:
        if self.frames is None:
            return
        n = len(self.frames)
        if (n + 1) * self._shape[0] * self._shape[1] > self._budget or frame.index != n:
            self.frames, self._blocks = None, []  # the preview reads the video again
            return
        if n % _CHUNK_FRAMES == 0:
            self._blocks.append(_block(_CHUNK_FRAMES * self._shape[0] * self._shape[1])
                                .reshape(_CHUNK_FRAMES, *self._shape))
        slot = self._blocks[-1][n % _CHUNK_FRAMES]
        w, h = self.size
        try:
            small = (frame.image if frame.image.shape[:2] == (h, w) else
                     cv2.resize(frame.image, self.size, dst=self._small,
                                interpolation=cv2.INTER_LINEAR))
            cv2.cvtColor(small, cv2.COLOR_RGB2YUV_I420, dst=slot)
        except cv2.error:  # a frame OpenCV cannot take: the tracking pass goes on, and
            self.frames, self._blocks = None, []  # the preview reads the video again
            return
        self.frames.append(Frame(frame.index, frame.timestamp, slot))

    def complete(self, count: int) -> bool:
        """Every one of the video's ``count`` frames (those decoded) is kept."""
        return self.frames is not None and len(self.frames) == count > 0

    def __iter__(self) -> Iterator[Frame]:
        for f in self.frames or ():
            yield Frame(f.index, f.timestamp, cv2.cvtColor(f.image, cv2.COLOR_YUV2RGB_I420))


def render_video(video_path: str | os.PathLike, out_path: Path,
                 draw: Callable[[Frame, float], np.ndarray], *, fps: float | None = None,
                 progress: Callable[[int], None] | None = None,
                 frames: PreviewFrames | None = None,
                 stop: threading.Event | None = None) -> Path:
    """Write ``draw(frame, scale)`` (RGB, the frame scaled by ``scale`` to
    :func:`preview_size`) for every frame of ``video_path`` to ``out_path`` (MP4, mp4v):
    the frames from ``frames`` where given (it must hold every frame:
    :meth:`PreviewFrames.complete`), else decoded again (never kept in memory). Drawing
    and encoding (and decoding) run on threads of their own, so both cores work. ``stop``
    set: it ends at the next frame (the file is then incomplete: the caller discards it).

    Raises:
        OutputError: the MP4 cannot be written.
    """
    import queue

    with open_video(video_path) as video:
        rate = fps or video.info.rate
        size = preview_size((video.info.width, video.info.height))
        scale = size[0] / max(video.info.width, 1)
        if frames is not None and frames.size == size and frames.frames:
            frames = iter(frames)  # decoded once, in the tracking pass
        else:
            frames = (f if f.image.shape[1::-1] == size else
                      Frame(f.index, f.timestamp,
                            cv2.resize(f.image, size, interpolation=cv2.INTER_LINEAR))
                      for f in video)
        writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), rate, size)
        if not writer.isOpened():
            raise OutputError(f"cannot write the preview video {out_path}")
        todo: queue.Queue = queue.Queue(maxsize=4)
        failed: list[BaseException] = []

        def encode() -> None:
            while (img := todo.get()) is not None:
                if not failed:
                    try:
                        writer.write(cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
                    except BaseException as exc:  # re-raised on the caller's thread
                        failed.append(exc)

        worker = threading.Thread(target=encode, name="mocap-preview-encoder", daemon=True)
        worker.start()
        try:
            for n, frame in enumerate(frames):
                if failed or (stop is not None and stop.is_set()):
                    break
                todo.put(draw(frame, scale))
                if progress is not None:
                    progress(n + 1)
        finally:
            todo.put(None)
            worker.join()
            writer.release()
        if failed:
            raise failed[0]
    return out_path


def rig_pixels(p: PersonResult, size: tuple[int, int], fov_deg: float) -> np.ndarray:
    """(T, J, 2) px: the person's exported rig over their own frames, projected through the
    camera of each frame (it may turn and zoom)."""
    focal = p.motion.world.focal if p.motion.world.focal is not None \
        else focal_px(size[0], fov_deg)
    return project(p.animation.positions(), p.camera, focal, size)


def write_rig_preview(video: Path, people: list[PersonResult], out_path: Path, fps: float,
                      size: tuple[int, int], fov_deg: float,
                      progress: Callable[[int], None] | None = None, *,
                      keep: Collection[int] = (),
                      kept: dict[int, tuple[np.ndarray, float]] | None = None,
                      frames: PreviewFrames | None = None,
                      stop: threading.Event | None = None) -> Path:
    """The video with each person's exported rig projected onto it, with its id; in the
    frames where a person was not seen (bridged) the rig is drawn dashed, without joint
    dots, and the id reads ``#<id>?``.

    ``keep``: video frames to put in ``kept`` as ``(image RGB before drawing, its scale to
    the video)`` on the way (the report's thumbnails: no second read of the video).
    ``frames``: every frame, kept by the tracking pass; ``stop``: see
    :func:`render_video`."""
    # each person's rig over their own frames (drawn from first to last appearance)
    drawn = [(p, rig_pixels(p, size, fov_deg)) for p in people]
    keep = set(keep) if kept is not None else set()

    def draw(frame, scale: float) -> np.ndarray:
        img = np.ascontiguousarray(frame.image)
        if frame.index in keep:
            kept[frame.index] = (img.copy(), scale)
        for p, px in drawn:
            t = p.track
            if t.first_frame <= frame.index <= t.last_frame:
                i = frame.index - t.first_frame
                seen = bool(t.observed[i])
                draw_rig(img, px[i] * scale, p.animation.rig.parents, color_for(p.id - 1),
                         f"#{p.id}" if seen else f"#{p.id}?", seen)
                _draw_hands(img, t, i, scale)
        return img

    return render_video(video, out_path, draw, fps=fps, progress=progress, frames=frames,
                        stop=stop)


#: The longer side of a multi-camera preview's grid, px at most.
GRID_MAX_SIDE = 1920


def grid_layout(sizes: list[tuple[int, int]], max_side: int = GRID_MAX_SIDE
                ) -> tuple[int, int, int, int]:
    """``(columns, rows, cell width, cell height)`` of a grid of views: as square as the
    count allows, every cell the first view's shape, the grid's longer side at most
    ``max_side`` px, even sides."""
    n = len(sizes)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    w, h = sizes[0]
    scale = min(1.0, max_side / (cols * w), max_side / (rows * h))
    return cols, rows, max(2, round(w * scale / 2) * 2), max(2, round(h * scale / 2) * 2)


def write_views_preview(videos: list[Path], offsets, people: list[PersonResult],
                        lifts: list[np.ndarray], calibration, out_path: Path, fps: float,
                        total: int, progress: Callable[[int], None] | None = None) -> Path:
    """Several cameras: a grid of the views (:func:`grid_layout`), frame by frame of the
    first video, each view at its time offset, with every person's exported rig projected
    through that view's calibrated camera (its lens distortion included) and their id; in
    the frames where a person was not seen the rig is drawn dashed and the id reads
    ``#<id>?``. A view with no frame at that instant (it started later or ended sooner)
    stays black.

    Args:
        videos: the V videos, in the calibration's order.
        offsets: (V,) frames: video ``v``'s frame ``f + offsets[v]`` is the first video's
            ``f`` (rounded to the nearest frame here).
        people: the exported people (their rig in the calibration's world, raised by
            ``lifts``).
        lifts: per person (3,) metres the world was raised to settle their feet.
        calibration: the V cameras (:class:`mocap.multiview.calibration.Calibration`), in
            the people's world.
        out_path: the MP4 to write.
        fps: frames per second.
        total: frames of the first video.
        progress: ``progress(frames done)``.

    Raises:
        OutputError: the MP4 cannot be written.
    """
    sizes = [tuple(c.size) for c in calibration]
    cols, rows, cw, ch = grid_layout(sizes)
    drawn = []
    for p, lift in zip(people, lifts, strict=True):
        pos = p.animation.positions() - np.asarray(lift, np.float64)
        drawn.append((p, [cam.project(pos) for cam in calibration]))
    readers: list = []
    writer = cv2.VideoWriter(str(out_path), cv2.VideoWriter_fourcc(*"mp4v"), fps,
                             (cols * cw, rows * ch))
    try:
        for v in videos:  # inside the try: a video that fails to open closes the others
            readers.append(open_video(v))
        if not writer.isOpened():
            raise OutputError(f"cannot write the preview video {out_path}")
        its = [iter(r) for r in readers]
        current: list[Frame | None] = [None] * len(videos)
        shift = [round(float(o)) for o in offsets]
        for f in range(total):
            canvas = np.zeros((rows * ch, cols * cw, 3), np.uint8)
            for v, (w, h) in enumerate(sizes):
                target = f + shift[v]
                while current[v] is None or current[v].index < target:
                    current[v] = next(its[v], None)
                    if current[v] is None:
                        break
                    if current[v].index >= target:
                        break
                frame = current[v]
                if frame is None or frame.index != target:
                    continue
                scale = min(cw / w, ch / h)
                tw, th = max(1, round(w * scale)), max(1, round(h * scale))
                tile = np.ascontiguousarray(cv2.resize(frame.image, (tw, th),
                                                       interpolation=cv2.INTER_AREA))
                for p, px in drawn:
                    t = p.track
                    if t.first_frame <= f <= t.last_frame:
                        i = f - t.first_frame
                        pts = px[v][i] * scale
                        if not np.isfinite(pts).all():
                            continue
                        seen = bool(t.observed[i])
                        draw_rig(tile, pts, p.animation.rig.parents, color_for(p.id - 1),
                                 f"#{p.id}" if seen else f"#{p.id}?", seen)
                r, c = divmod(v, cols)
                y0, x0 = r * ch + (ch - th) // 2, c * cw + (cw - tw) // 2
                canvas[y0:y0 + th, x0:x0 + tw] = tile
            writer.write(cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
            if progress is not None:
                progress(f + 1)
    finally:
        writer.release()
        for r in readers:
            r.close()
    return out_path
