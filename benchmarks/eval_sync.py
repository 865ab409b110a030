"""Synchronisation of several videos of one take: recovered against true offsets (not a test).

* **Synthetic**: CMU takes (``../shared/data/bvh``; the seeded probe motion without it) as
  two people and a bystander seen by one view, 4 ring cameras (``tests/multiview``), each
  view's tracks sampled at the instants its true offset gives (0, +3.4, -7.25, +12 frames at
  30 fps; the 3D motion interpolated in time, cubic), 1.5 px noise, 10 % dropouts; per seed
  the offsets from the motion alone (coarse) and with the calibration (refined).
* **One person in two views** (each take alone): the harder case, one motion profile to
  compare, none to confirm it.
* **Demo_MultiPerson** (Pose2Sim, 4 calibrated views, 60 fps, 100 frames): the product's own
  tracks (``track_video``); its videos are synchronised, so the truth is 0; then the same
  tracks with view 3's frames relabelled 7 earlier (truth: the first estimate - 7).

Usage::

    .venv/bin/python benchmarks/eval_sync.py [--seeds 4] [--frames 240] [--no-demo] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TRUTH = np.array([0.0, 3.4, -7.25, 12.0])


def synthetic(seeds: int, frames: int) -> list[dict]:
    from mocap.multiview.sync import estimate_offsets
    from tests.multiview.people import FPS, people, shifted_view_tracks
    from tests.multiview.synthetic import ring

    persons = people(3, frames=frames)
    rows = []
    for seed in range(seeds):
        calib = ring(np.concatenate(persons[:2], 1), views=4, seed=seed)
        tracks, _ = shifted_view_tracks(persons, calib, TRUTH, seed, only_view={2: seed % 4})
        t0 = time.perf_counter()
        coarse = estimate_offsets(tracks, FPS)
        t1 = time.perf_counter()
        refined = estimate_offsets(tracks, FPS, calib)
        t2 = time.perf_counter()
        rows.append({"seed": seed, "truth": TRUTH.tolist(), "coarse": coarse.offsets.tolist(),
                     "refined": refined.offsets.tolist(), "scores": coarse.scores.tolist(),
                     "coarse_s": t1 - t0, "refined_s": t2 - t1})
    return rows


def single_person(frames: int, takes: int = 6) -> list[dict]:
    from mocap.multiview.sync import estimate_offsets
    from tests.multiview.people import FPS, people, shifted_view_tracks
    from tests.multiview.synthetic import ring

    rows = []
    truth = np.array([0.0, -7.25])
    for p, person in enumerate(people(takes, frames=frames)):
        calib = ring(person, views=2, seed=p)
        tracks, _ = shifted_view_tracks([person], calib, truth, p)
        coarse = estimate_offsets(tracks, FPS)
        refined = estimate_offsets(tracks, FPS, calib)
        rows.append({"take": p, "truth": truth.tolist(), "coarse": coarse.offsets.tolist(),
                     "refined": refined.offsets.tolist(), "score": float(coarse.scores[1])})
    return rows


def demo() -> dict:
    from mocap.io import assets
    from mocap.multiview.calibration import read_calibration
    from mocap.multiview.sync import estimate_offsets
    from mocap.tracking.loop import track_video

    files = assets.ensure_multiview_demo()
    calib = read_calibration(files["Calib.qca.txt"]).to_y_up()
    t0 = time.perf_counter()
    results = [track_video(files[f"cam0{v + 1}.mp4"]) for v in range(len(calib))]
    tracks = [r.tracks for r in results]
    fps = results[0].info.rate
    t1 = time.perf_counter()
    coarse = estimate_offsets(tracks, fps)
    t2 = time.perf_counter()
    refined = estimate_offsets(tracks, fps, calib)
    t3 = time.perf_counter()
    for tr in tracks[2]:
        tr.frames -= 7
    shifted = estimate_offsets(tracks, fps, calib)
    return {"fps": fps, "truth": [0.0] * len(calib), "coarse": coarse.offsets.tolist(),
            "refined": refined.offsets.tolist(), "scores": coarse.scores.tolist(),
            "shift_truth_view3": float(refined.offsets[2] - 7),
            "shift_refined_view3": float(shifted.offsets[2]),
            "tracking_s": t1 - t0, "coarse_s": t2 - t1, "refined_s": t3 - t2}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--no-demo", action="store_true")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from tests.multiview.synthetic import bvh_files

    out = {"motion": "CMU takes" if bvh_files() else "seeded probe motion (no ../shared)",
           "synthetic": synthetic(args.seeds, args.frames),
           "single_person": single_person(args.frames)}
    if not args.no_demo:
        out["demo"] = demo()
    if args.json:
        print(json.dumps(out, indent=1))
        return

    def fmt(values) -> str:
        return " ".join(f"{v:+7.2f}" for v in values)

    print(f"synthetic ({out['motion']}, {args.frames} frames at 30 fps, 4 views, 2 people + "
          "a bystander; frames)")
    for row in out["synthetic"]:
        c = np.abs(np.subtract(row["coarse"], row["truth"])).max()
        r = np.abs(np.subtract(row["refined"], row["truth"])).max()
        print(f"  seed {row['seed']}: truth {fmt(row['truth'])}\n"
              f"          coarse {fmt(row['coarse'])}  (worst error {c:.3f}, "
              f"{row['coarse_s']:.2f} s)\n"
              f"         refined {fmt(row['refined'])}  (worst error {r:.3f}, "
              f"{row['refined_s']:.2f} s)")
    print("one person in two views (truth -7.25 frames)")
    for row in out["single_person"]:
        print(f"  take {row['take']}: coarse {row['coarse'][1]:+8.2f}  refined "
              f"{row['refined'][1]:+8.2f}  (score {row['score']:.2f})")
    if "demo" in out:
        d = out["demo"]
        print(f"Demo_MultiPerson ({d['fps']:g} fps, synchronised videos: truth 0; tracking "
              f"{d['tracking_s']:.1f} s)\n"
              f"   coarse {fmt(d['coarse'])}  scores {fmt(d['scores'])}  ({d['coarse_s']:.2f} s)"
              f"\n  refined {fmt(d['refined'])}  ({d['refined_s']:.2f} s)\n"
              f"  view 3 relabelled 7 frames earlier: refined {d['shift_refined_view3']:+.2f}, "
              f"truth {d['shift_truth_view3']:+.2f}")


if __name__ == "__main__":
    main()
