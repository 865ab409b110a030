"""`mocap export`: turn a BVH clip into FBX or glTF (GLB) through Blender."""

from __future__ import annotations

import argparse
import sys

from mocap.commands.options import add_blender_option, add_quiet_option
from mocap.export.blender import FORMATS
from mocap.units import METRES_PER_UNIT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="convert a BVH clip to FBX or GLB (glTF binary) with Blender",
        description="Import IN.bvh with Blender's BVH importer and write a binary FBX "
        "(baked animation, one key per frame, the rig's T-pose as rest pose) or a GLB "
        "(one glTF animation), with a stick-figure mesh skinned to the bones. Y up, "
        "metres, the BVH's frame rate.")
    p.add_argument("input", metavar="IN.bvh", help="input motion")
    p.add_argument("--to", choices=FORMATS, metavar="FORMAT",
                   help=f"output format: {', '.join(FORMATS)} (default: from the suffix of "
                   "OUT)")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file")
    p.add_argument("--units", choices=("auto", *METRES_PER_UNIT), default="auto",
                   help="unit of IN.bvh (default auto: recognised from the body height); "
                   "the output is in metres")
    p.add_argument("--no-mesh", dest="mesh", action="store_false",
                   help="write the armature alone (default: with a stick-figure mesh "
                   "skinned to the bones, so viewers show it and engines import a "
                   "skeletal mesh)")
    add_blender_option(p)
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mocap.export.blender import export_bvh

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr)

    clip = export_bvh(args.input, args.output, args.to, blender=args.blender,
                      progress=progress, units=None if args.units == "auto" else args.units,
                      mesh=args.mesh)
    for fmt, path in clip.outputs.items() if not args.quiet else ():
        print(f"{path}: {fmt.upper()}, {clip.bones} bones, {clip.frames} frames at "
              f"{clip.fps:.6g} fps")
    return 0
