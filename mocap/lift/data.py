"""Training pairs for the learned 3D stage: CMU rig joints -> BlazePose-like landmarks, seen by
random virtual cameras, with the detector's kinds of error.

Pure numpy. The motion comes in as named world points (the roles of
:mod:`mocap.skeleton.roles`: ``"left_knee"``, ``"head_top"``, ...; (T, 3) metres, Y up),
e.g. ``bvh_animation(read_bvh(path)).points()``; this room sits below ``skeleton/`` and
``retarget/``, so the training script reads the BVH files and hands the points in.

Everything the model sees is built by :func:`model_input`, which :mod:`mocap.lift.stage`
calls on a real track too, so training and inference normalise the same way.

Axes: world Y up; camera x right, y down, z away from the camera (BlazePose's world
landmark axes and ``Track.world``'s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mocap.geometry.camera import outside_image
from mocap.geometry.rotations import axis_matrix, normalize
from mocap.types import MIRROR_LANDMARKS, NUM_LANDMARKS

#: The 12 body landmarks (shoulders, elbows, wrists, hips, knees, ankles), BlazePose order.
BODY_JOINTS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: Hips (left, right): their midpoint is the root of every root-relative pose here.
HIPS = (23, 24)
#: Model rate, frames per second: tracks are resampled to it.
MODEL_FPS = 30.0
#: Per-frame input width: normalised 2D (33x2) + confidence (33) + root-relative 3D (33x3).
INPUT_WIDTH = NUM_LANDMARKS * 6

# Roles every take must have to make the 33 landmarks.
REQUIRED_POINTS = ("hips", "head", "head_top", "neck", *(
    f"{s}_{p}" for s in ("left", "right")
    for p in ("shoulder", "elbow", "wrist", "fingers", "hip", "knee", "ankle", "toe")))

# Face landmarks in the head's frame, metres from the head joint (the top of the neck in the
# CMU rigs): (lateral towards the person's left, up, forward). Anthropometric averages: the
# rigs carry no face, and the head's own yaw is not in the positions (the frame turns with
# the shoulders and tilts with the neck), so these are approximate by design.
_FACE = {
    0: (0.0, 0.05, 0.11),  # nose tip
    1: (0.015, 0.085, 0.095), 2: (0.032, 0.085, 0.09), 3: (0.047, 0.085, 0.08),  # left eye
    4: (-0.015, 0.085, 0.095), 5: (-0.032, 0.085, 0.09), 6: (-0.047, 0.085, 0.08),
    7: (0.075, 0.06, 0.0), 8: (-0.075, 0.06, 0.0),  # ears (tragus)
    9: (0.025, 0.015, 0.095), 10: (-0.025, 0.015, 0.095),  # mouth corners
}
# The rigs' hip joints are the femoral heads; BlazePose's hip landmarks (like COCO's) sit
# on the surface over the greater trochanter: wider and a little higher. Fractions of the
# hip-joint width added outward on each side and of the hip-to-neck length upward.
HIP_WIDEN = 0.18
HIP_RAISE = 0.04
# Heel: below the ankle joint (metres, square to the foot) and back along the foot.
HEEL_DOWN_M = 0.055
HEEL_BACK = 0.22  # of the ankle-to-ball length
# Toe tip beyond the ball of the foot where a rig has no toe End Site.
TOE_TIP = 0.4  # of the ankle-to-ball length

# Parent of each landmark for bone-length augmentation (-1: the hip midpoint; -2: the
# shoulder midpoint) and the segment group whose factor scales that bone.
_PARENT = np.array([-2] * 11 + [23, 24, 11, 12, 13, 14, 15, 16, 15, 16, 15, 16,
                                -1, -1, 23, 24, 25, 26, 27, 28, 27, 28])
_GROUP = np.array([0] * 11 + [1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 4, 4,
                              5, 5, 6, 6, 7, 7, 8, 8, 8, 8])
_GROUPS = 9  # neck/face, torso, upper arm, forearm, hand, pelvis, thigh, shin, foot
_ORDER = (23, 24, 11, 12, *range(11), 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
          25, 26, 27, 28, 29, 30, 31, 32)

# Rough per-landmark scale of the detector's error: 1 on the trunk, more towards the ends.
_EXTREMITY = np.ones(NUM_LANDMARKS)
_EXTREMITY[[13, 14, 25, 26]] = 1.4
_EXTREMITY[[15, 16, 27, 28]] = 2.0
_EXTREMITY[[17, 18, 19, 20, 21, 22, 29, 30, 31, 32]] = 2.3
# BlazePose's 3D error along the camera's depth axis, metres, per landmark: 3D-NOTES and
# benchmarks/eval_depth.py measure hips about 25-35 mm, wrists 100-200 mm, 60-95 mm on
# average on a real 4-camera take; across the image less than half.
_DEPTH_SD = np.full(NUM_LANDMARKS, 0.07)
_DEPTH_SD[[23, 24]] = 0.035
_DEPTH_SD[[11, 12]] = 0.055
_DEPTH_SD[[13, 14]] = 0.095
_DEPTH_SD[[15, 16, 17, 18, 19, 20, 21, 22]] = 0.15
_DEPTH_SD[[25, 26]] = 0.07
_DEPTH_SD[[27, 28, 29, 30, 31, 32]] = 0.09


def _unit(v: np.ndarray) -> np.ndarray:
    return normalize(v)[0]


def landmarks_from_points(points: Mapping[str, np.ndarray]) -> np.ndarray:
    """The 33 BlazePose landmarks of a rig's named points.

    Body joints are the rig's joints (hips widened and raised to BlazePose's surface hip
    landmarks); the face from fixed offsets in a head frame; the hand landmarks from the
    wrist, knuckles and thumb; heels and toe tips from the ankle, ball and shin.

    Args:
        points: role -> (T, 3) metres, Y up, with every role of :data:`REQUIRED_POINTS`
            (``left_thumb``, ``left_index``, ``left_pinky`` and ``left_toe_end`` and their
            right twins are used where present).

    Returns:
        (T, 33, 3) float64 metres, Y up, BlazePose order.

    Raises:
        ValueError: a required role is missing.
    """
    missing = [r for r in REQUIRED_POINTS if r not in points]
    if missing:
        raise ValueError(f"`points` must have the roles {', '.join(missing)}")
    p = {k: np.asarray(points[k], np.float64) for k in points}
    t = len(p["hips"])
    out = np.zeros((t, NUM_LANDMARKS, 3))
    for side, s in (("left", 0), ("right", 1)):
        out[:, 11 + s] = p[f"{side}_shoulder"]
        out[:, 13 + s] = p[f"{side}_elbow"]
        out[:, 15 + s] = p[f"{side}_wrist"]
        out[:, 25 + s] = p[f"{side}_knee"]
        out[:, 27 + s] = p[f"{side}_ankle"]
    # hips: outward along the hip line, up along the trunk
    lh, rh = p["left_hip"], p["right_hip"]
    across = lh - rh
    trunk = p["neck"] - 0.5 * (lh + rh)
    out[:, 23] = lh + HIP_WIDEN * across + HIP_RAISE * trunk
    out[:, 24] = rh - HIP_WIDEN * across + HIP_RAISE * trunk
    # face: a frame with up along the neck-to-crown line, lateral from the shoulders
    up = _unit(p["head_top"] - p["head"])
    lat = p["left_shoulder"] - p["right_shoulder"]
    lat = _unit(lat - (lat * up).sum(-1, keepdims=True) * up)
    fwd = np.cross(lat, up)  # x left, y up, z forward: a right-handed frame facing forward
    for k, (a, b, c) in _FACE.items():
        out[:, k] = p["head"] + a * lat + b * up + c * fwd
    # hands: knuckles from the wrist-to-knuckle line, the palm's width across it
    for side, s in (("left", 0), ("right", 1)):
        w, f = p[f"{side}_wrist"], p[f"{side}_fingers"]
        along = f - w
        thumb = p.get(f"{side}_thumb")
        # without a thumb joint: palms towards the body, thumbs forward
        thumb_dir = fwd if thumb is None else thumb - w
        d = _unit(along)
        across_hand = _unit(thumb_dir - (thumb_dir * d).sum(-1, keepdims=True) * d)
        out[:, 17 + s] = p.get(f"{side}_pinky", w + 0.95 * along - 0.035 * across_hand)
        out[:, 19 + s] = p.get(f"{side}_index", w + 1.0 * along + 0.03 * across_hand)
        out[:, 21 + s] = w + 0.45 * along + 0.045 * across_hand + 0.02 * _unit(along)
        # feet: heel behind and below the ankle; toe tip beyond the ball
        a, ball = p[f"{side}_ankle"], p[f"{side}_toe"]
        foot = ball - a
        # down from the ankle square to the foot (the shin's direction without its part
        # along the foot), then back along the foot
        d = _unit(foot)
        shin = a - p[f"{side}_knee"]
        sole = _unit(shin - (shin * d).sum(-1, keepdims=True) * d)
        out[:, 29 + s] = a + HEEL_DOWN_M * sole - HEEL_BACK * foot
        tip = p.get(f"{side}_toe_end")
        out[:, 31 + s] = tip if tip is not None else ball + TOE_TIP * foot
    return out


def mirror(landmarks: np.ndarray) -> np.ndarray:
    """The mirror image of a motion: X negated, left and right landmarks swapped.

    Args:
        landmarks: (..., 33, 3) metres, Y up (any axes with X across).

    Returns:
        The same shape: what a person moving as this one's reflection would show.
    """
    out = landmarks[..., MIRROR_LANDMARKS, :].copy()
    out[..., 0] *= -1
    return out


def scale_bones(landmarks: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Each bone lengthened by its segment's factor, keeping every joint angle.

    Args:
        landmarks: (T, 33, 3) metres.
        factors: (9,) per segment: neck/face, torso, upper arm, forearm, hand, pelvis,
            thigh, shin, foot.

    Returns:
        (T, 33, 3), the hip midpoint where it was.
    """
    old = landmarks
    new = np.empty_like(old)
    hip_o = old[:, HIPS].mean(1)
    sh_o = old[:, [11, 12]].mean(1)
    for k in _ORDER:
        par = _PARENT[k]
        if par == -1:
            base_o, base_n = hip_o, hip_o
        elif par == -2:
            base_o, base_n = sh_o, new[:, [11, 12]].mean(1)
        else:
            base_o, base_n = old[:, par], new[:, par]
        new[:, k] = base_n + factors[_GROUP[k]] * (old[:, k] - base_o)
    return new


