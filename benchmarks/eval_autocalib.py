"""Self-calibration from people: accuracy and cost (not a test).

* Synthetic: 2 people (CMU takes in ``../shared/data/bvh``; the seeded probe motion without
  it), 90 frames, seen by a ring of 4 cameras (``tests/multiview/synthetic.py``: 1920x1080,
  f = 1100 px, principal point a few px off centre) without lens distortion and with the
  mild ``LENS``, Gaussian noise 1 and 2 px, 10 % dropouts; seeds 0-2. The scale from the
  known baseline (``scale_m``), then from the people (its error beside the error the true
  3D limbs predict for these people against the reference adult).
* Pose2Sim's Demo_MultiPerson tracked by the product (4 portrait views 1088x1920, about
  1675-1681 px focal length) against the file's calibration: all 4 views, the focal
  lengths given, every 3-view and 2-view subset.

Each row: camera centres (cm) and orientations (degrees) after the similarity (Umeyama)
mapping the estimated centres onto the true ones, focal length error (%), scale error (%:
how much larger the estimated world is), median reprojection error (px), seconds.

Usage::

    .venv/bin/python benchmarks/eval_autocalib.py [--no-demo] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def row(label: str, res, truth, seconds: float) -> dict:
    from tests.multiview.test_autocalib import compare

    got = compare(res.calibration, truth)
    return {"case": label, "centre_cm_max": float(got["centre_cm"].max()),
            "centre_cm_mean": float(got["centre_cm"].mean()),
            "angle_deg_max": float(got["angle_deg"].max()),
            "angle_deg_mean": float(got["angle_deg"].mean()),
            "focal_pct_max": float(np.abs(got["focal_pct"]).max()),
            "focal_pct": [round(float(f), 1) for f in got["focal_pct"]],
            "scale_pct": float(got["scale_pct"]), "error_px": float(res.median_error_px.max()),
            "persons": res.persons, "seconds": seconds}


def synthetic() -> list[dict]:
    from mocap.multiview.autocalib import auto_calibrate
    from tests.multiview.synthetic import LENS
    from tests.multiview.test_autocalib import NO_LENS, baseline, reference_scale_pct, scene

    out = []
    for lens, noise, seed in itertools.product(("none", "LENS"), (1.0, 2.0), range(3)):
        persons, calib, tracks = scene(seed, dist=NO_LENS if lens == "none" else LENS,
                                       noise_px=noise)
        sizes = [c.size for c in calib]
        start = time.perf_counter()
        res = auto_calibrate(tracks, sizes, scale_m=baseline(calib))
        r = row(f"synthetic lens={lens} noise={noise:g}px seed={seed} scale_m", res, calib,
                time.perf_counter() - start)
        people = auto_calibrate(tracks, sizes)
        r["people_scale_pct"] = row("", people, calib, 0.0)["scale_pct"]
        r["people_scale_pct_expected"] = reference_scale_pct(persons)
        out.append(r)
    return out


def demo() -> list[dict]:
    from mocap.io import assets
    from mocap.multiview.autocalib import auto_calibrate
    from mocap.multiview.calibration import read_calibration
    from mocap.tracking.loop import track_video

    files = assets.ensure_multiview_demo()
    calib = read_calibration(files["Calib.qca.txt"]).to_y_up()
    tracks = [track_video(files[f"cam0{v + 1}.mp4"]).tracks for v in range(len(calib))]
    out = []
    cases = [("demo 4 views", (0, 1, 2, 3), False), ("demo 4 views, focal given",
                                                      (0, 1, 2, 3), True)]
    cases += [(f"demo views {'+'.join(str(v + 1) for v in s)}", s, False)
              for k in (3, 2) for s in itertools.combinations(range(4), k)]
    for label, views, known in cases:
        sub = calib.subset(views)
        start = time.perf_counter()
        try:
            res = auto_calibrate([tracks[v] for v in views], [c.size for c in sub],
                                 names=sub.names,
                                 focal_px=[c.K[0, 0] for c in sub] if known else None)
        except ValueError as exc:  # InputError: the views could not be related
            out.append({"case": label, "failed": str(exc)})
            continue
        out.append(row(label, res, sub, time.perf_counter() - start))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-demo", action="store_true", help="synthetic cases only")
    parser.add_argument("--json", action="store_true", help="print JSON rows")
    args = parser.parse_args()
    from tests.multiview.synthetic import bvh_files

    if not bvh_files():
        print("(no ../shared/data/bvh: the synthetic people are the seeded probe motion)")
    rows = synthetic() + ([] if args.no_demo else demo())
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'case':52s} {'centre cm':>13s} {'angle deg':>11s} {'focal %':>8s} "
          f"{'scale %':>8s} {'people %':>15s} {'px':>5s} {'s':>5s}")
    for r in rows:
        if "failed" in r:
            print(f"{r['case']:52s} FAILED: {r['failed']}")
            continue
        people = (f"{r['people_scale_pct']:+6.1f} ({r['people_scale_pct_expected']:+5.1f})"
                  if "people_scale_pct" in r else "")
        print(f"{r['case']:52s} {r['centre_cm_mean']:5.1f} / {r['centre_cm_max']:5.1f} "
              f"{r['angle_deg_mean']:4.2f}/{r['angle_deg_max']:4.2f} "
              f"{r['focal_pct_max']:8.1f} {r['scale_pct']:+8.1f} {people:>15s} "
              f"{r['error_px']:5.1f} {r['seconds']:5.1f}")
    print("centre and angle: mean / max over the cameras after a similarity; focal: the "
          "largest |error|; people %: the world's scale error from the people (in brackets: "
          "what the true limbs predict against the 1.70 m reference adult)")


if __name__ == "__main__":
    main()
