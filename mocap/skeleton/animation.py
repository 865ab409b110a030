"""An :class:`Animation`: a rig's local joint rotations and root path over time, and the
forward kinematics that turns it into world joint positions and named points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error
from mocap.geometry.rotations import quat_continuity, quat_to_matrix, slerp
from mocap.geometry.series import segments
from mocap.skeleton.rig import Rig
from mocap.types import PointTracks


@dataclass
class Animation:
    """A rig animated over time.

    Attributes:
        rig: the skeleton (its offsets are the bone lengths used).
        root_translation: (T, 3) float64, metres, Y up: position of the root joint.
        rotations: (T, J, 4) float64, xyzw unit quaternions: each joint's local rotation
            relative to its parent (identity = rest pose), sign-continuous over time.
        fps: frames per second.
    """

    rig: Rig
    root_translation: np.ndarray
    rotations: np.ndarray
    fps: float

    def __post_init__(self) -> None:
        self.root_translation = np.asarray(self.root_translation, np.float64)
        self.rotations = np.asarray(self.rotations, np.float64)
        t, j = len(self.root_translation), len(self.rig)
        if self.root_translation.shape != (t, 3):
            raise shape_error("root_translation", "(T, 3)", self.root_translation.shape)
        if self.rotations.shape != (t, j, 4):
            raise shape_error("rotations", f"(T, {j}, 4)", self.rotations.shape)
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ValueError(f"`fps` must be positive, got {self.fps}")

    def __len__(self) -> int:
        return len(self.root_translation)

    def __getitem__(self, index) -> Animation:
        return Animation(self.rig, self.root_translation[index], self.rotations[index],
                         self.fps)

    def global_transforms(self) -> tuple[np.ndarray, np.ndarray]:
        """Forward kinematics: ``(rotations (T, J, 3, 3), positions (T, J, 3) metres)``."""
        q = self.rotations / np.linalg.norm(self.rotations, axis=-1, keepdims=True)
        local = quat_to_matrix(q)
        return forward_kinematics(local, self.rig.parents, self.rig.offsets,
                                  self.root_translation)

    def positions(self) -> np.ndarray:
        """(T, J, 3) float64, metres: world joint positions."""
        return self.global_transforms()[1]

    def joints_and_ends(self) -> tuple[np.ndarray, np.ndarray]:
        """(T, J, 3) world joint positions and (T, J, 3) their End Sites' (meaningful only
        where the rig has one), metres."""
        rots, pos = self.global_transforms()
        return pos, pos + np.einsum("tjab,jb->tja", rots, np.nan_to_num(self.rig.end_sites))

    def points(self) -> PointTracks:
        """Named world points over time: roles where a joint has one, else joint names
        (End Sites as their role or ``"<joint>/end"``); (T, 3) metres each."""
        return PointTracks.from_dict(named_points(self.rig, *self.joints_and_ends()))


#: ``--root-motion``: the root travels (``on``) or stays over the origin (``in-place``).
ROOT_MOTION = ("on", "in-place")


def in_place(anim: Animation) -> Animation:
    """``anim`` with its root over the origin: the root's horizontal position (x, z) is 0
    on every frame, its height and every rotation as they were."""
    root = anim.root_translation.copy()
    root[:, [0, 2]] = 0.0
    return Animation(anim.rig, root, anim.rotations, anim.fps)


#: Within this many seconds of an observed frame a bridged pose is the smoother's own.
BRIDGE_KEEP_S = 0.3
#: ... and it turns into the interpolation between the gap's end poses over this many more.
BRIDGE_RAMP_S = 0.2


def bridge_poses(anim: Animation, observed: np.ndarray, keep_s: float = BRIDGE_KEEP_S,
                 ramp_s: float = BRIDGE_RAMP_S) -> Animation:
    """Deep inside a long run of unobserved frames, the pose interpolated between the poses
    at the run's two ends.

    The smoother bridges a person the tracker lost (hidden, or a fast move the pose model
    missed) by carrying each landmark on from both ends with its velocity there. Near the
    ends that is the best guess (on the demo's two people, gaps of 0.3-1 s knocked out of
    observed frames: 0.07-0.33 m mean joint error, against 0.10-0.36 m for interpolating
    the end poses), but deep inside a long gap each limb wanders on along its own line
    (1.5-2 s gaps in the walk: 0.31-0.33 m, against 0.24-0.25 m). So a frame more than
    ``keep_s`` from the nearest observed frame turns, over ``ramp_s``, from the smoother's pose to
    the slerp of each joint's local rotation between the last observed frame before the
    run and the first one after it, at constant angular speed. The root translation is
    kept: it follows the body's path (:func:`mocap.motion.world.bridge_root`). A run at
    either end of the animation is left as it is.

    Args:
        anim: the animation, one frame per track frame.
        observed: (T,) bool, frames the person was seen in.
        keep_s, ramp_s: seconds (see above).

    Returns:
        A new :class:`Animation` (``anim`` itself when no run is bridged).
    """
    observed = np.asarray(observed, bool)
    if observed.shape != (len(anim),):
        raise shape_error("observed", f"({len(anim)},)", observed.shape)
    q = anim.rotations.copy()
    changed = False
    for s, e in segments(~observed):
        if s == 0 or e == len(q):
            continue
        idx = np.arange(s, e)
        frac = (idx - (s - 1)) / (e - (s - 1))
        near = np.minimum(idx - (s - 1), e - idx) / anim.fps  # s to the nearest seen frame
        w = np.clip((near - keep_s) / max(ramp_s, 1e-9), 0.0, 1.0)
        if not w.any():
            continue
        ends = slerp(q[s - 1][None], q[e][None], frac[:, None])
        q[s:e] = slerp(q[s:e], ends, w[:, None])
        changed = True
    if not changed:
        return anim
    return Animation(anim.rig, anim.root_translation.copy(), quat_continuity(q), anim.fps)


def forward_kinematics(local: np.ndarray, parents: np.ndarray, offsets: np.ndarray,
                       root: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Global rotations and positions from local rotation matrices.

    Args:
        local: (T, J, 3, 3) local rotation matrices.
        parents: (J,) parent indices (topological, -1 root).
        offsets: (J, 3) or (T, J, 3) local translations (root's ignored).
        root: (T, 3) root positions.

    Returns:
        ``(rotations (T, J, 3, 3), positions (T, J, 3))``.
    """
    t, j = local.shape[:2]
    g = np.empty_like(local)
    pos = np.empty((t, j, 3))
    per_frame = offsets.ndim == 3
    for k in range(j):
        p = parents[k]
        if p < 0:
            g[:, k] = local[:, k]
            pos[:, k] = root
            continue
        g[:, k] = g[:, p] @ local[:, k]
        if per_frame:
            pos[:, k] = pos[:, p] + np.einsum("tab,tb->ta", g[:, p], offsets[:, k])
        else:
            pos[:, k] = pos[:, p] + g[:, p] @ offsets[k]
    return g, pos


