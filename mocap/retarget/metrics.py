"""How well an animation follows its source: bone-direction errors."""

from __future__ import annotations

import numpy as np

from mocap.retarget.solver import driven_bones, point_keys
from mocap.skeleton.animation import Animation, rig_rest_points
from mocap.skeleton.roles import mirror_role


def bone_direction_errors(points: dict[str, np.ndarray], anim: Animation,
                          min_length: float = 0.01, branch_lines: bool = True,
                          ) -> dict[str, np.ndarray]:
    """Angle between source and animation directions of every mapped bone.

    A mapped bone joins a joint to its nearest descendant with a point in the source (End
    Sites included), both ends mapped. Where the joint branches into a left and a right
    child (the pelvis into the hips, the chest into the collars), the rest-pose offsets of
    those children are rig proportions (CMU's hip joints sit ~20 degrees further forward
    and lower than Mixamo's), so with ``branch_lines`` the pair is measured as the line
    between the two children (``right_hip->left_hip``), the axis the solver aligns, rather
    than as two bones; ``branch_lines=False`` measures the two bones as they are.

    Args:
        points: the source tracks ``{name: (T, 3)}``.
        anim: the retargeted animation.
        min_length: bones shorter than this (metres) in the source or rest pose are skipped.
        branch_lines: measure left/right branches as one line (see above).

    Returns:
        ``{"from->to": (T,) degrees}``.
    """
    rig = anim.rig
    got = anim.points()
    rest = rig_rest_points(rig)
    keys = point_keys(rig)
    bones = [(keys[a], keys[j]) for a, j in driven_bones(rig, points)]
    for j in range(len(rig)):
        end = rig.end_roles[j] or f"{rig.joints[j]}/end"
        if not np.isnan(rig.end_sites[j, 0]) and end in points and keys[j] in points:
            bones.append((keys[j], end))
    if branch_lines:
        out_bones = []
        for a, b in bones:
            mirror = mirror_role(b)
            if mirror != b and (a, mirror) in bones:
                if b.startswith("left_"):
                    out_bones.append((mirror, b))
                continue
            out_bones.append((a, b))
        bones = out_bones
    out: dict[str, np.ndarray] = {}
    for ka, key in bones:
        if ka not in got or key not in got:
            continue
        src = points[key] - points[ka]
        dst = got[key] - got[ka]
        if (np.linalg.norm(rest[key] - rest[ka]) < min_length
                or np.median(np.linalg.norm(src, axis=-1)) < min_length):
            continue
        cos = np.einsum("ti,ti->t", src, dst) / (
            np.linalg.norm(src, axis=-1) * np.linalg.norm(dst, axis=-1) + 1e-12)
        out[f"{ka}->{key}"] = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return out
