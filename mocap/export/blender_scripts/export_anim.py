"""Inside Blender: import BVH files and export each as FBX and/or GLB, in one process.

Usage, either inside the ``bpy`` virtual environment::

    python export_anim.py REQUEST.json RESULT.json

or with a Blender executable::

    blender --background --factory-startup --python-exit-code 1 --python export_anim.py \
        -- REQUEST.json RESULT.json

Request: ``{"jobs": [{"bvh": "a.bvh", "scale": 1.0, "mesh": true, "fbx": "a.fbx" | null,
"glb": "a.glb" | null}]}`` (``scale``: metres per BVH unit, e.g. 0.01 for centimetres;
``mesh``: add a stick-figure mesh skinned to the bones).
Result: ``{"blender_version": "5.0.1", "jobs": [{"bvh", "bones", "frames", "fps",
"seconds"}]}``.

Blender facts this script relies on (each one breaks the output silently if missed):

* the BVH importer keys frames ``1..T`` and, with ``update_scene_fps``, sets the scene fps
  (``fps``/``fps_base``) to the file's exact rate; the exporters sample at the scene fps;
* the glTF add-on computes seconds as ``frame / (fps * fps_base)`` instead of
  ``frame * fps_base / fps``; ``fps_base`` is set so that the product is the true rate;
* the glTF exporter takes the joints' rest transforms from the armature's rest pose, so it
  runs first, on the action exactly as imported (``export_anim_slide_to_zero``: frame 1 is
  t = 0 s);
* the FBX exporter bakes the *scene* frame range (not the action's), and an armature without
  a skinned mesh gets no bind pose: the bones' default transforms are the pose at the
  *current* frame, and importers (Blender's included) take them as the rest pose. So the
  rig's rest pose is keyed at frame 0, the current frame is set to 0, and the scene range
  is the action's ``1..T``: the file holds the T-pose as rest and exactly one key per frame
  (with the stick-figure mesh there is a bind pose too, and the two agree);
* FBX key times are absolute (frame / fps), so a re-import with ``anim_offset=0`` puts the
  keys back on frames ``1..T``.
"""

import json
import sys
import time

import bpy


def _args() -> list[str]:
    # Blender executable: script arguments follow "--"; bpy module: plain argv.
    argv = sys.argv
    return argv[argv.index("--") + 1:] if "--" in argv else argv[1:]


def _call(op, **options) -> None:
    """Run an operator; fail clearly on a Blender whose operator lacks an option (an older
    version would otherwise stop with a bare TypeError) or that does not finish."""
    known = set(op.get_rna_type().properties.keys())
    missing = sorted(set(options) - known)
    if missing:
        raise RuntimeError(f"Blender {bpy.app.version_string}: {op.idname_py()} has no "
                           f"option {', '.join(missing)} (tested with Blender 5.0; use a "
                           "newer Blender or `mocap blender setup`)")
    result = op(**options)
    if "FINISHED" not in result:
        raise RuntimeError(f"{op.idname_py()} did not finish: {sorted(result)}")


def _import_bvh(path: str, scale: float):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    _call(bpy.ops.import_anim.bvh, filepath=path, target="ARMATURE", global_scale=scale,
          frame_start=1, use_fps_scale=False, update_scene_fps=True,
          update_scene_duration=True, rotate_mode="NATIVE", axis_forward="-Z", axis_up="Y")
    scene = bpy.context.scene
    arm = next(o for o in scene.objects if o.type == "ARMATURE")
    start, end = (round(v) for v in arm.animation_data.action.frame_range)
    scene.frame_start, scene.frame_end = start, end
    return scene, arm, start, end


def _add_bone_mesh(arm):
    """A stick figure skinned to the armature: one octahedron per bone (the shape Blender
    draws bones with), every vertex weighted 1 to its bone. Viewers then show the figure,
    engines import a skeletal mesh, and the FBX gets a bind pose (the rest pose)."""
    verts, faces = [], []
    groups = []
    for bone in arm.data.bones:
        m = bone.matrix_local  # armature space, bone Y axis from head to tail
        length = bone.length
        w = min(0.1 * length, 0.03)
        x, y, z = (m.col[i].to_3d() for i in range(3))
        head, tail = bone.head_local, bone.tail_local
        ring = head + y * (0.15 * length)
        base = len(verts)
        verts += [head, ring + x * w, ring + z * w, ring - x * w, ring - z * w, tail]
        for i in range(4):
            a, b = base + 1 + i, base + 1 + (i + 1) % 4
            faces += [(base, b, a), (a, b, base + 5)]
        groups.append((bone.name, list(range(base, base + 6))))
    mesh = bpy.data.meshes.new(f"{arm.name}_mesh")
    mw = arm.matrix_world
    mesh.from_pydata([tuple(mw @ v) for v in verts], [], faces)
    mesh.update()
    obj = bpy.data.objects.new(f"{arm.name}_mesh", mesh)
    bpy.context.scene.collection.objects.link(obj)
    # not parented to the armature (the modifier moves it): glTF wants skinned meshes at
    # the root (validator: NODE_SKINNED_MESH_NON_ROOT), so vertices are in world space
    for name, idx in groups:
        obj.vertex_groups.new(name=name).add(idx, 1.0, "REPLACE")
    obj.modifiers.new("Armature", "ARMATURE").object = arm
    return obj


