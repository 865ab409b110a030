"""The TFLite -> torch converter and both runners against LiteRT's reference kernels.

Per input, a backend's outputs may differ from the reference kernels
(``BUILTIN_WITHOUT_DEFAULT_DELEGATES``) by no more than the larger of what LiteRT's own
XNNPACK path differs on that input and a fixed bound per output (crop px, metres, ...).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mocap.errors import InputError
from mocap.perception.engine.tflite import depth_to_space_nchw, load_tflite, same_pad

pytest.importorskip("ai_edge_litert", reason="parity tests need ai-edge-litert (test extra)")

from mocap.perception.engine.runtime import LiteRTRunner, TorchRunner

DETECTOR = "pose_detection.tflite"
LANDMARK = "pose_landmark_full.tflite"

# Fixed bounds per output index; None = not compared (the segmentation mask logits, which
# the engine prunes, are ill-conditioned: XNNPACK itself moves them by up to 0.7).
BOUNDS = {
    DETECTOR: {0: 5e-3, 1: 2e-3},  # boxes + keypoints (input px), score logits
    LANDMARK: {0: 1e-2, 1: 2e-3, 2: None, 3: 2e-3, 4: 1e-3},  # landmarks (crop px), flag,
    # mask, heatmap logits, world landmarks (m)
}


def _tf_depth_to_space(x: np.ndarray, block: int) -> np.ndarray:
    """TensorFlow's definition, written directly on NHWC."""
    b, h, w, c = x.shape
    cout = c // (block * block)
    out = np.empty((b, h * block, w * block, cout), x.dtype)
    for i in range(block):
        for j in range(block):
            start = (i * block + j) * cout
            out[:, i::block, j::block, :] = x[..., start:start + cout]
    return out


def test_depth_to_space_uses_tensorflow_channel_order():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 12)).astype(np.float32)
    got = depth_to_space_nchw(torch.from_numpy(x).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)
    np.testing.assert_array_equal(got.numpy(), _tf_depth_to_space(x, 2))
    # and it is not pixel_shuffle's order
    shuffled = torch.nn.functional.pixel_shuffle(torch.from_numpy(x).permute(0, 3, 1, 2), 2)
    assert not np.array_equal(shuffled.permute(0, 2, 3, 1).numpy(), got.numpy())


@pytest.mark.parametrize(("size", "k", "stride", "expected"), [
    (224, 3, 2, (0, 1)),  # TF SAME on even input: the odd pixel goes after
    (112, 3, 1, (1, 1)),
    (7, 3, 2, (1, 1)),
    (8, 1, 1, (0, 0)),
    (256, 5, 2, (1, 2)),
])
def test_same_padding_is_tensorflows(size, k, stride, expected):
    assert same_pad(size, k, stride) == expected


def test_not_a_model_is_a_clear_error(tmp_path):
    bad = tmp_path / "x.tflite"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="TFLite"):
        load_tflite(bad)


@pytest.fixture(scope="module")
def runners(model_paths):
    out = {}
    for name in (DETECTOR, LANDMARK):
        out[name] = {
            "reference": LiteRTRunner(model_paths[name], reference=True),
            "xnnpack": LiteRTRunner(model_paths[name]),
            "torch": TorchRunner(model_paths[name]),
        }
    return out


def _random_inputs(name: str, batch: int) -> np.ndarray:
    rng = np.random.default_rng(batch)
    size = 224 if name == DETECTOR else 256
    x = rng.random((batch, size, size, 3), dtype=np.float32)
    return x * 2 - 1 if name == DETECTOR else x


@pytest.fixture(scope="module")
def real_inputs(shared_data, model_paths):
    """Real detector views (whole images, letterboxed) and real person crops."""
    from mocap.io.images import load_image
    from mocap.perception.detect import DetectorConfig, crop_views, detection_views
    from mocap.perception.landmarks import PoseEngine, crop_rois

    paths = sorted((shared_data / "keypoints").glob("*/*.jpg"))
    paths += sorted((shared_data / "keypoints").glob("*/images/*.jpg"))[:6]
    images = [load_image(p) for p in paths]
    whole = DetectorConfig(tile_scales=())
    det = np.concatenate([crop_views(im, detection_views(*im.shape[:2], whole))
                          for im in images[:8]])
    engine = PoseEngine(backend="torch", device="cpu")
    crops = []
    for im in images:
        rois = engine.detect(im)
        if len(rois):
            crops.append(crop_rois(im, rois[:2]))
    crops = np.concatenate(crops)[:8]
    assert len(det) == 8 and len(crops) == 8
    return {DETECTOR: det, LANDMARK: crops}


def _assert_parity(name: str, runners, x: np.ndarray, backend: str) -> None:
    ref = runners[name]["reference"](x)
    xnn = runners[name]["xnnpack"](x)
    got = runners[name][backend](x)
    assert len(got) == len(ref)
    for o, bound in BOUNDS[name].items():
        assert got[o].shape == ref[o].shape, (o, got[o].shape, ref[o].shape)
        if bound is None:
            continue
        axes = tuple(range(1, ref[o].ndim))
        diff = np.abs(got[o] - ref[o]).max(axis=axes)
        allowed = np.maximum(np.abs(xnn[o] - ref[o]).max(axis=axes), bound)
        assert (diff <= allowed).all(), (
            f"{name} output {o}: per-input max diff {diff} exceeds {allowed}")


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "xnnpack"])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", [DETECTOR, LANDMARK])
def test_parity_random(runners, name, batch, backend):
    _assert_parity(name, runners, _random_inputs(name, batch), backend)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "xnnpack"])
@pytest.mark.parametrize("batch", [1, 8])
@pytest.mark.parametrize("name", [DETECTOR, LANDMARK])
def test_parity_real(runners, real_inputs, name, batch, backend):
    _assert_parity(name, runners, real_inputs[name][:batch], backend)


@pytest.mark.slow
def test_batch_items_match_single_runs(runners):
    x = _random_inputs(LANDMARK, 4)
    run = runners[LANDMARK]["torch"]
    batched = run(x)
    for i in range(4):
        single = run(x[i:i + 1])
        for a, b in zip(batched, single, strict=True):
            np.testing.assert_allclose(a[i], b[0], rtol=1e-5, atol=2e-3)


def test_pruned_outputs_drop_the_segmentation_branch(model_paths):
    full = load_tflite(model_paths[LANDMARK])
    pruned = load_tflite(model_paths[LANDMARK], outputs=[0, 1, 3, 4])
    n_full = sum(p.numel() for p in full.parameters())
    n_pruned = sum(p.numel() for p in pruned.parameters())
    assert n_pruned < n_full
    assert pruned.output_names == tuple(full.output_names[i] for i in (0, 1, 3, 4))
    x = torch.from_numpy(_random_inputs(LANDMARK, 2))
    with torch.inference_mode():
        a, b = full(x), pruned(x)
    for i, j in zip((0, 1, 3, 4), range(4), strict=True):
        torch.testing.assert_close(a[i], b[j])


def test_load_tflite_is_importable_where_the_readme_says():
    import sys

    import mocap.perception.engine as engine_pkg
    from mocap.perception.engine import load_tflite as named

    assert named is load_tflite
    assert "load_tflite" in engine_pkg.__all__
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        engine_pkg.nothing  # noqa: B018
    assert "mocap.perception.engine.tflite" in sys.modules
