"""Benchmark `mocap track` on a video against MediaPipe's legacy Pose solution (not a test).

Reports, in one run on this machine:

* decode-only fps (OpenCV/FFmpeg, the physical ceiling; also through the reader thread);
* ``mocap track`` end to end (a subprocess running the real CLI: model load, decode,
  detection, landmarks, tracking, smoothing, writing) -- wall-clock fps, loop fps (the
  per-frame loop the CLI reports) and peak RSS;
* MediaPipe ``solutions.Pose`` (one person only, tracking mode, decode included) fps and
  peak RSS, run in a subprocess with an interpreter that has ``mediapipe==0.10.21``
  (``--mediapipe-python``; mediapipe pins numpy<2 and its own OpenCV, so it lives in its own
  venv: ``python -m venv /work/venv-mp && /work/venv-mp/bin/pip install mediapipe==0.10.21``);
* jitter (mean absolute second difference of smoothed / raw landmarks) and lag (the peak of
  the cross-correlation between raw and smoothed velocities) from the written tracks.

Runs alternate (MediaPipe, mocap, MediaPipe, mocap, ...) so background load hits both; the
median of ``--repeat`` runs is reported. Usage::

    /work/venv/bin/python benchmarks/bench_track.py [VIDEO] [--repeat 3] \
        [--mediapipe-python /work/venv-mp/bin/python] [--track-args "--max-people 2"] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "sports2d_demo.mp4"

MEDIAPIPE_SCRIPT = r"""
import json, resource, sys, time
import cv2
import mediapipe as mp
cap = cv2.VideoCapture(sys.argv[1])
pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                              smooth_landmarks=True)
n = found = 0
t0 = time.perf_counter()
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    res = pose.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    n += 1
    found += res.pose_landmarks is not None
