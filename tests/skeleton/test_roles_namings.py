"""Roles recognised on the skeletons of the characters users bring: the UE5 mannequin (twist
and IK bones), Rigify's deform bones (split limbs, no bone called head), a VRoid/VRM avatar
(J_Bip_), a Character Creator export (CC_Base_, legs from a pelvis beside the spine) and a
Daz Genesis figure (bend and twist bones). The hierarchies are those the tools write (bone
names and parents as published for each); the test is that each body joint gets its role."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.skeleton.roles import auto_roles


def _sided(chain: list[tuple[str, str]], sides: dict[str, str]) -> list[tuple[str, str]]:
    """``chain`` with ``{s}``/``{S}`` filled for each side (left and right)."""
    return [(n.format(**v), p.format(**v)) for v in sides.values() for n, p in chain]


def _ue5() -> list[tuple[str, str]]:
    bones = [("root", ""), ("pelvis", "root"), ("spine_01", "pelvis"), ("spine_02", "spine_01"),
             ("spine_03", "spine_02"), ("spine_04", "spine_03"), ("spine_05", "spine_04"),
             ("neck_01", "spine_05"), ("neck_02", "neck_01"), ("head", "neck_02"),
             ("ik_foot_root", "root"), ("ik_foot_l", "ik_foot_root"),
             ("ik_foot_r", "ik_foot_root"), ("ik_hand_root", "root"),
             ("ik_hand_gun", "ik_hand_root"), ("ik_hand_l", "ik_hand_gun"),
             ("ik_hand_r", "ik_hand_gun")]
    return bones + _sided([
        ("clavicle_{s}", "spine_05"), ("upperarm_{s}", "clavicle_{s}"),
        ("upperarm_twist_01_{s}", "upperarm_{s}"), ("lowerarm_{s}", "upperarm_{s}"),
        ("lowerarm_twist_01_{s}", "lowerarm_{s}"), ("hand_{s}", "lowerarm_{s}"),
        ("index_metacarpal_{s}", "hand_{s}"), ("index_01_{s}", "index_metacarpal_{s}"),
        ("thumb_01_{s}", "hand_{s}"), ("thigh_{s}", "pelvis"),
        ("thigh_twist_01_{s}", "thigh_{s}"), ("calf_{s}", "thigh_{s}"),
        ("calf_twist_01_{s}", "calf_{s}"), ("foot_{s}", "calf_{s}"), ("ball_{s}", "foot_{s}")],
        {"l": {"s": "l"}, "r": {"s": "r"}})


def _rigify() -> list[tuple[str, str]]:
    bones = [("DEF-spine", ""), ("DEF-spine.001", "DEF-spine"),
             ("DEF-spine.002", "DEF-spine.001"), ("DEF-spine.003", "DEF-spine.002"),
             ("DEF-spine.004", "DEF-spine.003"), ("DEF-spine.005", "DEF-spine.004"),
             ("DEF-spine.006", "DEF-spine.005"), ("DEF-jaw", "DEF-spine.006"),
             ("DEF-forehead.L", "DEF-spine.006"), ("DEF-breast.L", "DEF-spine.003"),
             ("DEF-breast.R", "DEF-spine.003")]
    return bones + _sided([
        ("DEF-pelvis.{S}", "DEF-spine"), ("DEF-thigh.{S}", "DEF-spine"),
        ("DEF-thigh.{S}.001", "DEF-thigh.{S}"), ("DEF-shin.{S}", "DEF-thigh.{S}.001"),
        ("DEF-shin.{S}.001", "DEF-shin.{S}"), ("DEF-foot.{S}", "DEF-shin.{S}.001"),
        ("DEF-toe.{S}", "DEF-foot.{S}"), ("DEF-shoulder.{S}", "DEF-spine.003"),
        ("DEF-upper_arm.{S}", "DEF-shoulder.{S}"),
        ("DEF-upper_arm.{S}.001", "DEF-upper_arm.{S}"),
        ("DEF-forearm.{S}", "DEF-upper_arm.{S}.001"),
        ("DEF-forearm.{S}.001", "DEF-forearm.{S}"), ("DEF-hand.{S}", "DEF-forearm.{S}.001"),
        ("DEF-thumb.01.{S}", "DEF-hand.{S}"), ("DEF-f_index.01.{S}", "DEF-hand.{S}")],
        {"l": {"S": "L"}, "r": {"S": "R"}})


def _vroid() -> list[tuple[str, str]]:
    bones = [("Root", ""), ("J_Bip_C_Hips", "Root"), ("J_Bip_C_Spine", "J_Bip_C_Hips"),
             ("J_Bip_C_Chest", "J_Bip_C_Spine"), ("J_Bip_C_UpperChest", "J_Bip_C_Chest"),
             ("J_Bip_C_Neck", "J_Bip_C_UpperChest"), ("J_Bip_C_Head", "J_Bip_C_Neck"),
             ("J_Adj_L_FaceEye", "J_Bip_C_Head"), ("J_Sec_Hair1_01", "J_Bip_C_Head")]
    return bones + _sided([
        ("J_Bip_{S}_UpperLeg", "J_Bip_C_Hips"), ("J_Bip_{S}_LowerLeg", "J_Bip_{S}_UpperLeg"),
        ("J_Bip_{S}_Foot", "J_Bip_{S}_LowerLeg"), ("J_Bip_{S}_ToeBase", "J_Bip_{S}_Foot"),
        ("J_Bip_{S}_Shoulder", "J_Bip_C_UpperChest"),
        ("J_Bip_{S}_UpperArm", "J_Bip_{S}_Shoulder"),
        ("J_Bip_{S}_LowerArm", "J_Bip_{S}_UpperArm"), ("J_Bip_{S}_Hand", "J_Bip_{S}_LowerArm"),
        ("J_Bip_{S}_Thumb1", "J_Bip_{S}_Hand"), ("J_Bip_{S}_Index1", "J_Bip_{S}_Hand")],
        {"l": {"S": "L"}, "r": {"S": "R"}})


def _character_creator() -> list[tuple[str, str]]:
    bones = [("CC_Base_BoneRoot", ""), ("CC_Base_Hip", "CC_Base_BoneRoot"),
             ("CC_Base_Pelvis", "CC_Base_Hip"), ("CC_Base_Waist", "CC_Base_Hip"),
             ("CC_Base_Spine01", "CC_Base_Waist"), ("CC_Base_Spine02", "CC_Base_Spine01"),
             ("CC_Base_NeckTwist01", "CC_Base_Spine02"),
             ("CC_Base_NeckTwist02", "CC_Base_NeckTwist01"),
             ("CC_Base_Head", "CC_Base_NeckTwist02")]
    return bones + _sided([
        ("CC_Base_{S}_Thigh", "CC_Base_Pelvis"), ("CC_Base_{S}_Calf", "CC_Base_{S}_Thigh"),
        ("CC_Base_{S}_CalfTwist01", "CC_Base_{S}_Calf"), ("CC_Base_{S}_Foot", "CC_Base_{S}_Calf"),
        ("CC_Base_{S}_ToeBase", "CC_Base_{S}_Foot"), ("CC_Base_{S}_Clavicle", "CC_Base_Spine02"),
        ("CC_Base_{S}_Upperarm", "CC_Base_{S}_Clavicle"),
        ("CC_Base_{S}_UpperarmTwist01", "CC_Base_{S}_Upperarm"),
        ("CC_Base_{S}_Forearm", "CC_Base_{S}_Upperarm"),
        ("CC_Base_{S}_ForearmTwist01", "CC_Base_{S}_Forearm"),
        ("CC_Base_{S}_Hand", "CC_Base_{S}_Forearm")],
        {"l": {"S": "L"}, "r": {"S": "R"}})


def _daz_genesis() -> list[tuple[str, str]]:
    bones = [("hip", ""), ("pelvis", "hip"), ("abdomenLower", "hip"),
             ("abdomenUpper", "abdomenLower"), ("chestLower", "abdomenUpper"),
             ("chestUpper", "chestLower"), ("neckLower", "chestUpper"),
             ("neckUpper", "neckLower"), ("head", "neckUpper")]
    return bones + _sided([
        ("{s}ThighBend", "pelvis"), ("{s}ThighTwist", "{s}ThighBend"),
        ("{s}Shin", "{s}ThighTwist"), ("{s}Foot", "{s}Shin"), ("{s}Toe", "{s}Foot"),
        ("{s}Collar", "chestUpper"), ("{s}ShldrBend", "{s}Collar"),
        ("{s}ShldrTwist", "{s}ShldrBend"), ("{s}ForearmBend", "{s}ShldrTwist"),
        ("{s}ForearmTwist", "{s}ForearmBend"), ("{s}Hand", "{s}ForearmTwist")],
        {"l": {"s": "l"}, "r": {"s": "r"}})


EXPECTED = {
    "ue5": (_ue5, {"hips": "pelvis", "chest": "spine_05", "neck": "neck_01", "head": "head",
                   "left_collar": "clavicle_l", "left_shoulder": "upperarm_l",
                   "left_elbow": "lowerarm_l", "left_wrist": "hand_l", "left_hip": "thigh_l",
                   "left_knee": "calf_l", "left_ankle": "foot_l", "left_toe": "ball_l",
                   "right_wrist": "hand_r", "right_knee": "calf_r"}),
    "rigify": (_rigify, {"hips": "DEF-spine", "chest": "DEF-spine.003",
                         "neck": "DEF-spine.004", "head": "DEF-spine.006",
                         "left_collar": "DEF-shoulder.L", "left_shoulder": "DEF-upper_arm.L",
                         "left_elbow": "DEF-forearm.L", "left_wrist": "DEF-hand.L",
                         "left_hip": "DEF-thigh.L", "left_knee": "DEF-shin.L",
                         "left_ankle": "DEF-foot.L", "left_toe": "DEF-toe.L",
                         "right_elbow": "DEF-forearm.R", "right_knee": "DEF-shin.R"}),
    "vroid": (_vroid, {"hips": "J_Bip_C_Hips", "chest": "J_Bip_C_UpperChest",
                       "neck": "J_Bip_C_Neck", "head": "J_Bip_C_Head",
                       "left_collar": "J_Bip_L_Shoulder", "left_shoulder": "J_Bip_L_UpperArm",
                       "left_elbow": "J_Bip_L_LowerArm", "left_wrist": "J_Bip_L_Hand",
                       "left_hip": "J_Bip_L_UpperLeg", "left_knee": "J_Bip_L_LowerLeg",
                       "left_ankle": "J_Bip_L_Foot", "left_toe": "J_Bip_L_ToeBase",
                       "right_wrist": "J_Bip_R_Hand"}),
    "character_creator": (_character_creator, {
        "hips": "CC_Base_Hip", "spine": "CC_Base_Waist", "chest": "CC_Base_Spine02",
        "neck": "CC_Base_NeckTwist01", "head": "CC_Base_Head",
        "left_collar": "CC_Base_L_Clavicle", "left_shoulder": "CC_Base_L_Upperarm",
        "left_elbow": "CC_Base_L_Forearm", "left_wrist": "CC_Base_L_Hand",
        "left_hip": "CC_Base_L_Thigh", "left_knee": "CC_Base_L_Calf",
        "left_ankle": "CC_Base_L_Foot", "left_toe": "CC_Base_L_ToeBase"}),
    "daz_genesis": (_daz_genesis, {
        "hips": "hip", "spine": "abdomenLower", "chest": "chestUpper", "neck": "neckLower",
        "head": "head", "left_collar": "lCollar", "left_shoulder": "lShldrBend",
        "left_elbow": "lForearmBend", "left_wrist": "lHand", "left_hip": "lThighBend",
        "left_knee": "lShin", "left_ankle": "lFoot", "left_toe": "lToe",
        "right_elbow": "rForearmBend"}),
}


@pytest.mark.parametrize("naming", sorted(EXPECTED))
def test_each_characters_skeleton_is_recognised(naming):
    make, expected = EXPECTED[naming]
    bones = make()
    names = tuple(n for n, _ in bones)
    parents = np.array([names.index(p) if p else -1 for _, p in bones])
    leaves = np.array([i not in parents for i in range(len(names))])
    roles, _, missing = auto_roles(names, parents, leaves)
    assert missing == []
    got = {r: names[i] for i, r in enumerate(roles) if r}
    for role, bone in expected.items():
        assert got.get(role) == bone, (naming, role, got.get(role), bone)
    # twist, IK, breast and face bones take no body role (CC's neck bone is NeckTwist01)
    for i, name in enumerate(names):
        if name not in expected.values() and any(
                w in name.lower() for w in ("twist", "ik_", "jaw", "forehead", "eye", "hair",
                                            "breast")):
            assert roles[i] is None, (naming, name, roles[i])


@pytest.mark.parametrize("preset", ["ue5", "rigify", "vrm"])
def test_presets_are_the_mixamo_body_under_each_tools_names(preset):
    """rigs/ue5.toml, rigify.toml and vrm.toml: every role the file declares is the one
    mocap recognises from the names alone (so a character of that kind, read by name,
    maps the same way), three joints per finger, and each role where mixamo's is."""
    from mocap.retarget.fingers import finger_chains
    from mocap.skeleton.rig import load_rig

    rig, mixamo = load_rig(preset), load_rig("mixamo")
    assert rig.missing_required() == []
    leaves = np.isfinite(rig.end_sites[:, 0])
    roles, _, missing = auto_roles(rig.joints, rig.parents, leaves)
    assert missing == []
    for j, role in enumerate(rig.roles):
        if role in ("hips", "chest", "neck", "head") or (
                role and role.startswith(("left_", "right_")) and role.split("_", 1)[1] in (
                    "collar", "shoulder", "elbow", "wrist", "hip", "knee", "ankle", "toe")):
            assert roles[j] == role, (preset, rig.joints[j], roles[j], role)
    chains = finger_chains(rig)
    assert {len(c) for side in chains.values() for c in side.values()} == {3}
    ours, theirs = rig.points(), mixamo.points()
    for role in ("hips", "chest", "head", "left_wrist", "right_ankle", "left_toe_end",
                 "head_top"):
        np.testing.assert_allclose(ours[role], theirs[role], atol=1e-3)
