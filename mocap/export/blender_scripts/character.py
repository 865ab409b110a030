"""Inside Blender: a user's rigged character (FBX, glTF/GLB, VRM): read its armature, or
key an animation onto it and export the character itself (mesh, materials, armature).

Usage, inside the ``bpy`` virtual environment (``python character.py REQUEST.json
RESULT.json``) or a Blender executable (``-- REQUEST.json RESULT.json``).

``{"mode": "read", "path": "hero.glb"}`` -> ``{"armatures": [names], "bones": [{"name",
"parent", "head", "tail", "rest", "deform"}], "world": 4x4, "meshes": [{"name",
"vertices", "skinned"}]}``: every bone of the one armature in Blender's bone order, its
head and tail in world space (Blender axes, Z up, metres) and its rest orientation in world
space (3x3, Y along the bone); ``world`` is the armature object's matrix; ``meshes`` the
mesh objects deformed by it. A file with no armature or several gives ``armatures`` only.

``{"mode": "animate", "path": ..., "jobs": [{"name": "person_1", "fps": 30.0,
"bones": [names], "quats": [F][B][4] (w, x, y, z), "root": name, "locs": [F][3],
"fbx": path | null, "glb": path | null}]}``: per job, one action named ``name`` keyed on
every frame (the bones' pose rotations in their own rest frames, the root bone's pose
location), the file's own actions removed; the character exported with it (glTF
first: animation slid to t = 0; FBX: the first frame at t = 0). The bind pose is the
file's, untouched. Result: ``{"jobs": [{"name", "frames", "bones", "seconds"}]}``.
"""

import json
import os
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_anim import (
    _args,
    _call,
    _fcurves,
    _key_rest_pose,
    _select_only,
    _shift_action,
)


def _import(path: str) -> None:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".fbx":  # the importer's defaults, as a user imports a character
        _call(bpy.ops.import_scene.fbx, filepath=path, use_anim=False,
              ignore_leaf_bones=False, automatic_bone_orientation=False)
    elif ext in (".glb", ".gltf", ".vrm"):  # a VRM is a GLB with extensions
        _call(bpy.ops.import_scene.gltf, filepath=path)
    else:
        raise SystemExit(f"unsupported character file type {ext}")


def _armatures() -> list:
    return [o for o in bpy.context.scene.objects if o.type == "ARMATURE"]


def _meshes(arm) -> list:
    out = []
    for ob in bpy.context.scene.objects:
        if ob.type != "MESH":
            continue
        mods = [m for m in ob.modifiers if m.type == "ARMATURE" and m.object == arm]
        if mods or ob.parent == arm:
            out.append(ob)
    return out


def _read(req: dict) -> dict:
    _import(req["path"])
    arms = _armatures()
    out = {"armatures": [a.name for a in arms], "blender_version": bpy.app.version_string}
    if len(arms) != 1:
        return out
    arm = arms[0]
    mw = arm.matrix_world
    rot = mw.to_3x3().normalized()
    bones = []
    for b in arm.data.bones:
        bones.append({
            "name": b.name, "parent": b.parent.name if b.parent else "",
            "head": list(mw @ b.head_local), "tail": list(mw @ b.tail_local),
            "rest": [list(r) for r in (rot @ b.matrix_local.to_3x3()).normalized()],
            "deform": bool(b.use_deform)})
    out.update(bones=bones, world=[list(r) for r in mw],
               meshes=[{"name": m.name, "vertices": len(m.data.vertices),
                        "skinned": any(md.type == "ARMATURE" for md in m.modifiers)}
                       for m in _meshes(arm)])
    return out


