"""The focal length from a turning camera on telephoto pans and zooms made from real footage.

Usage:
    python benchmarks/eval_camera_focal.py [--frames 120] [--step 1]

A 400 px window of the demo video (``tests.perception.telephoto``: a perspective-correct
moving crop, timer and logo burned in) pans 36 deg (and zooms 1.3x) at 1280 x 720 and
1920 x 1080 (3.2x and 4.8x the source's focal length). Prints per clip the true and
estimated first-frame focal length, the largest pan error, the frames called translating
(inlier share under the threshold) and unreliable, and ms per frame (update, finish). No
person boxes are given: the people in the window count as background outliers here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.perception.telephoto


def main() -> None:
    from mocap.io import assets
    from mocap.perception.camera_motion import CameraMotionConfig, CameraMotionEstimator
    from mocap.types import CameraPath
    from tests.perception.telephoto import read_frames, telephoto_clip

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--step", type=int, default=1)
    args = ap.parse_args()
    src = read_frames(assets.ensure_demo_video(), args.frames, args.step)
    n = len(src)
    share_min = CameraMotionConfig().translating_inliers
    print(f"{'clip':<22}{'f true':>8}{'f est':>8}{'+-':>6}{'err %':>7}{'pan err':>8}"
          f"{'transl.':>8}{'unrel.':>7}{'ms/fr':>7}{'fin ms':>8}")
    for size in ((1280, 720), (1920, 1080)):
        for zoom in (None, np.linspace(1, 1.3, n)):
            images, truth = telephoto_clip(src, np.linspace(-18, 18, n), zoom, size=size)
            est = CameraMotionEstimator(size)
            t0 = time.perf_counter()
            for im in images:
                est.update(im)
            t1 = time.perf_counter()
            path = est.finish()
            t2 = time.perf_counter()
            true = CameraPath(truth["rotation"], truth["zoom"], np.zeros(n), np.ones(n),
                              np.ones(n, bool))
            pan = np.abs(path.angles_deg()[:, 0] - true.angles_deg()[:, 0]).max()
            f_true = truth["focal_px"][0]
            f = path.focal_px if path.focal_px is not None else np.nan
            std = path.focal_std_px if path.focal_std_px is not None else np.nan
            low = int((np.nan_to_num(path.inlier_share, nan=1.0) < share_min).sum())
            name = f"{size[0]}x{size[1]} {'pan+zoom' if zoom is not None else 'pan'}"
            print(f"{name:<22}{f_true:8.0f}{f:8.0f}{std:6.0f}{100 * (f / f_true - 1):+7.1f}"
                  f"{pan:8.2f}{low:5d}{'*' if path.translating else ' ':>3}"
                  f"{int((~path.reliable).sum()):7d}{1000 * (t1 - t0) / n:7.1f}"
                  f"{1000 * (t2 - t1):8.0f}")
    print("transl.: frames with inlier share under", share_min, "(* = camera_translating)")


if __name__ == "__main__":
    main()
