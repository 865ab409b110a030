"""Median ms per crop of the BlazePose detector and landmark model: torch engine vs LiteRT.

Usage:
    python benchmarks/bench_engine.py [--threads 2] [--repeats 30] [--batches 1 2 8] [--no-compile]

Measures, on this machine, in one run: LiteRT with XNNPACK (the reference speed), the
converted torch module in eager mode, and the same under ``torch.compile`` with inductor
weight freezing. Each engine runs in its own block followed by a pause, because torch's
OpenMP threads keep spinning after a call and slow whatever runs next. Prints one row per
model, variant and batch size with the ratio to LiteRT at that batch size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def median_ms_per_crop(fn, x: np.ndarray, repeats: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn(x)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000 / len(x)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    import torch

    from mocap.io import assets
    from mocap.perception.engine.runtime import LiteRTRunner, TorchRunner
    from mocap.perception.landmarks import LANDMARK_OUTPUTS

    torch.set_num_threads(args.threads)
    paths = assets.ensure_models()
    models = [("detector", assets.POSE_DETECTION.name, None, -1.0, 1.0),
              ("landmarks", assets.POSE_LANDMARK_FULL.name, LANDMARK_OUTPUTS, 0.0, 1.0)]
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, {args.threads} threads, device {args.device}; "
          f"median ms per crop over {args.repeats} runs")
    print(f"{'model':<10} {'variant':<22} " + " ".join(f"{'b=' + str(b):>8}" for b in args.batches)
          + "   ratio to LiteRT")
    for label, name, outputs, lo, hi in models:
        size = 224 if label == "detector" else 256
        inputs = {b: (rng.random((b, size, size, 3), dtype=np.float32) * (hi - lo) + lo)
                  for b in args.batches}
        variants = []
        if args.device == "cpu":
            variants.append(("LiteRT XNNPACK", LiteRTRunner(paths[name], outputs, args.threads)))
        variants.append(("torch eager", TorchRunner(paths[name], outputs, args.device)))
        if not args.no_compile:
            variants.append(("torch compile+freeze",
                             TorchRunner(paths[name], outputs, args.device, compile=True)))
        ref = None
        for vname, runner in variants:
            row = {}
            for b in args.batches:
                row[b] = median_ms_per_crop(runner, inputs[b], args.repeats)
                time.sleep(0.5)
            if ref is None and vname.startswith("LiteRT"):
                ref = row
            ratio = (" ".join(f"{row[b] / ref[b]:6.2f}x" for b in args.batches)
                     if ref is not None and ref is not row else "")
            print(f"{label:<10} {vname:<22} " + " ".join(f"{row[b]:8.2f}" for b in args.batches)
                  + f"   {ratio}", flush=True)
            time.sleep(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