def _key(arm, action, job: dict) -> int:
    """Key ``job``'s rotations and root locations on frames 1..F; returns F."""
    quats, locs, names = job["quats"], job["locs"], job["bones"]
    frames = len(quats)
    pbs = [arm.pose.bones[n] for n in names]
    for pb in pbs:
        pb.rotation_mode = "QUATERNION"
    root = arm.pose.bones[job["root"]]
    # one key each creates the F-curves; then all frames are written in one go
    for i, pb in enumerate(pbs):
        pb.rotation_quaternion = quats[0][i]
        pb.keyframe_insert("rotation_quaternion", frame=1)
    root.location = locs[0]
    root.keyframe_insert("location", frame=1)
    curves = {(fc.data_path, fc.array_index): fc for fc in _fcurves(action)}
    series = {}
    for i, pb in enumerate(pbs):
        path = f'pose.bones["{bpy.utils.escape_identifier(pb.name)}"].rotation_quaternion'
        for c in range(4):
            series[(path, c)] = [q[i][c] for q in quats]
    path = f'pose.bones["{bpy.utils.escape_identifier(root.name)}"].location'
    for c in range(3):
        series[(path, c)] = [p[c] for p in locs]
    for key, values in series.items():
        fc = curves[key]
        points = fc.keyframe_points
        points.add(frames - len(points))
        co = [v for f, value in enumerate(values, 1) for v in (float(f), float(value))]
        points.foreach_set("co", co)
        points.foreach_set("interpolation", [1] * frames)  # LINEAR (enum index)
        fc.update()
    return frames


def _animate(req: dict) -> dict:
    _import(req["path"])
    arm = _armatures()[0]
    objects = [arm, *_meshes(arm)]
    for action in list(bpy.data.actions):  # the file's own animation does not go out
        bpy.data.actions.remove(action)
    scene = bpy.context.scene
    results = []
    total = len(req["jobs"])
    for done, job in enumerate(req["jobs"], 1):
        t0 = time.perf_counter()
        fps = float(job["fps"])
        scene.render.fps = max(1, round(fps))
        scene.render.fps_base = scene.render.fps / fps
        arm.animation_data_create()
        action = bpy.data.actions.new(job["name"])
        arm.animation_data.action = action
        frames = _key(arm, action, job)
        scene.frame_start, scene.frame_end = 1, frames
        _select_only(*objects)
        if job.get("glb"):
            render = scene.render  # the glTF add-on's seconds are frame / (fps * fps_base)
            saved = render.fps_base
            render.fps_base = (render.fps / saved) / render.fps
            try:
                _call(bpy.ops.export_scene.gltf, filepath=job["glb"], export_format="GLB",
                      use_selection=True, export_animations=True,
                      export_animation_mode="ACTIVE_ACTIONS", export_frame_range=False,
                      export_force_sampling=True, export_frame_step=1,
                      export_anim_slide_to_zero=True, export_optimize_animation_size=False,
                      export_rest_position_armature=True, export_def_bones=False,
                      export_yup=True, export_apply=False, export_skins=True)
            finally:
                render.fps_base = saved
        if job.get("fbx"):
            _shift_action(action, -1.0)  # the first frame at t = 0
            scene.frame_start, scene.frame_end = 0, frames - 1
            scene.name = job["name"]  # the FBX take's name
            rest_frame = 0
            if len(objects) == 1:  # no mesh, no bind pose: the rest pose keyed before
                rest_frame = -1    # the range is what the bones' rest transforms become
                _key_rest_pose(arm, rest_frame)
            scene.frame_set(rest_frame)
            _call(bpy.ops.export_scene.fbx, filepath=job["fbx"], use_selection=True,
                  object_types={"ARMATURE", "MESH"}, use_armature_deform_only=False,
                  add_leaf_bones=False, primary_bone_axis="Y", secondary_bone_axis="X",
                  bake_anim=True, bake_anim_use_all_bones=True,
                  bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
                  bake_anim_force_startend_keying=True, bake_anim_step=1.0,
                  bake_anim_simplify_factor=0.0, path_mode="COPY", embed_textures=True)
        arm.animation_data.action = None
        bpy.data.actions.remove(action)
        results.append({"name": job["name"], "frames": frames, "bones": len(job["bones"]),
                        "seconds": time.perf_counter() - t0})
        print(f"mocap-progress {done} {total}", flush=True)  # read by the caller
    return {"jobs": results, "blender_version": bpy.app.version_string}


def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    out = _read(req) if req["mode"] == "read" else _animate(req)
    with open(res_path, "w") as fh:
        json.dump(out, fh)


if __name__ == "__main__":
    main(*_args()[:2])
