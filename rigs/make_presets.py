"""Write the ue5, rigify and vrm presets (``rigs/<name>.toml``) from the mixamo rig's T-pose.

Each preset is the same body as ``mixamo.toml`` (a 1.75 m adult, T-pose, facing +Z) with
that tool's bone names and chain layout, so a BVH written on it lands on a character of
that kind by name:

* ``ue5``: the UE5 mannequin's ``root`` (at the floor), ``pelvis``, ``spine_01..05``,
  ``neck_01..02``, ``head``, ``clavicle_l``, ``upperarm_l``, ``lowerarm_l``, ``hand_l``,
  fingers ``thumb_01_l..03`` ... ``pinky_01_l..03``, ``thigh_l``, ``calf_l``, ``foot_l``,
  ``ball_l``;
* ``rigify``: Rigify's deform bones ``DEF-spine`` ... ``DEF-spine.006``, ``DEF-shoulder.L``,
  ``DEF-upper_arm.L``, ``DEF-forearm.L``, ``DEF-hand.L``, ``DEF-thumb.01.L`` ...
  ``DEF-f_pinky.03.L``, ``DEF-thigh.L``, ``DEF-shin.L``, ``DEF-foot.L``, ``DEF-toe.L``;
* ``vrm``: VRoid's ``J_Bip_C_Hips`` ... ``J_Bip_C_Head``, ``J_Bip_L_Shoulder``,
  ``J_Bip_L_UpperArm``, ``J_Bip_L_LowerArm``, ``J_Bip_L_Hand``, ``J_Bip_L_Thumb1..3`` ...
  ``J_Bip_L_Little1..3``, ``J_Bip_L_UpperLeg``, ``J_Bip_L_LowerLeg``, ``J_Bip_L_Foot``,
  ``J_Bip_L_ToeBase``.

Usage (from the repository root)::

    .venv/bin/python rigs/make_presets.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.skeleton.rig import load_rig  # noqa: E402

FINGERS = ("Thumb", "Index", "Middle", "Ring", "Pinky")


def _mixamo() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Rest positions and End Sites of the mixamo rig by short name (no prefix)."""
    rig = load_rig("mixamo")
    pos = rig.rest_positions()
    names = [n.split(":", 1)[1] for n in rig.joints]
    return dict(zip(names, pos, strict=True)), dict(zip(names, rig.end_sites, strict=True))


