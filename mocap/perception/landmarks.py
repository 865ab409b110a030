"""33-landmark pose estimation (BlazePose full) on rotated person crops, multi-person.

Top-down: :meth:`PoseEngine.detect` finds people (whole image plus tiles, one batch),
:meth:`PoseEngine.landmarks` runs the landmark model on every person's rotated 256x256 crop
in one batch, and :meth:`PoseEngine.estimate` chains them for still images with a second,
refining landmark pass on the region the first pass's landmarks imply (what MediaPipe's
tracking mode does between video frames). Video code calls ``detect``/``landmarks`` and
:func:`roi_from_landmarks` itself.

Landmark decoding follows MediaPipe's ``pose_landmark_by_roi`` graph: 39 landmarks of x, y, z,
visibility and presence logits in crop pixels; x, y refined from the 64x64 heatmap (7x7
window, applied where the window's peak confidence is >= 0.5); visibility and presence are
sigmoids; the world landmarks are rotated by the crop's rotation in the image plane.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputError
from mocap.geometry.boxes import greedy_keep
from mocap.io import assets
from mocap.perception.detect import (
    Detections,
    DetectorConfig,
    crop_views,
    detection_views,
    merge_views,
    rois_from_detections,
    rois_from_points,
    sigmoid,
    ssd_anchors,
)
from mocap.perception.engine.runtime import (
    BACKENDS,
    DEVICES,
    make_runner,
    resolve_backend,
    resolve_device,
)
from mocap.perception.fusion import fuse_coco, movenet_coco
from mocap.perception.movenet import MoveNetConfig, MoveNetDetector, rois_from_bodies
from mocap.types import NUM_LANDMARKS, BodyDetections, Poses2D, Rois

LANDMARK_SIZE = 256
NUM_MODEL_LANDMARKS = 39  # 33 body + 2 ROI auxiliaries (hip centre, scale point) + 4 unused
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
# Landmark model outputs kept (the segmentation mask, output 2, is pruned away).
LANDMARK_OUTPUTS = [0, 1, 3, 4]


def rotation_2d(theta: np.ndarray) -> np.ndarray:
    """(N, 2, 2) rotation matrices in y-down image coordinates (MediaPipe's sense)."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)


def crop_to_image(rois: Rois, size: int = LANDMARK_SIZE) -> np.ndarray:
    """(N, 2, 3) affine maps from continuous crop px (0..size) to continuous image px."""
    r = rotation_2d(rois.rotation.astype(np.float64)) * (rois.size[:, None, None] / size)
    t = rois.center - np.einsum("nij,j->ni", r, np.array([size / 2, size / 2]))
    return np.concatenate([r, t[:, :, None]], axis=2)


def crop_rois(image: np.ndarray, rois: Rois, size: int = LANDMARK_SIZE) -> np.ndarray:
    """Rotated square crops ``(N, size, size, 3)`` float32 in [0, 1], edges replicated."""
    out = np.empty((len(rois), size, size, 3), np.float32)
    for k, a in enumerate(crop_to_image(rois, size)):
        # warpAffine samples integer pixel centres: shift continuous coords by 0.5 both sides.
        m = a.copy()
        m[:, 2] += a[:, :2] @ np.array([0.5, 0.5]) - 0.5
        scale = rois.size[k] / size
        interp = cv2.INTER_LINEAR if scale <= 2 else cv2.INTER_AREA
        crop = cv2.warpAffine(image, m, (size, size),
                              flags=interp | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REPLICATE)
        out[k] = crop
    out *= 1.0 / 255.0
    return out


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = HEATMAP_MIN_CONFIDENCE) -> np.ndarray:
    """MediaPipe's ``RefineLandmarksFromHeatmapCalculator``, vectorised over people and joints.

    Args:
        xy: (N, L, 2) landmark positions normalised to the crop, [0, 1].
        heatmap: (N, h, w, L) logits.

    Returns:
        (N, L, 2): the confidence-weighted mean cell of the ``kernel`` window around each
        landmark (cell index / size, as MediaPipe), where the window's peak sigmoid is at
        least ``min_confidence``; the input position elsewhere or when outside the map.
    """
    n, h, w, lms = heatmap.shape
    if n == 0:
        return xy.copy()
    off = (kernel - 1) // 2
    col = np.trunc(xy[..., 0] * w).astype(np.int64)  # C++ int conversion truncates
    row = np.trunc(xy[..., 1] * h).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    d = np.arange(-off, off + 1)
    rows = row[..., None] + d  # (N, L, k)
    cols = col[..., None] + d
    rvalid = (rows >= 0) & (rows < h)
    cvalid = (cols >= 0) & (cols < w)
    ni = np.arange(n)[:, None, None, None]
    li = np.arange(lms)[None, :, None, None]
    # gather each landmark's window of logits first: the sigmoid of 7x7 cells, not 64x64
    logits = heatmap[ni, np.clip(rows, 0, h - 1)[..., :, None],
                     np.clip(cols, 0, w - 1)[..., None, :], li]
    mask = rvalid[..., :, None] & cvalid[..., None, :]
    win = np.where(mask, sigmoid(logits.astype(np.float64)), 0.0)  # (N, L, k, k)
    total = win.sum((-1, -2))
    peak = win.max((-1, -2))
    wx = (win * cols[..., None, :]).sum((-1, -2))
    wy = (win * rows[..., :, None]).sum((-1, -2))
    ok = inside & (peak >= min_confidence) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    refined = np.stack([wx / safe / w, wy / safe / h], -1)
    return np.where(ok[..., None], refined, xy).astype(np.float32)