@dataclass
class Cameras:
    """B pinhole cameras without distortion (world Y up -> camera x right, y down, z ahead).

    Attributes:
        rotation: (B, 3, 3) world -> camera, proper rotations (det +1).
        centre: (B, 3) metres, camera centres in the world.
        focal: (B,) px.
        principal: (B, 2) px.
        size: (B, 2) px, image width and height.
    """

    rotation: np.ndarray
    centre: np.ndarray
    focal: np.ndarray
    principal: np.ndarray
    size: np.ndarray

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(B, ..., 3) world metres -> (B, ..., 3) camera metres."""
        b = len(self.centre)
        flat = points.reshape(b, -1, 3) - self.centre[:, None]
        return np.einsum("bij,bnj->bni", self.rotation, flat).reshape(points.shape)

    def project(self, camera_points: np.ndarray) -> np.ndarray:
        """(B, ..., 3) camera metres -> (B, ..., 2) px."""
        shape = (len(self.focal),) + (1,) * (camera_points.ndim - 2)
        z = np.maximum(camera_points[..., 2:], 1e-6)
        return (camera_points[..., :2] / z * self.focal.reshape(*shape, 1)
                + self.principal.reshape(*shape, 2))


_SIZES = np.array([(1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (1440, 1080),
                   (1080, 1350)], float)


def look_at(centre: np.ndarray, target: np.ndarray, roll: np.ndarray | float = 0.0,
            ) -> np.ndarray:
    """Rotations (B, 3, 3) world -> camera of cameras at ``centre`` (B, 3) looking at
    ``target`` (B, 3), world Y up: rows right, down, forward (a proper rotation: right x down
    = forward), turned by ``roll`` radians about the view axis."""
    fwd = _unit(target - centre)
    right = _unit(np.cross(fwd, [0.0, 1.0, 0.0]))
    down = np.cross(fwd, right)
    r = np.stack([right, down, fwd], 1)
    return np.einsum("...ij,...jk->...ik", axis_matrix(2, roll), r)


def rotvec_matrix(v: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) of axis-angle vectors ``v`` (..., 3), radians
    (Rodrigues)."""
    angle = np.linalg.norm(v, axis=-1)[..., None, None]
    k = v / np.maximum(angle[..., 0], 1e-12)
    zero = np.zeros_like(k[..., 0])
    kx = np.stack([np.stack([zero, -k[..., 2], k[..., 1]], -1),
                   np.stack([k[..., 2], zero, -k[..., 0]], -1),
                   np.stack([-k[..., 1], k[..., 0], zero], -1)], -2)
    return np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * (kx @ kx)


