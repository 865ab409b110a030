"""Benchmark pose-driven hands on the demo video against MediaPipe Holistic (not a test).

Reports, in one run on this machine:

* agreement with MediaPipe Holistic's hand landmarks: ``mediapipe.solutions.holistic``
  (``static_image_mode=False, model_complexity=1``, defaults) runs over every frame in a
  subprocess with an interpreter that has ``mediapipe==0.10.21`` (``--mediapipe-python``;
  see ``bench_track.py`` for that venv) and writes per frame its pose (33) and left/right
  hand (21) landmarks in image px; ours is ``track_video(V, hands=HandConfig())``.
  Holistic follows one person: each frame it is matched to our track whose raw pose
  landmarks are nearest (median over the landmarks both see). Per hand side: frames where
  each finds the hand (coverage), frames where both do, and the median / mean distance over
  the 21 landmarks there, in px and relative to the hand's size (Holistic's wrist ->
  middle_mcp distance). Holistic's ``left_hand_landmarks`` is checked against its own pose
  wrists (is it the person's left hand, BlazePose's landmark 15?);
* cost: the tracking loop (decode, detection, landmarks, tracking, smoothing; timed as
  :func:`mocap.tracking.loop.track_video` times it, models loaded beforehand) with and
  without hands, alternately, ``--repeat`` times, medians; the hand regions the estimator
  ran on (counted by a subclass wrapping :meth:`HandEngine.landmarks`) and the extra
  milliseconds per hand region; the raw model cost per crop on LiteRT (batch of 4 crops)
  of the full and lite landmark models and the re-crop model;
* whole-process ``mocap convert`` wall time with and without ``--hands`` (subprocess,
  alternately, medians) when the CLI has that option.

Usage::

    .venv/bin/python benchmarks/bench_hands.py [VIDEO] [--repeat 3] \
        [--mediapipe-python /work/venv-mp/bin/python] [--json]

Without ``VIDEO``, ``../shared/data/videos/sports2d_demo.mp4`` is used, or the same demo
video from the registry (``mocap.io.assets.ensure_demo_video()``) where ../shared is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_convert import run_convert  # noqa: E402
from bench_track import DEFAULT_VIDEO, run_child  # noqa: E402

HOLISTIC_SCRIPT = r"""
import json, sys, time
import cv2
import numpy as np
import mediapipe as mp
cap = cv2.VideoCapture(sys.argv[1])
holistic = mp.solutions.holistic.Holistic(static_image_mode=False, model_complexity=1)
pose, left, right = [], [], []
def px(lms, n, w, h):
    if lms is None:
        return np.full((n, 3), np.nan, np.float32)
    return np.array([[p.x * w, p.y * h, p.visibility if n == 33 else 1.0]
                     for p in lms.landmark], np.float32)
t0 = time.perf_counter()
while True:
    ok, bgr = cap.read()
    if not ok:
        break
    h, w = bgr.shape[:2]
    r = holistic.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    pose.append(px(r.pose_landmarks, 33, w, h))
    left.append(px(r.left_hand_landmarks, 21, w, h))
    right.append(px(r.right_hand_landmarks, 21, w, h))
dt = time.perf_counter() - t0
np.savez(sys.argv[2], pose=np.stack(pose), left=np.stack(left), right=np.stack(right))
print(json.dumps({"frames": len(pose), "seconds": dt, "fps": len(pose) / dt,
                  "version": mp.__version__}))
