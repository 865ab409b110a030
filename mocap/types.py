"""Typed values passed between stages: one validated dataclass of numpy arrays per boundary.

Every array is batch-first (N people or T frames first) and float32 unless stated. Shapes
and units are in each docstring; ``__post_init__`` checks them with one message template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from mocap.errors import shape_error

NUM_LANDMARKS = 33

# BlazePose landmark names, in model output order.
LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb",
    "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle", "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)  # fmt: skip

# Bones drawn in overlays (pairs of landmark indices).
SKELETON_EDGES = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (24, 26), (26, 28), (27, 29), (29, 31), (27, 31), (28, 30),
    (30, 32), (28, 32), (15, 17), (15, 19), (17, 19), (16, 18), (16, 20), (18, 20),
    (0, 2), (0, 5), (2, 7), (5, 8), (9, 10),
)  # fmt: skip

# COCO-17 keypoint names, in COCO's order.
COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

# Landmark index of each landmark's mirror image (left <-> right), BlazePose order.
MIRROR_LANDMARKS = (0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
                    22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31)
# The same for COCO-17.
MIRROR_COCO17 = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# Hand landmarks (MediaPipe's hand landmark model), in model output order: the wrist, then
# each finger from its base to its tip.
NUM_HAND_LANDMARKS = 21
HAND_LANDMARK_NAMES = (
    "wrist", "thumb_cmc", "thumb_mcp", "thumb_ip", "thumb_tip", "index_mcp", "index_pip",
    "index_dip", "index_tip", "middle_mcp", "middle_pip", "middle_dip", "middle_tip",
    "ring_mcp", "ring_pip", "ring_dip", "ring_tip", "pinky_mcp", "pinky_pip", "pinky_dip",
    "pinky_tip",
)  # fmt: skip
# Landmark indices of each finger, base to tip (the wrist, 0, is every chain's root).
HAND_FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
                "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}
# Bones drawn in overlays (pairs of hand landmark indices).
HAND_EDGES = (*((0 if k == 0 else chain[k - 1], chain[k])
                 for chain in HAND_FINGERS.values() for k in range(4)),
              (5, 9), (9, 13), (13, 17))

# COCO-17 keypoints taken from BlazePose indices.
COCO17_FROM_BLAZEPOSE = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


def _check(name: str, arr: np.ndarray, shape: tuple[int | None, ...], expected: str) -> None:
    if arr.ndim != len(shape) or any(
        s is not None and s != a for s, a in zip(shape, arr.shape, strict=True)
    ):
        raise shape_error(name, expected, arr.shape)


def check_hierarchy(j: int, parents: np.ndarray, offsets: np.ndarray,
                    end_sites: np.ndarray) -> None:
    """The shapes every skeleton (a BVH hierarchy, a rig) shares: ``parents`` (J,),
    ``offsets`` (J, 3) and ``end_sites`` (J, 3).

    Raises:
        ValueError: with the project's shape message.
    """
    _check("parents", parents, (j,), "(J,)")
    _check("offsets", offsets, (j, 3), "(J, 3)")
    _check("end_sites", end_sites, (j, 3), "(J, 3)")


class _Batch:
    """Shared behaviour of the batch-first dataclasses: len, empty(), mask/index selection."""

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    def __getitem__(self, index):
        index = np.asarray(index) if not isinstance(index, slice) else index
        if isinstance(index, np.ndarray) and index.ndim == 0:
            index = index[None]
        return type(self)(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, items: list):
        if not items:
            return cls.empty()
        return cls(**{f.name: np.concatenate([getattr(i, f.name) for i in items])
                      for f in fields(cls)})


@dataclass
class Rois(_Batch):
    """Rotated square regions of interest, one per person.

    Attributes:
        center: (N, 2) float32, px, in the full image.
        size: (N,) float32, px, side of the square.
        rotation: (N,) float32, radians, counter-clockwise rotation to undo so the person
            stands upright in the crop (MediaPipe's convention).
        score: (N,) float32, detection or pose score in [0, 1].
    """

    center: np.ndarray
    size: np.ndarray
    rotation: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        self.center = np.asarray(self.center, np.float32).reshape(-1, 2)
        n = len(self.center)
        self.size = np.asarray(self.size, np.float32).reshape(-1)
        self.rotation = np.asarray(self.rotation, np.float32).reshape(-1)
        self.score = np.asarray(self.score, np.float32).reshape(-1)
        for name in ("size", "rotation", "score"):
            _check(name, getattr(self, name), (n,), "(N,)")

    @classmethod
    def empty(cls) -> Rois:
        return cls(np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(0))


@dataclass
class Hands2D(_Batch):
    """Both hands of N people in one image (hand landmark model, 21 landmarks each).

    Attributes:
        xy: (N, 2, 21, 2) float32, px, image landmarks; hand 0 is the person's left hand,
            1 the right; NaN where the hand was not found.
        world: (N, 2, 21, 3) float32, metres, 3D landmarks around the hand's centre (x
            right, y down, z away from the camera); NaN where not found.
        score: (N, 2) float32 in [0, 1], hand presence; 0 where not found.
        handedness: (N, 2) float32 in [0, 1], the model's probability that the crop shows
            a right hand (NaN where not found); the side itself comes from the pose.
    """

    xy: np.ndarray
    world: np.ndarray
    score: np.ndarray
    handedness: np.ndarray

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, np.float32)
        n = len(self.xy)
        self.world = np.asarray(self.world, np.float32)
        self.score = np.asarray(self.score, np.float32)
        self.handedness = np.asarray(self.handedness, np.float32)
        _check("xy", self.xy, (n, 2, NUM_HAND_LANDMARKS, 2), "(N, 2, 21, 2)")
        _check("world", self.world, (n, 2, NUM_HAND_LANDMARKS, 3), "(N, 2, 21, 3)")
        _check("score", self.score, (n, 2), "(N, 2)")
        _check("handedness", self.handedness, (n, 2), "(N, 2)")

    @classmethod
    def empty(cls, n: int = 0) -> Hands2D:
        """``n`` people with no hand found."""
        return cls(np.full((n, 2, NUM_HAND_LANDMARKS, 2), np.nan),
                   np.full((n, 2, NUM_HAND_LANDMARKS, 3), np.nan), np.zeros((n, 2)),
                   np.full((n, 2), np.nan))


@dataclass
class Poses2D(_Batch):
    """BlazePose output for N people in one image.

    Attributes:
        xy: (N, 33, 2) float32, px, image landmarks in the full image.
        z: (N, 33) float32, px-scaled depth relative to the hip centre (smaller = nearer).
        visibility: (N, 33) float32 in [0, 1], probability the landmark is visible.
        presence: (N, 33) float32 in [0, 1], probability the landmark is in the image.
        world: (N, 33, 3) float32, metres, hip-centred 3D landmarks (x right, y down,
            z away from the camera, as the model outputs them).
        score: (N,) float32 in [0, 1], pose score (person present in the region).
        roi: (N, 5) float32, the region the landmarks came from: cx, cy, size px,
            rotation rad, detection score.
        track_id: (N,) int64, -1 until a tracker assigns an identity.
        aux: (N, 2, 2) float32, px, the landmark model's two region landmarks (hip centre,
            scale point) from which the next frame's region is derived; NaN where the pose
            did not come from the model (default).
        coco: (N, 17, 3) float32, the person's COCO-17 joints (:data:`COCO17_NAMES`): x, y
            px and a confidence in [0, 1], fused from a body detector's keypoints and the
            landmarks where both saw the person; NaN where not computed (default: then
            :meth:`coco17` takes them from the landmarks).
    """

    xy: np.ndarray
    z: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    world: np.ndarray
    score: np.ndarray
    roi: np.ndarray
    track_id: np.ndarray
    aux: np.ndarray | None = None
    coco: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, np.float32)
        _check("xy", self.xy, (None, NUM_LANDMARKS, 2), "(N, 33, 2)")
        n = len(self.xy)
        self.z = np.asarray(self.z, np.float32)
        self.visibility = np.asarray(self.visibility, np.float32)
        self.presence = np.asarray(self.presence, np.float32)
        self.world = np.asarray(self.world, np.float32)
        self.score = np.asarray(self.score, np.float32).reshape(-1)
        self.roi = np.asarray(self.roi, np.float32).reshape(-1, 5)
        self.track_id = np.asarray(self.track_id, np.int64).reshape(-1)
        for name in ("z", "visibility", "presence"):
            _check(name, getattr(self, name), (n, NUM_LANDMARKS), "(N, 33)")
        _check("world", self.world, (n, NUM_LANDMARKS, 3), "(N, 33, 3)")
        _check("score", self.score, (n,), "(N,)")
        _check("roi", self.roi, (n, 5), "(N, 5)")
        _check("track_id", self.track_id, (n,), "(N,)")
        self.aux = (np.full((n, 2, 2), np.nan, np.float32) if self.aux is None
                    else np.asarray(self.aux, np.float32))
        _check("aux", self.aux, (n, 2, 2), "(N, 2, 2)")
        self.coco = (np.full((n, 17, 3), np.nan, np.float32) if self.coco is None
                     else np.asarray(self.coco, np.float32))
        _check("coco", self.coco, (n, 17, 3), "(N, 17, 3)")

    @classmethod
    def empty(cls) -> Poses2D:
        z = np.zeros((0, NUM_LANDMARKS), np.float32)
        return cls(np.zeros((0, NUM_LANDMARKS, 2)), z, z, z, np.zeros((0, NUM_LANDMARKS, 3)),
                   np.zeros(0), np.zeros((0, 5)), np.zeros(0, np.int64))

    def mirrored(self, which: np.ndarray) -> Poses2D:
        """A copy where the poses ``which`` (N,) bool have left and right swapped: every
        left landmark takes its right twin's values, and the world landmarks are mirrored
        through the image plane (z negated), the other reading of the same image."""
        out = self[np.arange(len(self))]
        m, mc = list(MIRROR_LANDMARKS), list(MIRROR_COCO17)
        for name in ("xy", "z", "visibility", "presence", "world"):
            arr = getattr(out, name)
            arr[which] = arr[which][:, m]
        out.world[which, :, 2] *= -1.0
        out.z[which] *= -1.0
        out.coco[which] = out.coco[which][:, mc]
        return out

    def landmark_coco17(self) -> np.ndarray:
        """(N, 17, 3) COCO-17 joints of the landmarks alone: x, y px, visibility
        (BlazePose's eyes, ears and hips, by its own definitions)."""
        idx = list(COCO17_FROM_BLAZEPOSE)
        return np.concatenate([self.xy[:, idx], self.visibility[:, idx, None]], -1)

    def coco17(self) -> np.ndarray:
        """(N, 17, 3) COCO-17 joints: ``coco`` where computed, else
        :meth:`landmark_coco17`."""
        known = np.isfinite(self.coco).all(axis=(1, 2))
        return np.where(known[:, None, None], self.coco, self.landmark_coco17())

    @property
    def rois(self) -> Rois:
        return Rois(self.roi[:, :2], self.roi[:, 2], self.roi[:, 3], self.roi[:, 4])


#: A :class:`Track`'s hand arrays (all None when hands were not estimated).
TRACK_HAND_FIELDS = ("hands_image", "hands_world", "hands_score")


@dataclass
class Track:
    """One person over time; frames run contiguously from first to last appearance.

    Attributes:
        id: person id (1, 2, ... in order of appearance).
        frames: (T,) int64 frame indices.
        times: (T,) float64 seconds.
        observed: (T,) bool, False in gaps bridged by the smoother.
        image_raw: (T, 33, 3) float32 x, y px, z (px-scaled depth); NaN where not observed.
        world_raw: (T, 33, 3) float32 metres, hip-centred; NaN where not observed.
        visibility: (T, 33) float32 in [0, 1]; 0 where not observed.
        presence: (T, 33) float32 in [0, 1]; 0 where not observed.
        score: (T,) float32 pose score; 0 where not observed.
        image: (T, 33, 3) float32 smoothed ``image_raw`` (gaps bridged).
        world: (T, 33, 3) float32 smoothed ``world_raw`` (gaps bridged).
        hands_image: (T, 2, 21, 2) float32 px, smoothed hand landmarks (hand 0 = the
            person's left), NaN where the hand was not seen; None when hands were not
            estimated.
        hands_world: (T, 2, 21, 3) float32 metres around each hand's centre (x right, y
            down, z away), smoothed, NaN where not seen; None without hands.
        hands_score: (T, 2) float32 hand presence in [0, 1], 0 where not seen; None
            without hands.
    """

    id: int
    frames: np.ndarray
    times: np.ndarray
    observed: np.ndarray
    image_raw: np.ndarray
    world_raw: np.ndarray
    visibility: np.ndarray
    presence: np.ndarray
    score: np.ndarray
    image: np.ndarray
    world: np.ndarray
    hands_image: np.ndarray | None = None
    hands_world: np.ndarray | None = None
    hands_score: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.frames = np.asarray(self.frames, np.int64).reshape(-1)
        t = len(self.frames)
        self.times = np.asarray(self.times, np.float64)
        self.observed = np.asarray(self.observed, bool)
        for name, shape, dtype in (
            ("times", (t,), np.float64), ("observed", (t,), bool),
            ("image_raw", (t, NUM_LANDMARKS, 3), np.float32),
            ("world_raw", (t, NUM_LANDMARKS, 3), np.float32),
            ("visibility", (t, NUM_LANDMARKS), np.float32),
            ("presence", (t, NUM_LANDMARKS), np.float32), ("score", (t,), np.float32),
            ("image", (t, NUM_LANDMARKS, 3), np.float32),
            ("world", (t, NUM_LANDMARKS, 3), np.float32),
            ("hands_image", (t, 2, NUM_HAND_LANDMARKS, 2), np.float32),
            ("hands_world", (t, 2, NUM_HAND_LANDMARKS, 3), np.float32),
            ("hands_score", (t, 2), np.float32),
        ):
            value = getattr(self, name)
            if value is None and name.startswith("hands_"):
                continue
            arr = np.asarray(value, dtype)
            if arr.shape != shape:
                raise shape_error(name, str(shape).replace(f"{t}", "T", 1), arr.shape)
            setattr(self, name, arr)
        missing = [getattr(self, n) is None for n in TRACK_HAND_FIELDS]
        if any(missing) and not all(missing):
            raise ValueError("hands_image, hands_world and hands_score go together")

    @property
    def has_hands(self) -> bool:
        """Hands were estimated for this track (they may still never have been seen)."""
        return self.hands_score is not None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def first_frame(self) -> int:
        return int(self.frames[0])

    @property
    def last_frame(self) -> int:
        return int(self.frames[-1])

    @property
    def frames_observed(self) -> int:
        return int(self.observed.sum())


@dataclass
class CameraPath:
    """How the camera turned and zoomed over a video, relative to its first frame.

    Camera axes: x right, y down, z forward (OpenCV's). A point ``p0`` in the first frame's
    camera axes is ``rotation[f] @ p0`` in frame ``f``'s; the focal length of frame ``f`` is
    ``zoom[f]`` times the first frame's. A fixed camera is the identity and 1 everywhere.

    Attributes:
        rotation: (F, 3, 3) float64, first-frame camera axes -> frame-f camera axes.
        zoom: (F,) float64, focal length / the first frame's.
        residual_px: (F,) float64, median distance, px of the video, between the background
            features and where the rotation-and-zoom model puts them (NaN: not measured).
        inlier_share: (F,) float64, share of the tracked background features the model
            explains (NaN: not measured).
        reliable: (F,) bool, the frame's estimate rests on enough background features
            (unreliable frames are interpolated from their neighbours).
        moving: the camera turned or zoomed noticeably over the video.
        translating: the background moves in ways no turn or zoom explains (the camera
            itself travels, e.g. carried by someone walking): heights and paths are then
            not trustworthy.
        focal_px: the first frame's focal length, px of the video, found from the camera's
            turning (and zooming); None where it could not be told (a camera that barely
            turns, or a focal length that was given): the caller falls back on another
            source.
        focal_std_px: its standard deviation, px (None with ``focal_px``).
        focal_source: where ``focal_px`` comes from: ``"rotation"``; None without it.
        fitted_focal_px: the first frame's focal length, px of the video, that ``rotation``
            and ``zoom`` were fitted at (``focal_px`` where found, else the given or
            assumed one; NaN: none was needed). Frame f's is ``fitted_focal_px * zoom[f]``.
    """

    rotation: np.ndarray
    zoom: np.ndarray
    residual_px: np.ndarray
    inlier_share: np.ndarray
    reliable: np.ndarray
    moving: bool = False
    translating: bool = False
    focal_px: float | None = None
    focal_std_px: float | None = None
    focal_source: str | None = None
    fitted_focal_px: float = float("nan")

    def __post_init__(self) -> None:
        self.rotation = np.asarray(self.rotation, np.float64)
        f = len(self.rotation)
        _check("rotation", self.rotation, (f, 3, 3), "(F, 3, 3)")
        for name, dtype in (("zoom", np.float64), ("residual_px", np.float64),
                            ("inlier_share", np.float64), ("reliable", bool)):
            arr = np.asarray(getattr(self, name), dtype)
            _check(name, arr, (f,), "(F,)")
            setattr(self, name, arr)
        self.moving, self.translating = bool(self.moving), bool(self.translating)
        if (self.focal_px is None) != (self.focal_source is None):
            raise ValueError("`focal_px` and `focal_source` must be given together")
        if self.focal_px is not None and not self.focal_px > 0:
            raise ValueError(f"`focal_px` must be > 0, got {self.focal_px}")
        self.fitted_focal_px = float(self.fitted_focal_px)

    def __len__(self) -> int:
        return len(self.rotation)

    @classmethod
    def still(cls, frames: int) -> CameraPath:
        """A camera that never moves, over ``frames`` frames."""
        nan = np.full(frames, np.nan)
        return cls(np.tile(np.eye(3), (frames, 1, 1)), np.ones(frames), nan, nan.copy(),
                   np.ones(frames, bool))

    def angles_deg(self) -> np.ndarray:
        """(F, 3) pan (turn to the right +), tilt (up +) and roll (clockwise as seen by the
        camera +) of each frame's view relative to the first frame's, degrees."""
        view = np.swapaxes(self.rotation, 1, 2)  # frame-f camera axes in first-frame axes
        fwd, right = view[:, :, 2], view[:, :, 0]
        pan = np.degrees(np.arctan2(fwd[:, 0], fwd[:, 2]))
        tilt = np.degrees(np.arctan2(-fwd[:, 1], np.hypot(fwd[:, 0], fwd[:, 2])))
        # roll: the right axis against the horizontal right of the current heading
        level = np.stack([np.cos(np.radians(pan)), np.zeros(len(pan)),
                          -np.sin(np.radians(pan))], axis=1)
        roll = np.degrees(np.arctan2(np.einsum("fi,fi->f", np.cross(level, right), fwd),
                                     np.einsum("fi,fi->f", level, right)))
        return np.stack([pan, tilt, roll], axis=1)


class PointTracks(Mapping):
    """Named 3D point tracks over T frames: the hand-over from 3D motion to retargeting.

    Read like a mapping, ``tracks["left_knee"] -> (T, 3)``; built from one.

    Attributes:
        names: (K,) unique names: body roles (``"left_knee"``, see
            :data:`mocap.skeleton.roles.ROLES`) where a point has one, else joint names, and
            ``"<joint>/end"`` for End Sites without a role.
        positions: (T, K, 3) float64, metres, Y up, ground at y = 0.
    """

    __slots__ = ("_index", "names", "positions")

    def __init__(self, names: tuple[str, ...] | list[str], positions: np.ndarray) -> None:
        self.names = tuple(str(n) for n in names)
        self.positions = np.asarray(positions, np.float64)
        k = len(self.names)
        if self.positions.ndim != 3 or self.positions.shape[1:] != (k, 3):
            raise shape_error("positions", f"(T, {k}, 3)", self.positions.shape)
        self._index = {n: i for i, n in enumerate(self.names)}
        if len(self._index) != k:
            dup = next(n for n in self.names if self.names.count(n) > 1)
            raise ValueError(f"`names` must be unique, got {dup!r} twice")

    @classmethod
    def from_dict(cls, points: Mapping[str, np.ndarray]) -> PointTracks:
        """From ``{name: (T, 3)}`` (all of the same length T)."""
        if isinstance(points, PointTracks):
            return points
        names = list(points)
        if not names:
            raise ValueError("`points` must name at least one point")
        arrays = [np.asarray(points[n], np.float64) for n in names]
        t = len(arrays[0])
        for n, a in zip(names, arrays, strict=True):
            if a.shape != (t, 3):
                raise shape_error(f"points[{n!r}]", f"({t}, 3)", a.shape)
        return cls(names, np.stack(arrays, axis=1))

    @property
    def frames(self) -> int:
        """T, the number of frames."""
        return len(self.positions)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.positions[:, self._index[name]]

    def __iter__(self):
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"PointTracks({len(self.names)} points x {self.frames} frames)"


@dataclass
class BodyDetections(_Batch):
    """People found by a body-based detector (MoveNet): boxes and COCO-17 keypoints.

    Attributes:
        boxes: (N, 4) float32, px, ``xmin, ymin, xmax, ymax``.
        keypoints: (N, 17, 2) float32, px, COCO-17 order (:data:`COCO17_NAMES`).
        keypoint_scores: (N, 17) float32 in [0, 1].
        score: (N,) float32 in [0, 1], person score.
    """

    boxes: np.ndarray
    keypoints: np.ndarray
    keypoint_scores: np.ndarray
    score: np.ndarray

    def __post_init__(self) -> None:
        self.boxes = np.asarray(self.boxes, np.float32).reshape(-1, 4)
        n = len(self.boxes)
        self.keypoints = np.asarray(self.keypoints, np.float32)
        self.keypoint_scores = np.asarray(self.keypoint_scores, np.float32)
        self.score = np.asarray(self.score, np.float32).reshape(-1)
        _check("keypoints", self.keypoints, (n, 17, 2), "(N, 17, 2)")
        _check("keypoint_scores", self.keypoint_scores, (n, 17), "(N, 17)")
        _check("score", self.score, (n,), "(N,)")

    @classmethod
    def empty(cls) -> BodyDetections:
        return cls(np.zeros((0, 4)), np.zeros((0, 17, 2)), np.zeros((0, 17)), np.zeros(0))

    def area(self) -> np.ndarray:
        """(N,) box areas, px^2."""
        wh = np.clip(self.boxes[:, 2:] - self.boxes[:, :2], 0, None)
        return wh[:, 0] * wh[:, 1]
