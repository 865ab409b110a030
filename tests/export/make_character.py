"""Inside Blender: make a test character and export it (``python make_character.py
REQUEST.json RESULT.json``, run by tests through mocap's Blender environment).

Request: ``{"naming": "ue5" | "rigify" | "vrm" | "generic", "pose": "A" | "T", "mesh": true,
"outputs": ["x.glb", "x.fbx"], "facing": "-Y" | "+Y", "extra_armature": false,
"armature": true, "fingers": false}`` (``generic``: bones named ``bone_00``...;
``armature`` false: the mesh alone is exported; ``fingers``: five three-bone fingers per
hand, named as the tool names them).
A 1.78 m humanoid armature in Blender's convention (Z up, facing -Y, its left at +X)
with that tool's bone names (UE5 mannequin with twist and IK bones; Rigify deform bones
with split limbs; VRoid ``J_Bip_``), its arms 45 degrees down (A) or level (T), and a
mesh skinned to it (a box around each deform bone, every vertex weighted 1 to it) with a
material. Result: ``{"bones": N, "deform": N, "vertices": N}``.
"""

import json
import math
import sys

import bpy
from mathutils import Matrix, Vector


def _args() -> list[str]:
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


# generic joint -> (parent, head, tail) in metres, Blender axes, arms level (T pose)
BODY = {
    "root": (None, (0, 0, 0), (0, 0.2, 0)),
    "hips": ("root", (0, 0, 0.98), (0, 0, 1.08)),
    "spine": ("hips", (0, 0, 1.08), (0, 0, 1.22)),
    "chest": ("spine", (0, 0, 1.22), (0, 0, 1.42)),
    "neck": ("chest", (0, 0, 1.45), (0, 0, 1.56)),
    "head": ("neck", (0, 0, 1.56), (0, 0, 1.78)),
    **{f"{s}_{k}": (p if p in ("chest", "hips") else f"{s}_{p}", h, t)
       for s, x in (("l", 1), ("r", -1)) for k, (p, h, t) in {
        "collar": ("chest", (0.03 * x, 0, 1.42), (0.17 * x, 0, 1.43)),
        "upperarm": ("collar", (0.17 * x, 0, 1.43), (0.45 * x, 0, 1.43)),
        "forearm": ("upperarm", (0.45 * x, 0, 1.43), (0.70 * x, 0, 1.43)),
        "hand": ("forearm", (0.70 * x, 0, 1.43), (0.78 * x, 0, 1.43)),
        "thigh": ("hips", (0.10 * x, 0, 0.95), (0.10 * x, 0, 0.52)),
        "calf": ("thigh", (0.10 * x, 0, 0.52), (0.10 * x, 0, 0.09)),
        "foot": ("calf", (0.10 * x, 0, 0.09), (0.10 * x, -0.12, 0.03)),
        "toe": ("foot", (0.10 * x, -0.12, 0.03), (0.10 * x, -0.19, 0.03)),
    }.items()},
}
# split segments (twist or continuation bones) and helpers of each naming
SPLIT = ("upperarm", "forearm", "thigh", "calf")


