"""The mocap Blender add-on, one module: ``mocap blender addon`` zips it as
``mocap_addon/__init__.py``.

In Blender: View3D > Sidebar (N) > mocap. Pick a video, select the armature to animate, press
"Animate from video": mocap runs in the background (its progress in the status bar; Esc
cancels), then the first person's motion becomes an action on that armature (its own bones,
its own rest pose) and every other person comes in as a new armature with the same
character. Errors are shown in Blender (the mocap command's own one-line message).

How: the active armature and the meshes it deforms are exported to a temporary GLB, which
``mocap convert VIDEO --rig that.glb`` animates (mocap reads it as a character); each
person's animated GLB is imported, and the first one's pose is baked onto the selected
armature frame by frame (pose matrices copied in armature space, so the bones' rolls and
rest pose are the armature's own).

This file runs inside Blender only (it imports ``bpy``); mocap itself never imports it.
"""

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import bpy
from bpy.props import EnumProperty, IntProperty, PointerProperty, StringProperty
from bpy.types import AddonPreferences, Operator, Panel, PropertyGroup

bl_info = {
    "name": "mocap: animate from video",
    "author": "mocap",
    "version": (0, 1, 0),
    "blender": (4, 2, 0),
    "location": "View3D > Sidebar > mocap",
    "description": "Motion capture from ordinary video onto the selected armature",
    "category": "Animation",
}

#: The command that runs mocap (a JSON list), written in by ``mocap blender addon``.
MOCAP_COMMAND = ["mocap"]


def _command(context) -> list:
    prefs = context.preferences.addons[__name__].preferences
    try:
        cmd = json.loads(prefs.command)
    except ValueError:
        cmd = prefs.command.split()
    return [str(c) for c in cmd]


class MocapPreferences(AddonPreferences):
    bl_idname = __name__

    command: StringProperty(
        name="mocap command", default=json.dumps(MOCAP_COMMAND),
        description="How to run mocap: a JSON list, e.g. [\"/path/to/python\", \"-m\", "
        "\"mocap\"] or [\"mocap\"]")

    def draw(self, context):
        self.layout.prop(self, "command")


class MocapSettings(PropertyGroup):
    video: StringProperty(name="Video", subtype="FILE_PATH",
                          description="The video to capture the motion from")
    root_motion: EnumProperty(
        name="Root motion", default="on",
        items=[("on", "Travel", "The root travels as the person did"),
               ("in-place", "In place", "The root stays over the origin")])
    max_people: IntProperty(name="Max people", default=0, min=0,
                            description="Track at most this many people (0: everyone)")


def _meshes(arm) -> list:
    return [o for o in bpy.context.scene.objects if o.type == "MESH" and (
        o.parent == arm or any(m.type == "ARMATURE" and m.object == arm
                               for m in o.modifiers))]


def _export_character(arm, path: str) -> None:
    keep = [o for o in bpy.context.scene.objects if o.select_get()]
    active = bpy.context.view_layer.objects.active
    for ob in bpy.context.scene.objects:
        ob.select_set(ob == arm or ob in _meshes(arm))
    bpy.context.view_layer.objects.active = arm
    try:
        bpy.ops.export_scene.gltf(filepath=path, export_format="GLB", use_selection=True,
                                  export_animations=False, export_def_bones=False)
    finally:
        for ob in bpy.context.scene.objects:
            ob.select_set(ob in keep)
        bpy.context.view_layer.objects.active = active


def _import(path: str) -> list:
    before = set(bpy.context.scene.objects)
    bpy.ops.import_scene.gltf(filepath=path)
    return [o for o in bpy.context.scene.objects if o not in before]


