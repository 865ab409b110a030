"""Real Blender check of finger motion: a clip whose fingers curl and open (retargeted from
hand landmarks made from known angles, one finger pushed backwards past its limits) is
written as BVH and FBX by the product's exporters and imported in Blender, whose finger
bones must turn over the clip, sit where ours do, and never bend backwards."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.export.blender import SCRIPT, export_bvh_files, run_blender_json
from mocap.export.bvh import write_bvh
from mocap.retarget.fingers import LIMITS, apply_fingers
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from tests.finger_poses import FINGERS, SIDES, hand_landmarks, joint_names, posed

pytestmark = [pytest.mark.blender, pytest.mark.slow]

REPORT = SCRIPT.parent / "anim_report.py"
T = 30
BACKWARDS = "ring"  # the finger whose landmarks bend its middle joint backwards too


@pytest.fixture(scope="module")
def blender(blender_python):
    return blender_python


def _clip() -> Animation:
    """30 frames: every finger curls and opens once (knuckle 0..60, middle joint 0..90, end
    joint 0..60 degrees, some abduction, the thumb less); the ring finger's middle joint
    goes from 60 degrees forwards to 60 backwards. The body holds a fixed, non-rest pose."""
    rig = load_rig("mixamo")
    phase = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(T) / T)  # 0 -> 1 -> 0
    angles = {}
    for side in SIDES:
        for finger in FINGERS:
            if finger == "thumb":
                flex = np.outer(phase, [20.0, 40.0, 40.0])
            else:
                flex = np.outer(phase, [60.0, 90.0, 60.0])
            if finger == BACKWARDS:
                flex[:, 1] = 60.0 * np.cos(2 * np.pi * np.arange(T) / T)
            angles[side, finger] = (flex, 10.0 * np.sin(2 * np.pi * np.arange(T) / T))
    rng = np.random.default_rng(0)
    body = np.tile(Rotation.from_rotvec(rng.normal(scale=0.2, size=(len(rig), 3))).as_quat(),
                   (T, 1, 1))
    finger_joints = [rig.index(n) for s in SIDES for f in FINGERS for n in joint_names(s, f)]
    body[:, finger_joints] = [0.0, 0.0, 0.0, 1.0]
    truth = posed(rig, angles, body)
    rest = Animation(rig, truth.root_translation, body, truth.fps)
    return apply_fingers(rest, hand_landmarks(truth, seed=5), np.ones((T, 2)))


def _to_blender(p: np.ndarray) -> np.ndarray:
    """Our axes (Y up, facing +Z) -> Blender's after import (Z up): (x, y, z) -> (x, -z, y)."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _angle(r: np.ndarray) -> np.ndarray:
    """(...,) rotation angles, degrees, of (..., 3, 3) rotation matrices."""
    cos = 0.5 * (np.trace(r, axis1=-2, axis2=-1) - 1.0)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def _bends(heads: np.ndarray, bones: list[str], side: str, finger: str) -> np.ndarray:
    """(F, 3) signed flexion, degrees, of a finger's joints from Blender's bone heads (the
    knuckle from the palm plane, the others from the bone before; towards the palm > 0)."""
    at = {n: heads[:, bones.index(n)] for n in bones}
    wrist = at[f"mixamorig:{side.title()}Hand"]
    f = at[joint_names(side, "middle")[0]] - wrist
    lat = at[joint_names(side, "index")[0]] - at[joint_names(side, "pinky")[0]]
    n = np.cross(f, lat) * (1.0 if side == "left" else -1.0)  # the palm side on both hands
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    hinge = np.cross(f, n)
    hinge /= np.linalg.norm(hinge, axis=-1, keepdims=True)
    pts = np.stack([at[j] for j in joint_names(side, finger)], axis=1)
    seg = np.diff(pts, axis=1)
    seg /= np.linalg.norm(seg, axis=-1, keepdims=True)
    out = np.empty((len(heads), 3))
    out[:, 0] = np.degrees(np.arcsin(np.clip(np.einsum("fi,fi->f", seg[:, 0], n), -1, 1)))
    for k in (1, 2):
        prev, cur = seg[:, k - 1], seg[:, k]
        out[:, k] = np.degrees(np.arctan2(np.einsum("fi,fi->f", np.cross(prev, cur), hinge),
                                          np.einsum("fi,fi->f", prev, cur)))
    return out


@pytest.fixture(scope="module")
def reports(blender, tmp_path_factory):
    """(our animation, {"bvh": report, "fbx": report}) of the clip imported in Blender."""
    tmp = tmp_path_factory.mktemp("fingers")
    anim = _clip()
    bvh = write_bvh(anim, tmp / "fingers.bvh")
    (fbx,) = export_bvh_files([bvh], "fbx", tmp / "out")
    return anim, {kind: run_blender_json(REPORT, {"path": str(path), "frames": None,
                                                  "fps": None})
                  for kind, path in (("bvh", bvh), ("fbx", fbx))}


@pytest.mark.parametrize("kind", ["bvh", "fbx"])
def test_finger_bones_turn_in_blender_within_their_limits(reports, kind):
    anim, reps = reports
    rep = reps[kind]
    bones = rep["bones"]
    assert bones == list(anim.rig.joints)
    heads = np.array(rep["heads"])
    assert heads.shape == (T, len(bones), 3)
    # Blender's finger joints are ours
    err = np.linalg.norm(heads - _to_blender(anim.positions()), axis=-1)
    assert err.max() < 1e-3, f"{err.max() * 1000:.3f} mm"
    rots = np.array(rep["rotations"])
    parent = {n: anim.rig.joints[p] for n, p in zip(anim.rig.joints, anim.rig.parents,
                                                    strict=True) if p >= 0}
    ranges, lowest = {}, {}
    for side in SIDES:
        for finger in FINGERS:
            names = joint_names(side, finger)[:3]
            for name in names:  # each joint's turn relative to its parent, over the clip
                i, p = bones.index(name), bones.index(parent[name])
                local = np.swapaxes(rots[:, p], -1, -2) @ rots[:, i]
                ranges[name] = _angle(np.swapaxes(local[:1], -1, -2) @ local).max()
                assert ranges[name] > (8.0 if finger == "thumb" else 20.0), (name, ranges[name])
            bends = _bends(heads, bones, side, finger)
            lowest[side, finger] = bends.min(0)
            if finger == "thumb":
                continue
            lim = [LIMITS[k].flex for k in ("mcp", "pip", "dip")]
            for k in range(3):
                assert (bends[:, k] >= lim[k][0] - 1.0).all(), (side, finger, k, bends[:, k])
                assert (bends[:, k] <= lim[k][1] + 1.0).all(), (side, finger, k, bends[:, k])
            assert bends[:, 1].max() > (50.0 if finger == BACKWARDS else 80.0)  # they curl
    mid = [ranges[joint_names(s, f)[1]] for s in SIDES for f in FINGERS[1:]]
    print(f"{kind.upper()} in Blender: finger joint turns over the clip {min(ranges.values()):.1f}"
          f"..{max(ranges.values()):.1f} deg (middle joints >= {min(mid):.1f}); lowest "
          f"{BACKWARDS} middle-joint bend {min(lowest[s, BACKWARDS][1] for s in SIDES):.2f} deg "
          f"(landmarks: -60)")
