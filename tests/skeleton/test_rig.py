"""Rigs: shipped files are valid T-poses; joints recognised by name across namings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.io.bvh import read_bvh
from mocap.skeleton.rig import Rig, available_rigs, load_rig, rig_from_bvh, rigs_dir
from mocap.skeleton.roles import REQUIRED_ROLES, auto_roles
from mocap.units import detect_unit
from tests.helpers import BVH_FILES, SHARED_DATA
from tests.helpers import needs_bvh_files as needs_data

DATA = SHARED_DATA


def _angle(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1, 1)))


def test_rigs_ship_in_top_level_rigs_folder():
    assert rigs_dir() == Path(__file__).resolve().parents[2] / "rigs"
    assert {"cmu", "mixamo", "smpl"} <= set(available_rigs())


@pytest.mark.parametrize(("name", "joints"), [("cmu", 31), ("mixamo", 65), ("smpl", 24)])
def test_shipped_rigs_are_valid(name, joints):
    rig = load_rig(name)
    assert len(rig) == joints
    assert rig.missing_required() == []
    assert (rig.parents[1:] < np.arange(1, len(rig))).all()


@pytest.mark.parametrize("name", ["mixamo", "smpl"])
def test_shipped_rigs_are_t_poses_facing_z(name):
    rig = load_rig(name)
    pts = rig.points()
    for side, sx in (("left", 1), ("right", -1)):
        arm = pts[f"{side}_wrist"] - pts[f"{side}_shoulder"]
        assert _angle(arm, [sx, 0, 0]) < 10, "arms horizontal, sideways"
        leg = pts[f"{side}_ankle"] - pts[f"{side}_hip"]
        assert _angle(leg, [0, -1, 0]) < 10, "legs straight down"
        foot = pts[f"{side}_toe"] - pts[f"{side}_ankle"]
        assert foot[2] > 0.05, "toes point to +Z"
        assert np.sign(pts[f"{side}_hip"][0]) == sx, "character's left is +X"
    assert pts["head"][1] > pts["chest"][1] > pts["hips"][1]
    low = min(p[1] for p in pts.values())
    assert abs(low) < 0.03, "feet on the ground (y = 0)"
    assert 1.5 < rig.height() < 1.95


def test_mixamo_and_smpl_names():
    mixamo = load_rig("mixamo")
    assert all(n.startswith("mixamorig:") for n in mixamo.joints)
    smpl = load_rig("smpl")
    assert smpl.joints[:4] == ("pelvis", "left_hip", "right_hip", "spine1")
    assert smpl.joints[-2:] == ("left_hand", "right_hand")


def test_unknown_rig_name_lists_valid_names():
    with pytest.raises(InputError,
                       match=r"unknown rig 'robot'.*cmu, mixamo, rigify, smpl, ue5, vrm"):
        load_rig("robot")


def test_rig_file_missing_a_required_joint(tmp_path):
    text = (rigs_dir() / "mixamo.toml").read_text()
    text = text.replace('role = "left_elbow"\n', "")
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_rig(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:") and "left_elbow" in msg and "\n" not in msg


def test_rig_file_parent_after_child(tmp_path):
    path = tmp_path / "order.toml"
    path.write_text('name = "x"\n[[joints]]\nname = "a"\nparent = ""\noffset = [0, 1, 0]\n'
                    '[[joints]]\nname = "b"\nparent = "c"\noffset = [0, 1, 0]\n')
    with pytest.raises(InputError, match=r"order\.toml:\d+: joint 'b': parent 'c' is not "
                                         "defined before it"):
        load_rig(path)


def test_rig_validates_shapes_and_order():
    with pytest.raises(ValueError, match=r"`offsets` must have shape \(J, 3\)"):
        Rig("x", ("a", "b"), [-1, 0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="topological"):
        Rig("x", ("a", "b", "c"), [-1, 2, 0], np.zeros((3, 3)))


DAZ = {  # Daz / Second Life naming
    "hip": "", "abdomen": "hip", "chest": "abdomen", "neck": "chest", "head": "neck",
    "lCollar": "chest", "lShldr": "lCollar", "lForeArm": "lShldr", "lHand": "lForeArm",
    "rCollar": "chest", "rShldr": "rCollar", "rForeArm": "rShldr", "rHand": "rForeArm",
    "lThigh": "hip", "lShin": "lThigh", "lFoot": "lShin",
    "rThigh": "hip", "rShin": "rThigh", "rFoot": "rShin",
}


def _roles_of(tree: dict[str, str]) -> dict[str, str]:
    names = tuple(tree)
    parents = np.array([names.index(p) if p else -1 for p in tree.values()])
    has_end = np.array([n not in tree.values() for n in names])
    roles, _, missing = auto_roles(names, parents, has_end)
    assert missing == []
    return {r: n for n, r in zip(names, roles, strict=True) if r}


def test_daz_second_life_names():
    r = _roles_of(DAZ)
    assert r["hips"] == "hip" and r["spine"] == "abdomen" and r["chest"] == "chest"
    assert r["left_shoulder"] == "lShldr" and r["left_collar"] == "lCollar"
    assert r["left_knee"] == "lShin" and r["right_ankle"] == "rFoot"


@pytest.mark.parametrize("rig", ["mixamo", "smpl", "cmu"])
def test_shipped_rig_names_are_recognised_without_their_roles(rig):
    """Auto-mapping a rig's names reproduces the roles written in its file."""
    r = load_rig(rig)
    roles, _, missing = auto_roles(r.joints, r.parents, ~np.isnan(r.end_sites[:, 0]))
    assert missing == []
    for want in REQUIRED_ROLES:
        if want in r.roles:
            assert roles[r.roles.index(want)] == want