def _bake(target, source, frames: int, name: str) -> None:
    """Key ``source``'s pose on every frame onto ``target`` (bones matched by name)."""
    scene = bpy.context.scene
    action = bpy.data.actions.new(name)
    target.animation_data_create()
    target.animation_data.action = action
    to_target = target.matrix_world.inverted() @ source.matrix_world
    bones = [b for b in target.data.bones if b.name in source.pose.bones]
    for pb in target.pose.bones:
        pb.rotation_mode = "QUATERNION"
    start = round(source.animation_data.action.frame_range[0]) if \
        source.animation_data and source.animation_data.action else 1
    for f in range(frames):
        scene.frame_set(start + f)
        pose = {b.name: to_target @ source.pose.bones[b.name].matrix for b in bones}
        for b in bones:
            rest = b.matrix_local
            if b.parent is not None and b.parent.name in pose:
                rel = b.parent.matrix_local.inverted() @ rest
                basis = rel.inverted() @ pose[b.parent.name].inverted() @ pose[b.name]
            else:
                basis = rest.inverted() @ pose[b.name]
            loc, rot, scale = basis.decompose()
            pb = target.pose.bones[b.name]
            pb.location, pb.rotation_quaternion, pb.scale = loc, rot, scale
            for path in ("location", "rotation_quaternion", "scale"):
                pb.keyframe_insert(path, frame=1 + f)
    scene.frame_start, scene.frame_end = 1, frames


def _remove(objects) -> None:
    for ob in objects:
        data = ob.data
        bpy.data.objects.remove(ob, do_unlink=True)
        if data is not None and data.users == 0:
            if isinstance(data, bpy.types.Mesh):
                bpy.data.meshes.remove(data)
            elif isinstance(data, bpy.types.Armature):
                bpy.data.armatures.remove(data)


def apply_results(arm, out_dir: str) -> dict:
    """The first person's motion onto ``arm``, the others as new armatures."""
    report = json.loads((Path(out_dir) / "report.json").read_text())
    fps = float(report.get("fps") or 30.0)
    scene = bpy.context.scene
    scene.render.fps = max(1, round(fps))
    people = [p["id"] for p in report.get("people", [])]
    if not people:
        raise RuntimeError(report.get("message") or "no people found in the video")
    frames = int(report.get("frames") or 0)
    added = []
    for i, pid in enumerate(people):
        # the glTF importer turns seconds into frames with fps * fps_base (not fps /
        # fps_base, Blender's rate): for a rate like 29.97 the product must be the rate
        scene.render.fps_base = fps / scene.render.fps
        new = _import(str(Path(out_dir) / f"person_{pid}.glb"))
        scene.render.fps_base = scene.render.fps / fps
        src = next(o for o in new if o.type == "ARMATURE")
        n = frames or round(src.animation_data.action.frame_range[1]
                            - src.animation_data.action.frame_range[0]) + 1
        if i == 0:
            _bake(arm, src, n, f"mocap person {pid}")
            actions = {o.animation_data.action for o in new
                       if o.animation_data and o.animation_data.action}
            _remove(new)
            for action in actions:
                if action.users == 0:
                    bpy.data.actions.remove(action)
        else:
            src.name = f"mocap person {pid}"
            added.append(src.name)
    return {"people": people, "frames": frames, "added": added}


