"""A BVH clip as a retargeting source: its own skeleton's animation, in metres."""

from __future__ import annotations

import numpy as np

from mocap.geometry.rotations import quat_continuity
from mocap.io.bvh import BvhData, bvh_local_transforms
from mocap.retarget.solver import retarget
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import Rig, rig_from_bvh


def bvh_animation(bvh: BvhData, unit: str | None = None,
                  bone_map: dict[str, str] | None = None) -> Animation:
    """A BVH file as an :class:`Animation` of its own skeleton (rig from its hierarchy).

    Args:
        bvh: :class:`mocap.io.bvh.BvhData`.
        unit: the file's unit (see :data:`mocap.units.METRES_PER_UNIT`); None recognises it.
        bone_map: role -> joint name over the recognised roles (``--source-bone-map``).
    """

    rig, scale = rig_from_bvh(bvh, unit, bone_map)
    quats, trans = bvh_local_transforms(bvh, scale)
    # non-root position channels move joints away from their offsets: not representable in
    # an Animation (rotations only), so they are folded into the rig offsets' median.
    offsets = rig.offsets.copy()
    offsets[1:] = np.median(trans[:, 1:], axis=0) if len(trans) else offsets[1:]
    rig = rig.with_offsets(offsets)
    return Animation(rig, trans[:, 0], quat_continuity(quats), bvh.fps)


def retarget_bvh(bvh: BvhData, rig: Rig, bone_lengths: str = "rig", unit: str | None = None,
                 ) -> tuple[Animation, Animation]:
    """Retarget a BVH clip onto ``rig`` through the position-based solver.

    Returns:
        ``(source, target)`` animations (the source on its own skeleton, in metres).
    """
    src = bvh_animation(bvh, unit)
    return src, retarget(src.points(), rig, src.fps, bone_lengths)
