"""``benchmarks/eval_depth.py --oracle``: with exact 2D, the back-projection at the
reference's depth is the reference itself, and a source's oracle keeps its x, y."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from tests.multiview.synthetic import look_at

ROOT = Path(__file__).resolve().parents[2]


def _benchmark():
    spec = importlib.util.spec_from_file_location("eval_depth", ROOT / "benchmarks" /
                                                  "eval_depth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["eval_depth"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_oracle_depth_rows():
    e = _benchmark()
    rng = np.random.default_rng(0)
    cam = look_at("cam", centre=[0.0, 1.5, -5.0], target=[0.0, 1.0, 0.0])
    world = rng.normal([0.0, 1.0, 0.0], 0.4, (12, 33, 3))  # a person-sized cloud
    true_cam = cam.to_camera(world)
    track = SimpleNamespace(image=cam.project(world))
    guess = true_cam - true_cam[:, [23, 24]].mean(1, keepdims=True)
    guess = guess + rng.normal(0, 0.05, guess.shape)
    rows = e.oracles(track, cam, true_cam, {"guess": guess})
    np.testing.assert_allclose(rows["oracle:2D+depth"], true_cam, atol=1e-6)
    true_rel = true_cam - true_cam[:, [23, 24]].mean(1, keepdims=True)
    got = rows["oracle:guess+depth"]
    rel = guess - guess[:, [23, 24]].mean(1, keepdims=True)
    np.testing.assert_allclose(got[..., :2], rel[..., :2], atol=1e-9)
    np.testing.assert_allclose(got[..., 2], true_rel[..., 2], atol=1e-9)
