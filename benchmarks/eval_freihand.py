"""Hand landmark accuracy on real FreiHAND photos (not a test).

Runs :meth:`mocap.perception.hands.HandEngine.in_boxes` on each annotation's box of the
FreiHAND sample in ``../shared/data/keypoints/mmpose_freihand`` (224x224 photos, COCO-style
``test_freihand.json``: ``bbox`` ``[x, y, w, h]`` and 21 keypoints in MediaPipe's order),
for each hand model (``full``, ``lite``) and backend (``litert``, ``torch``; the two
backends run the same graphs and must agree). Reports, per image and overall:

* mean pixel error over the 21 landmarks;
* PCK@0.2: the share of landmarks within 0.2 x the annotated box's longer side;
* the mean error of each landmark over all images (FreiHAND annotates the finger bases,
  MCP, deeper in the palm than MediaPipe places them, so those carry most of the error).

Usage::

    .venv/bin/python benchmarks/eval_freihand.py [DATA_DIR] [--models full lite] \
        [--backends litert torch] [--pck 0.2] [--json]

Exit code 2 when the data directory is absent (it lives in ``../shared`` beside the
checkout).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "keypoints" / "mmpose_freihand"


def load_annotations(data: Path) -> list[dict]:
    """``[{"file", "path", "bbox" (4,), "keypoints" (21, 2)}]`` from ``test_freihand.json``."""
    doc = json.loads((data / "test_freihand.json").read_text())
    files = {im["id"]: im["file_name"] for im in doc["images"]}
    out = []
    for a in doc["annotations"]:
        kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)[:, :2]
        out.append({"file": files[a["image_id"]], "path": data / files[a["image_id"]],
                    "bbox": np.asarray(a["bbox"], np.float64), "keypoints": kp})
    return out


def evaluate(data: Path, model: str = "full", backend: str = "litert",
             pck: float = 0.2, threads: int | None = None) -> dict:
    """Errors of one model on one backend over every annotation in ``data``.

    Returns ``{"model", "backend", "images": [{"file", "mean_px", "pck", "score"}],
    "mean_px", "pck", "per_joint_px" (21,), "errors" (N, 21) px, "xy" (N, 21, 2)}``.
    """
    from mocap.io.images import load_image
    from mocap.perception.hands import HandConfig, HandEngine

    engine = HandEngine(backend=backend, device="cpu", threads=threads,
                        config=HandConfig(model=model))
    rows, errors, xys = [], [], []
    for ann in load_annotations(data):
        image = load_image(ann["path"])
        found = engine.in_boxes(image, ann["bbox"][None])
        xy = found.xy[0].astype(np.float64)
        err = np.linalg.norm(xy - ann["keypoints"], axis=-1)
        limit = pck * ann["bbox"][2:].max()
        rows.append({"file": ann["file"], "mean_px": float(err.mean()),
                     "pck": float((err <= limit).mean()), "score": float(found.score[0])})
        errors.append(err)
        xys.append(xy)
    errors = np.stack(errors)
    hits = np.concatenate([[r["pck"]] for r in rows])
    return {"model": model, "backend": backend, "images": rows,
            "mean_px": float(errors.mean()), "pck": float(hits.mean()),
            "per_joint_px": errors.mean(0), "errors": errors, "xy": np.stack(xys)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default=str(DEFAULT_DATA))
    ap.add_argument("--models", nargs="+", default=["full", "lite"], choices=["full", "lite"])
    ap.add_argument("--backends", nargs="+", default=["litert", "torch"],
                    choices=["litert", "torch"])
    ap.add_argument("--pck", type=float, default=0.2,
                    help="PCK threshold as a share of the box's longer side (default 0.2)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print the report as JSON")
    args = ap.parse_args(argv)
    data = Path(args.data)
    if not (data / "test_freihand.json").is_file():
        print(f"eval_freihand: FreiHAND sample not found at {data} (it is part of ../shared "
              "beside the checkout); nothing evaluated", file=sys.stderr)
        return 2

    from mocap.types import HAND_LANDMARK_NAMES

    results = [evaluate(data, m, b, args.pck, args.threads)
               for m in args.models for b in args.backends]
    # backends of one model must agree
    agreement = {}
    for m in args.models:
        runs = [r for r in results if r["model"] == m]
        if len(runs) > 1:
            agreement[m] = float(max(np.abs(r["xy"] - runs[0]["xy"]).max() for r in runs[1:]))
    if args.json:
        out = {"data": str(data), "pck_threshold": f"{args.pck} x the box's longer side",
               "runs": [{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                         for k, v in r.items() if k not in ("errors", "xy")}
                        for r in results],
               "backend_max_landmark_diff_px": agreement}
        print(json.dumps(out, indent=1))
        return 0
    n = len(results[0]["images"])
    print(f"FreiHAND sample {data}: {n} hands, HandEngine.in_boxes on the annotated box; "
          f"PCK@{args.pck:g} = share of landmarks within {args.pck:g} x the box's longer "
          "side")
    head = "".join(f"  {r['model']}/{r['backend']:>6}" for r in results)
    print(f"\n{'image':<14}{head}   (mean px | PCK)")
    for i in range(n):
        cells = "".join(f"  {r['images'][i]['mean_px']:5.1f} | {r['images'][i]['pck']:.2f}"
                        for r in results)
        print(f"{results[0]['images'][i]['file']:<14}{cells}")
    cells = "".join(f"  {r['mean_px']:5.1f} | {r['pck']:.2f}" for r in results)
    print(f"{'overall':<14}{cells}")
    print(f"\nper-landmark mean error (px){head}")
    for j, name in enumerate(HAND_LANDMARK_NAMES):
        cells = "".join(f"  {r['per_joint_px'][j]:12.1f}" for r in results)
        print(f"  {name:<26}{cells}")
    for m, diff in agreement.items():
        print(f"{m}: largest landmark difference between backends {diff:.2e} px")
    return 0


if __name__ == "__main__":
    sys.exit(main())
