"""Inside Blender: import an animated skeleton (BVH, FBX or glTF/GLB) and report it.

Used to check exported files by reading them back (``python anim_report.py REQUEST.json
RESULT.json``, or a Blender executable with ``-- REQUEST.json RESULT.json``). Request:
``{"path": "x.fbx", "frames": [0, 5] | null, "fps": 30.0 | null}`` (0-based frames of the
action, null: all; ``fps``: the scene fps to set before importing, for glTF, which stores
seconds).

Result: ``bones`` (armature order), ``rest_heads`` (J, 3) world metres (Blender axes, Z up),
``frame_range`` of the action, ``scene_fps``, ``frames`` and ``heads`` (F, J, 3) world
positions of each bone's head on those frames, ``rotations`` (F, J, 3, 3) each bone's world
orientation on those frames (its rest orientation, Y along the bone, times its pose),
``keys`` (number of keyframes of each F-curve of the action: one value when they all agree,
else the sorted distinct counts), ``action`` (the action's name: an FBX's take, a glTF's
animation, a BVH's file stem); with ``"mesh": true`` in the request also ``meshes``: per
mesh object deformed by the armature, its ``name``, ``vertices`` and ``centroids`` (F, 3)
and ``extents`` (F, 3): the evaluated (posed) mesh's mean vertex and bounding-box size on
those frames, world metres, and ``materials`` (their names).
"""

import json
import os
import sys

import bpy


def _args() -> list[str]:
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def _fcurves(obj) -> list:
    """The F-curves of the object's action: Blender 5.0 keeps them in the channelbag of the
    action slot (layers -> strips -> channelbags); older versions in ``action.fcurves``."""
    ad = obj.animation_data
    action = ad.action
    if hasattr(action, "layers") and getattr(ad, "action_slot", None) is not None:
        curves = []
        for layer in action.layers:
            for strip in layer.strips:
                bag = strip.channelbag(ad.action_slot)
                if bag is not None:
                    curves.extend(bag.fcurves)
        return curves
    return list(action.fcurves)


def _import(path: str, fps: float | None) -> None:
    ext = os.path.splitext(path)[1].lower()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if fps:
        # glTF stores seconds, not frames: its importer keys at the scene's fps
        scene = bpy.context.scene
        # (the glTF add-on converts with fps * fps_base, not fps / fps_base: see
        # export_anim.py; for the importer's seconds -> frames the product must be the rate)
        scene.render.fps = round(fps)
        scene.render.fps_base = fps / round(fps)
    if ext == ".bvh":
        bpy.ops.import_anim.bvh(filepath=path, target="ARMATURE", global_scale=1.0,
                                frame_start=1, use_fps_scale=False, update_scene_fps=True,
                                update_scene_duration=True, rotate_mode="NATIVE",
                                axis_forward="-Z", axis_up="Y")
    elif ext == ".fbx":
        # Blender's default anim_offset (1: time 0 on frame 1), as a user imports it
        bpy.ops.import_scene.fbx(filepath=path, use_anim=True,
                                 ignore_leaf_bones=False, automatic_bone_orientation=False,
                                 primary_bone_axis="Y", secondary_bone_axis="X",
                                 axis_forward="-Z", axis_up="Y")
    elif ext in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=path)
    else:
        raise SystemExit(f"unsupported file type {ext}")


def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    _import(req["path"], req.get("fps"))
    scene = bpy.context.scene
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    start, end = (round(v) for v in arm.animation_data.action.frame_range)
    frames = req.get("frames")
    if frames is None:
        frames = list(range(end - start + 1))
    bones = [b.name for b in arm.data.bones]
    mw = arm.matrix_world.copy()
    rest_heads = [list(mw @ b.head_local) for b in arm.data.bones]
    heads, rotations = [], []
    meshes = [o for o in scene.objects if o.type == "MESH" and any(
        m.type == "ARMATURE" and m.object == arm for m in o.modifiers)] if req.get("mesh") \
        else []
    shapes = {o.name: ([], []) for o in meshes}
    for f in frames:
        scene.frame_set(start + f)
        mw = arm.matrix_world
        heads.append([list(mw @ arm.pose.bones[n].head) for n in bones])
        rotations.append([[list(row) for row in (mw @ arm.pose.bones[n].matrix).to_3x3()
                           .normalized()] for n in bones])
        graph = bpy.context.evaluated_depsgraph_get()
        for o in meshes:
            ev = o.evaluated_get(graph)
            pts = [ev.matrix_world @ v.co for v in ev.data.vertices]
            lo = [min(p[i] for p in pts) for i in range(3)]
            hi = [max(p[i] for p in pts) for i in range(3)]
            shapes[o.name][0].append([sum(p[i] for p in pts) / len(pts) for i in range(3)])
            shapes[o.name][1].append([h - v for h, v in zip(hi, lo, strict=True)])
    keys = sorted({len(fc.keyframe_points) for fc in _fcurves(arm)})
    out = {
        "bones": bones,
        "rest_heads": rest_heads,
        "frame_range": [start, end],
        "scene_fps": scene.render.fps / scene.render.fps_base,
        "frames": frames,
        "heads": heads,
        "rotations": rotations,
        "keys": keys,
        "action": arm.animation_data.action.name,
        "meshes": [{"name": o.name, "vertices": len(o.data.vertices),
                    "centroids": shapes[o.name][0], "extents": shapes[o.name][1],
                    "materials": [m.name for m in o.data.materials if m]} for o in meshes],
        "blender_version": bpy.app.version_string,
    }
    with open(res_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(*_args()[:2])