def random_cameras(rng: np.random.Generator, landmarks: np.ndarray) -> Cameras:
    """One random camera per window, framing that window's person.

    Field of view 40-90 deg on the image's long side, landscape, portrait and square-ish
    images, the person 35-90 % of the image height (which sets the distance, kept within
    1.8-10 m), camera 0.3-2.5 m above the floor, aimed near the person (jittered), any
    azimuth, up to 5 deg roll.

    Args:
        rng: random generator.
        landmarks: (B, L, 33, 3) metres, Y up, floor near the lowest foot.
    """
    b = len(landmarks)
    size = _SIZES[rng.integers(0, len(_SIZES), b)]
    fov = np.deg2rad(rng.uniform(40, 90, b))
    focal = size.max(1) / 2 / np.tan(fov / 2)
    principal = size / 2 * (1 + rng.uniform(-0.02, 0.02, (b, 2)))
    hip = landmarks[:, :, HIPS].mean(2)  # (B, L, 3)
    mid = hip.mean(1)
    floor = landmarks[..., 1].min(axis=(1, 2))
    height = np.maximum(landmarks[..., 1].max(axis=(1, 2)) - floor, 0.5)
    frac = rng.uniform(0.35, 0.9, b)
    dist = np.clip(focal * height / (frac * size[:, 1]), 1.8, 10.0)
    # never inside the window's motion (a runner covers metres in two seconds)
    reach = np.linalg.norm(hip[..., [0, 2]] - mid[:, None, [0, 2]], axis=-1).max(1)
    dist = np.maximum(dist, reach + 1.5)
    az = rng.uniform(0, 2 * np.pi, b)
    cam_y = floor + rng.uniform(0.3, 2.5, b)
    centre = np.stack([mid[:, 0] + dist * np.cos(az), cam_y, mid[:, 2] + dist * np.sin(az)], 1)
    target = mid + rng.uniform(-0.3, 0.3, (b, 3))
    target[:, 1] = floor + height * rng.uniform(0.35, 0.65, b)
    rot = look_at(centre, target, np.deg2rad(rng.uniform(-5, 5, b)))
    return Cameras(rot, centre, focal, principal, size)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], every: float) -> np.ndarray:
    """Unit-variance noise that changes slowly along axis 1 (time): values drawn every
    ``every`` frames (a random phase) and linearly interpolated between."""
    length = shape[1]
    knots = int(np.ceil(length / every)) + 2
    vals = rng.normal(size=(shape[0], knots, *shape[2:]))
    pos = (np.arange(length) + rng.uniform(0, every)) / every
    i = np.floor(pos).astype(int)
    w = (pos - i).reshape(1, length, *([1] * (len(shape) - 2)))
    # linear interpolation shrinks the variance between knots; rescale to about unit
    return (vals[:, i] * (1 - w) + vals[:, i + 1] * w) / np.sqrt((1 - w) ** 2 + w**2)


