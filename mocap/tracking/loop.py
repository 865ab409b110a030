"""Video -> per-person landmark tracks: decode, detect when needed, landmarks, track, smooth.

The per-frame loop (:func:`track_video`) follows MediaPipe's tracking mode for many people:

* the landmark model runs every frame on each tracked person's region, derived from that
  person's landmarks in the previous frame (:func:`mocap.perception.landmarks.roi_from_landmarks`);
* the detector runs on the first frame, and on the next frame whenever a track is lost, a
  tracked pose's score drops below ``redetect_score`` or nobody is tracked; to find new
  people it runs every ``detect_every`` frames while the picture outside the tracked people
  changes (someone walking in, a moving camera: :class:`SceneChange`, a cheap look at a
  thumbnail), and every ``idle_detect_every`` frames otherwise; detections overlapping a
  tracked region are dropped;
* poses whose score is below ``min_pose_score`` are "nobody here"; duplicates are removed;
* :class:`~mocap.tracking.tracker.PoseTracker` assigns identities;
* afterwards every person's trajectories are smoothed (:mod:`mocap.tracking.smooth`).

The result is a :class:`TrackResult` holding one :class:`~mocap.types.Track` per confirmed
person; :mod:`mocap.tracking.tracks_io` writes it as ``tracks.npz`` + ``tracks.json``.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from mocap.geometry.boxes import box_iou, cxcywh_to_corners, greedy_keep
from mocap.io.video import Frame, VideoInfo, open_video
from mocap.perception.camera_motion import CameraMotionConfig, CameraMotionEstimator
from mocap.perception.detect import DetectorConfig
from mocap.perception.hands import POSE_HAND_POINTS, HandConfig, HandEngine, make_hand_engine
from mocap.perception.landmarks import (
    EngineOptions,
    EstimatorConfig,
    PoseEngine,
    roi_from_landmarks,
)
from mocap.perception.movenet import MoveNetConfig
from mocap.tracking.smooth import SmoothConfig, smooth_landmarks
from mocap.tracking.tracker import PoseTracker, TrackerConfig, pose_boxes
from mocap.types import NUM_HAND_LANDMARKS, NUM_LANDMARKS, CameraPath, Hands2D, Poses2D, Rois, Track

__all__ = [
    "Engine",
    "PipelineConfig",
    "SceneChange",
    "TrackResult",
    "make_video_engine",
    "smooth_track",
    "track_frames",
    "track_video",
    "video_detector_config",
]


class Engine(Protocol):
    """What the loop needs from the pose engine (:class:`mocap.perception.landmarks.PoseEngine`)."""

    def detect(self, image: np.ndarray, tiles: bool = True) -> Rois: ...

    def landmarks(self, image: np.ndarray, rois: Rois) -> Poses2D: ...


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of the video loop (validated on construction).

    Attributes:
        detect_every: look for new people at most every N frames (1: every frame) while
            the picture outside the tracked people changes (:class:`SceneChange`); skipped
            while ``max_people`` healthy people are tracked (nobody new can be added).
        idle_detect_every: ... and at least every N frames when it does not (someone
            standing still whom an earlier look missed); never more often than
            ``detect_every``.
        min_pose_score: pose score under which a newly detected region holds nobody.
        tracking_score: the same for a region derived from a tracked person's landmarks
            (lower: keeps hold of people through blur and odd poses, as MediaPipe's
            ``min_tracking_confidence`` does).
        redetect_score: a tracked pose scoring below this is weak: the detector then runs
            every ``lost_detect_every`` frames.
        lost_detect_every: while a person is lost inside the frame (occluded, not walked
            out across the border; seen in at least ``min_track_frames`` frames before) or
            weak, run the detector at least every N frames to find them again (the frame
            right after a loss always runs it, and every frame runs it while nobody is
            tracked).
        duplicate_iou: two poses whose joint boxes overlap more than this are one person
            (the higher score is kept).
        max_people: at most this many people are tracked; None: no limit.
        max_new_per_detection: at most this many new (untracked) detections per detector
            run go to the landmark model, best first.
        min_track_frames: confirmed tracks observed in fewer frames are dropped as spurious
            (in a clip shorter than twice this, in fewer than half its frames).
        detector_tiles: let the detector also look at image tiles (finds people too small
            for one 224x224 view of a wide frame; :func:`make_video_engine` limits the tiles
            to one scale so this stays affordable).
        tracker: :class:`~mocap.tracking.tracker.TrackerConfig` (its ``max_people`` is overridden).
        smooth: :class:`~mocap.tracking.smooth.SmoothConfig`.
    """

    detect_every: int = 10
    idle_detect_every: int = 30
    min_pose_score: float = 0.5
    tracking_score: float = 0.3
    redetect_score: float = 0.5
    lost_detect_every: int = 3
    duplicate_iou: float = 0.5
    max_people: int | None = None
    max_new_per_detection: int = 3
    min_track_frames: int = 10
    detector_tiles: bool = True
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    smooth: SmoothConfig = field(default_factory=SmoothConfig)

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ValueError(f"`detect_every` must be >= 1, got {self.detect_every}")
        if self.idle_detect_every < 1:
            raise ValueError(f"`idle_detect_every` must be >= 1, got {self.idle_detect_every}")
        if self.lost_detect_every < 1:
            raise ValueError(f"`lost_detect_every` must be >= 1, got {self.lost_detect_every}")
        for name in ("min_pose_score", "tracking_score", "redetect_score", "duplicate_iou"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}")
        if self.max_people is not None and self.max_people < 1:
            raise ValueError(f"`max_people` must be >= 1, got {self.max_people}")
        if self.max_new_per_detection < 1:
            raise ValueError("`max_new_per_detection` must be >= 1, got "
                             f"{self.max_new_per_detection}")
        if self.min_track_frames < 1:
            raise ValueError(f"`min_track_frames` must be >= 1, got {self.min_track_frames}")