def _names(naming: str) -> dict[str, str]:
    if naming == "generic":  # nothing a reader could recognise
        return {key: f"bone_{i:02d}" for i, key in enumerate(BODY)}
    out = {}
    for s in ("l", "r"):
        S = s.upper()
        if naming == "ue5":
            out.update({f"{s}_collar": f"clavicle_{s}", f"{s}_upperarm": f"upperarm_{s}",
                        f"{s}_forearm": f"lowerarm_{s}", f"{s}_hand": f"hand_{s}",
                        f"{s}_thigh": f"thigh_{s}", f"{s}_calf": f"calf_{s}",
                        f"{s}_foot": f"foot_{s}", f"{s}_toe": f"ball_{s}"})
        elif naming == "rigify":
            out.update({f"{s}_collar": f"DEF-shoulder.{S}",
                        f"{s}_upperarm": f"DEF-upper_arm.{S}",
                        f"{s}_forearm": f"DEF-forearm.{S}", f"{s}_hand": f"DEF-hand.{S}",
                        f"{s}_thigh": f"DEF-thigh.{S}", f"{s}_calf": f"DEF-shin.{S}",
                        f"{s}_foot": f"DEF-foot.{S}", f"{s}_toe": f"DEF-toe.{S}"})
        else:
            out.update({f"{s}_collar": f"J_Bip_{S}_Shoulder",
                        f"{s}_upperarm": f"J_Bip_{S}_UpperArm",
                        f"{s}_forearm": f"J_Bip_{S}_LowerArm", f"{s}_hand": f"J_Bip_{S}_Hand",
                        f"{s}_thigh": f"J_Bip_{S}_UpperLeg", f"{s}_calf": f"J_Bip_{S}_LowerLeg",
                        f"{s}_foot": f"J_Bip_{S}_Foot", f"{s}_toe": f"J_Bip_{S}_ToeBase"})
    trunk = {"ue5": ("root", "pelvis", "spine_01", "spine_03", "neck_01", "head"),
             "rigify": ("root", "DEF-spine", "DEF-spine.001", "DEF-spine.003",
                        "DEF-spine.004", "DEF-spine.006"),
             "vrm": ("Root", "J_Bip_C_Hips", "J_Bip_C_Spine", "J_Bip_C_UpperChest",
                     "J_Bip_C_Neck", "J_Bip_C_Head")}[naming]
    out.update(zip(("root", "hips", "spine", "chest", "neck", "head"), trunk, strict=True))
    return out


def _finger_name(naming: str, finger: str, k: int, side: str) -> str:
    S = side.upper()
    if naming == "ue5":
        return f"{finger}_0{k}_{side}"
    if naming == "rigify":
        return f"DEF-{'thumb' if finger == 'thumb' else 'f_' + finger}.0{k}.{S}"
    if naming == "vrm":
        return f"J_Bip_{S}_{'Little' if finger == 'pinky' else finger.title()}{k}"
    return f"finger_{finger}_{k}_{side}"


def _a_pose(head, tail, side: float, shoulder) -> tuple:
    """An arm point turned 45 degrees down about the shoulder (Y axis)."""
    rot = Matrix.Rotation(math.radians(45.0) * side, 3, "Y")
    return tuple(rot @ (Vector(head) - shoulder) + shoulder), \
        tuple(rot @ (Vector(tail) - shoulder) + shoulder)