def named_points(rig: Rig, pos: np.ndarray, ends: np.ndarray) -> dict[str, np.ndarray]:
    """Name joint and End Site tracks: roles where a joint has one, else joint names
    (``"<joint>/end"`` for End Sites without a role).

    Args:
        rig: the skeleton.
        pos: (..., J, 3) joint positions.
        ends: (..., J, 3) End Site positions (ignored where the rig has none).
    """
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(rig.joints):
        out[rig.roles[j] or name] = pos[..., j, :]
        if not np.isnan(rig.end_sites[j, 0]):
            out[rig.end_roles[j] or f"{name}/end"] = ends[..., j, :]
    derive_points(out)
    return out


def derive_points(points: dict[str, np.ndarray]) -> None:
    """Add points implied by others (knuckle centre from index and pinky)."""
    for s in ("left", "right"):
        if f"{s}_fingers" not in points and f"{s}_index" in points and f"{s}_pinky" in points:
            points[f"{s}_fingers"] = 0.5 * (points[f"{s}_index"] + points[f"{s}_pinky"])


def rig_rest_points(rig: Rig) -> dict[str, np.ndarray]:
    """Rest-pose points of a rig named like :func:`named_points`; values (3,) metres."""
    pos = rig.rest_positions()
    return named_points(rig, pos, pos + np.nan_to_num(rig.end_sites))
