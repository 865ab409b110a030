"""Keypoint AP (OKS) of `mocap pose --coco` on COCO- and CrowdPose-format photo folders.

Usage:
    python benchmarks/coco_ap.py [--data DIR ...] [--variants fused,movenet,landmarks,blazepose]

For each data folder (default: the three under ../shared/data/keypoints with body
keypoints) and each variant, runs the real CLI on every image of the annotation file and
scores the results with pycocotools:

- ``fused``: MoveNet's people, COCO-17 joints fused from MoveNet and BlazePose (default);
- ``movenet``: MoveNet's people and joints alone (``--keypoints movenet``);
- ``landmarks``: BlazePose's landmarks on the regions derived from MoveNet's people;
- ``blazepose``: BlazePose alone, its own face-based detector (``--detector blazepose``).

CrowdPose (14 keypoints: 12 body joints, head top, neck) is scored with CrowdPose's sigmas;
our head top and neck are derived from the COCO-17 joints (see :func:`to_crowdpose`), and
the ground-truth area, which CrowdPose's file does not give, is the box area.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
KEYPOINTS = ROOT.parent / "shared" / "data" / "keypoints"
DEFAULT = [KEYPOINTS / "minicoco_val", KEYPOINTS / "mmpose_coco", KEYPOINTS / "mmpose_crowdpose"]
VARIANTS = {
    "fused": [],
    "movenet": ["--keypoints", "movenet"],
    "landmarks": ["--keypoints", "landmarks"],
    "blazepose": ["--detector", "blazepose"],
}
CROWDPOSE_SIGMAS = np.array([.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89,
                             .79, .79]) / 10.0


def find_annotations(data: Path) -> tuple[Path, Path]:
    ann = next(p for p in sorted(data.glob("*.json")) if "_det_" not in p.name)
    images = data / "images" if (data / "images").is_dir() else data
    return ann, images


def to_crowdpose(kps17: list[float]) -> list[float]:
    """COCO-17 ``[x, y, v] * 17`` -> CrowdPose-14: the 12 body joints, then the head top
    (the eyes' centre carried on by 1.3x the shoulder-centre -> eyes distance) and the neck
    (the shoulder centre)."""
    k = np.asarray(kps17, float).reshape(17, 3)
    body = k[5:17]
    neck = 0.5 * (k[5] + k[6])
    eyes = 0.5 * (k[1] + k[2])
    head = neck + 1.3 * (eyes - neck)
    head[2] = min(k[1, 2], k[2, 2])
    return np.concatenate([body, head[None], neck[None]]).ravel().round(2).tolist()


def score(ann_file: Path, results: list[dict]) -> dict[str, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
        crowdpose = len(gt.dataset["categories"][0]["keypoints"]) == 14
        for a in gt.dataset["annotations"]:
            a.setdefault("area", a["bbox"][2] * a["bbox"][3])
        by_name = {img["file_name"]: img["id"] for img in gt.dataset["images"]}
        for r in results:
            r["image_id"] = by_name[r["file_name"]]
            if crowdpose:
                r["keypoints"] = to_crowdpose(r["keypoints"])
        if not results:
            return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        if crowdpose:
            ev.params.kpt_oks_sigmas = CROWDPOSE_SIGMAS
        ev.params.imgIds = sorted(by_name.values())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"AP": float(ev.stats[0]), "AP50": float(ev.stats[1]), "AP75": float(ev.stats[2])}


def run_variant(data: Path, extra: list[str], pose_args: list[str]) -> tuple[dict, int, int]:
    ann, images_dir = find_annotations(data)
    names = [img["file_name"] for img in json.loads(ann.read_text())["images"]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coco.json"
        cmd = [sys.executable, "-m", "mocap", "pose", *[str(images_dir / n) for n in names],
               "--coco", str(out), "--min-score", "0.05", *extra, *pose_args]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())
    return score(ann, results), len(names), len(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, nargs="+", default=DEFAULT)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("pose_args", nargs="*", help="extra options for `mocap pose`")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    print(f"{'data':<18} {'variant':<10} {'images':>6} {'people':>6} {'AP':>6} {'AP50':>6} "
          f"{'AP75':>6}")
    for data in args.data:
        if not data.is_dir():
            print(f"{data.name:<18} missing: {data}")
            continue
        for v in variants:
            stats, n_img, n_res = run_variant(data, VARIANTS[v], args.pose_args)
            print(f"{data.name:<18} {v:<10} {n_img:>6} {n_res:>6} {stats['AP']:>6.3f} "
                  f"{stats['AP50']:>6.3f} {stats['AP75']:>6.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
