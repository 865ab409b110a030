"""What measuring the camera's motion costs: ms per frame at 720p and 1080p, and its share
of the whole tracking loop.

Usage:
    python benchmarks/bench_camera.py [--frames 120]

Measures, on this machine, in one run:

1. :class:`mocap.perception.camera_motion.CameraMotionEstimator` alone on the demo video's
   frames re-filmed by a panning virtual camera (so features move and keyframes change) at
   1280 x 720 and 1920 x 1080: median and mean ms per frame;
2. the tracking loop (:func:`mocap.tracking.loop.track_video`, decode + detection +
   landmarks + tracking + smoothing) on the demo video with and without the estimate:
   seconds and the estimate's share (the reference, measured in the same run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: virtual view


def _frames(n: int) -> list[np.ndarray]:
    import cv2

    from mocap.io import assets

    cap = cv2.VideoCapture(str(assets.ensure_demo_video()))
    out = []
    while len(out) < n:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def estimator_ms(frames: list[np.ndarray], size: tuple[int, int]) -> tuple[float, float]:
    """(median, mean) ms per :meth:`update` on ``frames`` re-filmed panning at ``size``."""
    from mocap.perception.camera_motion import CameraMotionConfig, CameraMotionEstimator
    from tests.helpers import view_rotation, virtual_view

    f_src = 0.5 * frames[0].shape[1] / np.tan(np.radians(30))
    zoom = size[0] / 1280  # the same view at both sizes
    fov = float(2 * np.degrees(np.arctan(0.5 * size[0] / (f_src * zoom))))
    yaw = np.linspace(-7, 7, len(frames))
    images = [virtual_view(f, view_rotation(y), zoom, size) for f, y in zip(frames, yaw,
                                                                             strict=True)]
    est = CameraMotionEstimator(size, CameraMotionConfig(fov_deg=fov))
    times = []
    for im in images:
        t0 = time.perf_counter()
        est.update(im)
        times.append(time.perf_counter() - t0)
    path = est.finish()
    err = np.abs(path.angles_deg()[:, 0] - (yaw - yaw[0])).max()
    print(f"  {size[0]}x{size[1]}: pan error max {err:.3f} deg over {np.ptp(yaw):.0f} deg")
    return 1000 * float(np.median(times)), 1000 * float(np.mean(times))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=120, help="frames per size (default 120)")
    args = ap.parse_args()
    from mocap.io import assets
    from mocap.perception.camera_motion import CameraMotionConfig
    from mocap.tracking.loop import make_video_engine, track_video

    frames = _frames(args.frames)
    print(f"camera-motion estimate alone, {len(frames)} frames per size:")
    for size in ((1280, 720), (1920, 1080)):
        med, mean = estimator_ms(frames, size)
        print(f"  {size[0]}x{size[1]}: {med:.1f} ms/frame median, {mean:.1f} mean")
    engine = make_video_engine()
    video = assets.ensure_demo_video()
    track_video(video, engine, max_frames=30)  # warm up
    rows = {}
    for name, cam in (("without", None), ("with", CameraMotionConfig())):
        t0 = time.perf_counter()
        res = track_video(video, engine, camera=cam)
        rows[name] = (time.perf_counter() - t0, res.frame_count)
    (t_off, n), (t_on, _) = rows["without"], rows["with"]
    print(f"tracking loop on the demo video ({n} frames, 1768x994): {t_off:.2f} s without "
          f"the estimate, {t_on:.2f} s with it: +{1000 * (t_on - t_off) / n:.1f} ms/frame, "
          f"{100 * (t_on - t_off) / t_on:.1f} % of the loop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