def _preset(kind: str) -> list[tuple[str, str, np.ndarray, str | None, np.ndarray | None,
                                     str | None]]:
    """(name, parent, position, role, end offset or None, end role) per joint."""
    p, end = _mixamo()
    mid = lambda a, b: 0.5 * (p[a] + p[b])  # noqa: E731
    head_top = p["HeadTop_End"] - p["Head"]  # where mixamo's head_top and toe_end roles sit
    joints = []

    def add(name, parent, position, role=None, end_at=None, end_role=None):
        joints.append((name, parent, np.asarray(position, float), role, end_at, end_role))

    if kind == "ue5":
        add("root", "", [0.0, 0.0, 0.0])
        add("pelvis", "root", p["Hips"], "hips")
        trunk = [p["Spine"], mid("Spine", "Spine1"), p["Spine1"], mid("Spine1", "Spine2"),
                 p["Spine2"]]
        parent = "pelvis"
        for i, at in enumerate(trunk, 1):
            add(f"spine_0{i}", parent, at, {1: "spine", 5: "chest"}.get(i))
            parent = f"spine_0{i}"
        add("neck_01", "spine_05", p["Neck"], "neck")
        add("neck_02", "neck_01", mid("Neck", "Head"))
        add("head", "neck_02", p["Head"], "head", head_top, "head_top")
        side_names = {"collar": "clavicle_{s}", "shoulder": "upperarm_{s}",
                      "elbow": "lowerarm_{s}", "wrist": "hand_{s}", "hip": "thigh_{s}",
                      "knee": "calf_{s}", "ankle": "foot_{s}", "toe": "ball_{s}",
                      "finger": "{f}_0{k}_{s}"}
        sides = {"Left": "l", "Right": "r"}
        chest = "spine_05"
        hips = "pelvis"
    elif kind == "rigify":
        add("DEF-spine", "", p["Hips"], "hips")
        add("DEF-spine.001", "DEF-spine", p["Spine"], "spine")
        add("DEF-spine.002", "DEF-spine.001", p["Spine1"])
        add("DEF-spine.003", "DEF-spine.002", p["Spine2"], "chest")
        add("DEF-spine.004", "DEF-spine.003", p["Neck"], "neck")
        add("DEF-spine.005", "DEF-spine.004", mid("Neck", "Head"))
        add("DEF-spine.006", "DEF-spine.005", p["Head"], "head", head_top, "head_top")
        side_names = {"collar": "DEF-shoulder.{s}", "shoulder": "DEF-upper_arm.{s}",
                      "elbow": "DEF-forearm.{s}", "wrist": "DEF-hand.{s}",
                      "hip": "DEF-thigh.{s}", "knee": "DEF-shin.{s}", "ankle": "DEF-foot.{s}",
                      "toe": "DEF-toe.{s}", "finger": "DEF-{f}.0{k}.{s}"}
        sides = {"Left": "L", "Right": "R"}
        chest, hips = "DEF-spine.003", "DEF-spine"
    else:
        add("J_Bip_C_Hips", "", p["Hips"], "hips")
        add("J_Bip_C_Spine", "J_Bip_C_Hips", p["Spine"], "spine")
        add("J_Bip_C_Chest", "J_Bip_C_Spine", p["Spine1"])
        add("J_Bip_C_UpperChest", "J_Bip_C_Chest", p["Spine2"], "chest")
        add("J_Bip_C_Neck", "J_Bip_C_UpperChest", p["Neck"], "neck")
        add("J_Bip_C_Head", "J_Bip_C_Neck", p["Head"], "head", head_top, "head_top")
        side_names = {"collar": "J_Bip_{s}_Shoulder", "shoulder": "J_Bip_{s}_UpperArm",
                      "elbow": "J_Bip_{s}_LowerArm", "wrist": "J_Bip_{s}_Hand",
                      "hip": "J_Bip_{s}_UpperLeg", "knee": "J_Bip_{s}_LowerLeg",
                      "ankle": "J_Bip_{s}_Foot", "toe": "J_Bip_{s}_ToeBase",
                      "finger": "J_Bip_{s}_{f}{k}"}
        sides = {"Left": "L", "Right": "R"}
        chest, hips = "J_Bip_C_UpperChest", "J_Bip_C_Hips"
    finger_word = {"ue5": {"Thumb": "thumb", "Index": "index", "Middle": "middle",
                           "Ring": "ring", "Pinky": "pinky"},
                   "rigify": {"Thumb": "thumb", "Index": "f_index", "Middle": "f_middle",
                              "Ring": "f_ring", "Pinky": "f_pinky"},
                   "vrm": {"Thumb": "Thumb", "Index": "Index", "Middle": "Middle",
                           "Ring": "Ring", "Pinky": "Little"}}[kind]
    for side, s in sides.items():
        name = {k: v.format(s=s, f="{f}", k="{k}") for k, v in side_names.items()}
        role = side.lower()
        add(name["collar"], chest, p[f"{side}Shoulder"], f"{role}_collar")
        add(name["shoulder"], name["collar"], p[f"{side}Arm"], f"{role}_shoulder")
        add(name["elbow"], name["shoulder"], p[f"{side}ForeArm"], f"{role}_elbow")
        add(name["wrist"], name["elbow"], p[f"{side}Hand"], f"{role}_wrist")
        for finger in FINGERS:
            parent = name["wrist"]
            for k in (1, 2, 3):
                bone = name["finger"].format(f=finger_word[finger], k=k)
                tip = (p[f"{side}Hand{finger}4"] + np.nan_to_num(end[f"{side}Hand{finger}4"])
                       - p[f"{side}Hand{finger}3"]) if k == 3 else None
                first = k == 1 and finger in ("Thumb", "Index", "Pinky")
                add(bone, parent, p[f"{side}Hand{finger}{k}"],
                    f"{role}_{finger.lower()}" if first else None, tip)
                parent = bone
        add(name["hip"], hips, p[f"{side}UpLeg"], f"{role}_hip")
        add(name["knee"], name["hip"], p[f"{side}Leg"], f"{role}_knee")
        add(name["ankle"], name["knee"], p[f"{side}Foot"], f"{role}_ankle")
        toe_tip = p[f"{side}Toe_End"] - p[f"{side}ToeBase"]
        add(name["toe"], name["ankle"], p[f"{side}ToeBase"], f"{role}_toe", toe_tip,
            f"{role}_toe_end")
    return joints


DESCRIPTIONS = {
    "ue5": "Unreal Engine 5 mannequin names (root, pelvis, spine_01..05, clavicle_l ...), "
           "T-pose",
    "rigify": "Rigify deform bones (DEF-spine ... DEF-spine.006, DEF-upper_arm.L ...), T-pose",
    "vrm": "VRoid / VRM avatar bones (J_Bip_C_Hips, J_Bip_L_UpperArm ...), T-pose",
}


def _vec(v: np.ndarray) -> str:
    return "[" + ", ".join(f"{x:.4f}" for x in np.where(np.abs(v) < 5e-5, 0.0, v)) + "]"


def write(kind: str, path: Path) -> None:
    joints = _preset(kind)
    pos = {name: at for name, _, at, *_ in joints}
    lines = ["# Written by rigs/make_presets.py: the mixamo rig's body and fingers under",
             f"# {kind}'s bone names. Y up, facing +Z, character left = +X; metres.",
             f'name = "{kind}"', f'description = "{DESCRIPTIONS[kind]}"', 'units = "m"', ""]
    for name, parent, at, role, end_at, end_role in joints:
        offset = at - (pos[parent] if parent else 0.0)
        lines += ["[[joints]]", f'name = "{name}"', f'parent = "{parent}"',
                  f"offset = {_vec(offset)}"]
        if role:
            lines.append(f'role = "{role}"')
        if end_at is not None:
            lines.append(f"end = {_vec(end_at)}")
        if end_role:
            lines.append(f'end_role = "{end_role}"')
        lines.append("")
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    for kind in ("ue5", "rigify", "vrm"):
        write(kind, ROOT / "rigs" / f"{kind}.toml")
        print(f"rigs/{kind}.toml: {len(load_rig(kind))} joints")