def person_scale(xy: np.ndarray, conf: np.ndarray) -> np.ndarray:
    """A person's 2D size per frame (px), smoothed over about 1 s: the confidence-weighted
    RMS distance of the 12 body landmarks from their mean.

    Args:
        xy: (..., L, 33, 2) px.
        conf: (..., L, 33) in [0, 1].

    Returns:
        (..., L) px, at least 1.
    """
    body = xy[..., BODY_JOINTS, :]
    w = conf[..., BODY_JOINTS][..., None] + 1e-3
    mean = (body * w).sum(-2, keepdims=True) / w.sum(-2, keepdims=True)
    size = np.sqrt((((body - mean) ** 2).sum(-1, keepdims=True) * w).sum((-2, -1))
                   / w.sum((-2, -1)))
    # moving mean over +-15 frames, edges replicated
    half = 15
    pad = [(0, 0)] * (size.ndim - 1) + [(half, half)]
    padded = np.pad(size, pad, mode="edge")
    c = np.cumsum(padded, axis=-1)
    c = np.concatenate([np.zeros_like(c[..., :1]), c], -1)
    smooth = (c[..., 2 * half + 1:] - c[..., : -2 * half - 1]) / (2 * half + 1)
    return np.maximum(smooth, 1.0)


_CLIP_2D = 8.0  # in person sizes (a standing person spans about 4)