"""

SIDES = ("left", "right")


def default_video() -> Path:
    if DEFAULT_VIDEO.is_file():
        return DEFAULT_VIDEO
    from mocap.io.assets import ensure_demo_video

    return ensure_demo_video()


# --------------------------------------------------------------------------------------
# MediaPipe Holistic
# --------------------------------------------------------------------------------------
def run_holistic(python: str, video: Path, out: Path) -> dict:
    """Holistic over every frame; ``{"pose" (F, 33, 3) x, y px + visibility, "left" /
    "right" (F, 21, 3) x, y px (+ 1), NaN where not found, "seconds", "fps", "version"}``."""
    proc, wall, _ = run_child([python, "-c", HOLISTIC_SCRIPT, str(video), str(out)])
    if proc.returncode != 0:
        raise RuntimeError(f"MediaPipe Holistic failed:\n{proc.stderr[-2000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    z = np.load(out)
    return {**info, "wall_seconds": wall, "pose": z["pose"], "left": z["left"],
            "right": z["right"]}


def holistic_sides(hol: dict) -> dict:
    """Is Holistic's ``left_hand_landmarks`` the person's left? Frames where each hand's
    wrist is nearer its pose's left wrist (15) than its right wrist (16), and the other way."""
    pose = hol["pose"][..., :2]
    out = {}
    for side in SIDES:
        hand = hol[side][..., :2]
        ok = np.isfinite(hand[:, 0, 0]) & np.isfinite(pose[:, 0, 0])
        d_left = np.linalg.norm(hand[ok, 0] - pose[ok, 15], axis=-1)
        d_right = np.linalg.norm(hand[ok, 0] - pose[ok, 16], axis=-1)
        med = (lambda d: float(np.median(d))) if ok.any() else (lambda d: None)
        out[side] = {"frames": int(ok.sum()),
                     "nearer_pose_left_wrist": int((d_left < d_right).sum()),
                     "nearer_pose_right_wrist": int((d_right < d_left).sum()),
                     "median_px_to_pose_left_wrist": med(d_left),
                     "median_px_to_pose_right_wrist": med(d_right)}
    left, right = hol["left"][..., :2], hol["right"][..., :2]
    both = np.isfinite(left[:, 0, 0]) & np.isfinite(right[:, 0, 0])
    out["both_hands_frames"] = int(both.sum())
    out["hands_coincide_frames"] = int(_coincide(hol).sum())
    return out


def _coincide(hol: dict) -> np.ndarray:
    """(F,) bool: Holistic reports both hands at one place (wrists closer than the hand's
    wrist -> middle_mcp length: hands clasped, or one hand found twice)."""
    left, right = hol["left"][..., :2], hol["right"][..., :2]
    gap = np.linalg.norm(left[:, 0] - right[:, 0], axis=-1)
    size = np.linalg.norm(left[:, 9] - left[:, 0], axis=-1)
    with np.errstate(invalid="ignore"):
        return np.nan_to_num(gap, nan=np.inf) < np.nan_to_num(size, nan=0.0)


# --------------------------------------------------------------------------------------
# ours
# --------------------------------------------------------------------------------------
def counting_hand_engine(config, options=None, engine=None):
    """A :class:`HandEngine` built as ``track_video`` builds it, counting the regions its
    landmark model runs on (``.regions``) and the calls (``.calls``)."""
    from mocap.perception.engine.runtime import resolve_backend, resolve_device
    from mocap.perception.hands import HandEngine
    from mocap.perception.landmarks import EngineOptions

    class CountingHandEngine(HandEngine):
        regions = 0
        calls = 0

        def landmarks(self, image, rois):
            self.regions += len(rois)
            self.calls += 1
            return super().landmarks(image, rois)

    opts = options or EngineOptions()
    device = getattr(engine, "device", None) or resolve_device(opts.device)
    backend = getattr(engine, "backend", None) or resolve_backend(opts.backend, device)
    return CountingHandEngine(opts.models_dir, backend, device, opts.threads, opts.compile,
                              config)


def run_loop(video: Path, hands: bool) -> dict:
    """The tracking loop as ``track_video`` runs and times it (models loaded first, not
    timed), with a counting hand engine when ``hands``."""
    from mocap.io.video import open_video
    from mocap.perception.hands import HandConfig
    from mocap.tracking.loop import PipelineConfig, make_video_engine, track_frames

    engine = make_video_engine()
    hand_engine = counting_hand_engine(HandConfig(), None, engine) if hands else None
    reader = open_video(video, threads=1)
    try:
        t0 = time.perf_counter()
        tracks, ts, _ = track_frames(reader, engine, PipelineConfig(), hands=hand_engine)
        seconds = time.perf_counter() - t0
    finally:
        reader.close()
    return {"seconds": seconds, "frames": len(ts), "fps": len(ts) / seconds,
            "people": len(tracks), "backend": getattr(engine, "backend", None),
            "hand_regions": hand_engine.regions if hands else 0,
            "hand_calls": hand_engine.calls if hands else 0}


