"""An :class:`Animation`: a rig's local joint rotations and root path over time, and the
forward kinematics that turns it into world joint positions and named points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.errors import shape_error
from mocap.geometry.rotations import quat_to_matrix
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

    def points(self) -> PointTracks:
        """Named world points over time: roles where a joint has one, else joint names
        (End Sites as their role or ``"<joint>/end"``); (T, 3) metres each."""
        rots, pos = self.global_transforms()
        ends = pos + np.einsum("tjab,jb->tja", rots, np.nan_to_num(self.rig.end_sites))
        return PointTracks.from_dict(named_points(self.rig, pos, ends))


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