def model_input(xy: np.ndarray, conf: np.ndarray, world: np.ndarray) -> np.ndarray:
    """The network's per-frame input from a person's 2D, confidences and 3D.

    2D is centred on the hips' midpoint and divided by :func:`person_scale` (so the camera's
    focal length and distance drop out); the 3D is made root-relative (hip midpoint).

    Args:
        xy: (..., L, 33, 2) px, finite.
        conf: (..., L, 33) in [0, 1].
        world: (..., L, 33, 3) metres, camera axes, finite.

    Returns:
        (..., L, 198) float32: 2D (66), confidence (33), 3D (99).
    """
    centre = xy[..., HIPS, :].mean(-2, keepdims=True)
    scale = person_scale(xy, conf)[..., None, None]
    # clipped: a landmark far outside the picture says little and must not swamp the rest
    xy_n = np.clip((xy - centre) / scale, -_CLIP_2D, _CLIP_2D)
    rel = world - world[..., HIPS, :].mean(-2, keepdims=True)
    lead = xy.shape[:-2]
    return np.concatenate([xy_n.reshape(*lead, -1), conf.reshape(*lead, -1),
                           rel.reshape(*lead, -1)], -1).astype(np.float32)


def mirror_input(inputs: np.ndarray) -> np.ndarray:
    """:func:`model_input` of the mirror image (x negated in 2D and 3D, left and right
    swapped): the network's output for it, mirrored back (:func:`mirror`, which negates
    the first axis), is a second estimate of the same pose.

    Args:
        inputs: (..., 198) from :func:`model_input`.

    Returns:
        The same shape, float32.
    """
    lead = inputs.shape[:-1]
    n = NUM_LANDMARKS
    xy = inputs[..., : 2 * n].reshape(*lead, n, 2)[..., MIRROR_LANDMARKS, :].copy()
    xy[..., 0] *= -1
    conf = inputs[..., 2 * n: 3 * n][..., MIRROR_LANDMARKS]
    rel = mirror(inputs[..., 3 * n:].reshape(*lead, n, 3))
    return np.concatenate([xy.reshape(*lead, -1), conf, rel.reshape(*lead, -1)],
                          -1).astype(np.float32)


@dataclass
class Take:
    """One motion to sample windows from.

    Attributes:
        landmarks: (T, 33, 3) float64 metres, Y up (from :func:`landmarks_from_points`).
        fps: its frame rate.
        name: where it came from.
    """

    landmarks: np.ndarray
    fps: float
    name: str = ""


