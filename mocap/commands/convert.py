"""`mocap convert VIDEO -o DIR`: one animated rig per person, a preview and a report."""

from __future__ import annotations

import argparse
import json
import os
import sys

from mocap.commands.options import (
    add_convert_options,
    add_engine_options,
    convert_config,
    engine_options,
)
from mocap.commands.progress import ProgressBar
from mocap.commands.quality import print_warnings, strict_status
from mocap.units import OUTPUT_UNITS, metres_per


def blender_import_hint(units: str = "m") -> str:
    """How to import the BVH files into Blender at true size. Blender's BVH importer
    multiplies every offset and root position by its Scale and Blender's unit is the
    metre, so the Scale is metres per file unit: 1 for ``m``, 0.01 for ``cm``."""
    scale = metres_per(units, OUTPUT_UNITS)
    return ("Blender: File > Import > Motion Capture (.bvh), pick person_<id>.bvh "
            f"(Scale {scale:g}: the file is in {'metres' if units == 'm' else units}; "
            "tick 'Update Scene FPS' and 'Update Scene Duration')")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "convert", help="video -> one animated skeleton per person (BVH, data, preview)",
        description="Track every person in VIDEO, lift them to 3D, retarget onto a rig and "
        "write DIR/person_<id>.bvh (one per person, every video frame, frame time 1/fps), "
        "the trajectories in the chosen data formats, DIR/preview.mp4 (the exported rig "
        "drawn onto the video) and DIR/report.json + report.html (coverage, confidence, "
        "jitter, foot contacts and skate, bone lengths). Files appear only when all are "
        "written.",
        epilog="example: mocap convert dance.mp4 -o out/ --rig mixamo --formats bvh,json,csv")
    p.add_argument("video", metavar="VIDEO", help="video file (MP4/MKV/AVI/WebM, ...)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output directory (created if missing)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary on stdout (outputs, people, timings)")
    add_convert_options(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def convert_with_progress(args: argparse.Namespace, video: str, output: str):
    """Run :func:`mocap.app.convert.convert_video` with the CLI's options and progress bars."""
    from mocap.app.convert import convert_video

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own log lines
    config = convert_config(args)
    show = sys.stderr.isatty() and not args.quiet
    bars: dict[str, ProgressBar] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars.clear()
            bars[stage] = ProgressBar(f"{stage:<9}", show,
                                      "people" if stage == "blender" else "frames")
        bars[stage](done, total)

    try:  # the models load inside, so that the summary's timings count them
        return convert_video(video, output, config, force=args.force, progress=progress,
                             engine_options=engine_options(args))
    finally:
        for bar in bars.values():
            bar.close()


def run(args: argparse.Namespace) -> int:
    result = convert_with_progress(args, args.video, args.output)
    if args.json:
        print(json.dumps(result.summary()))
    elif not args.quiet:
        print_result(result)
    return report_warnings(result, args.strict)


def report_warnings(result, strict: bool) -> int:
    """One stderr line per warning, the video's (truncated, nobody_found, camera_...) and
    each person's; with ``strict``, exit status 1 if there are any."""
    return strict_status(print_warnings(result.warning_records()), strict)


def print_result(result) -> None:
    total = result.wall_s  # wall-clock (the stage timings overlap)
    print(f"{result.frame_count} frames at {result.fps:g} fps in {total:.1f} s "
          f"({result.frame_count / max(total, 1e-9):.1f} fps): {len(result.people)} "
          f"{'person' if len(result.people) == 1 else 'people'}")
    for p in result.people:
        s = p.stats
        skate = ("no contact" if s.foot_skate_m_per_s is None
                 else f"{100 * s.foot_skate_m_per_s:.1f} cm/s")
        print(f"  person {p.id}: frames {s.first_frame}-{s.last_frame}, seen in "
              f"{s.frames_observed} ({100 * s.coverage_span:.0f}% of their span, "
              f"{100 * s.coverage_video:.0f}% of the video), jitter "
              f"{s.jitter_raw_px:.1f} -> {s.jitter_smoothed_px:.1f} px, foot skate {skate}, "
              f"root path {s.root_path_length_m:.1f} m (net {s.root_net_displacement_m:.1f} m)")
    for path in result.outputs:
        print(f"  wrote {path}")
    if result.people:
        print(blender_import_hint(result.units))
