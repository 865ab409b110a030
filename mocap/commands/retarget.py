"""`mocap retarget`: put a BVH clip on another skeleton (or re-export it on its own)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mocap.commands.options import (
    add_blender_option,
    add_bone_map_option,
    add_quiet_option,
    add_root_motion_option,
)
from mocap.retarget.solver import BONE_LENGTHS
from mocap.units import METRES_PER_UNIT, OUTPUT_UNITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retarget", help="retarget a BVH clip onto a rig (cmu, mixamo, smpl, ue5, rigify, "
        "vrm, any BVH, or your own character)",
        description="Read SOURCE.bvh (joints recognised by name: CMU, Mixamo, SMPL, "
        "Daz/Second Life namings, UE5, Rigify, VRoid, Character Creator), compute its "
        "joint positions, solve the target rig's joint rotations from them (full "
        "rotations: bone directions plus hip/shoulder/hand/foot twist axes) and write a "
        "BVH that imports into Blender (or, onto a character, the character itself "
        "animated). Prints frames, fps, mapped joints and the foot-skate metric of the "
        "source and of the result.")
    p.add_argument("source", metavar="SOURCE.bvh", help="input motion")
    p.add_argument("--rig", required=True, metavar="RIG",
                   help="target rig: a name (cmu, mixamo, smpl, ue5, rigify, vrm), a "
                   "rigs/*.toml file, a BVH file whose hierarchy becomes the rig (e.g. "
                   "SOURCE.bvh itself), or your own rigged character (.fbx, .glb, .gltf, "
                   ".vrm; read through Blender)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.bvh",
                   help="output file: a BVH; with a character as --rig also OUT.fbx or "
                   "OUT.glb, the character itself animated (mesh, materials, armature)")
    add_blender_option(p)
    p.add_argument("--bone-lengths", choices=BONE_LENGTHS, default="rig",
                   help="keep the rig's bone lengths (default; the root path is scaled by "
                   "the leg-length ratio) or take the actor's (median over the clip, "
                   "left/right symmetric)")
    p.add_argument("--units", choices=OUTPUT_UNITS, default="m",
                   help="units of the output file (default m: Blender imports it at true "
                   "size with its default scale)")
    p.add_argument("--source-units", choices=("auto", *METRES_PER_UNIT), default="auto",
                   help="units of SOURCE.bvh (default auto: recognised from the body "
                   "height; cmu = inch/0.45, the CMU database's unit)")
    p.add_argument("--foot-lock", choices=("auto", "on", "off"), default="auto",
                   help="pin feet in contact so they do not slide: auto (default) does it "
                   "only when the retargeted feet slide more than the source's (so a clip "
                   "put back on its own skeleton is reproduced exactly)")
    add_root_motion_option(p)
    add_bone_map_option(p)
    p.add_argument("--source-bone-map", metavar="FILE.toml", default=None,
                   help="name the joints of SOURCE.bvh where mocap does not recognise them "
                   '(role = "joint name" lines, as --bone-map)')
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mocap.errors import InputError
    from mocap.export.bvh import write_bvh
    from mocap.export.character import export_character, load_target
    from mocap.fileio import atomic_path
    from mocap.io.bvh import read_bvh
    from mocap.motion.contacts import foot_skate
    from mocap.retarget.bvh_source import bvh_animation
    from mocap.retarget.foot_lock import lock_feet
    from mocap.retarget.solver import retarget
    from mocap.skeleton.animation import in_place
    from mocap.skeleton.rig import read_bone_map

    out_kind = Path(args.output).suffix.lower().lstrip(".")
    if out_kind not in ("bvh", "fbx", "glb"):
        raise InputError(f"{args.output}: the output must be a .bvh file (or, with a "
                         "character as --rig, .fbx or .glb)")
    output = Path(args.output).resolve()
    for given in (args.source, args.rig):
        if Path(given).suffix and Path(given).resolve() == output:
            raise InputError(f"{args.output}: the output would replace an input ({given}); "
                             "choose another output name")
    rig, character = load_target(args.rig, args.blender, args.bone_map)
    if out_kind != "bvh" and character is None:
        raise InputError(f"{args.output}: an FBX/GLB output is the character itself: give "
                         "a character file as --rig (.fbx, .glb, .gltf, .vrm), or write a "
                         "BVH and convert it with `mocap export`")
    if character is not None:
        args.bone_lengths = "rig"  # the character's mesh has its own proportions
    bvh = read_bvh(args.source)
    unit = None if args.source_units == "auto" else args.source_units
    source_map = (read_bone_map(args.source_bone_map) if args.source_bone_map is not None
                  else None)
    src = bvh_animation(bvh, unit, source_map)
    if len(src) == 0:
        raise InputError(f"{args.source}: has no frames of motion (Frames: 0); nothing to "
                         "retarget")
    points = src.points()
    out = retarget(points, rig, src.fps, args.bone_lengths)
    skate_src = foot_skate(points, src.fps)
    skate_out = foot_skate(out.points(), out.fps)
    locked = False
    if args.foot_lock == "on" or (args.foot_lock == "auto" and skate_out is not None
                                  and skate_out > (skate_src or 0.0) + 1e-4):
        out = lock_feet(out)
        skate_out = foot_skate(out.points(), out.fps)
        locked = True
    if args.root_motion == "in-place":
        out = in_place(out)
    if out_kind == "bvh":
        path = write_bvh(out, args.output, units=args.units)
    else:
        path = Path(args.output)
        with atomic_path(path) as tmp:
            export_character(character, {path.stem: out}, {path.stem: {out_kind: tmp}},
                             args.blender)
    mapped = sum(1 for j in range(len(rig)) if (rig.roles[j] or rig.joints[j]) in points)
    if args.quiet:
        return 0
    print(f"{path}: {len(out)} frames at {out.fps:.6g} fps, rig {rig.name} "
          f"({len(rig)} joints, {mapped} driven by the source), units {args.units}")
    print(f"foot skate (mean horizontal foot speed in contact): source {_mm(skate_src)}, "
          f"result {_mm(skate_out)}" + (" (feet locked)" if locked else ""))
    return 0


def _mm(skate: float | None) -> str:
    return "no contact" if skate is None else f"{skate * 1000:.1f} mm/s"
