"""Speed of retargeting + BVH export for one person over 10,000 frames.

Usage: ``python benchmarks/bench_retarget.py [--frames 10000] [--rig mixamo] [--repeat 3]``

The source is real CMU motion (``../shared/data/bvh/cmu_01_01_jump_fairmotion.bvh``, 2752
frames, repeated to the requested length) when present, else random poses of the ``cmu``
rig. Timed (best of ``--repeat``): the rotation solve (:func:`mocap.retarget.solver.retarget`),
foot locking (:func:`mocap.retarget.solver.lock_feet`) and writing the BVH file
(:func:`mocap.export.bvh.write_bvh`). Prints one line per stage and the total.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from mocap.export.bvh import write_bvh
from mocap.io.bvh import read_bvh
from mocap.retarget.bvh_source import bvh_animation
from mocap.retarget.foot_lock import lock_feet
from mocap.retarget.solver import retarget
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def source_points(frames: int) -> tuple[dict[str, np.ndarray], float, str]:
    path = DATA / "bvh" / "cmu_01_01_jump_fairmotion.bvh"
    if path.exists():
        src = bvh_animation(read_bvh(path))
        what = f"{path.name} repeated"
    else:
        from scipy.spatial.transform import Rotation

        rig = load_rig("cmu")
        rng = np.random.default_rng(0)
        q = Rotation.from_rotvec(rng.normal(scale=0.3, size=(1000 * len(rig), 3))).as_quat()
        src = Animation(rig, np.tile([0, 0.9, 0], (1000, 1)), q.reshape(1000, len(rig), 4), 120)
        what = "random cmu poses"
    reps = -(-frames // len(src))
    idx = np.arange(reps * len(src))[:frames] % len(src)
    return {k: v[idx] for k, v in src.points().items()}, src.fps, what


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--rig", default="mixamo")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    points, fps, what = source_points(args.frames)
    rig = load_rig(args.rig)
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            anim = retarget(points, rig, fps)
            t1 = time.perf_counter()
            locked = lock_feet(anim)
            t2 = time.perf_counter()
            write_bvh(locked, Path(tmp) / "out.bvh")
            t3 = time.perf_counter()
            for k, v in (("retarget", t1 - t0), ("foot lock", t2 - t1), ("write bvh", t3 - t2),
                         ("total", t3 - t0)):
                best[k] = min(best.get(k, np.inf), v)
        size = (Path(tmp) / "out.bvh").stat().st_size
    print(f"{args.frames} frames ({what}), rig {args.rig} ({len(rig)} joints), "
          f"best of {args.repeat}:")
    for k, v in best.items():
        print(f"  {k:10s} {v:6.3f} s")
    print(f"  BVH size   {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