@dataclass
class Batch:
    """B windows of L frames at :data:`MODEL_FPS`.

    Attributes:
        inputs: (B, L, 198) float32, :func:`model_input` of the corrupted observation.
        noisy: (B, L, 33, 3) float32 metres, the BlazePose-like 3D input, root-relative.
        target: (B, L, 33, 3) float32 metres, the true root-relative landmarks, camera axes.
        xy: (B, L, 33, 2) float32 px, the corrupted 2D.
        xy_true: (B, L, 33, 2) float32 px, the exact projections.
        conf: (B, L, 33) float32 confidences.
        cameras: the cameras.
    """

    inputs: np.ndarray
    noisy: np.ndarray
    target: np.ndarray
    xy: np.ndarray
    xy_true: np.ndarray
    conf: np.ndarray
    cameras: Cameras


def sample_windows(rng: np.random.Generator, takes: list[Take], batch: int, length: int,
                   speed: tuple[float, float] = (0.8, 1.25)) -> np.ndarray:
    """B windows of ``length`` frames at :data:`MODEL_FPS`, each played at a random speed,
    from takes drawn in proportion to their duration.

    Returns:
        (B, L, 33, 3) float64 metres, Y up.
    """
    dur = np.array([len(t.landmarks) / t.fps for t in takes])
    pick = rng.choice(len(takes), batch, p=dur / dur.sum())
    out = np.empty((batch, length, NUM_LANDMARKS, 3))
    for b, k in enumerate(pick):
        take = takes[k]
        n = len(take.landmarks)
        s = rng.uniform(*speed)
        span = (length - 1) * s / MODEL_FPS * take.fps  # source frames the window covers
        start = rng.uniform(0, max(n - 1 - span, 0))
        pos = np.clip(start + np.arange(length) * s / MODEL_FPS * take.fps, 0, n - 1)
        i = np.minimum(np.floor(pos).astype(int), n - 2) if n > 1 else np.zeros(length, int)
        w = (pos - i)[:, None, None] if n > 1 else 0.0
        out[b] = take.landmarks[i] * (1 - w) + take.landmarks[np.minimum(i + 1, n - 1)] * w
    return out


