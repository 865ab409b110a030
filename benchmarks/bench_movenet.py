"""Median ms per call of MoveNet MultiPose Lightning at several input sizes: torch vs LiteRT.

Usage:
    python benchmarks/bench_movenet.py [--threads 2] [--repeats 30] [--compile]
        [--sizes 256x256 224x384 288x512]

Measures, on this machine, in one run: LiteRT with XNNPACK (the reference speed) and the
converted torch module in eager mode (optionally also under ``torch.compile`` with inductor
weight freezing), one uint8 frame of the demo video per call, letterboxed to each size
(H x W). Each engine runs in its own block followed by a pause, because torch's OpenMP
threads keep spinning after a call and slow whatever runs next. Prints one row per variant
with the ratio to LiteRT at each size.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from bench_engine import median_ms_per_crop  # the same timing loop (run from benchmarks/)


def letterbox(image: np.ndarray, h: int, w: int) -> np.ndarray:
    """``image`` (H, W, 3) uint8 -> (1, h, w, 3) uint8, scaled to fit and centred on black."""
    import cv2

    scale = min(h / image.shape[0], w / image.shape[1])
    nh, nw = round(image.shape[0] * scale), round(image.shape[1] * scale)
    out = np.zeros((1, h, w, 3), np.uint8)
    top, left = (h - nh) // 2, (w - nw) // 2
    out[0, top:top + nh, left:left + nw] = cv2.resize(image, (nw, nh),
                                                      interpolation=cv2.INTER_AREA)
    return out


def demo_frame() -> np.ndarray:
    """The middle frame of the demo video, RGB; a random image where it cannot be read."""
    import cv2

    from mocap.io import assets

    cap = cv2.VideoCapture(str(assets.ensure_demo_video()))
    cap.set(cv2.CAP_PROP_POS_FRAMES, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) // 2)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        return np.random.default_rng(0).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--sizes", nargs="+", default=["256x256", "224x384", "288x512"],
                        help="input sizes as HxW (multiples of 32)")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from mocap.io import assets
    from mocap.perception.engine.runtime import LiteRTRunner, TorchRunner

    torch.set_num_threads(args.threads)
    path = assets.ensure_models(assets=(assets.MOVENET_MULTIPOSE,))[
        assets.MOVENET_MULTIPOSE.name]
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes]
    frame = demo_frame()
    inputs = {s: letterbox(frame, *s) for s in sizes}
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}; "
          f"median ms per call over {args.repeats} runs")
    print(f"{'variant':<22} " + " ".join(f"{f'{h}x{w}':>9}" for h, w in sizes)
          + "   ratio to LiteRT")
    variants = []
    if args.device == "cpu":
        variants.append(("LiteRT XNNPACK", LiteRTRunner(path, threads=args.threads)))
    variants.append(("torch eager", TorchRunner(path, device=args.device)))
    if args.compile:
        variants.append(("torch compile+freeze", TorchRunner(path, device=args.device,
                                                             compile=True)))
    ref = None
    for vname, runner in variants:
        row = {}
        for s in sizes:
            row[s] = median_ms_per_crop(runner, inputs[s], args.repeats)  # batch 1: per call
            time.sleep(0.5)
        if ref is None and vname.startswith("LiteRT"):
            ref = row
        ratio = (" ".join(f"{row[s] / ref[s]:6.2f}x" for s in sizes)
                 if ref is not None and ref is not row else "")
        print(f"{vname:<22} " + " ".join(f"{row[s]:9.2f}" for s in sizes) + f"   {ratio}",
              flush=True)
        time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
