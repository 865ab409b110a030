"""Benchmark `mocap pose` on still photos against MediaPipe's legacy Pose (not a test).

Runs, alternately and in one run, on the photos of a folder (default: the 30 COCO val2017
photos of ``../shared/data/keypoints/minicoco_val/images``):

* ``mocap pose IMAGE... --json OUT`` (the real CLI in a subprocess: start-up, model load,
  image decode, MoveNet, BlazePose on every person with a refining pass, writing);
* MediaPipe ``solutions.Pose(static_image_mode=True)`` on the same photos in its own
  interpreter (one person per photo at most, nothing written; ``--mediapipe-python``, see
  ``bench_track.py``).

Prints median whole-process wall times, per-photo times, people found, and the ratio
(MediaPipe time / mocap time: above 1.0 mocap is faster). Usage::

    python benchmarks/bench_pose.py [DIR] [--repeat 3] \
        [--mediapipe-python /work/venv-mp/bin/python] [--pose-args "--landmarks lite"]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

from bench_track import ROOT, run_child

DEFAULT_DIR = ROOT.parent / "shared" / "data" / "keypoints" / "minicoco_val" / "images"

MEDIAPIPE_SCRIPT = r"""
import json, sys, time
import cv2
import mediapipe as mp
pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
found = 0
t0 = time.perf_counter()
for path in sys.argv[1:]:
    img = cv2.imread(path)
    res = pose.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    found += res.pose_landmarks is not None
print(json.dumps({"images": len(sys.argv) - 1, "people": found,
                  "seconds": time.perf_counter() - t0}))
"""


def run_mocap(images: list[Path], extra: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "poses.json"
        cmd = [sys.executable, "-m", "mocap", "pose", *map(str, images), "--json", str(out),
               "-q", *extra]
        proc, wall, _ = run_child(cmd)
        if proc.returncode != 0:
            raise RuntimeError(f"mocap pose failed:\n{proc.stderr[-2000:]}")
        doc = json.loads(out.read_text())
    people = sum(len(im["people"]) for im in doc["images"])
    return {"wall_seconds": wall, "people": people}


def run_mediapipe(python: str, images: list[Path]) -> dict:
    proc, wall, _ = run_child([python, "-c", MEDIAPIPE_SCRIPT, *map(str, images)])
    if proc.returncode != 0:
        raise RuntimeError(f"MediaPipe failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = wall
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mediapipe-python", default="/work/venv-mp/bin/python")
    ap.add_argument("--pose-args", default="", help="extra `mocap pose` options")
    ap.add_argument("--json", action="store_true", help="print the numbers as JSON too")
    args = ap.parse_args()
    images = sorted(p for p in args.folder.glob("*") if p.suffix.lower() in (".jpg", ".png"))
    if not images:
        print(f"no photos in {args.folder} (../shared/data is needed for the default)",
              file=sys.stderr)
        return 2
    extra = shlex.split(args.pose_args)
    run_mocap(images[:1], extra)  # models cached, files warm
    ours, ref = [], []
    for _ in range(args.repeat):
        if args.mediapipe_python:
            ref.append(run_mediapipe(args.mediapipe_python, images))
        ours.append(run_mocap(images, extra))
    n = len(images)
    mine = statistics.median(r["wall_seconds"] for r in ours)
    print(f"{n} photos from {args.folder}, median of {args.repeat} runs, whole process:")
    print(f"  mocap pose {' '.join(extra)}: {mine:.2f} s ({1000 * mine / n:.0f} ms/photo), "
          f"{ours[0]['people']} people")
    result = {"images": n, "mocap_seconds": mine, "mocap_people": ours[0]["people"]}
    if ref:
        theirs = statistics.median(r["wall_seconds"] for r in ref)
        inner = statistics.median(r["seconds"] for r in ref)
        print(f"  MediaPipe Pose (static, one person max): {theirs:.2f} s "
              f"({1000 * theirs / n:.0f} ms/photo; {inner:.2f} s without start-up), "
              f"{ref[0]['people']} people")
        print(f"  ratio MediaPipe / mocap: {theirs / mine:.2f}x (above 1: mocap faster)")
        result |= {"mediapipe_seconds": theirs, "mediapipe_inner_seconds": inner,
                   "mediapipe_people": ref[0]["people"], "ratio": theirs / mine}
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