def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    names = _names(req["naming"])
    arm_data = bpy.data.armatures.new("Armature")
    arm = bpy.data.objects.new(req.get("name", "Character"), arm_data)
    bpy.context.scene.collection.objects.link(arm)
    bpy.context.view_layer.objects.active = arm
    bpy.ops.object.mode_set(mode="EDIT")
    eb = arm_data.edit_bones
    made = {}
    deform = {}
    for key, (parent, head, tail) in BODY.items():
        side = 1.0 if key.startswith("l_") else -1.0
        if req["pose"] == "A" and key.split("_", 1)[-1] in ("upperarm", "forearm", "hand"):
            head, tail = _a_pose(head, tail, side, Vector(BODY[f"{key[0]}_upperarm"][1]))
        part = key.split("_", 1)[-1]
        if part in SPLIT and req["naming"] in ("ue5", "rigify"):
            # two segments: the named bone to the middle, then a twist / .001 bone
            mid = tuple((Vector(head) + Vector(tail)) / 2)
            first = eb.new(names[key])
            first.head, first.tail = head, mid
            if req["naming"] == "rigify":
                second_name = f"{names[key]}.001"
            else:
                second_name = names[key].replace(f"_{key[0]}", f"_twist_01_{key[0]}")
            second = eb.new(second_name)
            second.head, second.tail = mid, tail
            second.parent, second.use_connect = first, True
            # UE5's twist bones hang off the limb bone; Rigify's segments chain
            made[key] = (first, second if req["naming"] == "rigify" else first)
            deform[first.name] = deform[second.name] = True
        else:
            b = eb.new(names[key])
            b.head, b.tail = head, tail
            made[key] = (b, b)
            deform[b.name] = key != "root"
        if parent is not None:
            made[key][0].parent = made[parent][1]
    if req.get("fingers"):  # five fingers of three bones from each hand's tail
        for side in ("l", "r"):
            hand = made[f"{side}_hand"][1]
            along = (hand.tail - hand.head).normalized()
            across = Vector((0.0, 1.0, 0.0))  # palm down: the fingers side by side in Y
            for i, finger in enumerate(("thumb", "index", "middle", "ring", "pinky")):
                parent = hand
                base = hand.tail + across * (0.018 * (i - 2)) - along * (0.02 if i == 0 else 0)
                for k in (1, 2, 3):
                    name = _finger_name(req["naming"], finger, k, side)
                    b = eb.new(name)
                    b.head = base + along * (0.028 * (k - 1))
                    b.tail = base + along * (0.028 * k)
                    b.parent = parent
                    deform[name] = True
                    parent = b
    if req["naming"] == "ue5":  # IK helper bones at the root, not deforming
        for n in ("ik_foot_root", "ik_foot_l", "ik_foot_r", "ik_hand_root", "ik_hand_l"):
            b = eb.new(n)
            b.head, b.tail = (0, 0, 0), (0, 0.1, 0)
            b.parent = made["root"][0]
            deform[n] = False
    for b in eb:  # Z up for every bone's roll: the same frames Blender's tools give
        b.roll = 0.0
    bpy.ops.object.mode_set(mode="OBJECT")
    for b in arm_data.bones:
        b.use_deform = deform[b.name]
    if req.get("facing", "-Y") == "+Y":
        arm.rotation_euler = (0.0, 0.0, math.pi)
    objects = [arm]
    vertices = 0
    if req.get("mesh", True):
        verts, faces, groups = [], [], []
        for b in arm_data.bones:
            if not b.use_deform:
                continue
            m = b.matrix_local
            x, z = m.col[0].to_3d(), m.col[2].to_3d()
            w = 0.03
            base = len(verts)
            for end in (b.head_local, b.tail_local):
                for dx, dz in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
                    verts.append(tuple(end + x * (w * dx) + z * (w * dz)))
            faces += [(base, base + 1, base + 2, base + 3), (base + 4, base + 7, base + 6,
                                                              base + 5)]
            for i in range(4):
                a, c = base + i, base + (i + 1) % 4
                faces.append((a, c, c + 4, a + 4))
            groups.append((b.name, list(range(base, base + 8))))
        mesh = bpy.data.meshes.new("Body")
        mesh.from_pydata(verts, [], faces)
        mesh.update()
        mat = bpy.data.materials.new("Skin")
        mat.diffuse_color = (0.8, 0.6, 0.5, 1.0)
        mesh.materials.append(mat)
        body = bpy.data.objects.new("Body", mesh)
        bpy.context.scene.collection.objects.link(body)
        body.matrix_world = arm.matrix_world.copy()
        for name, idx in groups:
            body.vertex_groups.new(name=name).add(idx, 1.0, "REPLACE")
        body.modifiers.new("Armature", "ARMATURE").object = arm
        objects.append(body)
        vertices = len(verts)
    if req.get("extra_armature"):
        other = bpy.data.objects.new("Prop", bpy.data.armatures.new("PropArmature"))
        bpy.context.scene.collection.objects.link(other)
        bpy.context.view_layer.objects.active = other
        bpy.ops.object.mode_set(mode="EDIT")
        b = other.data.edit_bones.new("prop")
        b.head, b.tail = (1, 0, 0), (1, 0, 0.5)
        bpy.ops.object.mode_set(mode="OBJECT")
        objects.append(other)
    bpy.context.view_layer.update()
    if not req.get("armature", True):  # the mesh alone
        objects = objects[1:]
        for mod in list(objects[0].modifiers):
            objects[0].modifiers.remove(mod)
    for ob in bpy.context.scene.objects:
        ob.select_set(ob in objects)
    for out in req["outputs"]:
        if out.lower().endswith(".fbx"):
            bpy.ops.export_scene.fbx(filepath=out, use_selection=True, add_leaf_bones=False,
                                     object_types={"ARMATURE", "MESH"})
        else:
            bpy.ops.export_scene.gltf(filepath=out, export_format="GLB", use_selection=True,
                                      export_animations=False, export_def_bones=False)
    with open(res_path, "w") as fh:
        json.dump({"bones": len(arm_data.bones),
                   "deform": sum(b.use_deform for b in arm_data.bones),
                   "vertices": vertices}, fh)


if __name__ == "__main__":
    main(*_args()[:2])
