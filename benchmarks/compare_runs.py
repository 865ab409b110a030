"""Compare the outputs of two ``mocap convert`` runs of the same videos (not a test): did a
change alter the capture? For each video's output folder in both: the people (first, last
and observed frames), the focal length used, per person the median and 95th percentile
distance of the 2D landmarks (px), the median distance of the exported joints (mm, and
root-relative), jitter (mean second difference) of both, and the largest difference of
the BVH motion tables.

Usage (outputs made with ``--formats bvh,npz --json``; ``NAME.json`` the summary beside
the folder ``NAME``)::

    git worktree add /tmp/before <commit>
    for v in clip.mp4 ...; do n=$(basename $v .mp4)
      PYTHONPATH=/tmp/before python -m mocap convert $v -o before/$n --formats bvh,npz \\
          --json --force > before/$n.json
      python -m mocap convert $v -o after/$n --formats bvh,npz --json --force > after/$n.json
    done
    python benchmarks/compare_runs.py before after
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def jitter(x: np.ndarray) -> float:
    """Mean length of the second difference over frames (the units of ``x``)."""
    return float(np.nanmean(np.linalg.norm(np.diff(x, 2, axis=0), axis=-1)))


def bvh_motion(path: Path) -> np.ndarray:
    lines = path.read_text().split("MOTION", 1)[1].splitlines()[3:]
    return np.array([[float(v) for v in line.split()] for line in lines if line.strip()])


def people(summary: dict) -> list[tuple]:
    return [(p["id"], p["first_frame"], p["last_frame"], p["frames_observed"])
            for p in summary["people"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    args = ap.parse_args()
    for js in sorted(args.before.glob("*.json")):
        a = json.loads(js.read_text())
        b = json.loads((args.after / js.name).read_text())
        same = "same" if people(a) == people(b) else f"CHANGED -> {people(b)}"
        print(f"{js.stem}: people (id, first, last, observed) {people(a)} {same}; focal "
              f"{a['focal']['focal_px']} ({a['focal']['source']}) -> "
              f"{b['focal']['focal_px']} ({b['focal']['source']})")
        for p in a["people"]:
            fa = args.before / js.stem / f"person_{p['id']}.npz"
            fb = args.after / js.stem / f"person_{p['id']}.npz"
            if not fb.exists():
                print(f"  person {p['id']}: missing after")
                continue
            da, db = np.load(fa), np.load(fb)
            _, ia, ib = np.intersect1d(da["frames"], db["frames"], return_indices=True)
            px = np.linalg.norm(da["landmarks_image"][ia] - db["landmarks_image"][ib], axis=-1)
            ja, jb = da["joint_positions"][ia], db["joint_positions"][ib]
            mm = 1000 * np.linalg.norm(ja - jb, axis=-1)
            rel = 1000 * np.linalg.norm((ja - ja[:, :1]) - (jb - jb[:, :1]), axis=-1)
            ma, mb = bvh_motion(fa.with_suffix(".bvh")), bvh_motion(fb.with_suffix(".bvh"))
            motion = (f"{np.abs(ma - mb).max():.2g}" if ma.shape == mb.shape
                      else f"shape {ma.shape} -> {mb.shape}")
            print(f"  person {p['id']}: 2D landmarks median {np.nanmedian(px):.2f} px (95th "
                  f"{np.nanpercentile(px, 95):.2f}); joints median {np.nanmedian(mm):.1f} mm "
                  f"(root-relative {np.nanmedian(rel):.1f}); jitter 2D "
                  f"{jitter(da['landmarks_image']):.3f} -> {jitter(db['landmarks_image']):.3f}"
                  f" px, joints {1000 * jitter(ja):.2f} -> {1000 * jitter(jb):.2f} mm; BVH "
                  f"motion largest difference {motion}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