class MOCAP_OT_animate(Operator):
    """Capture the motion in the video and put it on the selected armature"""

    bl_idname = "mocap.animate_video"
    bl_label = "Animate from video"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 (Blender reads a set)

    _timer = None

    def _start(self, context):
        settings = context.scene.mocap
        arm = context.active_object
        if arm is None or arm.type != "ARMATURE":
            raise RuntimeError("select the armature to animate (it is the active object)")
        video = bpy.path.abspath(settings.video)
        if not video or not os.path.isfile(video):
            raise RuntimeError(f"no video at {video!r}: pick one in the mocap panel")
        self.tmp = tempfile.mkdtemp(prefix="mocap-addon-")
        self.arm_name = arm.name
        try:
            character = os.path.join(self.tmp, "character.glb")
            _export_character(arm, character)
            self.out = os.path.join(self.tmp, "out")
            cmd = [*_command(context), "convert", video, "-o", self.out, "--rig", character,
                   "--no-preview", "--formats", "json", "--root-motion",
                   settings.root_motion]
            if settings.max_people > 0:
                cmd += ["--max-people", str(settings.max_people)]
            env = dict(os.environ, MOCAP_PROGRESS="lines")
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True, env=env)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        self.lines = queue.Queue()
        self.errors = []
        self.last = ""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def _drain(self, context) -> str:
        status = ""
        while not self.lines.empty():
            line = self.lines.get()
            parts = line.split()
            if len(parts) == 4 and parts[0] == "mocap-progress":
                status = f"mocap: {parts[1]} {parts[2]}/{parts[3]}"
            elif line.startswith("mocap: error:"):
                self.errors.append(line[len("mocap: error:"):].strip())
            elif line.strip():
                self.last = line.strip()  # e.g. an older mocap's usage error
                print(line)
        if status:
            print(status, flush=True)
            if context.workspace is not None:
                context.workspace.status_text_set(status)
        return status

    def _finish(self, context):
        try:
            self.reader.join(timeout=10)  # every line read before judging
            self._drain(context)
            if context.workspace is not None:
                context.workspace.status_text_set(None)
            if self.proc.returncode != 0:
                raise RuntimeError(self.errors[-1] if self.errors else self.last or
                                   f"mocap exited with status {self.proc.returncode}")
            arm = bpy.data.objects.get(self.arm_name)
            if arm is None or arm.type != "ARMATURE":
                raise RuntimeError(f"the armature {self.arm_name!r} is gone")
            result = apply_results(arm, self.out)
            self.report({"INFO"}, f"mocap: {len(result['people'])} people, "
                        f"{result['frames']} frames")
            return {"FINISHED"}
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def execute(self, context):
        try:
            self._start(context)
            while self.proc.poll() is None:  # blocking: from a script or --background
                time.sleep(0.2)
                self._drain(context)
            self.proc.wait()
            return self._finish(context)
        except (RuntimeError, OSError, ValueError, KeyError, StopIteration) as exc:
            self.report({"ERROR"}, str(exc) or type(exc).__name__)
            return {"CANCELLED"}

    def invoke(self, context, event):
        if bpy.app.background:
            return self.execute(context)
        try:
            self._start(context)
        except (RuntimeError, OSError, ValueError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":  # cancelled: the run stops, nothing changes
            context.window_manager.event_timer_remove(self._timer)
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self.tmp, ignore_errors=True)
            if context.workspace is not None:
                context.workspace.status_text_set(None)
            self.report({"WARNING"}, "mocap: cancelled")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        self._drain(context)
        if self.proc.poll() is None:
            return {"RUNNING_MODAL"}
        context.window_manager.event_timer_remove(self._timer)
        self.proc.wait()
        try:
            return self._finish(context)
        except (RuntimeError, OSError, ValueError, KeyError, StopIteration) as exc:
            self.report({"ERROR"}, str(exc) or type(exc).__name__)
            return {"CANCELLED"}


class MOCAP_PT_panel(Panel):
    bl_label = "mocap"
    bl_idname = "MOCAP_PT_panel"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "mocap"

    def draw(self, context):
        settings = context.scene.mocap
        col = self.layout.column()
        col.prop(settings, "video")
        col.prop(settings, "root_motion")
        col.prop(settings, "max_people")
        arm = context.active_object
        col.label(text=f"Armature: {arm.name}" if arm is not None and arm.type == "ARMATURE"
                  else "Select an armature", icon="ARMATURE_DATA")
        col.operator(MOCAP_OT_animate.bl_idname, icon="PLAY")


CLASSES = (MocapPreferences, MocapSettings, MOCAP_OT_animate, MOCAP_PT_panel)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.mocap = PointerProperty(type=MocapSettings)


def unregister():
    del bpy.types.Scene.mocap
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
