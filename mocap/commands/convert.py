"""`mocap convert VIDEO -o DIR`: one animated rig per person, a preview and a report."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap

from mocap.commands.options import (
    add_convert_options,
    add_engine_options,
    convert_config,
    engine_options,
)
from mocap.commands.progress import ProgressBar, progress_lines
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
        "convert", help="video (or several cameras of one take) -> one animated skeleton "
        "per person (BVH, data, preview)",
        description=textwrap.fill(
        "Track every person in VIDEO, lift them to 3D, retarget onto a rig and write "
        "DIR/person_<id>.bvh (one per person, every video frame, frame time 1/fps), "
        "the trajectories in the chosen data formats, DIR/preview.mp4 (the exported rig "
        "drawn onto the video) and DIR/report.json + report.html (coverage, confidence, "
        "jitter, foot contacts and skate, bone lengths). Files appear only when all are "
        "written. Several videos of one take, one per camera, with --calibration: the "
        "people are matched across the cameras and triangulated (true depth); frames are "
        "the first video's, and DIR/calibration.toml holds the cameras in the outputs' "
        "world (Y up, ground at 0). To convert several unrelated videos, use `mocap batch`.",
        width=88),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        "  mocap convert dance.mp4 -o out/ --rig mixamo --formats bvh,json,csv\n"
        "  mocap convert cam01.mp4 cam02.mp4 cam03.mp4 --calibration Calib.qca.txt -o out/\n"
        "  mocap convert a.mp4 b.mp4 c.mp4 --calibration auto --scale-m 2.5 -o out/")
    p.add_argument("video", metavar="VIDEO", nargs="+",
                   help="video file (MP4/MKV/AVI/WebM, ...); several: one per camera of one "
                   "take, with --calibration")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output directory (created if missing)")
    p.add_argument("--json", action="store_true",
                   help="print a JSON summary on stdout (outputs, people, timings)")
    g = p.add_argument_group("several cameras")
    g.add_argument("--calibration", metavar="FILE|auto",
                   help="the cameras of the videos: a calibration file (Pose2Sim/anipose/"
                   "FreeMoCap .toml, Qualisys .qca.txt, OpenCV .yml/.json/.xml, or `mocap "
                   "calibrate`'s output; each video goes with the camera of its name, "
                   "cam01.mp4 with cam01, else in the file's order), or auto: found from the "
                   "people themselves (no board)")
    g.add_argument("--offsets", metavar="LIST",
                   help="comma-separated time offset of each video in frames, the first 0 "
                   "(video N's frame f+offset shows the first video's frame f; fractions "
                   "allowed); default: found from the people's motion")
    g.add_argument("--scale-m", type=float, metavar="M",
                   help="with --calibration auto: the distance between the first two "
                   "cameras in metres (default: the scale from the people's sizes)")
    add_convert_options(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def convert_with_progress(args: argparse.Namespace, video: str, output: str):
    """Run :func:`mocap.app.convert.convert_video` with the CLI's options and progress bars."""
    from mocap.app.convert import convert_video

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own log lines
    config = convert_config(args)
    with StageBars(not args.quiet) as progress:
        # the models load inside, so that the summary's timings count them
        return convert_video(video, output, config, force=args.force, progress=progress,
                             engine_options=engine_options(args))


class StageBars:
    """``progress(stage, done, total)`` for the app layer: one progress bar per stage (on
    a terminal, unless quiet), each closed when the next stage starts and on exit."""

    def __init__(self, show: bool) -> None:
        self.show = show and (sys.stderr.isatty() or progress_lines())
        self.bars: dict[str, ProgressBar] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.bars:
            self.close()
            self.bars[stage] = ProgressBar(f"{stage:<9}", self.show,
                                           "people" if stage == "blender" else "frames")
        self.bars[stage](done, total)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()

    def __enter__(self) -> StageBars:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def parse_offsets(text: str | None) -> tuple[float, ...] | None:
    """``--offsets 0,3.5,-2`` -> (0.0, 3.5, -2.0); None stays None."""
    from mocap.errors import InputError

    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--offsets must be comma-separated numbers of frames, e.g. "
                         f"0,3.5,-2; got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from mocap.errors import InputError

    videos = args.video
    several = args.calibration is not None
    if len(videos) > 1 and not several:
        raise InputError(f"{len(videos)} videos given: several cameras of one take need "
                         "--calibration FILE (or --calibration auto); to convert unrelated "
                         "videos one by one, use `mocap batch`")
    if not several and (args.offsets is not None or args.scale_m is not None):
        raise InputError("--offsets and --scale-m apply to several cameras (--calibration)")
    if several:
        result = convert_views_with_progress(args)
    else:
        result = convert_with_progress(args, videos[0], args.output)
    if args.json:
        print(json.dumps(result.summary()))
    elif not args.quiet:
        print_result(result)
    return report_warnings(result, args.strict)


def convert_views_with_progress(args: argparse.Namespace):
    """:func:`mocap.app.convert_views.convert_views` with the CLI's options and progress
    bars (one per video while tracking)."""
    from mocap.app.convert_views import ViewsConfig, convert_views

    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    views = ViewsConfig(args.calibration, parse_offsets(args.offsets), args.scale_m)
    config = convert_config(args)
    with StageBars(not args.quiet) as progress:
        return convert_views(args.video, args.output, config, views, force=args.force,
                             progress=progress, engine_options=engine_options(args))


def report_warnings(result, strict: bool) -> int:
    """One stderr line per warning, the video's (truncated, nobody_found, camera_...) and
    each person's; with ``strict``, exit status 1 if there are any."""
    return strict_status(print_warnings(result.warning_records()), strict)


def print_result(result) -> None:
    total = result.wall_s  # wall-clock (the stage timings overlap)
    print(f"{result.frame_count} frames at {result.fps:g} fps in {total:.1f} s "
          f"({result.frame_count / max(total, 1e-9):.1f} fps): {len(result.people)} "
          f"{'person' if len(result.people) == 1 else 'people'}")
    if result.lens is not None:
        print(f"  camera: {result.lens.summary()}")
    for p in result.people:
        s = p.stats
        skate = ("no contact" if s.foot_skate_m_per_s is None
                 else f"{100 * s.foot_skate_m_per_s:.1f} cm/s")
        print(f"  person {p.id}: frames {s.first_frame}-{s.last_frame}, seen in "
              f"{s.frames_observed} ({100 * s.coverage_span:.0f}% of their span, "
              f"{100 * s.coverage_video:.0f}% of the video), jitter "
              f"{s.jitter_raw_px:.1f} -> {s.jitter_smoothed_px:.1f} px, foot skate {skate}, "
              f"root path {s.root_path_length_m:.1f} m (net {s.root_net_displacement_m:.1f} m)")
    if result.views is not None:
        v = result.views
        print(f"  cameras ({v['calibration']['source']} calibration, offsets "
              f"{v['offsets_source']}):")
        for c in v["cameras"]:
            err = c["median_reprojection_px"]
            print(f"    {c['name']:<10} {c['video']}: offset {c['offset_frames']:+.2f} "
                  f"frames, median reprojection "
                  f"{'n/a' if err is None else f'{err:.1f} px'}")
    for path in result.outputs:
        print(f"  wrote {path}")
    if result.people:
        print(blender_import_hint(result.units))
