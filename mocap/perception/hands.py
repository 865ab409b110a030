"""Hand landmarks (21 per hand) on regions derived from the pose, as MediaPipe Holistic.

Each person's BlazePose wrist, pinky and index landmarks give a rotated square region per
hand (:func:`hand_rois_from_pose`, Holistic's ``HandDetectionsFromPoseToRectsCalculator``
followed by a 2.7x expansion); Holistic's small re-crop model (``hand_recrop.tflite``)
then finds the hand inside that region (:meth:`HandEngine.recrop`), and the hand landmark
model runs on the re-cropped region (:meth:`HandEngine.landmarks`). In video the region
of the previous frame's hand landmarks (:func:`hand_roi_from_landmarks`) is used instead of
the re-crop while the two agree (Holistic's ``RoiTrackingCalculator``), which follows fast
fingers better. All hands of all people run as one batch per model.

A hand is reported only where the model's presence score is at least ``min_score`` (0.5,
MediaPipe's threshold), its wrist landmark lies near the pose's wrist, and the pose's
wrist is visible (> 0.1, Holistic's gate). Left and right are the pose's: hand 0 of a
person is the region built from the pose's left wrist. The model's own handedness output
is kept as a probability but does not decide the side.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError
from mocap.io import assets
from mocap.perception.engine.runtime import make_runner, resolve_backend, resolve_device
from mocap.perception.landmarks import EngineOptions, crop_rois, crop_to_image, rotation_2d
from mocap.types import NUM_HAND_LANDMARKS, Hands2D, Poses2D, Rois

HAND_SIZE = 224
RECROP_SIZE = 256
#: BlazePose indices of (wrist, pinky, index) for the left and the right hand.
POSE_HAND_POINTS = ((15, 17, 19), (16, 18, 20))
#: Hand landmarks that outline the palm (Holistic's ``HandLandmarksToRoi``).
PALM_LANDMARKS = (0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18)


def _normalize(angle: np.ndarray) -> np.ndarray:
    return (angle + np.pi) % (2 * np.pi) - np.pi


def transform_rois(rois: Rois, scale: float, shift_y: float) -> Rois:
    """MediaPipe's ``RectTransformationCalculator`` on square regions: move the centre by
    ``shift_y`` sides along the region's own up-down axis (negative: towards the region's
    top), then scale the side."""
    s, r = rois.size.astype(np.float64), rois.rotation.astype(np.float64)
    shift = np.stack([-s * shift_y * np.sin(r), s * shift_y * np.cos(r)], -1)
    return Rois(rois.center + shift, rois.size * scale, rois.rotation, rois.score)


def hand_rois_from_pose(poses: Poses2D, scale: float = 2.7) -> Rois:
    """Two regions per person, ``[p0 left, p0 right, p1 left, ...]`` (``2 N``).

    Centre: the middle finger's base estimated as ``(2 index + pinky) / 3``; side: twice
    its distance from the wrist, times ``scale``; rotated so the wrist -> middle finger
    direction points up in the crop. ``score`` is the pose's wrist visibility.
    """
    pts = np.stack([poses.xy[:, list(side)] for side in POSE_HAND_POINTS], 1)  # (N, 2, 3, 2)
    pts = pts.reshape(-1, 3, 2).astype(np.float64)
    wrist, pinky, index = pts[:, 0], pts[:, 1], pts[:, 2]
    middle = (2.0 * index + pinky) / 3.0
    d = middle - wrist
    size = 2.0 * np.hypot(d[:, 0], d[:, 1])
    rotation = _normalize(np.pi / 2 - np.arctan2(-d[:, 1], d[:, 0]))
    vis = np.stack([poses.visibility[:, side[0]] for side in POSE_HAND_POINTS], 1)
    rois = Rois(middle, size, rotation, vis.reshape(-1))
    return transform_rois(rois, scale, -0.1)


def hand_roi_from_landmarks(xy: np.ndarray, score: np.ndarray | None = None) -> Rois:
    """Regions from hand landmarks (N, 21, 2) px, as Holistic tracks a hand between frames:
    the palm's landmarks' box in the hand's own orientation (wrist -> middle of the index,
    middle and ring bases points up), doubled and moved 0.1 towards the fingers."""
    palm = np.asarray(xy, np.float64)[:, list(PALM_LANDMARKS)]
    wrist = palm[:, 0]
    bases = 0.5 * (0.5 * (palm[:, 4] + palm[:, 8]) + palm[:, 6])  # index, ring, middle
    d = bases - wrist
    rotation = _normalize(np.pi / 2 - np.arctan2(-d[:, 1], d[:, 0]))
    # the box in a frame turned by -rotation, its centre turned back
    back = rotation_2d(-rotation)
    local = np.einsum("nij,nlj->nli", back, palm)
    lo, hi = local.min(1), local.max(1)
    centre = np.einsum("nij,nj->ni", rotation_2d(rotation), 0.5 * (lo + hi))
    size = (hi - lo).max(1)  # square on the long side
    n = len(palm)
    rois = Rois(centre, size, rotation, np.ones(n) if score is None else score)
    return transform_rois(rois, 2.0, -0.1)


def roi_agreement(a: Rois, b: Rois) -> np.ndarray:
    """(N,) bool: region pairs close enough to keep tracking with ``a`` (Holistic's
    ``RoiTrackingCalculator`` requirements: turned by under 40 degrees, centres within
    0.2 sides, sides within 40 %)."""
    turn = np.abs(_normalize(a.rotation.astype(np.float64) - b.rotation))
    side = np.maximum(a.size, b.size).astype(np.float64)
    moved = np.linalg.norm(a.center - b.center, axis=-1) / np.maximum(side, 1e-6)
    ratio = np.minimum(a.size, b.size) / np.maximum(side, 1e-6)
    return (turn < np.radians(40)) & (moved < 0.2) & (ratio > 0.6)


@dataclass(frozen=True)
class HandConfig:
    """Hand estimation settings.

    Attributes:
        model: hand landmark model, ``full`` or ``lite`` (:data:`mocap.io.assets.HAND_MODELS`).
        min_score: hands whose presence score is below this are not reported.
        min_wrist_visibility: no hand is looked for where the pose's wrist visibility is
            below this (Holistic: 0.1).
        max_wrist_offset: a hand whose wrist landmark lies farther than this many region
            sides from the pose's wrist is someone else's hand (or the other one).
        min_region_px: regions smaller than this (px) are skipped: too few pixels for
            fingers.
    """

    model: str = "full"
    min_score: float = 0.5
    min_wrist_visibility: float = 0.1
    max_wrist_offset: float = 0.35
    min_region_px: float = 16.0

    def __post_init__(self) -> None:
        if self.model not in assets.HAND_MODELS:
            raise InputError(f"unknown hand model {self.model!r}; choose from "
                             f"{', '.join(assets.HAND_MODELS)}")
        for name in ("min_score", "min_wrist_visibility"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"`{name}` must be in [0, 1], got {getattr(self, name)}")


@dataclass
class HandCrops:
    """Hand landmark model results for N regions (before they are assigned to people).

    Attributes:
        xy: (N, 21, 2) float32 image px.
        world: (N, 21, 3) float32 metres, rotated into image axes.
        score: (N,) hand presence in [0, 1].
        handedness: (N,) probability of a right hand.
    """

    xy: np.ndarray
    world: np.ndarray
    score: np.ndarray
    handedness: np.ndarray


def decode_hands(outputs: list[np.ndarray], rois: Rois, size: int = HAND_SIZE) -> HandCrops:
    """The hand landmark model's outputs for N crops -> image px and metres.

    ``outputs``: [landmarks (N, 63) crop px, presence (N, 1), handedness (N, 1), world
    (N, 63) metres]. World landmarks are turned by the region's rotation (MediaPipe's
    ``WorldLandmarkProjectionCalculator``); presence and handedness are probabilities
    already (the graph ends in a sigmoid). The handedness output is near 1 for a right hand
    seen as the camera sees it (MediaPipe labels that "Left" because it assumes mirrored,
    selfie images; measured on FreiHAND's right hands: 0.94-0.99).
    """
    raw, presence, handed, world_raw = outputs
    n = len(rois)
    lm = raw.reshape(n, NUM_HAND_LANDMARKS, 3)[..., :2].astype(np.float64)
    a = crop_to_image(rois, size)
    xy = np.einsum("nij,nlj->nli", a[:, :, :2], lm) + a[:, None, :, 2]
    world = world_raw.reshape(n, NUM_HAND_LANDMARKS, 3).astype(np.float64)
    rot = rotation_2d(rois.rotation.astype(np.float64))
    world[..., :2] = np.einsum("nij,nlj->nli", rot, world[..., :2])
    return HandCrops(xy.astype(np.float32), world.astype(np.float32),
                     presence.reshape(n).astype(np.float32),
                     handed.reshape(n).astype(np.float32))


class HandEngine:
    """Hand re-crop + hand landmark models, batched, on torch or LiteRT.

    Args:
        models_dir: model cache (see :mod:`mocap.io.assets`).
        backend: ``auto``, ``torch`` or ``litert`` (resolved as
            :class:`~mocap.perception.landmarks.PoseEngine` resolves it).
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        threads: CPU threads for inference.
        compile: ``torch.compile`` the torch modules.
        config: :class:`HandConfig`.
    """

    def __init__(self, models_dir: str | os.PathLike | None = None, backend: str = "auto",
                 device: str = "auto", threads: int | None = None, compile: bool = False,
                 config: HandConfig | None = None):
        self.config = config or HandConfig()
        device = resolve_device(device)
        backend = resolve_backend(backend, device)
        wanted = (assets.HAND_MODELS[self.config.model], assets.HAND_RECROP)
        paths = assets.ensure_models(models_dir, wanted)
        self._landmarker = make_runner(paths[wanted[0].name], None, backend, device, threads,
                                       compile)
        self._recrop = make_runner(paths[wanted[1].name], None, backend, device, threads,
                                   compile)

    def recrop(self, image: np.ndarray, rois: Rois) -> Rois:
        """Holistic's re-crop: the model's two points (the hand's centre and a point at
        half a side towards the fingers) on each region's 256x256 crop -> a region
        centred on the hand, side twice their distance, moved 0.1 towards the fingers."""
        if not len(rois):
            return rois
        out = self._recrop(crop_rois(image, rois, RECROP_SIZE))[0].reshape(-1, 2, 2)
        a = crop_to_image(rois, RECROP_SIZE)
        pts = np.einsum("nij,nlj->nli", a[:, :, :2], out.astype(np.float64)) + a[:, None, :, 2]
        d = pts[:, 1] - pts[:, 0]
        size = 2.0 * np.hypot(d[:, 0], d[:, 1])
        rotation = _normalize(-np.pi / 2 - np.arctan2(-d[:, 1], d[:, 0]))
        return transform_rois(Rois(pts[:, 0], size, rotation, rois.score), 1.0, -0.1)

    def landmarks(self, image: np.ndarray, rois: Rois) -> HandCrops:
        """21 landmarks on every region, one batch."""
        if not len(rois):
            e = np.zeros((0, NUM_HAND_LANDMARKS, 3), np.float32)
            return HandCrops(e[..., :2], e, np.zeros(0, np.float32), np.zeros(0, np.float32))
        return decode_hands(self._landmarker(crop_rois(image, rois, HAND_SIZE)), rois)

    def in_boxes(self, image: np.ndarray, boxes: np.ndarray, scale: float = 1.2) -> HandCrops:
        """Hands in given boxes (N, 4) ``x, y, w, h`` px, without a pose: each box is tried
        at four rotations (the model wants the fingers up), the most confident is kept and
        the landmarks are refined once on the region they imply (what tracking does)."""
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        n = len(boxes)
        turns = np.radians([0.0, 90.0, 180.0, 270.0])
        centre = boxes[:, :2] + boxes[:, 2:] / 2
        side = boxes[:, 2:].max(1) * scale
        rois = Rois(np.repeat(centre, 4, 0), np.repeat(side, 4), np.tile(turns, n),
                    np.ones(4 * n))
        first = self.landmarks(image, rois)
        best = np.arange(n) * 4 + first.score.reshape(n, 4).argmax(1)
        return self.landmarks(image, hand_roi_from_landmarks(first.xy[best], first.score[best]))

    def estimate(self, image: np.ndarray, poses: Poses2D,
                 previous: Hands2D | None = None) -> Hands2D:
        """Both hands of every person in ``poses`` (``image`` RGB uint8).

        Args:
            image: (H, W, 3) uint8 RGB.
            poses: the people (BlazePose landmarks).
            previous: the same people's hands in the previous video frame (rows aligned
                with ``poses``; NaN where none): their regions are used where they agree
                with this frame's re-crop.

        Returns:
            :class:`~mocap.types.Hands2D` with one row per person.
        """
        cfg = self.config
        n = len(poses)
        out = Hands2D.empty(n)
        if n == 0:
            return out
        from_pose = hand_rois_from_pose(poses)
        wrists = np.stack([poses.xy[:, side[0]] for side in POSE_HAND_POINTS], 1).reshape(-1, 2)
        ok = (from_pose.score >= cfg.min_wrist_visibility) & \
            (from_pose.size >= cfg.min_region_px) & np.isfinite(from_pose.center).all(1)
        idx = np.flatnonzero(ok)
        if not len(idx):
            return out
        rois = self.recrop(image, from_pose[idx])
        if previous is not None:
            prev_xy = previous.xy.reshape(-1, NUM_HAND_LANDMARKS, 2)[idx]
            seen = np.isfinite(prev_xy).all((1, 2))
            if seen.any():
                tracked = hand_roi_from_landmarks(np.nan_to_num(prev_xy), rois.score)
                use = seen & roi_agreement(tracked, rois)
                rois = Rois(np.where(use[:, None], tracked.center, rois.center),
                            np.where(use, tracked.size, rois.size),
                            np.where(use, tracked.rotation, rois.rotation), rois.score)
        hands = self.landmarks(image, rois)
        near = (np.linalg.norm(hands.xy[:, 0] - wrists[idx], axis=-1)
                <= cfg.max_wrist_offset * np.maximum(rois.size, from_pose.size[idx]))
        good = (hands.score >= cfg.min_score) & near
        person, side = np.divmod(idx[good], 2)  # region 2p + s is person p's side s
        out.xy[person, side], out.world[person, side] = hands.xy[good], hands.world[good]
        out.score[person, side] = hands.score[good]
        out.handedness[person, side] = hands.handedness[good]
        _drop_doubles(out)
        return out


def make_hand_engine(config: HandConfig | None = None, options: EngineOptions | None = None,
                     pose_engine=None) -> HandEngine:
    """A :class:`HandEngine` run like the pose models: ``pose_engine``'s backend and device
    when it has them (a :class:`~mocap.perception.landmarks.PoseEngine`), else as
    ``options`` resolve them; models folder, threads and compiling from ``options``."""
    opts = options or EngineOptions()
    device = getattr(pose_engine, "device", opts.device)  # HandEngine resolves "auto"
    backend = getattr(pose_engine, "backend", opts.backend)
    return HandEngine(opts.models_dir, backend, device, opts.threads, opts.compile, config)


def _drop_doubles(hands: Hands2D) -> None:
    """Where a person's two regions found the same hand (hands crossed or together), keep
    it only on the side whose score is higher (in place)."""
    xy = hands.xy
    both = np.isfinite(xy[:, :, 0, 0]).all(1)
    for p in np.flatnonzero(both):
        gap = np.linalg.norm(xy[p, 0] - xy[p, 1], axis=-1).mean()
        span = np.linalg.norm(xy[p, 0, 0] - xy[p, 0, 9])  # wrist -> middle finger base
        if gap < 0.5 * max(span, 1.0):
            lose = int(hands.score[p, 0] >= hands.score[p, 1])
            hands.xy[p, lose] = np.nan
            hands.world[p, lose] = np.nan
            hands.score[p, lose] = 0.0
            hands.handedness[p, lose] = np.nan
