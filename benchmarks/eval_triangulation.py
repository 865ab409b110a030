"""Triangulation accuracy and cost on synthetic ground truth (not a test).

Real motion, virtual cameras: every CMU take in ``../shared/data/bvh`` (the top-level files
and ``cmu_iclone/``; every joint, resampled to 30 fps) is seen by 4 calibrated cameras in a
ring around it (1920x1080, f = 1100 px, a wide-angle lens, see
``tests/multiview/synthetic.py``), with Gaussian noise on the 2D points, confidences in
[0.5, 1], 10 % of the points dropped and the points outside each image lost. Then
:func:`mocap.multiview.triangulate.triangulate` with its defaults, and the distance to the
true joint positions:

* mean and median error (mm) for 4, 3 and 2 views (the first cameras of the ring) at 1 and
  2 px of noise, and the share of points left NaN among those seen by two views or more;
* the same with one view confidently wrong on 30 % of the points (40-150 px off), with and
  without the rejection of views (``max_error_px=inf``);
* the cost: ms per frame per view for 33 joints (BlazePose's landmark count), 4 views,
  1000 frames at once (the median of 5 runs).

Usage::

    .venv/bin/python benchmarks/eval_triangulation.py [--max-frames 300] [--iclone-every 1]
        [--json]

Without ``../shared/data`` it runs on the seeded probe motion of ``tests.helpers`` and says
so.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def evaluate(takes: list[np.ndarray], views: int, noise: float, outlier: bool = False,
             reject: bool = True) -> dict:
    from mocap.multiview.triangulate import triangulate
    from tests.multiview.synthetic import observe, ring

    errors, missing = [], []
    for k, truth in enumerate(takes):
        calib = ring(truth, seed=k).subset(range(views))
        xy, conf, _ = observe(truth, calib, noise, np.random.default_rng(k),
                              outlier_view=2 if outlier else None)
        tri = triangulate(xy, conf, calib, **({} if reject else {"max_error_px": math.inf}))
        errors.append(np.linalg.norm(tri.points - truth, axis=-1).ravel() * 1000)
        seen = ((conf > 0).sum(0) >= 2).ravel()
        missing.append(np.isnan(tri.points[..., 0]).ravel()[seen])
    e = np.concatenate(errors)
    return {"views": views, "noise_px": noise, "outlier_view": outlier, "reject": reject,
            "mean_mm": float(np.nanmean(e)), "median_mm": float(np.nanmedian(e)),
            "p95_mm": float(np.nanpercentile(e, 95)),
            "missing": float(np.concatenate(missing).mean()), "points": len(e)}


def cost(takes: list[np.ndarray], frames: int = 1000, joints: int = 33, repeat: int = 5
         ) -> float:
    """ms per frame per view: 4 views, ``frames`` frames of ``joints`` joints at once."""
    from mocap.multiview.triangulate import triangulate
    from tests.multiview.synthetic import observe, ring

    pool = np.concatenate([t[:, :joints] for t in takes if t.shape[1] >= joints])
    truth = np.resize(pool, (frames, joints, 3)) if len(pool) < frames else pool[:frames]
    calib = ring(truth)
    xy, conf, _ = observe(truth, calib, 2.0, np.random.default_rng(0))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        triangulate(xy, conf, calib)
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1000 / frames / len(calib)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-frames", type=int, default=300,
                        help="frames per take at most (30 fps), default 300")
    parser.add_argument("--iclone-every", type=int, default=1,
                        help="use every N-th take of cmu_iclone/ (default: all)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    from tests.multiview.synthetic import bvh_files, take_positions

    files = bvh_files(args.iclone_every)
    source = f"{len(files)} CMU takes from ../shared/data/bvh" if files else (
        "the probe motion (../shared/data/bvh not found)")
    takes = [take_positions(f, max_frames=args.max_frames) for f in files or [None]]
    rows = [evaluate(takes, v, n) for v in (4, 3, 2) for n in (1.0, 2.0)]
    rows += [evaluate(takes, 4, 2.0, outlier=True, reject=r) for r in (True, False)]
    ms = cost(takes)
    if args.json:
        print(json.dumps({"source": source, "frames": int(sum(len(t) for t in takes)),
                          "rows": rows, "ms_per_frame_per_view_33_joints": ms}, indent=1))
        return 0
    print(f"{source}, {sum(len(t) for t in takes)} frames, every joint; 4 virtual cameras")
    print(f"{'views':>5} {'noise':>6} {'case':<26} {'mean mm':>8} {'median':>7} {'p95':>6} "
          f"{'NaN':>7}")
    for r in rows:
        case = ("clean" if not r["outlier_view"] else
                "one view wrong, rejected" if r["reject"] else "one view wrong, kept")
        print(f"{r['views']:>5} {r['noise_px']:>4.0f}px {case:<26} {r['mean_mm']:>8.2f} "
              f"{r['median_mm']:>7.2f} {r['p95_mm']:>6.1f} {100 * r['missing']:>6.3f}%")
    print(f"cost: {ms:.4f} ms per frame per view (33 joints, 4 views, 1000 frames at once)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
