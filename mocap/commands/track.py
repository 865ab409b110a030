"""`mocap track VIDEO -o DIR`: every person's landmark trajectories through a video."""

from __future__ import annotations

import argparse
import json
import os
import sys

from mocap.commands.options import (
    add_engine_options,
    add_hands_options,
    add_quiet_option,
    engine_options,
    hand_config,
)
from mocap.commands.progress import ProgressBar
from mocap.commands.quality import print_warnings
from mocap.errors import MocapError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "track", help="track every person through a video: smoothed 2D + 3D landmarks",
        description="Decode VIDEO frame by frame, find people (detector every few frames and "
        "whenever someone is lost), follow each person's landmarks from frame to frame, keep "
        "identities with a Kalman tracker, and smooth every joint's trajectory (Kalman + RTS). "
        "Writes DIR/tracks.npz and its JSON twin DIR/tracks.json (per person: frame indices, "
        "timestamps, image and world landmarks raw and smoothed, visibility, and with --hands "
        "both hands' 21 landmarks; format in the README and mocap/tracking/tracks_io.py), "
        "and with --preview DIR/preview.mp4. Nothing is left in DIR if the run fails. "
        "Warnings (truncated, nobody_found, and per person short_track, low_coverage, "
        "id_gap, low_confidence) are printed on stderr, one line each.",
        epilog="example: mocap track walk.mp4 -o out/ --max-people 2 --preview --json")
    p.add_argument("video", metavar="VIDEO", help="video file (MP4/MKV/AVI/WebM, ...)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="output directory (created if missing)")
    p.add_argument("--max-people", type=int, metavar="N",
                   help="track at most N people (default: no limit)")
    p.add_argument("--preview", action="store_true",
                   help="also write DIR/preview.mp4: the video with skeletons and ids")
    p.add_argument("--json", action="store_true",
                   help='print a summary on stdout: {"frames", "fps", "seconds", "tracks": '
                   '[{"id", "first_frame", "last_frame", "frames"}]}')
    p.add_argument("--smoothing", default="rts", choices=("rts", "kalman", "one_euro", "none"),
                   help="rts: offline Kalman + Rauch-Tung-Striebel, zero lag (default); "
                   "kalman / one_euro: causal filters as a live system would use; none")
    p.add_argument("--detect-every", type=int, metavar="N",
                   help="run the person detector every N frames (default: every 10 while the "
                   "picture outside the tracked people changes, someone walking in or a "
                   "moving camera, every 30 otherwise)")
    p.add_argument("--max-frames", type=int, metavar="N",
                   help="process only the first N frames")
    add_hands_options(p)
    add_quiet_option(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # FFmpeg's own log lines (e.g. on truncated files) would break the one-line errors;
    # problems are reported through exceptions and the summary instead.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    from mocap.app.preview import write_preview
    from mocap.fileio import OutputDir
    from mocap.io.video import open_video
    from mocap.tracking.loop import PipelineConfig, make_video_engine, track_video
    from mocap.tracking.smooth import SmoothConfig
    from mocap.tracking.tracks_io import write_tracks

    if args.max_people is not None and args.max_people < 1:
        raise MocapError(f"--max-people must be >= 1, got {args.max_people}")
    if args.detect_every is not None and args.detect_every < 1:
        raise MocapError(f"--detect-every must be >= 1, got {args.detect_every}")
    if args.max_frames is not None and args.max_frames < 1:
        raise MocapError(f"--max-frames must be >= 1, got {args.max_frames}")
    every = ({} if args.detect_every is None else  # given: every N frames, whatever happens
             {"detect_every": args.detect_every, "idle_detect_every": args.detect_every})
    config = PipelineConfig(**every, max_people=args.max_people,
                            smooth=SmoothConfig(method=args.smoothing))
    options = engine_options(args)  # options first: nothing is opened with bad ones
    # input first (a bad file must not create DIR), then the output (before minutes of work)
    open_video(args.video, prefetch=0).close()
    tty = sys.stderr.isatty() and not args.quiet
    hands = hand_config(args)
    with OutputDir(args.output) as out:
        engine = make_video_engine(options)
        bar = ProgressBar("tracking", tty)
        try:
            result = track_video(args.video, engine, config, progress=bar,
                                 max_frames=args.max_frames, hands=hands,
                                 engine_options=options)
        finally:
            bar.close()
        write_tracks(result, out)
        if args.preview:
            pbar = ProgressBar("preview ", tty)
            try:
                write_preview(args.video, result.tracks, out.path("preview.mp4"),
                              progress=lambda n: pbar(n, result.frame_count))
            finally:
                pbar.close()
        written = out.commit()
    if args.json:
        print(json.dumps(result.summary()))
    elif not args.quiet:
        fps = result.frame_count / max(result.seconds, 1e-9)
        print(f"{result.frame_count} frames ({result.duration:.2f} s of video) in "
              f"{result.seconds:.1f} s ({fps:.1f} fps), {len(result.tracks)} people")
        for t in result.tracks:
            hands = ""
            if t.has_hands:
                left, right = (int(n) for n in (t.hands_score > 0).sum(0))
                hands = f", hands in {left} (left) and {right} (right)"
            print(f"  person {t.id}: frames {t.first_frame}-{t.last_frame}, seen in "
                  f"{t.frames_observed}{hands}")
        for path in written:
            print(f"  wrote {path}")
    print_warnings(track_warning_records(result))
    return 0


def track_warning_records(result) -> list[dict]:
    """The warnings of a tracking run, as JSON: the video's (``truncated``,
    ``nobody_found``) and each person's that need no 3D (``short_track``, ``low_coverage``,
    ``id_gap``, ``low_confidence``: :func:`mocap.app.checks.track_warnings`)."""
    from mocap.app.checks import track_warnings, video_warnings

    fps = result.info.rate
    records = [{"person": None, **w.to_json()} for w in video_warnings(
        result.truncated, result.frame_count, len(result.tracks))]
    return records + [{"person": t.id, **w.to_json()} for t in result.tracks
                      for w in track_warnings(t, fps)]