def model_cost(repeat: int, batch: int = 4, rounds: int = 10) -> dict:
    """ms per crop of each hand model on LiteRT, ``batch`` real-sized random crops per call,
    the models alternating; median over ``repeat`` x ``rounds`` calls."""
    from mocap.io import assets
    from mocap.perception.engine.runtime import LiteRTRunner

    wanted = {"landmark_full": (assets.HAND_LANDMARK_FULL, 224),
              "landmark_lite": (assets.HAND_LANDMARK_LITE, 224),
              "recrop": (assets.HAND_RECROP, 256)}
    paths = assets.ensure_models(None, tuple(a for a, _ in wanted.values()))
    rng = np.random.default_rng(0)
    runners, inputs = {}, {}
    for key, (asset, size) in wanted.items():
        runners[key] = LiteRTRunner(paths[asset.name])
        inputs[key] = rng.random((batch, size, size, 3), dtype=np.float32)
        runners[key](inputs[key])  # warm-up
    times: dict[str, list[float]] = {k: [] for k in wanted}
    for _ in range(repeat * rounds):
        for key in wanted:
            t0 = time.perf_counter()
            runners[key](inputs[key])
            times[key].append((time.perf_counter() - t0) / batch * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


# --------------------------------------------------------------------------------------
# agreement
# --------------------------------------------------------------------------------------
def match_tracks(pose: np.ndarray, tracks, max_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame, the index into ``tracks`` of the track whose raw pose landmarks are
    nearest Holistic's (median distance over landmarks both have); -1 where Holistic has no
    pose or nothing is within ``max_px``. Returns (match (F,), distance (F,))."""
    f = len(pose)
    best = np.full(f, -1)
    dist = np.full(f, np.inf)
    for k, t in enumerate(tracks):
        for row, frame in enumerate(t.frames):
            if frame >= f or not t.observed[row]:
                continue
            d = np.linalg.norm(t.image_raw[row, :, :2] - pose[frame, :, :2], axis=-1)
            d = d[np.isfinite(d)]
            if len(d) and np.median(d) < dist[frame]:
                dist[frame], best[frame] = float(np.median(d)), k
    best[dist > max_px] = -1
    return best, dist


def agreement(hol: dict, tracks, frames: int) -> dict:
    """Per side: coverage and distance between Holistic's and our matched track's hands."""
    pose = hol["pose"]
    f = min(frames, len(pose))
    seen = np.isfinite(pose[:, 0, 0])
    height = np.median(pose[seen, :, 1].max(1) - pose[seen, :, 1].min(1))
    match, dist = match_tracks(pose[:f], tracks, 0.1 * height)
    matched = match >= 0
    ours = {side: np.full((f, 21, 2), np.nan) for side in SIDES}
    for i in np.flatnonzero(matched):
        t = tracks[match[i]]
        row = int(np.searchsorted(t.frames, i))
        for s, side in enumerate(SIDES):
            if t.hands_score[row, s] > 0:
                ours[side][i] = t.hands_image[row, s]
    main = np.bincount(match[matched]).argmax() if matched.any() else -1
    out = {"frames": f, "holistic_pose_frames": int(np.isfinite(pose[:f, 0, 0]).sum()),
           "matched_frames": int(matched.sum()),
           "matched_pose_median_px": float(np.median(dist[matched])) if matched.any() else None,
           "matched_track_ids": sorted({int(tracks[k].id) for k in match[matched]}),
           "main_track_id": int(tracks[main].id) if main >= 0 else None,
           "person_height_px": float(height)}
    for s, side in enumerate(SIDES):
        theirs = hol[side][:f, :, :2].astype(np.float64)
        h_found = np.isfinite(theirs[:, 0, 0]) & matched
        o_found = np.isfinite(ours[side][:, 0, 0])
        both = h_found & o_found
        row = {"holistic_found": int(h_found.sum()), "ours_found": int(o_found.sum()),
               "both": int(both.sum()), "holistic_only": int((h_found & ~o_found).sum()),
               "ours_only": int((o_found & ~h_found).sum()),
               "holistic_only_hands_coincide": int((h_found & ~o_found & _coincide(hol)[:f]).sum())}
        if main >= 0:  # our main track's coverage over all its frames, matched or not
            t = tracks[main]
            row["main_track_frames"] = len(t)
            row["main_track_found"] = int((t.hands_score[:, s] > 0).sum())
        if both.any():
            d = np.linalg.norm(ours[side][both] - theirs[both], axis=-1)  # (B, 21)
            size = np.linalg.norm(theirs[both, 9] - theirs[both, 0], axis=-1)
            rel = d / size[:, None]
            wrist_pose = np.linalg.norm(theirs[both, 0] - pose[:f][both][:, 15 + s, :2], -1)
            row.update({
                "median_px": float(np.median(d)), "mean_px": float(d.mean()),
                "median_rel": float(np.median(rel)), "mean_rel": float(rel.mean()),
                "hand_size_median_px": float(np.median(size)),
                "wrist_median_px": float(np.median(d[:, 0])),
                "frame_mean_px_p90": float(np.percentile(d.mean(1), 90)),
                "holistic_wrist_to_pose_wrist_median_px": float(np.median(wrist_pose)),
            })
        out[side] = row
    return out


# --------------------------------------------------------------------------------------
# whole process
# --------------------------------------------------------------------------------------
def convert_has_hands() -> bool:
    proc = subprocess.run([sys.executable, "-m", "mocap", "convert", "--help"],
                          capture_output=True, text=True)
    return proc.returncode == 0 and "--hands" in proc.stdout


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video", nargs="?", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--mediapipe-python", default="/work/venv-mp/bin/python",
                    help="interpreter with mediapipe==0.10.21 ('' to skip Holistic)")
    ap.add_argument("--no-convert", action="store_true",
                    help="skip the whole-process `mocap convert` timing")
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    video = Path(args.video) if args.video else default_video()
    report: dict = {"video": str(video), "cpu_count": os.cpu_count(), "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # agreement: one Holistic run, one tracked run with hands (plain track_video)
        from mocap.perception.hands import HandConfig
        from mocap.tracking.loop import track_video

        hol = None
        if args.mediapipe_python:
            hol = run_holistic(args.mediapipe_python, video, tmp / "holistic.npz")
            report["holistic"] = {k: hol[k] for k in ("version", "frames", "seconds", "fps")}
            report["holistic_sides"] = holistic_sides(hol)
        result = track_video(video, hands=HandConfig())
        if hol is not None:
            report["agreement"] = agreement(hol, result.tracks, result.frame_count)
        # cost: loop without / with hands, alternately
        plain, with_hands = [], []
        for _ in range(args.repeat):
            plain.append(run_loop(video, hands=False))
            with_hands.append(run_loop(video, hands=True))
        med = lambda runs, k: statistics.median(r[k] for r in runs)  # noqa: E731
        regions = with_hands[0]["hand_regions"]
        extra = med(with_hands, "seconds") - med(plain, "seconds")
        report["loop"] = {
            "frames": plain[0]["frames"], "people": plain[0]["people"],
            "backend": plain[0]["backend"],
            "seconds_without": med(plain, "seconds"), "seconds_with": med(with_hands, "seconds"),
            "fps_without": med(plain, "fps"), "fps_with": med(with_hands, "fps"),
            "seconds_without_all": [round(r["seconds"], 2) for r in plain],
            "seconds_with_all": [round(r["seconds"], 2) for r in with_hands],
            "hand_regions": regions, "hand_frames": with_hands[0]["hand_calls"],
            "extra_seconds": extra, "ms_per_hand": 1e3 * extra / max(regions, 1),
        }
        report["model_ms_per_crop"] = model_cost(args.repeat)
        # whole process
        if args.no_convert:
            report["convert"] = {"available": False, "why": "skipped (--no-convert)"}
        elif not convert_has_hands():
            report["convert"] = {"available": False,
                                 "why": "`mocap convert --help` has no --hands option"}
        else:
            off, on = [], []
            for i in range(args.repeat):
                off.append(run_convert(video, tmp / f"c{i}", []))
                on.append(run_convert(video, tmp / f"h{i}", ["--hands"]))
            for r in off + on:
                r["tracking_s"] = r["timings"].get("tracking", float("nan"))
            frames = off[0]["frames"]
            report["convert"] = {
                "available": True,
                "seconds_without": med(off, "wall_seconds"),
                "seconds_with": med(on, "wall_seconds"),
                "fps_without": frames / med(off, "wall_seconds"),
                "fps_with": frames / med(on, "wall_seconds"),
                "seconds_without_all": [round(r["wall_seconds"], 2) for r in off],
                "seconds_with_all": [round(r["wall_seconds"], 2) for r in on],
                "tracking_stage_without": med(off, "tracking_s"),
                "tracking_stage_with": med(on, "tracking_s"),
                "timings_without": off[0]["timings"], "timings_with": on[0]["timings"]}
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print_report(report)
    return 0


def print_report(report: dict) -> None:
    print(f"video: {report['video']}, {report['cpu_count']} CPUs, repeat {report['repeat']}")
    if "holistic" in report:
        h = report["holistic"]
        print(f"\nMediaPipe {h['version']} Holistic (model_complexity=1; face mesh included): "
              f"{h['frames']} frames, {h['fps']:.1f} fps")
        for side in SIDES:
            s = report["holistic_sides"][side]
            print(f"  its {side}_hand_landmarks: wrist nearer its pose's left wrist (15) in "
                  f"{s['nearer_pose_left_wrist']}, right wrist (16) in "
                  f"{s['nearer_pose_right_wrist']} of {s['frames']} frames")
        a = report["agreement"]
        sd = report["holistic_sides"]
        print(f"  both hands in {sd['both_hands_frames']} frames, at one place (wrists closer "
              f"than a hand length) in {sd['hands_coincide_frames']}")
        print(f"\nagreement with Holistic (its one person matched per frame to our track by "
              f"pose: {a['matched_frames']} of {a['holistic_pose_frames']} frames with its "
              f"pose, median pose distance {a['matched_pose_median_px']:.1f} px, tracks "
              f"{a['matched_track_ids']}; person ~{a['person_height_px']:.0f} px tall)")
        print(f"  {'side':<6}{'Holistic':>9}{'ours':>6}{'both':>6}{'H only':>8}{'ours only':>10}"
              f"{'median px':>11}{'mean px':>9}{'median/size':>13}{'mean/size':>11}"
              f"{'size px':>9}{'wrist px':>10}")
        for side in SIDES:
            s = a[side]
            dists = (f"{s['median_px']:11.1f}{s['mean_px']:9.1f}{s['median_rel']:13.2f}"
                     f"{s['mean_rel']:11.2f}{s['hand_size_median_px']:9.1f}"
                     f"{s['wrist_median_px']:10.1f}" if s["both"] else "")
            print(f"  {side:<6}{s['holistic_found']:9d}{s['ours_found']:6d}{s['both']:6d}"
                  f"{s['holistic_only']:8d}{s['ours_only']:10d}{dists}")
        print("  (size: Holistic's wrist -> middle_mcp; frames counted over the matched ones; "
              "'H only' frames where Holistic's two hands are at one place: "
              + ", ".join(f"{side} {a[side]['holistic_only_hands_coincide']}" for side in SIDES)
              + ")")
        if a["main_track_id"] is not None:
            cov = ", ".join(f"{side} {a[side]['main_track_found']}/{a[side]['main_track_frames']}"
                            for side in SIDES)
            print(f"  our track {a['main_track_id']} over all its frames: hands found {cov}")
    lp = report["loop"]
    print(f"\ntracking loop ({lp['frames']} frames, {lp['people']} people, {lp['backend']}; "
          f"medians of {report['repeat']}, alternating):")
    print(f"  without hands {lp['seconds_without']:.2f} s = {lp['fps_without']:.1f} fps "
          f"(runs {lp['seconds_without_all']})")
    print(f"  with hands    {lp['seconds_with']:.2f} s = {lp['fps_with']:.1f} fps "
          f"(runs {lp['seconds_with_all']})")
    print(f"  hand regions run: {lp['hand_regions']} over {lp['hand_frames']} frames; extra "
          f"{lp['extra_seconds']:.2f} s = {lp['ms_per_hand']:.1f} ms per hand region "
          "(re-crop + landmarks + crops + decoding)")
    m = report["model_ms_per_crop"]
    print(f"model cost on LiteRT (batch of 4, ms per crop): landmark full "
          f"{m['landmark_full']:.2f}, landmark lite {m['landmark_lite']:.2f}, "
          f"re-crop {m['recrop']:.2f}")
    c = report["convert"]
    if c["available"]:
        print(f"whole process `mocap convert`: without --hands {c['seconds_without']:.2f} s "
              f"({c['fps_without']:.1f} fps, runs {c['seconds_without_all']}), with --hands "
              f"{c['seconds_with']:.2f} s ({c['fps_with']:.1f} fps, runs "
              f"{c['seconds_with_all']})")
        print(f"  its tracking stage: {c['tracking_stage_without']:.2f} s without, "
              f"{c['tracking_stage_with']:.2f} s with --hands; first runs' stages (s) without "
              f"{c['timings_without']}, with {c['timings_with']}")
    else:
        print(f"whole process `mocap convert --hands`: not available ({c['why']})")


if __name__ == "__main__":
    sys.exit(main())
