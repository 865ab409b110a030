"""`mocap retarget`: put a BVH clip on another skeleton (or re-export it on its own)."""

from __future__ import annotations

import argparse

from mocap.commands.options import add_quiet_option
from mocap.retarget.solver import BONE_LENGTHS
from mocap.units import METRES_PER_UNIT, OUTPUT_UNITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "retarget", help="retarget a BVH clip onto a rig (cmu, mixamo, smpl, or any BVH)",
        description="Read SOURCE.bvh (joints recognised by name: CMU, Mixamo, SMPL, "
        "Daz/Second Life namings), compute its joint positions, solve the target rig's "
        "joint rotations from them (full rotations: bone directions plus hip/shoulder/"
        "hand/foot twist axes) and write a BVH that imports into Blender. Prints frames, "
        "fps, mapped joints and the foot-skate metric of the source and of the result.")
    p.add_argument("source", metavar="SOURCE.bvh", help="input motion")
    p.add_argument("--rig", required=True, metavar="RIG",
                   help="target rig: a name (cmu, mixamo, smpl), a rigs/*.toml file, or a "
                   "BVH file whose hierarchy becomes the rig (e.g. SOURCE.bvh itself)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.bvh", help="output file")
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
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mocap.errors import InputError
    from mocap.export.bvh import write_bvh
    from mocap.io.bvh import read_bvh
    from mocap.motion.contacts import foot_skate
    from mocap.retarget.bvh_source import bvh_animation
    from mocap.retarget.foot_lock import lock_feet
    from mocap.retarget.solver import retarget
    from mocap.skeleton.rig import load_rig

    rig = load_rig(args.rig)
    bvh = read_bvh(args.source)
    unit = None if args.source_units == "auto" else args.source_units
    src = bvh_animation(bvh, unit)
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
    path = write_bvh(out, args.output, units=args.units)
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
