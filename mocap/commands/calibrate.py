"""`mocap calibrate VIDEO... -o calibration.toml`: cameras from videos of a board."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

from mocap.commands.options import add_quiet_option
from mocap.commands.progress import ProgressBar
from mocap.commands.quality import count
from mocap.errors import MocapError, OutputError


def _squares(text: str) -> tuple[int, int]:
    parts = text.lower().replace("*", "x").split("x")
    try:
        across, down = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ACROSSxDOWN (e.g. 7x5), got {text!r}") \
            from None
    return across, down


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "calibrate", help="cameras (lens and pose) from videos of a ChArUco board or "
        "checkerboard",
        description="Find the board in every N-th frame of each VIDEO (one per camera, all "
        "filmed at the same time: frame f of each is the same instant), calibrate each "
        "camera's lens (pinhole, k1 k2 p1 p2 k3) from up to --max-views views spread over "
        "the image, place every camera from the frames in which cameras see the board "
        "together, refine all poses jointly, and write OUTPUT as Pose2Sim's TOML (cameras "
        "named by the videos' file names). The world frame is the board at the first frame "
        "the first camera sees it: origin at its bottom-left outer corner, x along its rows, "
        "y up its columns, z out of its face (a board lying face up on the floor: Z up, the "
        "floor its plane). Prints per camera the views and the reprojection errors (px).",
        epilog="example: mocap calibrate cam1.mp4 cam2.mp4 cam3.mp4 -o calibration.toml "
        "--board charuco --squares 7x5 --square-m 0.04 --dictionary DICT_4X4_50")
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="one video per camera")
    p.add_argument("-o", "--output", required=True, metavar="FILE",
                   help="the calibration to write (.toml)")
    g = p.add_argument_group("board")
    g.add_argument("--board", default="charuco", choices=("charuco", "checkerboard"),
                   help="the board's kind (default: charuco)")
    g.add_argument("--squares", type=_squares, default=(7, 5), metavar="AxD",
                   help="squares across x down, e.g. 7x5 (default: 7x5); a checkerboard "
                   "for several cameras needs an odd and an even count (e.g. 8x5)")
    g.add_argument("--square-m", type=float, default=0.04, metavar="M",
                   help="side of a square in metres (default: 0.04); sets the scale")
    g.add_argument("--marker-m", type=float, metavar="M",
                   help="ChArUco: side of a marker in metres (default: 0.75 of the square)")
    g.add_argument("--dictionary", default="DICT_4X4_50", metavar="NAME",
                   help="ChArUco: OpenCV's ArUco dictionary (default: DICT_4X4_50)")
    g.add_argument("--legacy-pattern", action="store_true",
                   help="ChArUco: the layout of OpenCV before 4.6 (and calib.io) for boards "
                   "with an even count of rows")
    s = p.add_argument_group("solving")
    s.add_argument("--every", type=int, metavar="N",
                   help="search every N-th frame (default: about 300 frames of the longest "
                   "video)")
    s.add_argument("--max-views", type=int, default=50, metavar="N",
                   help="views per camera for its lens at most (default: 50)")
    s.add_argument("--no-refine", dest="refine", action="store_false",
                   help="skip the joint refinement of every camera and board pose")
    p.add_argument("--force", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--json", action="store_true",
                   help='print a JSON summary on stdout: {"output", "seconds", "world_frame", '
                   '"every", "refined", "cameras": [{"name", "views_found", "views_used", '
                   '"intrinsic_rms_px", "extrinsic_rms_px", "fx", "fy", "cx", "cy", ...}]}')
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    from mocap.multiview.board import MIN_INTRINSIC_VIEWS, Board, calibrate_board
    from mocap.multiview.calibration import write_calibration

    if args.every is not None and args.every < 1:
        raise MocapError(f"--every must be >= 1, got {args.every}")
    if args.max_views < MIN_INTRINSIC_VIEWS:
        raise MocapError(f"--max-views must be >= {MIN_INTRINSIC_VIEWS}, got {args.max_views}")
    out = Path(args.output)
    if out.is_dir():
        raise OutputError(f"{out} is a directory; give the calibration file's path "
                          "(e.g. calibration.toml)")
    if os.path.lexists(out) and not args.force:
        raise OutputError(f"{out} exists; use --force to replace it")
    board = Board(args.board, args.squares, args.square_m, args.marker_m, args.dictionary,
                  args.legacy_pattern)
    tty = sys.stderr.isatty() and not args.quiet
    bars: dict[str, ProgressBar] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars.clear()
            bars[stage] = ProgressBar(f"{stage[:12]:<12}", tty,
                                      "cameras" if stage == "solve" else "frames")
        bars[stage](done, total)

    start = time.perf_counter()
    try:
        result = calibrate_board(args.videos, board, every=args.every,
                                 max_views=args.max_views, refine=args.refine,
                                 progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    write_calibration(result.calibration, out)
    seconds = time.perf_counter() - start
    if args.json:
        print(json.dumps({"output": str(out), "seconds": round(seconds, 2),
                          **result.summary()}))
    elif not args.quiet:
        print_table(result, out, seconds)
    return 0


def _px(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:.2f}"


def print_table(result, out: Path, seconds: float) -> None:
    """Per camera: size, views found / used for the lens, the two RMS errors (px), the
    camera it was placed from; then the world frame and the file written."""
    rows = [("camera", "size", "views", "lens px", "poses px", "placed from")]
    for cam, rep in zip(result.calibration, result.reports, strict=True):
        placed = "-" if rep.placed_from is None else \
            f"{rep.placed_from} ({rep.shared_frames} frames)"
        rows.append((cam.name, f"{cam.size[0]}x{cam.size[1]}",
                     f"{rep.views_found}/{rep.views_used}", _px(rep.intrinsic_rms_px),
                     _px(rep.extrinsic_rms_px), placed))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    every = "every frame" if result.every == 1 else f"every {result.every}th frame"
    print(f"{count(len(result.calibration), 'camera')} calibrated in {seconds:.1f} s "
          f"({every} searched; views: found/used for the lens)")
    for r in rows:
        print("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    print(f"  world: the board at frame {result.world_frame} (x along its rows, y up its "
          "columns, z out of its face)")
    print(f"  wrote {out}")