@dataclass
class TrackResult:
    """Everything :func:`track_video` found.

    Attributes:
        tracks: one :class:`Track` per person, by id.
        info: the container's description of the video.
        frame_count: frames decoded.
        timestamps: (F,) float64 seconds of every decoded frame.
        truncated: decoding stopped before the declared frame count.
        detector_runs: frames on which the detector ran.
        seconds: wall-clock seconds of the loop (decode + inference + tracking + smoothing).
        config: the settings used.
        camera: how the camera turned and zoomed (:class:`~mocap.types.CameraPath`), when
            it was estimated (None: the camera was taken as fixed).
    """

    tracks: list[Track]
    info: VideoInfo
    frame_count: int
    timestamps: np.ndarray
    truncated: bool = False
    detector_runs: int = 0
    seconds: float = 0.0
    config: PipelineConfig = field(default_factory=PipelineConfig)
    camera: CameraPath | None = None

    @property
    def duration(self) -> float:
        """Seconds of video decoded (last timestamp + one frame)."""
        if self.frame_count == 0:
            return 0.0
        step = 1.0 / self.info.fps if self.info.fps > 0 else 0.0
        return float(self.timestamps[-1]) + step

    def summary(self) -> dict:
        """``{"frames", "fps", "seconds", "tracks": [{"id", "first_frame", "last_frame",
        "frames"}]}`` (``frames`` of a track: frames in which the person was observed)."""
        return {
            "frames": self.frame_count,
            "fps": self.info.fps,
            "seconds": round(self.duration, 3),
            "tracks": [{"id": t.id, "first_frame": t.first_frame, "last_frame": t.last_frame,
                        "frames": t.frames_observed} for t in self.tracks],
        }


