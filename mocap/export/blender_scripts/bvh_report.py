"""Inside Blender: import a BVH with ``bpy.ops.import_anim.bvh`` and report the result.

Usage: ``python bvh_report.py REQUEST.json RESULT.json`` with the request
``{"path": ".../x.bvh", "frames": [0, 10] | null, "scale": 1.0}`` (``scale``: the importer's
Scale, 1 when absent).
"""

import json
import sys

import bpy


def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.import_anim.bvh(filepath=req["path"], target="ARMATURE",
                            global_scale=float(req.get("scale", 1.0)), frame_start=1,
                            use_fps_scale=False, update_scene_fps=True,
                            update_scene_duration=True, rotate_mode="NATIVE",
                            axis_forward="-Z", axis_up="Y")
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    action = arm.animation_data.action
    start, end = (round(v) for v in action.frame_range)
    frames = req.get("frames")
    if frames is None:
        frames = [0, end - start]
    mw = arm.matrix_world
    bones = [b.name for b in arm.data.bones]
    rest_heads = [list(mw @ b.head_local) for b in arm.data.bones]
    rest_tails = [list(mw @ b.tail_local) for b in arm.data.bones]
    heads, tails = [], []
    for f in frames:
        scene.frame_set(start + f)
        heads.append([list(mw @ arm.pose.bones[n].head) for n in bones])
        tails.append([list(mw @ arm.pose.bones[n].tail) for n in bones])
    out = {
        "bones": bones,
        "rest_heads": rest_heads,
        "rest_tails": rest_tails,
        "frame_range": [start, end],
        "scene_fps": scene.render.fps / scene.render.fps_base,
        "scene_fps_int": scene.render.fps,
        "scene_frame_start": scene.frame_start,
        "scene_frame_end": scene.frame_end,
        "frames": frames,
        "heads": heads,
        "tails": tails,
        "blender_version": bpy.app.version_string,
    }
    with open(res_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    # a Blender executable passes the script's arguments after "--"
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    main(args[0], args[1])
