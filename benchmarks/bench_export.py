"""Time to export a 230-frame, 2-person clip as FBX + GLB through Blender.

Usage: ``python benchmarks/bench_export.py [--frames 230] [--people 2] [--rig mixamo]
[--fps 30] [--repeat 3] [--blender PATH]``

The people are real CMU motion (``../shared/data/bvh``: the walk and the jump, the jump
repeated as needed), retargeted onto ``--rig``, resampled to ``--fps`` (a video's rate) and
cut to ``--frames``, written as ``person_<i>.bvh``. Timed, best of ``--repeat``:

* ``fbx+glb``: :func:`mocap.export.blender.export_bvh_files` with all people in one
  Blender process (what ``mocap convert --formats fbx,glb`` does), split into Blender
  start-up and per-clip work (import + export, reported by the Blender script);
* ``fbx`` only and ``glb`` only, in one process each;
* ``fbx+glb, one process per person``: what a naive loop would cost.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from mocap.export.blender import export_bvh_files, export_clips
from mocap.export.bvh import write_bvh
from mocap.io.bvh import read_bvh
from mocap.retarget.bvh_source import retarget_bvh
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SOURCES = ("cmu_walk_delfem2.bvh", "cmu_01_01_jump_fairmotion.bvh")


def make_people(folder: Path, people: int, frames: int, fps: float, rig_name: str) -> list[Path]:
    rig = load_rig(rig_name)
    paths = []
    for i in range(people):
        src = DATA / "bvh" / SOURCES[i % len(SOURCES)]
        if not src.exists():
            raise SystemExit(f"needs the shared BVH data: {src} not found")
        _, anim = retarget_bvh(read_bvh(src), rig)
        step = max(1, round(anim.fps / fps))
        idx = np.arange(frames * step)[::step] % len(anim)
        cut = Animation(anim.rig, anim.root_translation[idx], anim.rotations[idx],
                        anim.fps / step)
        paths.append(write_bvh(cut, folder / f"person_{i + 1}.bvh"))
    return paths


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=230)
    ap.add_argument("--people", type=int, default=2)
    ap.add_argument("--rig", default="mixamo")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--blender", default=None, help="a Blender executable (default: bpy env)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bvhs = make_people(folder, args.people, args.frames, args.fps, args.rig)
        clip = read_bvh(bvhs[0])
        print(f"clip: {args.people} people x {len(clip)} frames at {clip.fps:.4g} fps, rig "
              f"{args.rig} ({len(clip.names)} joints)")
        out = folder / "out"
        # warm-up: file-system caches for Blender's 400 MB of libraries
        t0 = time.perf_counter()
        export_bvh_files(bvhs[:1], "glb", out, args.blender)
        print(f"first call (warm-up, one GLB): {time.perf_counter() - t0:.2f} s wall")

        jobs = [(b, {"fbx": out / f"{b.stem}.fbx", "glb": out / f"{b.stem}.glb"}) for b in bvhs]
        wall, clips = best_of(args.repeat, lambda: export_clips(jobs, args.blender))
        work = sum(c.seconds for c in clips)
        print(f"fbx+glb, one Blender process: {wall:.2f} s wall (Blender start-up "
              f"{wall - work:.2f} s, clips {work:.2f} s: "
              + ", ".join(f"{c.bvh.stem} {c.seconds:.2f} s" for c in clips) + ")")
        for fmt in ("fbx", "glb"):
            t, _ = best_of(args.repeat, lambda f=fmt: export_bvh_files(bvhs, f, out,
                                                                         args.blender))
            print(f"{fmt} only, one Blender process: {t:.2f} s wall")
        t, _ = best_of(args.repeat, lambda: [export_bvh_files([b], "fbx,glb", out,
                                                              args.blender) for b in bvhs])
        print(f"fbx+glb, one Blender process per person: {t:.2f} s wall")
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 1e3:.0f} kB"
                          for p in sorted(out.iterdir()))
        print(f"outputs: {sizes}")


if __name__ == "__main__":
    main()
