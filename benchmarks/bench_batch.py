"""Benchmark `mocap batch`: 4 videos with --jobs 2 against --jobs 1 (not a test).

Usage::

    python benchmarks/bench_batch.py [VIDEO] [--videos 4] [--frames 90]

Cuts ``--videos`` clips of ``--frames`` frames from VIDEO (default: the demo), converts
them with ``mocap batch --jobs 1`` and ``--jobs 2`` (each job with cores/jobs threads), and
prints both wall times and the speed-up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
from bench_track import DEFAULT_VIDEO


def cut(src: Path, dst: Path, start: int, frames: int) -> None:
    cap = cv2.VideoCapture(str(src))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for _ in range(frames):
        ok, f = cap.read()
        if not ok:
            break
        out.write(f)
    out.release()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=90)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clips = tmp / "clips"
        clips.mkdir()
        for i in range(args.videos):
            cut(Path(args.video), clips / f"clip{i}.mp4", 30 * i, args.frames)
        times = {}
        for jobs in (1, 2):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "mocap", "batch", str(clips), "-o",
                                   str(tmp / f"out{jobs}"), "--jobs", str(jobs), "-q"],
                                  capture_output=True, text=True)
            times[jobs] = time.perf_counter() - t0
            if proc.returncode != 0:
                print(proc.stdout, proc.stderr)
                return 1
            time.sleep(1)
        print(f"{args.videos} videos x {args.frames} frames: --jobs 1 {times[1]:.1f} s, "
              f"--jobs 2 {times[2]:.1f} s, speed-up {times[1] / times[2]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
