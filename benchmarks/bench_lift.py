"""Cost of the learned 3D stage per person-frame on this machine (not a test).

Times :func:`mocap.lift.stage.lift_track` (input preparation, the network over the track and
over its mirror image, resampling) on synthetic tracks of 100, 300 and 900 frames at 30 and
60 fps, after a first call that loads torch and the weights (timed apart), with 1 and 2
torch threads; the median of ``--repeat`` runs. The reference measured in the same run is
none: BlazePose's 3D (``--lift blazepose``) costs nothing beyond tracking, so the figure
is held against issue 22's budget, 2 ms per person-frame (tracking itself costs tens of
ms per frame: ``benchmarks/bench_track.py``).

Usage::

    .venv/bin/python benchmarks/bench_lift.py [--repeat 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.types import Track  # noqa: E402

BUDGET_MS = 2.0


def synthetic_track(frames: int, fps: float, seed: int = 0) -> Track:
    """A walking-sized person's landmarks with slow random motion (the network's cost does
    not depend on the values)."""
    rng = np.random.default_rng(seed)
    base = rng.normal(0, 0.3, (1, 33, 3))
    world = (base + 0.05 * np.cumsum(rng.normal(0, 0.1, (frames, 33, 3)), 0)).astype(np.float32)
    xy = 500 + 400 * world[..., :2]
    image = np.concatenate([xy, np.zeros((frames, 33, 1), np.float32)], -1)
    vis = np.full((frames, 33), 0.9, np.float32)
    return Track(id=1, frames=np.arange(frames), times=np.arange(frames) / fps,
                 observed=np.ones(frames, bool), image_raw=image, world_raw=world,
                 visibility=vis, presence=np.ones_like(vis), score=np.ones(frames, np.float32),
                 image=image, world=world)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    import torch

    from mocap.lift.stage import lift_track

    lift_track(synthetic_track(30, 30.0), (1000, 1000), 30.0)
    first = time.perf_counter() - t0
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for frames in (100, 300, 900):
            for fps in (30.0, 60.0):
                track = synthetic_track(frames, fps)
                times = []
                for _ in range(args.repeat):
                    s = time.perf_counter()
                    lift_track(track, (1000, 1000), fps)
                    times.append(time.perf_counter() - s)
                ms = 1000 * statistics.median(times) / frames
                rows.append({"threads": threads, "frames": frames, "fps": fps,
                             "ms_per_person_frame": ms})
    result = {"first_call_s": first, "budget_ms": BUDGET_MS, "rows": rows}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"first call (torch import + weights): {first:.2f} s")
    print("threads  frames   fps   ms/person-frame")
    for r in rows:
        print(f"{r['threads']:7d}  {r['frames']:6d}  {r['fps']:4.0f}   "
              f"{r['ms_per_person_frame']:8.3f}")
    worst = max(r["ms_per_person_frame"] for r in rows)
    print(f"worst {worst:.3f} ms against the budget {BUDGET_MS} ms: "
          f"{'within' if worst <= BUDGET_MS else 'OVER'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