def decode_landmarks(outputs: list[np.ndarray], rois: Rois, size: int = LANDMARK_SIZE,
                     ) -> Poses2D:
    """Turn the landmark model's outputs for N crops into image-space values.

    Args:
        outputs: [landmarks (N, 195), pose flag (N, 1), heatmap (N, 64, 64, 39),
            world (N, 117)], as the runner returns them.
        rois: the N regions the crops came from.

    Returns:
        :class:`Poses2D` (33 body landmarks); ``score`` is the model's pose flag times the
        mean heatmap peak confidence of the 33 landmarks (the flag alone stays high on many
        non-people; the heatmap says whether joints were actually found); ``aux`` holds the
        image px of the two ROI auxiliary landmarks (hip centre, scale point) for the next
        region.
    """
    raw, flag, heatmap, world_raw = outputs
    n = len(rois)
    lm = raw.reshape(n, NUM_MODEL_LANDMARKS, 5)
    norm = lm[..., :2] / size
    norm = refine_from_heatmap(norm, heatmap)
    a = crop_to_image(rois, size)
    crop_px = norm * size
    xy = np.einsum("nij,nlj->nli", a[:, :, :2], crop_px) + a[:, None, :, 2]
    z = lm[..., 2] * (rois.size[:, None] / size)
    visibility = sigmoid(lm[..., 3])
    presence = sigmoid(lm[..., 4])
    rot = rotation_2d(rois.rotation.astype(np.float64))
    world = world_raw.reshape(n, NUM_MODEL_LANDMARKS, 3)[:, :NUM_LANDMARKS].astype(np.float64)
    world_xy = np.einsum("nij,nlj->nli", rot, world[..., :2])
    world = np.concatenate([world_xy, world[..., 2:]], -1)
    heat_peak = sigmoid(heatmap[..., :NUM_LANDMARKS].max(axis=(1, 2)))  # (N, 33)
    score = flag.reshape(n) * heat_peak.mean(1)
    roi = np.concatenate([rois.center, rois.size[:, None], rois.rotation[:, None],
                          rois.score[:, None]], 1)
    poses = Poses2D(xy[:, :NUM_LANDMARKS], z[:, :NUM_LANDMARKS],
                    visibility[:, :NUM_LANDMARKS], presence[:, :NUM_LANDMARKS], world, score,
                    roi, np.full(n, -1, np.int64), xy[:, NUM_LANDMARKS:NUM_LANDMARKS + 2])
    return poses


