"""Write an :class:`~mocap.retarget.solver.Animation` as a BVH file (one file per person).

The hierarchy is built with bvhio (a ``BvhContainer`` of ``BvhJoint`` with explicit
``Channels``, written by its joint writer): the root has ``Xposition Yposition Zposition``
plus rotations, every other joint rotations only, in the rig's joint order and names, even
for joints that never move (a rig whose order is not depth-first, like SMPL's, is written
depth-first, as BVH requires).
The motion table is written here, vectorised: bvhio's per-frame writer converts each
keyframe through ``glm`` one at a time, far too slow for long clips, and its Euler helpers
default to *extrinsic* angles while BVH angles are intrinsic.

Conventions: Y up, the rig's T-pose as the rest pose, Euler angles intrinsic in the channel
order (default ``Zrotation Xrotation Yrotation``, scipy ``"ZXY"``), unwrapped over time so
no channel jumps by 360 degrees. ``Frame Time`` is exactly ``1 / fps``. Units default to
metres (``units="m"``), which Blender's importer takes 1:1 with its default scale;
``units="cm"`` writes centimetres (many game engines). The file is written to a temporary
file beside the target and renamed into place, so a failure leaves no partial output.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mocap.errors import InputError
from mocap.fileio import write_text
from mocap.geometry.rotations import matrix_to_euler, quat_to_matrix
from mocap.units import OUTPUT_UNITS, metres_per

if TYPE_CHECKING:
    from mocap.skeleton.animation import Animation
    from mocap.skeleton.rig import Rig

ROTATION_ORDERS = ("ZXY", "ZYX", "XYZ", "XZY", "YXZ", "YZX")


def _end_site(rig: Rig, j: int) -> np.ndarray:
    end = rig.end_sites[j]
    if not np.isnan(end[0]):
        return end
    off = rig.offsets[j]
    n = np.linalg.norm(off)
    # a leaf without an End Site: continue the bone by half its length (Blender needs a tail)
    return off * 0.5 if n > 1e-6 else np.array([0.0, 0.05, 0.0])


def bvh_text(anim: Animation, units: str = "m", rotation_order: str = "ZXY",
             precision: int = 6) -> str:
    """The BVH file content for ``anim`` (see :func:`write_bvh`)."""
    from bvhio import BvhContainer, BvhJoint
    from bvhio.lib.Parser import writeJoint

    order = rotation_order.upper()
    if order not in ROTATION_ORDERS:
        raise InputError(f"unknown rotation order {rotation_order!r}; valid: "
                         f"{', '.join(ROTATION_ORDERS)}")
    rig = anim.rig
    scale = 1.0 / metres_per(units, OUTPUT_UNITS)  # units per metre
    rot_channels = [f"{a}rotation" for a in order]
    joints = []
    for j, name in enumerate(rig.joints):
        bj = BvhJoint(name, tuple(float(v) for v in rig.offsets[j] * scale))
        bj.Channels = (["Xposition", "Yposition", "Zposition"] if j == 0 else []) + rot_channels
        bj.EndSite = type(bj.EndSite)(*(float(v) for v in _end_site(rig, j) * scale))
        joints.append(bj)
        if j:
            joints[int(rig.parents[j])].Children.append(bj)
    # bvhio writes children in insertion order; the rig's order is depth-first only if the
    # rig file was, so the motion columns follow bvhio's depth-first layout explicitly.
    layout = [bj for bj, _, _ in joints[0].layout()]
    col_of = [next(k for k, bj in enumerate(joints) if bj is b) for b in layout]
    t = len(anim)
    container = BvhContainer(joints[0], t, 1.0 / anim.fps)
    head = io.StringIO()
    head.write("HIERARCHY\n")
    writeJoint(head, container.Root, 0, True, precision)

    j = len(rig)
    if t:
        q = anim.rotations / np.linalg.norm(anim.rotations, axis=-1, keepdims=True)
        eul = np.degrees(matrix_to_euler(quat_to_matrix(q), order))
        eul = np.unwrap(eul, period=360.0, axis=0)
    else:
        eul = np.zeros((0, j, 3))
    cols = [anim.root_translation * scale] + [eul[:, k] for k in col_of]
    table = np.concatenate(cols, axis=1) if t else np.zeros((0, 3 + 3 * j))
    if not np.isfinite(table).all():
        k = int(np.flatnonzero(~np.isfinite(table).all(axis=1))[0])
        raise InputError(f"cannot write BVH: frame {k} of the animation has non-finite values")
    table = np.where(np.abs(table) < 0.5 * 10.0 ** -precision, 0.0, table)  # no "-0.000000"
    head.write(f"MOTION\nFrames: {container.FrameCount}\n"
               f"Frame Time: {container.FrameTime:.10g}\n")
    if t:
        row = " ".join([f"%.{precision}f"] * table.shape[1]) + "\n"
        head.write((row * t) % tuple(table.ravel().tolist()))
    return head.getvalue()


def write_bvh(anim: Animation, path: str | os.PathLike, units: str = "m",
              rotation_order: str = "ZXY", precision: int = 6) -> Path:
    """Write ``anim`` to ``path`` atomically.

    Args:
        anim: the :class:`~mocap.retarget.solver.Animation` (root translation in metres).
        path: output ``.bvh`` file; its folder is created if needed.
        units: ``"m"`` (default; Blender imports it at true size) or ``"cm"``.
        rotation_order: Euler channel order of every joint (intrinsic), default ``"ZXY"``.
        precision: decimals written.

    Returns:
        The path written.

    Raises:
        InputError: unknown units or rotation order.
        OutputError: the file cannot be written (nothing is left behind).
    """
    text = bvh_text(anim, units, rotation_order, precision)
    out = Path(path)
    write_text(out, text)
    return out
