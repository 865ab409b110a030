"""Accuracy of `mocap retarget` on the CMU clips in ../shared/data/bvh (the issue's numbers).

Usage: ``python benchmarks/eval_retarget.py [--out DIR]``

For every clip, through the command line exactly as a user runs it:

* same-skeleton round trip ``mocap retarget X.bvh --rig X.bvh``: joint + End Site position
  error (mm) of the written file against the source, mean and max over all frames/joints;
* cross-rig ``--rig mixamo`` / ``--rig smpl``: bone-direction angle error (degrees) of the
  mapped bones, median and 95th percentile, of the written file (feet locked, as written)
  and of the plain solve; also with the pelvis measured as two bones (hips->hip joints,
  whose rest directions are rig proportions) instead of as the hip line;
* foot skate (mean horizontal foot speed in contact, mm/s) of the source and the result.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np

from mocap.cli import main as cli
from mocap.io.bvh import read_bvh
from mocap.motion.contacts import foot_skate
from mocap.retarget.bvh_source import bvh_animation
from mocap.retarget.metrics import bone_direction_errors
from mocap.retarget.solver import retarget
from mocap.skeleton.rig import load_rig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "bvh"


def run(args: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        if cli(args) != 0:
            raise SystemExit(f"mocap {' '.join(args)} failed")


def stats(errs: dict[str, np.ndarray]) -> str:
    v = np.concatenate(list(errs.values()))
    return f"median {np.median(v):6.3f} deg  p95 {np.percentile(v, 95):6.3f} deg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="keep the written BVH files here")
    args = ap.parse_args()
    files = sorted(DATA.glob("*.bvh"))
    if not files:
        raise SystemExit(f"no BVH files in {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(args.out or tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        all_err = []
        for f in files:
            src = bvh_animation(read_bvh(f))
            sp = src.points()
            out = out_dir / f"{f.stem}.same.bvh"
            run(["retarget", str(f), "--rig", str(f), "-o", str(out)])
            got = bvh_animation(read_bvh(out), unit="m").points()
            err = np.stack([np.linalg.norm(sp[k] - got[k], axis=-1) for k in sp]) * 1000
            all_err.append(err.ravel())
            print(f"{f.stem}: round trip {len(src)} frames x {len(err)} points: "
                  f"mean {err.mean():.4f} mm, max {err.max():.4f} mm")
            for rig in ("mixamo", "smpl"):
                out = out_dir / f"{f.stem}.{rig}.bvh"
                run(["retarget", str(f), "--rig", rig, "-o", str(out)])
                res = bvh_animation(read_bvh(out), unit="m")
                plain = retarget(sp, load_rig(rig), src.fps)
                print(f"  -> {rig:6s} written: {stats(bone_direction_errors(sp, res))}; "
                      f"plain solve: {stats(bone_direction_errors(sp, plain))}; "
                      f"pelvis as 2 bones: "
                      f"{stats(bone_direction_errors(sp, res, branch_lines=False))}")
                skates = [foot_skate(sp, src.fps), foot_skate(res.points(), res.fps),
                          foot_skate(plain.points(), src.fps)]
                src_mm, res_mm, plain_mm = ("no contact" if v is None
                                            else f"{v * 1000:6.1f} mm/s" for v in skates)
                print(f"     foot skate: source {src_mm}, written {res_mm}, "
                      f"plain solve {plain_mm}")
        e = np.concatenate(all_err)
        print(f"all round trips: mean {e.mean():.4f} mm, max {e.max():.4f} mm")


if __name__ == "__main__":
    main()