def roi_from_landmarks(poses: Poses2D) -> Rois:
    """Next regions from landmarks, as MediaPipe's tracking mode derives them: from the
    model's two region landmarks (``poses.aux``: hip centre, scale point) where they are
    known, else from a hip centre and scale point derived from the body landmarks."""
    hips = poses.xy[:, 23:25].mean(1)
    shoulders = poses.xy[:, 11:13].mean(1)
    # The model's scale point lies about 1.9 torso lengths above the hips on the body
    # axis; approximate it from the torso for regions without auxiliary landmarks.
    centre = np.where(np.isfinite(poses.aux[:, 0]), poses.aux[:, 0], hips)
    scale_point = np.where(np.isfinite(poses.aux[:, 1]), poses.aux[:, 1],
                           hips + (shoulders - hips) * 1.9)
    return rois_from_points(centre, scale_point, poses.score)


def pose_similarity(a: Poses2D, b: Poses2D, min_visibility: float = 0.5) -> np.ndarray:
    """OKS-like similarity ``(len(a), len(b))`` of the 33 landmarks, scaled by ROI size."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    d2 = ((a.xy[:, None] - b.xy[None]) ** 2).sum(-1)  # (A, B, 33)
    scale = np.sqrt(a.roi[:, None, 2] * b.roi[None, :, 2]) / 2.5
    sigma = 0.08
    sim = np.exp(-d2 / (2 * (scale[..., None] * sigma) ** 2))
    vis = (a.visibility[:, None] > min_visibility) & (b.visibility[None] > min_visibility)
    weight = vis.sum(-1)
    return np.where(weight > 0, (sim * vis).sum(-1) / np.maximum(weight, 1), sim.mean(-1))


#: ``EstimatorConfig.keypoints`` choices.
KEYPOINT_SOURCES = ("fused", "movenet", "landmarks")


@dataclass(frozen=True)
class EstimatorConfig:
    """Settings of the still-image pipeline.

    Attributes:
        detector: BlazePose detector settings (tiles, thresholds).
        movenet: MoveNet settings (input size, tiles, thresholds).
        min_pose_score: people scoring below this are dropped. With MoveNet a person's
            score is MoveNet's; with the BlazePose detector it is the refined pass's pose
            score (see :func:`decode_landmarks`) times how well the two passes agree
            (:func:`pose_similarity`): real people give the same pose from both regions,
            hallucinations drift.
        refine_passes: extra landmark passes on the region implied by the previous pass.
        duplicate_similarity: two poses more similar than this are the same person; the
            lower-scored one is dropped.
        max_people: keep at most this many (highest score first); None: no limit.
        keypoints: where a still image's COCO-17 joints (``Poses2D.coco``) come from, with
            MoveNet: ``fused`` (both models, see :mod:`mocap.perception.fusion`),
            ``movenet`` or ``landmarks`` (BlazePose's alone).
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    movenet: MoveNetConfig = field(default_factory=MoveNetConfig)
    min_pose_score: float = 0.2
    refine_passes: int = 1
    duplicate_similarity: float = 0.3
    max_people: int | None = None
    keypoints: str = "fused"

    def __post_init__(self) -> None:
        if self.keypoints not in KEYPOINT_SOURCES:
            raise InputError(f"unknown keypoint source {self.keypoints!r}; choose from "
                             f"{', '.join(KEYPOINT_SOURCES)}")
        if not 0.0 <= self.min_pose_score <= 1.0:
            raise ValueError(f"`min_pose_score` must be in [0, 1], got {self.min_pose_score}")
        if self.refine_passes < 0:
            raise ValueError(f"`refine_passes` must be >= 0, got {self.refine_passes}")
        if self.max_people is not None and self.max_people < 1:
            raise ValueError(f"`max_people` must be >= 1, got {self.max_people}")


def suppress_duplicates(poses: Poses2D, threshold: float) -> Poses2D:
    """Greedy NMS over people on :func:`pose_similarity`, highest score first."""
    if len(poses) < 2:
        return poses
    poses = poses[np.argsort(-poses.score, kind="stable")]
    return poses[greedy_keep(pose_similarity(poses, poses), threshold)]


@dataclass(frozen=True)
class EngineOptions:
    """How to run the models (:class:`PoseEngine`'s keyword arguments), validated; plain
    values, so they cross process boundaries (``mocap batch`` workers, Dask).

    Attributes:
        models_dir: model cache folder (None: the default, see :mod:`mocap.io.assets`).
        device: ``auto`` | ``cpu`` | ``cuda`` | ``mps``.
        backend: ``auto`` | ``torch`` | ``litert``.
        threads: CPU threads for inference (None: all cores).
        compile: ``torch.compile`` the torch modules.
        detector: who finds people: ``movenet`` (MoveNet MultiPose: the whole body, from
            any side) or ``blazepose`` (BlazePose's face-based detector).
        landmarks: BlazePose landmark model: ``lite`` (fastest), ``full`` or ``heavy``
            (most precise in 2D, slowest).
    """

    models_dir: str | None = None
    device: str = "auto"
    backend: str = "auto"
    threads: int | None = None
    compile: bool = False
    detector: str = "movenet"
    landmarks: str = "full"

    def __post_init__(self) -> None:
        if self.detector not in DETECTORS:
            raise InputError(f"unknown detector {self.detector!r}; choose from "
                             f"{', '.join(DETECTORS)}")
        if self.landmarks not in assets.LANDMARK_MODELS:
            raise InputError(f"unknown landmark model {self.landmarks!r}; choose from "
                             f"{', '.join(assets.LANDMARK_MODELS)}")
        if self.device not in DEVICES:
            raise InputError(f"unknown device {self.device!r}; choose from {', '.join(DEVICES)}")
        if self.backend not in BACKENDS:
            raise InputError(f"unknown backend {self.backend!r}; choose from "
                             f"{', '.join(BACKENDS)}")
        check_threads(self.threads)
        if self.models_dir is not None:
            object.__setattr__(self, "models_dir", str(self.models_dir))


#: The most CPU threads one process may ask for: far above any machine's cores, far below
#: what exhausts the process (``--threads 30000`` crashed torch's thread pool, a larger
#: number hung or overflowed).
MAX_THREADS = 256


def check_threads(threads: int | None, option: str = "--threads") -> None:
    """``threads`` is None or an int in 1..:data:`MAX_THREADS`; else one-line InputError."""
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) \
            or not 1 <= threads <= MAX_THREADS:
        raise InputError(f"{option} must be between 1 and {MAX_THREADS}, got {threads}")