@needs_data
@pytest.mark.parametrize("path", BVH_FILES, ids=lambda p: p.stem)
def test_cmu_bvh_as_rig(path):
    rig, scale = rig_from_bvh(read_bvh(path))
    assert scale == pytest.approx(0.0254 / 0.45)  # the CMU ASF unit, recognised
    assert rig.missing_required() == []
    r = dict(zip(rig.roles, rig.joints, strict=True))
    # MotionBuilder (LeftArm) and 3dsMax (LeftShoulder = upper arm) namings both resolve
    assert r["left_shoulder"] in ("LeftArm", "LeftShoulder")
    assert r["left_collar"] in ("LeftShoulder", "LeftCollar")
    assert r["chest"] in ("Spine1", "Chest2")
    assert 1.2 < rig.height() < 2.0  # CMU units recognised: metres after loading


def test_bvh_rig_with_unrecognisable_joints(tmp_path):
    path = tmp_path / "robot.bvh"
    path.write_text("HIERARCHY\nROOT base\n{\n OFFSET 0 0 0\n CHANNELS 3 Zrotation Xrotation "
                    "Yrotation\n JOINT arm\n {\n  OFFSET 0 1 0\n  CHANNELS 3 Zrotation "
                    "Xrotation Yrotation\n  End Site\n  {\n   OFFSET 0 1 0\n  }\n }\n}\n"
                    "MOTION\nFrames: 0\nFrame Time: 0.04\n")
    with pytest.raises(InputError) as info:
        load_rig(path)
    msg = str(info.value)
    assert "cannot recognise required joints" in msg and "left_wrist" in msg
    assert "base, arm" in msg


@pytest.mark.parametrize(("height", "unit"), [(1.7, "m"), (170, "cm"), (1750, "mm"),
                                              (30.5, "cmu"), (68, "in")])
def test_detect_unit(height, unit):
    assert detect_unit(height) == unit


UNREAL = {  # UE mannequin naming (side suffix _l/_r)
    "root": "", "pelvis": "root", "spine_01": "pelvis", "spine_02": "spine_01",
    "spine_03": "spine_02", "neck_01": "spine_03", "head": "neck_01",
    "clavicle_l": "spine_03", "upperarm_l": "clavicle_l", "lowerarm_l": "upperarm_l",
    "hand_l": "lowerarm_l", "clavicle_r": "spine_03", "upperarm_r": "clavicle_r",
    "lowerarm_r": "upperarm_r", "hand_r": "lowerarm_r", "thigh_l": "pelvis",
    "calf_l": "thigh_l", "foot_l": "calf_l", "ball_l": "foot_l", "thigh_r": "pelvis",
    "calf_r": "thigh_r", "foot_r": "calf_r", "ball_r": "foot_r",
}
BIPED = {  # 3ds Max Biped naming
    "Bip01": "", "Bip01 Pelvis": "Bip01", "Bip01 Spine": "Bip01 Pelvis",
    "Bip01 Spine1": "Bip01 Spine", "Bip01 Neck": "Bip01 Spine1", "Bip01 Head": "Bip01 Neck",
    "Bip01 L Clavicle": "Bip01 Neck", "Bip01 L UpperArm": "Bip01 L Clavicle",
    "Bip01 L Forearm": "Bip01 L UpperArm", "Bip01 L Hand": "Bip01 L Forearm",
    "Bip01 R Clavicle": "Bip01 Neck", "Bip01 R UpperArm": "Bip01 R Clavicle",
    "Bip01 R Forearm": "Bip01 R UpperArm", "Bip01 R Hand": "Bip01 R Forearm",
    "Bip01 L Thigh": "Bip01 Pelvis", "Bip01 L Calf": "Bip01 L Thigh",
    "Bip01 L Foot": "Bip01 L Calf", "Bip01 L Toe0": "Bip01 L Foot",
    "Bip01 R Thigh": "Bip01 Pelvis", "Bip01 R Calf": "Bip01 R Thigh",
    "Bip01 R Foot": "Bip01 R Calf", "Bip01 R Toe0": "Bip01 R Foot",
}


def test_unreal_and_biped_names():
    r = _roles_of(UNREAL)
    assert r["hips"] == "pelvis" and r["chest"] == "spine_03" and r["neck"] == "neck_01"
    assert r["left_shoulder"] == "upperarm_l" and r["right_knee"] == "calf_r"
    assert r["left_toe"] == "ball_l" and r["spine"] == "spine_01"
    r = _roles_of(BIPED)
    assert r["hips"] == "Bip01 Pelvis" and r["chest"] == "Bip01 Neck"
    assert r["left_collar"] == "Bip01 L Clavicle" and r["left_wrist"] == "Bip01 L Hand"
    assert r["right_ankle"] == "Bip01 R Foot" and r["right_toe"] == "Bip01 R Toe0"


def test_rig_file_must_be_y_up_facing_z(tmp_path):
    text = (rigs_dir() / "smpl.toml").read_text()
    # mirror X: the character's left would be at -X
    lines = []
    for line in text.splitlines():
        if line.startswith(("offset = [", "end = [")):
            head, vals = line.split("[", 1)
            v = [float(x) for x in vals.rstrip("]").split(",")]
            line = f"{head}[{-v[0]}, {v[1]}, {v[2]}]"
        lines.append(line)
    path = tmp_path / "mirrored.toml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"mirrored\.toml:1: rig 'smpl': the left side is not "
                                         r"at \+X"):
        load_rig(path)