def _select_only(*objects) -> None:
    for ob in bpy.context.scene.objects:
        ob.select_set(ob in objects)
    bpy.context.view_layer.objects.active = objects[0]


def _export_glb(path: str, scene, objects) -> None:
    _select_only(*objects)
    # The glTF add-on converts frames to seconds with fps * fps_base (KhronosGroup/
    # glTF-Blender-IO#2080), while Blender's rate is fps / fps_base: for a non-integer rate
    # (BVH Frame Time 0.0083333 -> 120.00048 fps) the times would be off by 2 * 4e-6
    # relative. Set fps_base so that the add-on's product is the true rate, then restore.
    render = scene.render
    saved = render.fps_base
    render.fps_base = (render.fps / saved) / render.fps
    try:
        _gltf(path)
    finally:
        render.fps_base = saved


def _gltf(path: str) -> None:
    _call(bpy.ops.export_scene.gltf, filepath=path, export_format="GLB", use_selection=True,
          export_animations=True, export_animation_mode="ACTIONS", export_frame_range=False,
          export_force_sampling=True, export_frame_step=1, export_anim_slide_to_zero=True,
          export_optimize_animation_size=False, export_rest_position_armature=True,
          export_leaf_bone=False, export_def_bones=False, export_yup=True, export_apply=False,
          export_materials="NONE", export_extras=False)

def _fcurves(action):
    """Every F-curve of an action (Blender 5.0 keeps them in layered channelbags)."""
    if hasattr(action, "fcurves") and len(action.fcurves):
        return list(action.fcurves)
    curves = []
    for layer in getattr(action, "layers", ()):
        for strip in layer.strips:
            for bag in getattr(strip, "channelbags", ()):
                curves.extend(bag.fcurves)
    return curves


def _shift_action(action, frames: float) -> None:
    for fc in _fcurves(action):
        for kp in fc.keyframe_points:
            kp.co.x += frames
            kp.handle_left.x += frames
            kp.handle_right.x += frames
        fc.update()


def _key_rest_pose(arm, frame: int) -> None:
    for pb in arm.pose.bones:
        pb.location = (0.0, 0.0, 0.0)
        pb.scale = (1.0, 1.0, 1.0)
        pb.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
        pb.rotation_euler = (0.0, 0.0, 0.0)
        pb.keyframe_insert("location", frame=frame)
        if pb.rotation_mode == "QUATERNION":
            pb.keyframe_insert("rotation_quaternion", frame=frame)
        else:
            pb.keyframe_insert("rotation_euler", frame=frame)


def _export_fbx(path: str, scene, objects, start: int, end: int) -> None:
    arm = objects[0]
    # FBX key times are absolute and Blender's FBX importer (like most) puts time 0 on frame
    # 1 by default: the clip's first frame goes out at time 0, so the FBX and the BVH land
    # on the same frames. The action (frames start..end) is moved one frame earlier.
    _shift_action(arm.animation_data.action, -1.0)
    start, end = start - 1, end - 1
    _key_rest_pose(arm, start - 1)
    # the FBX's take (AnimStack) is named after the scene: give it the action's name (the
    # BVH's stem, e.g. person_2), the name the GLB's animation has, instead of "Scene"
    scene.name = arm.animation_data.action.name
    scene.frame_start, scene.frame_end = start, end
    scene.frame_set(start - 1)  # the pose written as the bones' (rest) transforms
    _select_only(*objects)
    _call(bpy.ops.export_scene.fbx, filepath=path, use_selection=True,
          object_types={"ARMATURE", "MESH"}, use_armature_deform_only=False,
          apply_scale_options="FBX_SCALE_UNITS", add_leaf_bones=False,
          primary_bone_axis="Y", secondary_bone_axis="X", armature_nodetype="NULL",
          bake_anim=True, bake_anim_use_all_bones=True,
          bake_anim_use_nla_strips=False, bake_anim_use_all_actions=False,
          bake_anim_force_startend_keying=True, bake_anim_step=1.0,
          bake_anim_simplify_factor=0.0, use_custom_props=False, axis_forward="-Z",
          axis_up="Y")

def main(req_path: str, res_path: str) -> None:
    with open(req_path) as fh:
        req = json.load(fh)
    results = []
    total = len(req["jobs"])
    for done, job in enumerate(req["jobs"], 1):
        t0 = time.perf_counter()
        scene, arm, start, end = _import_bvh(job["bvh"], job.get("scale", 1.0))
        objects = [arm, _add_bone_mesh(arm)] if job.get("mesh", True) else [arm]
        # GLB first: it exports the action as imported; the FBX step adds a rest key.
        if job.get("glb"):
            _export_glb(job["glb"], scene, objects)
        if job.get("fbx"):
            _export_fbx(job["fbx"], scene, objects, start, end)
        results.append({
            "bvh": job["bvh"],
            "bones": len(arm.data.bones),
            "frames": end - start + 1,
            "fps": scene.render.fps / scene.render.fps_base,
            "seconds": time.perf_counter() - t0,
        })
        print(f"mocap-progress {done} {total}", flush=True)  # read by the caller
    with open(res_path, "w") as fh:
        json.dump({"blender_version": bpy.app.version_string, "jobs": results}, fh)


if __name__ == "__main__":
    main(*_args()[:2])