#: ``--detector`` choices.
DETECTORS = ("movenet", "blazepose")


class PoseEngine:
    """People detection (MoveNet or BlazePose's detector) + BlazePose landmarks, batched,
    on torch or LiteRT.

    Args:
        models_dir: where the model files are cached (see :mod:`mocap.io.assets`); they are
            obtained on first use.
        device: ``auto`` | ``cpu`` | ``cuda`` | ``mps`` (auto picks a GPU torch can see).
        backend: ``auto`` | ``torch`` | ``litert`` (auto: torch on a GPU; on a CPU LiteRT
            when ``ai-edge-litert`` is installed, else torch).
        threads: CPU threads for inference (default: all cores).
        compile: ``torch.compile`` the torch modules (slow first call per batch size).
        detector: ``movenet`` or ``blazepose`` (see :class:`EngineOptions`).
        landmarks: ``lite``, ``full`` or ``heavy``.
        config: still-image pipeline settings.
    """

    def __init__(self, models_dir: str | os.PathLike | None = None, device: str = "auto",
                 backend: str = "auto", threads: int | None = None, compile: bool = False,
                 detector: str = "movenet", landmarks: str = "full",
                 config: EstimatorConfig | None = None):
        EngineOptions(None, device, backend, threads, compile, detector, landmarks)  # checks
        self.device = resolve_device(device)
        self.backend = resolve_backend(backend, self.device)
        self.config = config or EstimatorConfig()
        if self.backend == "torch" and threads:
            import torch

            torch.set_num_threads(threads)
        self.detector_name = detector
        wanted = (assets.MOVENET_MULTIPOSE if detector == "movenet" else assets.POSE_DETECTION,
                  assets.LANDMARK_MODELS[landmarks])
        paths = assets.ensure_models(models_dir, wanted)
        self.model_paths: dict[str, Path] = paths
        detector_path = paths[wanted[0].name]
        if detector == "movenet":
            self._movenet = MoveNetDetector(
                make_runner(detector_path, None, self.backend, self.device, threads, compile),
                self.config.movenet)
        else:
            self._detector = make_runner(detector_path, None, self.backend, self.device,
                                         threads, compile)
            self._anchors = ssd_anchors()
        self._landmarker = make_runner(paths[wanted[1].name], LANDMARK_OUTPUTS, self.backend,
                                       self.device, threads, compile)

    # --- stages -------------------------------------------------------------------------
    def detect_raw(self, image: np.ndarray, tiles: bool = True) -> Detections:
        """BlazePose detector output merged over the whole image and (optionally) its
        tiles (``detector="blazepose"`` only)."""
        if self.detector_name != "blazepose":
            raise ValueError("detect_raw needs the BlazePose detector (detector='blazepose')")
        cfg = self.config.detector
        if not tiles:
            cfg = replace(cfg, tile_scales=(), whole_image=True)
        views = detection_views(image.shape[0], image.shape[1], cfg)
        raw_boxes, raw_scores = self._detector(crop_views(image, views))
        return merge_views(raw_boxes, raw_scores, views, cfg, self._anchors)

    def detect_bodies(self, image: np.ndarray, tiles: bool | None = None) -> BodyDetections:
        """MoveNet's people: ``image`` (H, W, 3) uint8 RGB -> boxes + 17 keypoints, px
        (``detector="movenet"`` only; ``tiles`` None: as configured)."""
        if self.detector_name != "movenet":
            raise ValueError("detect_bodies needs MoveNet (detector='movenet')")
        return self._movenet(image, tiles)

    def detect(self, image: np.ndarray, tiles: bool = True) -> Rois:
        """People's regions: ``image`` (H, W, 3) uint8 RGB -> :class:`Rois` (image px)."""
        if self.detector_name == "movenet":
            return rois_from_bodies(self.detect_bodies(image, None if tiles else False))
        return rois_from_detections(self.detect_raw(image, tiles))

    def landmarks(self, image: np.ndarray, rois: Rois) -> Poses2D:
        """Landmarks of every region in one batch (``aux`` holds the model's region
        landmarks for the next frame's regions)."""
        if len(rois) == 0:
            return Poses2D.empty()
        return decode_landmarks(self._landmarker(crop_rois(image, rois)), rois)

    def estimate(self, image: np.ndarray) -> Poses2D:
        """Every person in a still image, sorted by score (highest first).

        With MoveNet: its people, BlazePose's landmarks on the regions derived from them
        (refined by a second pass), COCO-17 joints fused from both (``coco``). With the
        BlazePose detector: tiled detection, landmarks, refining passes, duplicate
        suppression.
        """
        cfg = self.config
        if self.detector_name == "movenet":
            return self._estimate_movenet(image)
        rois = self.detect(image)
        poses = self.landmarks(image, rois)
        for _ in range(cfg.refine_passes):
            if not len(poses):
                break
            refined = self.landmarks(image, roi_from_landmarks(poses))
            agreement = np.diag(pose_similarity(poses, refined))
            refined.score = (refined.score * agreement).astype(np.float32)
            poses = refined
        poses = poses[poses.score >= cfg.min_pose_score]
        poses = suppress_duplicates(poses, cfg.duplicate_similarity)
        if cfg.max_people is not None:
            poses = poses[: cfg.max_people]
        return poses

    def _estimate_movenet(self, image: np.ndarray) -> Poses2D:
        cfg = self.config
        bodies = self.detect_bodies(image)
        bodies = bodies[bodies.score >= cfg.min_pose_score]
        poses = self.landmarks(image, rois_from_bodies(bodies))
        for _ in range(cfg.refine_passes):
            if not len(poses):
                break
            poses = self.landmarks(image, roi_from_landmarks(poses))
        if cfg.keypoints == "fused":
            poses.coco = fuse_coco(bodies, poses)
        elif cfg.keypoints == "movenet":
            poses.coco = movenet_coco(bodies)
        poses.score = bodies.score.copy()  # MoveNet's people are the detections
        if cfg.max_people is not None:
            poses = poses[: cfg.max_people]
        return poses
