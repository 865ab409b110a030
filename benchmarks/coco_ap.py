"""COCO keypoint AP (OKS) of `mocap pose --coco` on a COCO-format image folder.

Usage:
    python benchmarks/coco_ap.py [--data ../shared/data/keypoints/minicoco_val] [-- POSE OPTIONS]

Runs the real CLI on every image of the annotation file, then scores the results with
pycocotools. Prints AP, AP50, AP75 and the image count.
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

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "keypoints" / "minicoco_val"


def find_annotations(data: Path) -> tuple[Path, Path]:
    ann = next(iter(sorted(data.glob("*.json"))))
    images = data / "images" if (data / "images").is_dir() else data
    return ann, images


def score(ann_file: Path, results: list[dict]) -> dict[str, float]:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(ann_file))
        by_name = {img["file_name"]: img["id"] for img in gt.dataset["images"]}
        for r in results:
            r["image_id"] = by_name[r["file_name"]]
        if not results:
            return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, "keypoints")
        ev.params.imgIds = sorted(by_name.values())
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {"AP": float(ev.stats[0]), "AP50": float(ev.stats[1]), "AP75": float(ev.stats[2])}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("pose_args", nargs="*", help="extra options for `mocap pose`")
    args = parser.parse_args()
    ann, images_dir = find_annotations(args.data)
    names = [img["file_name"] for img in json.loads(ann.read_text())["images"]]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "coco.json"
        cmd = [sys.executable, "-m", "mocap", "pose", *[str(images_dir / n) for n in names],
               "--coco", str(out), "--min-score", "0.05", *args.pose_args]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())
    stats = score(ann, results)
    print(f"images {len(names)}  people found {len(results)}  "
          f"AP {stats['AP']:.3f}  AP50 {stats['AP50']:.3f}  AP75 {stats['AP75']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
