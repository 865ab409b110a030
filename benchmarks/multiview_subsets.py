"""Demo_MultiPerson from fewer cameras: every 2- and 3-camera subset against all four.

Each of the demo's 4 videos is tracked once (:func:`mocap.tracking.loop.track_video`,
defaults); then, for all four cameras and for every subset of two and three, the stages
``mocap convert --calibration Calib.qca.txt`` runs after tracking: the time offsets
(:func:`mocap.multiview.sync.estimate_offsets` with the calibration), the matching and the
triangulation. Printed per subset: the offsets found (frames), each person's median
reprojection error per camera (px), the share of frames triangulated, and how far each
person's smoothed landmarks lie from the same person's from all four cameras (mean over
landmarks and frames, mm; persons paired by their hip paths). Pose2Sim's Demo_SinglePerson
is not used.

Usage::

    .venv/bin/python benchmarks/multiview_subsets.py
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _solve(tracks, calib, fps):
    from mocap.multiview.match import match_tracks
    from mocap.multiview.scene import triangulate_persons
    from mocap.multiview.sync import estimate_offsets

    sync = estimate_offsets(tracks, fps, calib)
    match = match_tracks(tracks, calib, offsets=sync.offsets)
    persons = triangulate_persons(tracks, match, calib, offsets=sync.offsets, fps=fps)
    return sync.offsets, persons


def _distance_mm(a, b) -> float:
    """Mean distance (mm) between two persons' points over the frames both have."""
    common, ia, ib = np.intersect1d(a.frames, b.frames, return_indices=True)
    if not len(common):
        return float("inf")
    return float(1000 * np.linalg.norm(a.points[ia] - b.points[ib], axis=-1).mean())


def main() -> int:
    from mocap.io.assets import ensure_multiview_demo
    from mocap.multiview.calibration import read_calibration
    from mocap.tracking.loop import track_video

    files = ensure_multiview_demo()
    calib = read_calibration(files["Calib.qca.txt"])
    results = [track_video(files[f"{c.name}.mp4"]) for c in calib]
    fps = results[0].info.rate
    tracks = [r.tracks for r in results]
    t0 = time.perf_counter()
    _, reference = _solve(tracks, calib, fps)
    main_ref = [p for p in reference if p.observed.sum() >= 50]
    print(f"all 4 cameras: {len(reference)} persons, {len(main_ref)} seen in 50+ frames "
          f"({time.perf_counter() - t0:.1f} s)")
    for size in (3, 2):
        for subset in itertools.combinations(range(len(calib)), size):
            sub = calib.subset(subset)
            t0 = time.perf_counter()
            offsets, persons = _solve([tracks[v] for v in subset], sub, fps)
            seconds = time.perf_counter() - t0
            names = "+".join(sub.names)
            print(f"{names}: offsets {np.round(offsets, 2).tolist()}, {len(persons)} persons "
                  f"({seconds:.1f} s)")
            for ref_i, ref in enumerate(main_ref):
                dist = [_distance_mm(p, ref) for p in persons]
                if not dist or not np.isfinite(min(dist)):
                    print(f"  person {ref_i + 1}: not found")
                    continue
                p = persons[int(np.argmin(dist))]
                err = ", ".join(f"{sub[v].name} {e:.1f}" for v, e in
                                enumerate(p.median_error()))
                print(f"  person {ref_i + 1}: {min(dist):.0f} mm from the 4-camera "
                      f"landmarks, {p.observed.mean():.0%} of {len(p)} frames triangulated; "
                      f"median reprojection px: {err}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