# --------------------------------------------------------------------------------------
# per-frame loop
# --------------------------------------------------------------------------------------
def _dedupe(poses: Poses2D, iou: float, min_conf: float) -> Poses2D:
    """Greedy NMS over people on joint-box IoU, highest score first."""
    if len(poses) < 2:
        return poses
    poses = poses[np.argsort(-poses.score, kind="stable")]
    boxes = cxcywh_to_corners(pose_boxes(poses, min_conf))
    keep = greedy_keep(box_iou(boxes, boxes), iou)
    return poses[keep]


#: A person's box for the camera estimate: their landmarks' extent widened by this share
#: a side (the head's top, hair and loose clothes lie beyond the landmarks).
PERSON_BOX_MARGIN = 0.1


def _person_boxes(poses: Poses2D, rois: Rois, min_score: float) -> np.ndarray:
    """(N, 4) x0, y0, x1, y1 px of each region's person: their landmarks' extent (widened
    by :data:`PERSON_BOX_MARGIN`) where the pose is a person, else the whole region (a
    square about 1.25x their height: in a telephoto close-up it is wider than the picture
    and would leave no background to measure the camera by)."""
    half = rois.size[:, None] / 2
    boxes = np.concatenate([rois.center - half, rois.center + half], 1)
    if len(poses) and len(poses) == len(rois):  # one pose per region
        lo, hi = poses.xy.min(axis=1), poses.xy.max(axis=1)
        pad = PERSON_BOX_MARGIN * (hi - lo)
        tight = np.concatenate([lo - pad, hi + pad], 1)
        use = (poses.score >= min_score) & np.isfinite(tight).all(axis=1)
        boxes[use] = tight[use]
    return boxes


def _covered(det: Rois, tracked: Rois) -> np.ndarray:
    """(D,) bool: a detected region that is a tracked person's (about the same hip centre
    and size). Overlap alone is not enough: two people crossing overlap, and the one
    behind must still be found."""
    if not len(det) or not len(tracked):
        return np.zeros(len(det), bool)
    dist = np.linalg.norm(det.center[:, None] - tracked.center[None], axis=-1)
    ratio = det.size[:, None] / np.maximum(tracked.size[None], 1e-6)
    same = (dist < 0.15 * np.maximum(det.size[:, None], tracked.size[None])) & \
        (ratio > 0.6) & (ratio < 1 / 0.6)
    return same.any(axis=1)


