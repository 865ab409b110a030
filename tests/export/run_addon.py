"""Inside Blender, headless: install the mocap add-on from its zip, enable it, and run it on
a character and a video as a user would from its panel (``python run_addon.py REQUEST.json
RESULT.json`` in mocap's Blender environment).

Request: ``{"zip", "character" (a .glb), "video", "missing_video"}``. The operator is run
twice: first with a video that is not there (it must fail with its message), then with the
real one. Result: ``enabled``, ``bad`` (the first run's result, or ``["ERROR", message]``),
``result``, ``action``, ``keys`` (distinct key counts of the armature's F-curves),
``bones_keyed``, ``armatures`` (armature objects afterwards), ``moved`` (how far the hips
bone's head travels between the first and the last frame, metres, world).
"""

import json
import os
import sys

import bpy

# anim_report's F-curve reader (Blender 5's layered actions), beside mocap's Blender scripts
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                                os.pardir, "mocap", "export", "blender_scripts"))
from anim_report import _fcurves


def _args() -> list[str]:
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.preferences.addon_install(filepath=req["zip"], overwrite=True)
    bpy.ops.preferences.addon_enable(module="mocap_addon")
    import addon_utils  # a module of Blender's own scripts: importable once bpy is

    enabled = addon_utils.check("mocap_addon")[1]
    bpy.ops.import_scene.gltf(filepath=req["character"])
    arm = next(o for o in bpy.context.scene.objects if o.type == "ARMATURE")
    for ob in bpy.context.scene.objects:
        ob.select_set(ob == arm)
    bpy.context.view_layer.objects.active = arm
    settings = bpy.context.scene.mocap
    settings.video = req["missing_video"]
    try:  # an operator's error report reaches a calling script as a RuntimeError
        bad = list(bpy.ops.mocap.animate_video())
    except RuntimeError as exc:
        bad = ["ERROR", str(exc)]
    settings.video = req["video"]
    result = list(bpy.ops.mocap.animate_video())
    out = {"enabled": bool(enabled), "bad": bad, "result": result,
           "armatures": sorted(o.name for o in bpy.context.scene.objects
                               if o.type == "ARMATURE")}
    if arm.animation_data and arm.animation_data.action:
        curves = _fcurves(arm)
        out["action"] = arm.animation_data.action.name
        out["keys"] = sorted({len(fc.keyframe_points) for fc in curves})
        out["bones_keyed"] = len({fc.data_path.split('"')[1] for fc in curves
                                  if fc.data_path.startswith("pose.bones")})
        scene = bpy.context.scene
        hips = arm.pose.bones[req.get("hips", "pelvis")]
        scene.frame_set(scene.frame_start)
        a = arm.matrix_world @ hips.head
        scene.frame_set(scene.frame_end)
        b = arm.matrix_world @ hips.head
        out["moved"] = (b - a).length
        out["frame_range"] = [scene.frame_start, scene.frame_end]
    with open(res_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(*_args()[:2])