def corrupt(rng: np.random.Generator, world: np.ndarray, cameras: Cameras,
            noise: float = 1.0) -> Batch:
    """What a detector would report for these windows: 2D with shaped noise, dropouts and
    left/right swaps; BlazePose-like 3D with larger, slowly drifting depth error.

    Args:
        rng: random generator.
        world: (B, L, 33, 3) metres, Y up.
        cameras: one per window.
        noise: multiplies every error (0: exact inputs, confidences still shaped).
    """
    b, length = world.shape[:2]
    cam = cameras.to_camera(world)
    xy_true = cameras.project(cam)
    target = cam - cam[:, :, HIPS].mean(2, keepdims=True)
    # person size in px per window: sets the 2D noise scale
    size = np.linalg.norm(xy_true[:, :, 0] - xy_true[:, :, [27, 28]].mean(2), axis=-1)
    size = np.maximum(np.median(size, 1), 20.0)[:, None, None, None]
    behind = target[..., 2] > 0.1  # roughly: hidden by the body (BlazePose less sure)
    outside = outside_image(xy_true, cameras.size[:, 0][:, None, None],
                            cameras.size[:, 1][:, None, None])
    ext = _EXTREMITY[None, None, :, None] * (1 + behind[..., None])
    # 2D: mostly slow (the tracker smooths), a little frame to frame; 0.4-1 % of the size
    sd2 = noise * size * rng.uniform(0.004, 0.01, (b, 1, 1, 1)) * ext
    xy = xy_true + sd2 * (smooth_noise(rng, (b, length, NUM_LANDMARKS, 2), 4.0)
                          + 0.3 * rng.normal(size=(b, length, NUM_LANDMARKS, 2)))
    conf = np.where(behind, rng.uniform(0.3, 0.85, (b, 1, NUM_LANDMARKS)),
                    rng.uniform(0.85, 1.0, (b, 1, NUM_LANDMARKS)))
    conf = np.clip(conf + 0.05 * smooth_noise(rng, (b, length, NUM_LANDMARKS), 8.0), 0, 1)
    conf = np.where(outside, rng.uniform(0.0, 0.3, conf.shape), conf)
    # BlazePose-like 3D: true pose, scaled and turned a little, plus per-landmark error
    # that is partly constant over the window, partly drifting (~0.5 s), partly per frame
    sd3 = noise * _DEPTH_SD[None, None, :, None] * np.array([0.4, 0.4, 1.0])
    sd3 = sd3 * rng.uniform(0.6, 1.4, (b, 1, 1, 1))
    err = sd3 * (0.5 * rng.normal(size=(b, 1, NUM_LANDMARKS, 3))
                 + 0.75 * smooth_noise(rng, (b, length, NUM_LANDMARKS, 3), 15.0)
                 + 0.25 * rng.normal(size=(b, length, NUM_LANDMARKS, 3)))
    turn = rotvec_matrix(noise * np.deg2rad(rng.normal(0, 6, (b, 3))))
    # BlazePose assumes an adult's size: a small person comes out too big (eval_depth: the
    # aligning scale 0.76-1.07)
    scale = 1 + noise * rng.uniform(-0.08, 0.2, (b, 1, 1, 1))
    depth_gain = 1 + noise * rng.uniform(-0.25, 0.05, (b, 1, 1, 1))  # depth often flattened
    noisy = np.einsum("bij,blkj->blki", turn, target) * scale
    noisy[..., 2:] *= depth_gain
    noisy = noisy + err
    # dropouts: a landmark confidently wrong for a while (in 2D and 3D), then right again
    for _ in range(rng.poisson(0.6 * b * noise) if noise > 0 else 0):
        i, k = rng.integers(b), rng.integers(NUM_LANDMARKS)
        t0 = rng.integers(length)
        t1 = min(length, t0 + rng.integers(3, 30))
        xy[i, t0:t1, k] += rng.normal(0, 0.15, 2) * size[i, 0, 0, 0]
        noisy[i, t0:t1, k] += rng.normal(0, 0.12, 3)
        conf[i, t0:t1, k] = rng.uniform(0.0, 0.5)
    # left/right swaps of a limb (2D, and usually the 3D with it) for a few frames
    limbs = ((13, 15, 17, 19, 21), (25, 27, 29, 31), tuple(range(11, 33)))
    for _ in range(rng.poisson(0.08 * b * noise) if noise > 0 else 0):
        i = rng.integers(b)
        left = np.array(limbs[rng.integers(len(limbs))])
        left = left[left % 2 == 1]  # BlazePose's left landmarks from 11 on are odd
        right = left + 1
        t0 = rng.integers(length)
        t1 = min(length, t0 + rng.integers(2, 20))
        xy[i, t0:t1, np.r_[left, right]] = xy[i, t0:t1, np.r_[right, left]]
        if rng.random() < 0.7:
            noisy[i, t0:t1, np.r_[left, right]] = noisy[i, t0:t1, np.r_[right, left]]
    noisy = noisy - noisy[:, :, HIPS].mean(2, keepdims=True)
    inputs = model_input(xy, conf, noisy)
    return Batch(inputs, noisy.astype(np.float32), target.astype(np.float32),
                 xy.astype(np.float32), xy_true.astype(np.float32), conf.astype(np.float32),
                 cameras)


def make_batch(rng: np.random.Generator, takes: list[Take], batch: int, length: int,
               augment: bool = True, noise: float = 1.0) -> Batch:
    """Windows from ``takes``, augmented (mirror, speed 0.8-1.25x, bone lengths +-10 %, body
    size 0.85-1.15x), seen by random cameras and corrupted (:func:`corrupt`)."""
    world = sample_windows(rng, takes, batch, length, (0.8, 1.25) if augment else (1.0, 1.0))
    if augment:
        flip = rng.random(batch) < 0.5
        world[flip] = mirror(world[flip])
        for i in range(batch):
            f = rng.uniform(0.9, 1.1, _GROUPS) * rng.uniform(0.85, 1.15)
            world[i] = scale_bones(world[i], f)
    return corrupt(rng, world, random_cameras(rng, world), noise)