class SceneChange:
    """Whether the picture changed outside the people since the last look: a grey
    thumbnail (about ``side`` px on its long side, from a strided sample of the frame:
    ~0.1 ms for 1080p) compared with the one of the last look, the people's regions then
    and now left out. Changed when more than ``share`` of the thumbnail's pixels moved by
    more than ``level`` grey levels (someone walking in; everything, for a moving camera).
    """

    def __init__(self, side: int = 96, level: float = 24.0, share: float = 0.004) -> None:
        self.side, self.level, self.share = side, level, share
        self._ref: np.ndarray | None = None
        self._ref_boxes = np.zeros((0, 4))
        self._stride = 1

    def _thumb(self, image: np.ndarray) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        self._stride = max(1, max(h, w) // (4 * self.side))
        sample = np.ascontiguousarray(image[::self._stride, ::self._stride, 1])
        size = (max(1, sample.shape[1] // 4), max(1, sample.shape[0] // 4))
        return cv2.resize(sample, size, interpolation=cv2.INTER_AREA).astype(np.int16)

    def _boxes(self, rois: Rois) -> np.ndarray:
        """The regions' squares in thumbnail px (x0, y0, x1, y1)."""
        half = rois.size[:, None] / 2
        px = 4 * self._stride
        return np.concatenate([rois.center - half, rois.center + half], 1) / px

    def look(self, image: np.ndarray, rois: Rois) -> None:
        """Remember ``image`` (the detector looked at it) and the people's ``rois``."""
        self._ref = self._thumb(image)
        self._ref_boxes = self._boxes(rois)

    def changed(self, image: np.ndarray, rois: Rois) -> bool:
        """The picture outside ``rois`` (and the last look's) differs from the last
        look's (always True before any look)."""
        if self._ref is None:
            return True
        cur = self._thumb(image)
        if cur.shape != self._ref.shape:
            return True
        diff = np.abs(cur - self._ref) > self.level
        h, w = diff.shape
        for x0, y0, x1, y1 in np.concatenate([self._ref_boxes, self._boxes(rois)]):
            if np.isfinite([x0, y0, x1, y1]).all():
                diff[max(int(y0), 0):max(int(np.ceil(y1)), 0),
                     max(int(x0), 0):max(int(np.ceil(x1)), 0)] = False
        return bool(diff.sum() > self.share * h * w)


class _RowBuffer:
    """Per-id buffers of one packed float32 row per person and frame (provisional ids
    resolved at the end); ``SLICES`` names each field's columns."""

    SLICES: ClassVar[dict[str, tuple[int, int]]] = {}

    def __init__(self) -> None:
        self.rows: dict[int, list[tuple[int, np.ndarray]]] = {}

    def _append(self, frame_index: int, track_ids, packed: np.ndarray) -> None:
        for row, tid in zip(packed.astype(np.float32), track_ids, strict=True):
            self.rows.setdefault(int(tid), []).append((frame_index, row))

    def finish(self, resolved: dict[int, int]) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Rows under their final ids (provisional ids mapped, unresolved ones dropped),
        each id's rows in frame order."""
        out: dict[int, list] = {}
        for key, rows in self.rows.items():
            final = key if key >= 1 else resolved.get(key)
            if final is not None:
                out.setdefault(final, []).extend(rows)
        return {k: sorted(v, key=lambda r: r[0]) for k, v in sorted(out.items())}

    @classmethod
    def unpack(cls, rows: list[tuple[int, np.ndarray]], first: int,
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(frame offsets from first, {field: (R, columns)})`` of recorded rows."""
        data = np.stack([r for _, r in rows])
        return (np.array([f for f, _ in rows]) - first,
                {k: data[:, a:b] for k, (a, b) in cls.SLICES.items()})


class _Recorder(_RowBuffer):
    """Body rows (~1 KB each: xy, z, visibility, presence, world, score), so hours of video
    stay affordable."""

    J = NUM_LANDMARKS
    SLICES: ClassVar[dict[str, tuple[int, int]]] = {
        "xy": (0, 2 * J), "z": (2 * J, 3 * J), "visibility": (3 * J, 4 * J),
        "presence": (4 * J, 5 * J), "world": (5 * J, 8 * J), "score": (8 * J, 8 * J + 1)}

    def add(self, frame_index: int, poses: Poses2D) -> None:
        keep = np.flatnonzero(poses.track_id != -1)
        if not len(keep):
            return
        n = len(keep)
        self._append(frame_index, poses.track_id[keep], np.concatenate([
            poses.xy[keep].reshape(n, -1), poses.z[keep], poses.visibility[keep],
            poses.presence[keep], poses.world[keep].reshape(n, -1), poses.score[keep, None],
        ], axis=1))


class _HandRecorder(_RowBuffer):
    """Hand rows: both hands' image px, world metres, score (212 values)."""

    H = NUM_HAND_LANDMARKS
    SLICES: ClassVar[dict[str, tuple[int, int]]] = {
        "xy": (0, 4 * H), "world": (4 * H, 10 * H), "score": (10 * H, 10 * H + 2)}

    def add(self, frame_index: int, track_ids: np.ndarray, hands: Hands2D) -> None:
        n = len(hands)
        if n == 0:
            return
        self._append(frame_index, track_ids, np.concatenate(
            [hands.xy.reshape(n, -1), hands.world.reshape(n, -1), hands.score], axis=1))


def _build_track(tid: int, rows: list[tuple[int, np.ndarray]], indices: np.ndarray,
                 timestamps: np.ndarray) -> Track:
    """A contiguous :class:`Track` (smoothed fields still raw) from recorded rows.

    ``indices`` / ``timestamps`` (F,): every decoded frame's index and time.
    """
    first, last = rows[0][0], rows[-1][0]
    frames = np.arange(first, last + 1)
    t, j = len(frames), NUM_LANDMARKS
    fi, sl = _Recorder.unpack(rows, first)
    image_raw = np.full((t, j, 3), np.nan, np.float32)
    world_raw = np.full((t, j, 3), np.nan, np.float32)
    image_raw[fi, :, :2] = sl["xy"].reshape(-1, j, 2)
    image_raw[fi, :, 2] = sl["z"]
    world_raw[fi] = sl["world"].reshape(-1, j, 3)
    vis = np.zeros((t, j), np.float32)
    pres = np.zeros((t, j), np.float32)
    score = np.zeros(t, np.float32)
    vis[fi], pres[fi], score[fi] = sl["visibility"], sl["presence"], sl["score"][:, 0]
    observed = np.zeros(t, bool)
    observed[fi] = True
    times = np.interp(frames, indices, timestamps)  # indices are increasing
    return Track(tid, frames, times, observed, image_raw, world_raw, vis, pres, score,
                 image_raw.copy(), world_raw.copy())


def _add_hands(track: Track, rows: list[tuple[int, np.ndarray]]) -> Track:
    """Fill the track's hand fields (raw, NaN where unseen) from recorded hand rows."""
    t, h = len(track), NUM_HAND_LANDMARKS
    xy = np.full((t, 2, h, 2), np.nan, np.float32)
    world = np.full((t, 2, h, 3), np.nan, np.float32)
    score = np.zeros((t, 2), np.float32)
    if rows:
        fi, sl = _HandRecorder.unpack(rows, track.first_frame)
        xy[fi] = sl["xy"].reshape(-1, 2, h, 2)
        world[fi] = sl["world"].reshape(-1, 2, h, 3)
        score[fi] = sl["score"]
    track.hands_image, track.hands_world, track.hands_score = xy, world, score
    return track


def smooth_track(track: Track, config: SmoothConfig) -> Track:
    """Fill ``track.image`` / ``track.world`` with smoothed, gap-bridged trajectories.

    Image landmarks are smoothed in units of the person's median height (so the defaults
    hold at any resolution), world landmarks in metres; each joint's measurement noise is
    scaled by its visibility, and joints under ``config.min_confidence`` count as missing.
    """
    conf = np.where(track.observed[:, None], track.visibility, 0.0)
    ok = track.observed
    if ok.any():
        ys = track.image_raw[ok, :, 1]
        good = track.visibility[ok] >= config.min_confidence
        span = np.where(good, ys, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN frames
            height = np.nanmax(span, 1) - np.nanmin(span, 1)
        height = height[np.isfinite(height) & (height > 1)]
        scale = float(np.median(height)) if len(height) else 100.0
    else:
        scale = 100.0
    track.image = smooth_landmarks(track.image_raw, track.times, conf, config=config,
                                   space="image", scale=scale)
    track.world = smooth_landmarks(track.world_raw, track.times, conf, config=config,
                                   space="world")
    if track.has_hands:
        _smooth_hands(track, config, scale)
    return track


def _smooth_hands(track: Track, config: SmoothConfig, scale: float) -> None:
    """Smooth each hand's landmarks like the body's (image px in units of the person's
    height, world in metres), weighted by the hand's score; frames where the hand was not
    seen stay NaN (nothing is made up for a hidden hand).

    In the image a hand is smoothed as offsets from the pose's raw wrist and put back on
    the smoothed wrist: the hand rides on the body's trajectory (which the whole track
    informs) and only its own shape and placement about the wrist are smoothed. Smoothed
    on its own, a hand seen for a few frames of a fast move (a somersault's wrist moves
    ~20 px a frame) starts at rest and trails its wrist by tens of pixels.
    """
    for side in range(2):
        score = track.hands_score[:, side]
        wrist_raw = track.image_raw[:, POSE_HAND_POINTS[side][0], :2].astype(np.float64)
        seen = (score > 0) & np.isfinite(wrist_raw).all(1)
        if not seen.any():
            track.hands_image[:, side] = np.nan
            track.hands_world[:, side] = np.nan
            track.hands_score[:, side] = 0.0
            continue
        conf = np.repeat(np.where(seen, score, 0.0)[:, None], NUM_HAND_LANDMARKS, 1)
        offsets = track.hands_image[:, side] - wrist_raw[:, None]
        image = smooth_landmarks(offsets, track.times, conf, config=config, space="image",
                                 scale=scale) + track.image[:, None, POSE_HAND_POINTS[side][0], :2]
        world = smooth_landmarks(track.hands_world[:, side], track.times, conf,
                                 config=config, space="world")
        track.hands_image[:, side] = np.where(seen[:, None, None], image, np.nan)
        track.hands_world[:, side] = np.where(seen[:, None, None], world, np.nan)
        track.hands_score[:, side] = np.where(seen, score, 0.0)


def _lost_in_view(tracker: PoseTracker, shape: tuple[int, ...], seen: int) -> bool:
    """A confirmed track seen in at least ``seen`` frames is lost away from the frame
    border (hidden, not walked out). A glimpse (fewer frames: someone at the edge for a
    moment) is looked for like anyone new: were it all, its track would be dropped."""
    if not tracker.any_lost:
        return False
    h, w = shape[:2]
    for t in tracker.confirmed_tracks:
        if t.lost and t.hits >= seen:
            x, y = t.center
            half_w, half_h = max(t.scale, 1.0) * 0.25, max(t.scale, 1.0) * 0.4
            if half_w < x < w - half_w and half_h < y < h - half_h:
                return True
    return False


def track_frames(frames, engine: Engine, config: PipelineConfig | None = None,
                 *, progress: Callable[[int], None] | None = None,
                 camera: CameraMotionEstimator | None = None,
                 hands: HandEngine | None = None):
    """The per-frame loop over an iterable of :class:`~mocap.io.video.Frame`.

    Args:
        frames: iterable of frames (``index``, ``timestamp``, ``image`` RGB uint8).
        engine: detector + landmark model (:class:`Engine`).
        config: :class:`PipelineConfig`.
        progress: called with the number of frames done after each frame.
        camera: measures the camera's motion on every frame, outside the regions where
            people are (call its ``finish()`` afterwards).
        hands: also find every tracked person's hands on every frame (regions from the
            pose, then from the previous frame's hand landmarks); the tracks then carry
            ``hands_image`` / ``hands_world`` / ``hands_score``.

    Returns:
        ``(tracks, timestamps, detector_runs)``: confirmed, smoothed :class:`Track` list,
        (F,) timestamps, and how many frames ran the detector.
    """
    cfg = config or PipelineConfig()
    tcfg = cfg.tracker
    if cfg.max_people is not None:
        tcfg = TrackerConfig(**{**asdict(tcfg), "max_people": cfg.max_people})
    tracker = PoseTracker(tcfg)
    recorder = _Recorder()
    hand_recorder = _HandRecorder()
    last_hands: dict[int, Hands2D] = {}  # track id -> that person's hands in the last frame
    next_rois = Rois.empty()
    scene = SceneChange()
    need_detect, weak = True, False
    since_detect = 0
    detector_runs = 0
    timestamps: list[float] = []
    indices: list[int] = []
    min_conf = tcfg.min_confidence
    for n, frame in enumerate(frames):
        image = frame.image
        timestamps.append(frame.timestamp)
        indices.append(frame.index)
        rois = next_rois
        n_tracked = len(rois)
        searching = _lost_in_view(tracker, image.shape, cfg.min_track_frames) or weak
        every = cfg.lost_detect_every if searching else cfg.detect_every
        # with the cap reached by healthy tracks there is nobody new to look for
        full = (cfg.max_people is not None and not weak
                and sum(not t.lost for t in tracker.confirmed_tracks) >= cfg.max_people)
        if need_detect or (not full and since_detect >= every and (
                searching or since_detect >= max(cfg.idle_detect_every, every)
                or scene.changed(image, rois))):
            det = engine.detect(image, tiles=cfg.detector_tiles)
            detector_runs += 1
            since_detect = 0
            # a person's region is centred on the hips: a centre outside the frame is a
            # false detection at the border (or someone almost entirely out of view)
            h, w = image.shape[:2]
            c = det.center
            det = det[(c[:, 0] >= 0) & (c[:, 0] < w) & (c[:, 1] >= 0) & (c[:, 1] < h)]
            det = det[~_covered(det, rois)]
            # each new region costs a landmark run: try the best few
            room = cfg.max_new_per_detection
            if cfg.max_people is not None:
                room = min(room, max(cfg.max_people + 1 - len(rois), 0))
            det = det[np.argsort(-det.score, kind="stable")[:room]]
            rois = Rois.concat([rois, det])
            scene.look(image, rois)  # the people tracked and found now left out
        since_detect += 1
        poses = engine.landmarks(image, rois)
        if camera is not None:  # the background: everything outside the people's boxes
            camera.update(image, _person_boxes(poses, rois, cfg.min_pose_score))
        threshold = np.full(len(poses), cfg.min_pose_score, np.float32)
        threshold[:n_tracked] = cfg.tracking_score
        keep = poses.score >= threshold
        poses = _dedupe(poses[keep], cfg.duplicate_iou, min_conf)
        poses = tracker.update(poses)
        recorder.add(frame.index, poses)
        live = poses.track_id != -1
        if hands is not None:
            people = poses[live]
            ids = people.track_id
            previous = Hands2D.concat([last_hands.get(int(i), Hands2D.empty(1)) for i in ids])
            found = hands.estimate(image, people, previous)
            hand_recorder.add(frame.index, ids, found)
            last_hands = {int(i): found[k] for k, i in enumerate(ids)}
        next_rois = roi_from_landmarks(poses[live]) if live.any() else Rois.empty()
        newly_lost = any(t.confirmed and t.time_since_update == 1 for t in tracker.tracks)
        need_detect = len(next_rois) == 0 or newly_lost
        weak = bool((poses.score[live] < cfg.redetect_score).any())
        if progress is not None:
            progress(n + 1)
    ts = np.asarray(timestamps, np.float64)
    tracks = []
    # a clip shorter than min_track_frames still keeps a person seen in half its frames,
    # and one too short for anyone to be confirmed keeps those seen in every frame
    if len(timestamps) < tcfg.min_hits:
        tracker.confirm_survivors()
    min_frames = min(cfg.min_track_frames, max(1, (len(timestamps) + 1) // 2))
    hand_rows = hand_recorder.finish(tracker.resolved) if hands is not None else None
    for tid, rows in recorder.finish(tracker.resolved).items():
        if len(rows) < min_frames:
            continue
        track = _build_track(tid, rows, np.asarray(indices), ts)
        if hand_rows is not None:
            track = _add_hands(track, hand_rows.get(tid, []))
        tracks.append(smooth_track(track, cfg.smooth))
    # ids 1..P in order of first appearance, whatever was dropped
    tracks.sort(key=lambda t: (t.first_frame, t.id))
    for i, t in enumerate(tracks, 1):
        t.id = i
    return tracks, ts, detector_runs


def video_movenet_config() -> MoveNetConfig:
    """MoveNet settings for video: the whole frame at 384 px on its long side (~26 ms
    here, when the loop looks for people: see :class:`PipelineConfig`; 320 px lost a landing
    gymnast for twice as long on the demo), no tiles, people under 0.2 dropped: in video a
    missed person is found a few frames later, while every false one costs landmark runs."""
    return MoveNetConfig(input_size=384, tiles=False, min_score=0.2)


def video_detector_config():
    """Detector settings for video: overlapping square tiles as tall as the frame (3 views
    for 16:9; the whole frame letterboxed only where no such tile fits, e.g. a square
    frame), which finds people of ordinary size in wide frames at a fraction of the
    still-image tiling cost; detections under 0.5 are dropped (MediaPipe's
    ``min_detection_confidence``): in video a missed person is found a few frames later,
    while every false detection costs a landmark-model run."""
    return DetectorConfig(score_threshold=0.5, tile_scales=(1.0,), whole_image=False)


def make_video_engine(options: EngineOptions | None = None) -> PoseEngine:
    """A :class:`~mocap.perception.landmarks.PoseEngine` with :func:`video_detector_config`.

    Args:
        options: how to run the models (default :class:`EngineOptions`).
    """
    return PoseEngine(**asdict(options or EngineOptions()),
                      config=EstimatorConfig(detector=video_detector_config(),
                                             movenet=video_movenet_config()))


@contextlib.contextmanager
def _opencv_threads(n: int):
    """OpenCV's own worker threads set to ``n`` for a while (0: OpenCV's calls run on the
    calling thread). The loop's OpenCV calls are small (crops, thumbnails, a grey copy)
    and its cores are taken by the models and the decoder: a pool of OpenCV workers waking
    for each only adds contention (the one-person clip's loop ran 7 % faster without)."""
    import cv2

    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        yield
    finally:
        cv2.setNumThreads(before)


def track_video(path: str | os.PathLike, engine: Engine | None = None,
                config: PipelineConfig | None = None, *,
                progress: Callable[[int, int], None] | None = None,
                max_frames: int | None = None, engine_options: EngineOptions | None = None,
                decode_threads: int | None = 1,
                camera: CameraMotionConfig | None = None,
                hands: HandConfig | None = None,
                on_frame: Callable[[Frame], None] | None = None) -> TrackResult:
    """Track and smooth every person in a video file.

    Args:
        path: video file.
        engine: a pose engine; default :func:`make_video_engine` of ``engine_options``.
        config: :class:`PipelineConfig`.
        progress: called as ``progress(done, total)`` after each frame (``total`` is the
            container's frame count, -1 when unknown).
        max_frames: stop after this many frames.
        engine_options: how to run the models when ``engine`` is None.
        decode_threads: video decoder threads; decoding runs beside inference on its own
            thread, so one decoder thread leaves the other cores to the models.
        camera: estimate the camera's turning and zooming with these settings
            (:mod:`mocap.perception.camera_motion`); None takes the camera as fixed.
        hands: also estimate every person's hands with these settings
            (:mod:`mocap.perception.hands`); None: no hands.
        on_frame: called with every decoded frame, on the decoding thread (beside the
            loop), before it is tracked: to keep what a later stage needs from it (the
            video is decoded once).

    Returns:
        :class:`TrackResult` (``tracks`` empty when nobody was found).

    Raises:
        InputError: unreadable, empty or frameless video.
    """
    cfg = config or PipelineConfig()
    video = open_video(path, max_frames=max_frames, threads=decode_threads,
                       on_frame=on_frame, yield_cpu=True)
    try:
        if engine is None:
            engine = make_video_engine(engine_options)
        hand_engine = (make_hand_engine(hands, engine_options, engine) if hands is not None
                       else None)
        total = video.info.frame_count
        if max_frames is not None and total > 0:
            total = min(total, max_frames)
        cb = (lambda n: progress(n, total)) if progress is not None else None
        estimator = (CameraMotionEstimator((video.info.width, video.info.height), camera)
                     if camera is not None else None)
        t0 = time.perf_counter()
        with _opencv_threads(0):
            tracks, ts, runs = track_frames(video, engine, cfg, progress=cb,
                                            camera=estimator, hands=hand_engine)
        seconds = time.perf_counter() - t0
    finally:
        video.close()
    path = estimator.finish() if estimator is not None else None
    return TrackResult(tracks, video.info, video.frames_read, ts, video.truncated, runs,
                       seconds, cfg, path)


