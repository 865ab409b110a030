"""`mocap demo`: convert the demo video (two people walking) into BVH, out of the box."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mocap.commands.convert import (
    add_convert_options,
    convert_with_progress,
    print_result,
    report_warnings,
)
from mocap.commands.options import add_engine_options
from mocap.io import assets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="try it: convert the demo video into ./mocap-demo/",
        description="Obtain the demo video (Sports2D's demo.mp4, BSD-3-Clause: two people "
        "outdoors, 1768x994, 30 fps, 230 frames) from the sports2d==0.8.34 wheel on PyPI, "
        "verify it, and run `mocap convert` on it: one BVH per person, trajectories, "
        "preview.mp4 and a report. An earlier demo's files in the directory are replaced.",
        epilog="example: mocap demo -o mocap-demo --rig smpl")
    p.add_argument("-o", "--output", default="mocap-demo", metavar="DIR",
                   help="output directory (default: ./mocap-demo)")
    add_convert_options(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.quiet:
        print("mocap: obtaining the demo video (sports2d==0.8.34 from PyPI) ...",
              file=sys.stderr)
    video = assets.ensure_demo_video()
    args.force = True
    result = convert_with_progress(args, str(video), args.output)
    if not args.quiet:  # -q: no progress and no summary; warnings still show
        print_result(result)
        out = Path(args.output).resolve()
        print(f"\nDone: the files are in {out}")
        print(f"  open {out / 'preview.mp4'} to see the rigs on the people, "
              f"{out / 'report.html'} for the numbers")
    return report_warnings(result, args.strict)
