"""Benchmark `mocap convert` end to end (not a test): fps and peak memory.

Reports, in one run on this machine:

* ``mocap convert`` on the demo video (the real CLI in a subprocess: model load, decode,
  detection, landmarks, tracking, smoothing, 3D, retargeting, BVH + data + preview +
  report): wall-clock fps, the per-stage timings it reports, peak RSS;
* MediaPipe's legacy ``solutions.Pose`` (one person, decode included) on the same video in
  the same run, as the reference (needs an interpreter with ``mediapipe==0.10.21``, see
  ``bench_track.py``; ``--mediapipe-python ''`` skips it);
* with ``--one-person``: the same on a one-person clip made from the demo (its first 40
  frames, before the second person walks in, played forwards and backwards to 400 frames,
  same size, the demo's own codec: :func:`make_one_person_clip`): the like-for-like
  comparison, MediaPipe's Pose tracking one person too;
* with ``--long-minutes M``: a 1920x1080 video of M minutes made by looping the demo, and
  the peak RSS of converting it (memory must stay bounded whatever the length).

Runs alternate (MediaPipe, mocap, MediaPipe, mocap, ...) so background load hits both; the
medians are reported. Usage::

    python benchmarks/bench_convert.py [--repeat 3] [--one-person] [--long-minutes 10] \
        [--mediapipe-python /work/venv-mp/bin/python]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_track import DEFAULT_VIDEO, run_child, run_mediapipe

PEAK = ("import resource, sys; from mocap.cli import main; rc = main(sys.argv[1:]); "
        "print('PEAK_RSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
        "file=sys.stderr); sys.exit(rc)")


def run_convert(video: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-c", PEAK, "convert", str(video), "-o", str(out), "--json",
           "--force", *extra]
    proc, wall, _ = run_child(cmd)
    if proc.returncode != 0:
        raise RuntimeError(f"mocap convert failed:\n{proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = float(proc.stderr.split("PEAK_RSS_MB")[-1].split()[0])
    return {"frames": summary["frames"], "wall_seconds": wall, "convert_s": summary["wall_s"],
            "wall_fps": summary["frames"] / wall, "timings": summary["timings"],
            "people": len(summary["people"]), "peak_rss_mb": peak}


def make_one_person_clip(src: Path, dst: Path, first: int = 40, total: int = 400) -> str:
    """``src``'s first ``first`` frames played forwards, backwards, forwards... to ``total``
    frames, written to ``dst`` at the same size and rate, in the demo's own codec (VP9, at
    its ~4 Mbit/s) through imageio-ffmpeg's FFmpeg when that is installed (the test extra
    has it), else as mp4v through OpenCV (cheaper to decode than any phone's video).
    Returns the codec written."""
    import subprocess

    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while len(frames) < first:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    cap.release()
    h, w = frames[0].shape[:2]
    period = 2 * len(frames) - 2
    order = [k if k < len(frames) else period - k for k in (i % period for i in range(total))]
    try:
        import imageio_ffmpeg
    except ImportError:
        out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
        for k in order:
            out.write(frames[k])
        out.release()
        return "mp4v"
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", f"{fps:g}",
           "-i", "-", "-c:v", "libvpx-vp9", "-b:v", "4M", "-deadline", "realtime",
           "-cpu-used", "8", "-row-mt", "1", "-pix_fmt", "yuv420p", str(dst)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for k in order:
        proc.stdin.write(frames[k].tobytes())
    proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("FFmpeg could not write the one-person clip")
    return "vp9"


def compare(video: Path, tmp: Path, repeat: int, mediapipe: str) -> None:
    """Alternating runs of MediaPipe and ``mocap convert`` on ``video``; prints medians."""
    mp, mc = [], []
    for i in range(repeat):
        if mediapipe:
            mp.append(run_mediapipe(mediapipe, video))
            time.sleep(1)
        mc.append(run_convert(video, tmp / f"run{i}", []))
        time.sleep(1)
    fps = statistics.median(r["wall_fps"] for r in mc)
    print(f"mocap convert {video.name}: {mc[0]['frames']} frames, {mc[0]['people']} "
          f"people, {fps:.1f} fps wall (runs {[round(r['wall_fps'], 1) for r in mc]}), "
          f"peak RSS {max(r['peak_rss_mb'] for r in mc):.0f} MB")
    stages = {k: round(statistics.median(r["timings"].get(k, 0.0) for r in mc), 3)
              for k in mc[0]["timings"]}
    wall = statistics.median(r["wall_seconds"] for r in mc)
    print(f"  stages (s, medians): {stages}; start-up and exit (process wall - "
          f"conversion): {statistics.median(r['wall_seconds'] - r['convert_s'] for r in mc):.2f}")
    print("  share of the run: " + ", ".join(
        f"{k} {100 * v / wall:.1f} %" for k, v in stages.items()))
    loop = statistics.median(r["frames"] / r["timings"]["tracking"] for r in mc)
    print(f"  of which the per-frame loop (decode, detection, landmarks, tracking, "
          f"smoothing): {loop:.1f} fps")
    print(f"  whole process: median {wall:.2f} s (runs "
          f"{[round(r['wall_seconds'], 2) for r in mc]})")
    if mp:
        mfps = statistics.median(r["fps"] for r in mp)
        mwall = statistics.median(r["wall_seconds"] for r in mp)
        print(f"MediaPipe {mp[0]['version']} solutions.Pose (1 person, nothing written): "
              f"whole process median {mwall:.2f} s (runs "
              f"{[round(r['wall_seconds'], 2) for r in mp]}); its loop (decode + "
              f"inference) {mfps:.1f} fps; peak RSS "
              f"{max(r['peak_rss_mb'] for r in mp):.0f} MB")
        print(f"ratio to MediaPipe (> 1: mocap faster): whole process {mwall / wall:.2f}x "
              f"(mocap: all its people, start-up, all outputs); per-frame loop "
              f"{loop / mfps:.2f}x")


def make_long_video(src: Path, dst: Path, minutes: float, size=(1920, 1080)) -> int:
    """Loop ``src`` (resized to ``size``) into ``dst`` for ``minutes``; returns frames."""
    import cv2

    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, size))
    cap.release()
    total = int(minutes * 60 * fps)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    for i in range(total):
        # play forwards then backwards so people never jump between loops
        k = i % (2 * len(frames) - 2)
        out.write(frames[k if k < len(frames) else 2 * len(frames) - 2 - k])
    out.release()
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one-person", action="store_true",
                    help="also compare on a one-person clip made from the demo")
    ap.add_argument("--mediapipe-python", default="/work/venv-mp/bin/python")
    ap.add_argument("--long-minutes", type=float, default=0.0,
                    help="also convert a looped 1080p video this long (0: skip)")
    args = ap.parse_args()
    video = Path(args.video)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.one_person:
            clip = tmp / "one_person.mp4"
            codec = make_one_person_clip(video, clip)
            print(f"one-person clip: the demo's first 40 frames forwards and backwards to "
                  f"400 frames, {codec}")
            compare(clip, tmp / "one", args.repeat, args.mediapipe_python)
        compare(video, tmp / "demo", args.repeat, args.mediapipe_python)
        if args.long_minutes > 0:
            long_video = tmp / "long.mp4"
            t0 = time.perf_counter()
            n = make_long_video(video, long_video, args.long_minutes)
            print(f"long video: {n} frames 1920x1080 ({args.long_minutes:g} min) made in "
                  f"{time.perf_counter() - t0:.0f} s")
            r = run_convert(long_video, tmp / "long", [])
            print(f"  convert: {r['wall_fps']:.1f} fps wall, {r['people']} people, peak RSS "
                  f"{r['peak_rss_mb']:.0f} MB, stages (s): {r['timings']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
