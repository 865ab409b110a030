"""`mocap demo`: run the pose engine on the demo video (two people walking) out of the box."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from mocap import assets, fileio
from mocap.commands.pose import add_engine_options, make_engine, poses_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="try it: pose on the demo video, written to ./mocap-demo/",
        description="Obtain the demo video (Sports2D's demo.mp4, BSD-3-Clause: two people "
        "walking outdoors, 1768x994, 30 fps, 230 frames) from the sports2d==0.8.34 wheel on "
        "PyPI, verify it, and estimate every person's pose on evenly spaced frames. Writes "
        "overlay PNGs and poses.json (33 landmarks in px + world landmarks in m per person).",
        epilog="example: mocap demo -o mocap-demo --frames 8")
    p.add_argument("-o", "--output", default="mocap-demo", metavar="DIR",
                   help="output directory (default: ./mocap-demo)")
    p.add_argument("--frames", type=int, default=8, metavar="N",
                   help="number of evenly spaced frames to process (default: 8)")
    add_engine_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mocap.draw import draw_poses
    from mocap.errors import MocapError
    from mocap.video import open_video

    if args.frames < 1:
        raise MocapError(f"--frames must be >= 1, got {args.frames}")
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise MocapError(f"{out}: exists and is not a directory")
    print("mocap: obtaining the demo video (sports2d==0.8.34 from PyPI) ...", file=sys.stderr)
    video = assets.ensure_demo_video()
    engine = make_engine(args)
    with open_video(video) as reader:
        total = reader.info.frame_count if reader.info.frame_count > 0 else 230
        wanted = set(np.linspace(0, total - 1, min(args.frames, total)).round().astype(int))
        results = []
        for frame in reader:
            if frame.index not in wanted:
                continue
            poses = engine.estimate(frame.image)
            overlay = draw_poses(frame.image, poses,
                                 labels=[f"{s:.2f}" for s in poses.score])
            _, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
            name = f"frame_{frame.index:04d}.png"
            fileio.write_bytes(out / name, png.tobytes())
            entry = poses_json(name, frame.image.shape, poses)
            entry.update(frame=frame.index, timestamp=round(frame.timestamp, 4))
            results.append(entry)
            print(f"frame {frame.index:4d}: {len(poses)} people -> {out / name}",
                  file=sys.stderr)
    fileio.write_json(out / "poses.json", {"video": video.name, "frames": results})
    counts = [len(r["people"]) for r in results]
    print(f"{len(results)} frames, {min(counts)}-{max(counts)} people per frame; "
          f"overlays and poses.json in {out.resolve()}")
    return 0
