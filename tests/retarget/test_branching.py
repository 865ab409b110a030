"""Same-skeleton round trips of joints with several children (a head with two eyes)."""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mocap.export.bvh import bvh_text
from mocap.io.bvh import parse_bvh
from mocap.retarget.bvh_source import retarget_bvh
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import Rig, load_rig, rig_from_bvh


def _rig_with_eyes() -> Rig:
    """The Mixamo rig with two eye joints under the head (Daz/Second Life style), each
    with an End Site, beside the head's own top joint."""
    base = load_rig("mixamo")
    head = base.index("mixamorig:Head")
    joints = (*base.joints, "mixamorig:LeftEye", "mixamorig:RightEye")
    parents = np.concatenate([base.parents, [head, head]])
    offsets = np.vstack([base.offsets, [[0.032, 0.06, 0.09], [-0.032, 0.06, 0.09]]])
    ends = np.vstack([base.end_sites, [[0.0, 0.0, 0.025], [0.0, 0.0, 0.025]]])
    return Rig("eyes", joints, parents, offsets, ends, (*base.roles, None, None),
               (*base.end_roles, None, None))


def test_head_twist_survives_a_round_trip_with_eye_children():
    rig = _rig_with_eyes()
    rng = np.random.default_rng(0)
    t = 60
    # smooth random motion, with the head turning about its own axis (the twist that the
    # eyes reveal and a single head-top child cannot)
    phase = np.linspace(0, 2 * np.pi, t)[:, None]
    angles = 0.3 * np.sin(phase + rng.uniform(0, np.pi, (1, len(rig) * 3)))  # (T, J*3)
    rot = Rotation.from_rotvec(angles.reshape(-1, 3)).as_quat().reshape(t, len(rig), 4)
    head = rig.index("mixamorig:Head")
    rot[:, head] = Rotation.from_euler("y", 70 * np.sin(phase), degrees=True).as_quat()
    root = np.column_stack([np.linspace(0, 1, t), np.full(t, 1.0), np.zeros(t)])
    src = Animation(rig, root, rot, 30.0)
    bvh = parse_bvh(bvh_text(src, "m"), "eyes.bvh")
    source, target = retarget_bvh(bvh, rig_from_bvh(bvh, "m")[0])
    err = np.linalg.norm(target.positions() - source.positions(), axis=-1)  # (T, J) metres
    eyes = [rig.index("mixamorig:LeftEye"), rig.index("mixamorig:RightEye")]
    assert err[:, eyes].max() < 1e-3, f"eyes off by up to {1000 * err[:, eyes].max():.1f} mm"
    ends_src = source.points()
    ends_dst = target.points()
    for name in ("mixamorig:LeftEye/end", "mixamorig:RightEye/end"):
        assert np.linalg.norm(ends_dst[name] - ends_src[name], axis=-1).max() < 1e-3
    assert err.max() < 1e-3