dt = time.perf_counter() - t0
print(json.dumps({"frames": n, "frames_with_pose": found, "seconds": dt,
                  "fps": n / dt, "version": mp.__version__,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def decode_fps(video: Path) -> dict:
    import cv2

    from mocap.io.video import open_video

    cap = cv2.VideoCapture(str(video))
    n, t0 = 0, time.perf_counter()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    raw = n / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    with open_video(video) as v:
        m = sum(1 for _ in v)
    reader = m / (time.perf_counter() - t0)
    return {"frames": n, "opencv_read_fps": raw, "reader_rgb_fps": reader}


def run_child(cmd: list[str]) -> tuple[subprocess.CompletedProcess, float, float]:
    """Run ``cmd``; return (process, wall seconds, peak RSS MB of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the max over all waited-for children so far
    return proc, wall, max(after, before) / 1024


def run_mediapipe(python: str, video: Path) -> dict:
    proc, wall, _ = run_child([python, "-c", MEDIAPIPE_SCRIPT, str(video)])
    if proc.returncode != 0:
        raise RuntimeError(f"MediaPipe run failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = wall
    return out


def run_mocap(video: Path, out_dir: Path, extra: list[str]) -> dict:
    code = ("import resource, sys; from mocap.cli import main; rc = main(sys.argv[1:]); "
            "print('PEAK_RSS_MB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "
            "file=sys.stderr); sys.exit(rc)")
    cmd = [sys.executable, "-c", code, "track", str(video), "-o", str(out_dir), *extra]
    proc, wall, _ = run_child(cmd)
    if proc.returncode != 0:
        raise RuntimeError(f"mocap track failed:\n{proc.stderr[-2000:]}")
    peak = float(proc.stderr.split("PEAK_RSS_MB")[-1].split()[0])
    text = proc.stdout.strip().splitlines()
    loop_fps = float(text[0].split("(")[2].split(" fps")[0])
    frames = int(text[0].split()[0])
    return {"frames": frames, "wall_seconds": wall, "wall_fps": frames / wall,
            "loop_fps": loop_fps, "peak_rss_mb": peak, "summary": text}


def jitter_and_lag(npz: Path, min_visibility: float = 0.5, max_lag: int = 5,
                   space: str = "image") -> dict:
    """Jitter ratio and cross-correlation lag of smoothed vs raw image landmarks.

    Over every person and joint coordinate, on runs of consecutive observed frames where the
    joint is visible: mean |second difference| smoothed / raw, and for each series the lag
    (in frames) maximising the cross-correlation of raw and smoothed velocities.
    """
    z = np.load(npz)
    d2_raw, d2_sm, lags = [], [], []
    for pid in z["track_ids"]:
        dims = slice(0, 2) if space == "image" else slice(0, 3)
        raw, sm = z[f"p{pid}_{space}_raw"][..., dims], z[f"p{pid}_{space}"][..., dims]
        vis = z[f"p{pid}_visibility"] >= min_visibility
        for j in range(raw.shape[1]):
            ok = vis[:, j] & np.isfinite(raw[:, j]).all(1)
            # split into runs of consecutive valid frames
            idx = np.flatnonzero(ok)
            if len(idx) < 3:
                continue
            for run in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
                if len(run) < 3:
                    continue
                r, s = raw[run, j], sm[run, j]
                d2_raw.append(np.abs(np.diff(r, 2, axis=0)).ravel())
                d2_sm.append(np.abs(np.diff(s, 2, axis=0)).ravel())
                if len(run) >= 30:
                    for c in range(raw.shape[-1]):
                        vr, vs = np.diff(r[:, c]), np.diff(s[:, c])
                        vr, vs = vr - vr.mean(), vs - vs.mean()
                        if vr.std() == 0 or vs.std() == 0:
                            continue
                        xc = [np.dot(vr[max(0, -k):len(vr) - max(0, k)],
                                     vs[max(0, k):len(vs) - max(0, -k)])
                              for k in range(-max_lag, max_lag + 1)]
                        lags.append(int(np.argmax(xc)) - max_lag)
    raw_j = float(np.mean(np.concatenate(d2_raw)))
    sm_j = float(np.mean(np.concatenate(d2_sm)))
    lags = np.array(lags)
    return {"raw_mean_abs_d2": raw_j, "smoothed_mean_abs_d2": sm_j,
            "jitter_ratio": sm_j / raw_j, "series": len(lags),
            "lag_mode_frames": int(np.bincount(lags + max_lag).argmax() - max_lag),
            "lag_share_at_0": float(np.mean(lags == 0))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", default=str(DEFAULT_VIDEO))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mediapipe-python", default="/work/venv-mp/bin/python",
                    help="interpreter with mediapipe==0.10.21 ('' to skip MediaPipe)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    ap.add_argument("--track-args", default="", metavar="ARGS",
                    help='extra `mocap track` options, e.g. "--max-people 2"')
    ap.add_argument("--baseline-args", default=None, metavar="ARGS",
                    help='also run `mocap track` with these options, alternately (e.g. '
                    '"--detector blazepose", the pipeline before MoveNet), and compare')
    args = ap.parse_args(argv)
    video = Path(args.video)
    extra = shlex.split(args.track_args)
    report: dict = {"video": str(video), "cpu_count": os.cpu_count(), "track_args": extra}
    report["decode"] = decode_fps(video)
    mp_runs, mc_runs, base_runs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            if args.mediapipe_python:
                mp_runs.append(run_mediapipe(args.mediapipe_python, video))
            mc_runs.append(run_mocap(video, Path(tmp) / f"run{i}", extra))
            if args.baseline_args is not None:
                base_runs.append(run_mocap(video, Path(tmp) / f"base{i}",
                                           shlex.split(args.baseline_args)))
        if base_runs:
            report["baseline_jitter"] = jitter_and_lag(Path(tmp) / "base0" / "tracks.npz")
        report["jitter"] = jitter_and_lag(Path(tmp) / "run0" / "tracks.npz")
        report["jitter_world"] = jitter_and_lag(Path(tmp) / "run0" / "tracks.npz",
                                                space="world")
    med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
    report["mocap_track"] = {
        "runs": len(mc_runs), "wall_fps_median": med(mc_runs, "wall_fps"),
        "loop_fps_median": med(mc_runs, "loop_fps"),
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in mc_runs),
        "loop_fps_all": [round(r["loop_fps"], 1) for r in mc_runs],
        "tracks": mc_runs[0]["summary"][1:-2],
        "tracks_identical_across_runs": all(r["summary"][1:-2] == mc_runs[0]["summary"][1:-2]
                                            for r in mc_runs),
    }
    if mp_runs:
        report["mediapipe_pose"] = {
            "runs": len(mp_runs), "version": mp_runs[0]["version"],
            "fps_median": med(mp_runs, "fps"),
            "fps_all": [round(r["fps"], 1) for r in mp_runs],
            "frames_with_pose": mp_runs[0]["frames_with_pose"],
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in mp_runs),
        }
        report["speed_ratio_loop_vs_mediapipe"] = (report["mocap_track"]["loop_fps_median"]
                                                   / report["mediapipe_pose"]["fps_median"])
    if base_runs:
        report["baseline_track"] = {
            "args": args.baseline_args, "loop_fps_median": med(base_runs, "loop_fps"),
            "loop_fps_all": [round(r["loop_fps"], 1) for r in base_runs],
            "wall_fps_median": med(base_runs, "wall_fps"),
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in base_runs),
            "tracks": base_runs[0]["summary"][1:-2]}
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        d = report["decode"]
        print(f"video: {video} ({d['frames']} frames), {os.cpu_count()} CPUs")
        print(f"decode only: {d['opencv_read_fps']:.1f} fps (cv2.read), "
              f"{d['reader_rgb_fps']:.1f} fps (mocap reader, RGB)")
        m = report["mocap_track"]
        print(f"mocap track: loop {m['loop_fps_median']:.1f} fps (runs {m['loop_fps_all']}), "
              f"wall incl. model load + writing {m['wall_fps_median']:.1f} fps, "
              f"peak RSS {m['peak_rss_mb_max']:.0f} MB")
        for line in m["tracks"]:
            print(f"  {line.strip()}")
        if not m["tracks_identical_across_runs"]:
            print("  (tracks differed between runs: " + "; ".join(
                " | ".join(x.strip() for x in r["summary"][1:-2]) for r in mc_runs) + ")")
        if base_runs:
            b = report["baseline_track"]
            print(f"baseline `mocap track {b['args']}`: loop {b['loop_fps_median']:.1f} fps "
                  f"(runs {b['loop_fps_all']}), wall {b['wall_fps_median']:.1f} fps, peak RSS "
                  f"{b['peak_rss_mb_max']:.0f} MB; this / baseline loop "
                  f"{m['loop_fps_median'] / b['loop_fps_median']:.2f}x")
            for line in b["tracks"]:
                print(f"  {line.strip()}")
            j = report["baseline_jitter"]
            print(f"  baseline jitter ratio {j['jitter_ratio']:.3f}")
        if mp_runs:
            p = report["mediapipe_pose"]
            print(f"MediaPipe {p['version']} solutions.Pose (1 person): "
                  f"{p['fps_median']:.1f} fps (runs {p['fps_all']}), pose in "
                  f"{p['frames_with_pose']} frames, peak RSS {p['peak_rss_mb_max']:.0f} MB")
            print(f"speed ratio (mocap loop / MediaPipe): "
                  f"{report['speed_ratio_loop_vs_mediapipe']:.2f}x")
        for key, unit in (("jitter", "px"), ("jitter_world", "m")):
            j = report[key]
            print(f"{key}: mean |d2| raw {j['raw_mean_abs_d2']:.4g} {unit}, smoothed "
                  f"{j['smoothed_mean_abs_d2']:.4g} {unit}, ratio {j['jitter_ratio']:.3f}; "
                  f"lag mode {j['lag_mode_frames']} frames ({100 * j['lag_share_at_0']:.0f}% "
                  f"of {j['series']} series peak at 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
