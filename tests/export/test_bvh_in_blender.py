"""Real Blender check: our BVH files imported with ``bpy.ops.import_anim.bvh``.

Blender (``bpy==5.0.1``, needs ``numpy<2``) runs in its own virtual environment, created on
first use under the cache folder (see :mod:`mocap.export.blender_env`; about 1 GB, a one-time cost).
The tests skip, with the reason, only when that environment cannot be made.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mocap.cli import main
from mocap.io.bvh import read_bvh
from mocap.retarget.bvh_source import bvh_animation
from mocap.skeleton.rig import load_rig
from tests.helpers import SHARED_DATA

pytestmark = [pytest.mark.blender, pytest.mark.slow]

DATA = SHARED_DATA
WALK = DATA / "bvh" / "cmu_walk_delfem2.bvh"
needs_data = pytest.mark.skipif(not WALK.exists(), reason=f"shared BVH data not found in {DATA}")


@pytest.fixture(scope="module")
def blender(blender_python):
    from mocap.export import blender as mod

    return mod


def _to_blender(p: np.ndarray) -> np.ndarray:
    """BVH/mocap axes (Y up, facing +Z) -> Blender's importer defaults (forward -Z, up Y):
    (x, y, z) -> (x, -z, y)."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _check(blender, path: Path, rig_joints: tuple[str, ...] | None = None) -> dict:
    bvh = read_bvh(path)
    t = len(bvh)
    frames = [0, t // 3, t - 1]
    rep = blender.bvh_report(path, frames)
    assert rep["blender_version"].startswith("5.0")
    # bones: count and names, in the file's order
    assert rep["bones"] == list(bvh.names)
    if rig_joints is not None:
        assert sorted(rep["bones"]) == sorted(rig_joints)
    # frame range, fps, scene duration
    assert rep["frame_range"] == [1, t]
    assert rep["scene_fps"] == pytest.approx(1.0 / bvh.frame_time, rel=1e-6)
    assert rep["scene_fps_int"] == round(1.0 / bvh.frame_time)
    assert rep["scene_frame_end"] >= t
    # world joint positions = what we computed (Blender axes)
    ours = _to_blender(bvh_animation(bvh, unit="m").positions()[frames])
    heads = np.array(rep["heads"])
    err = np.linalg.norm(heads - ours, axis=-1)
    assert err.max() < 1e-4, err.max()
    return rep


def _upright(rep: dict, hips: str, head: str) -> None:
    heads = np.array(rep["heads"])
    i, j = rep["bones"].index(hips), rep["bones"].index(head)
    assert (heads[:, j, 2] > heads[:, i, 2] + 0.3).all(), "head above hips along Blender Z"


def _t_pose(rep: dict, names: dict[str, str]) -> None:
    rest = np.array(rep["rest_heads"])
    b = rep["bones"].index
    for side, sx in (("left", 1), ("right", -1)):
        arm = rest[b(names[f"{side}_wrist"])] - rest[b(names[f"{side}_shoulder"])]
        arm /= np.linalg.norm(arm)
        assert arm[0] * sx > 0.98, f"{side} arm horizontal and sideways in rest: {arm}"
        leg = rest[b(names[f"{side}_ankle"])] - rest[b(names[f"{side}_hip"])]
        leg /= np.linalg.norm(leg)
        assert leg[2] < -0.98, f"{side} leg straight down in rest: {leg}"
    up = rest[b(names["head"])] - rest[b(names["hips"])]
    assert up[2] > 0.4


@needs_data
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
def test_cross_rig_bvh_in_blender(blender, rig, tmp_path):
    out = tmp_path / f"walk_{rig}.bvh"
    assert main(["retarget", str(WALK), "--rig", rig, "-o", str(out)]) == 0
    r = load_rig(rig)
    rep = _check(blender, out, r.joints)
    names = {role: r.joints[j] for j, role in enumerate(r.roles) if role}
    _upright(rep, names["hips"], names["head"])
    _t_pose(rep, names)


@needs_data
def test_same_skeleton_bvh_in_blender(blender, tmp_path):
    out = tmp_path / "walk_same.bvh"
    assert main(["retarget", str(WALK), "--rig", str(WALK), "-o", str(out)]) == 0
    rep = _check(blender, out, read_bvh(WALK).names)
    assert len(rep["bones"]) == 31
    _upright(rep, "Hips", "Head")
    # and Blender's joints are the source motion's (CMU file, converted to metres)
    src = bvh_animation(read_bvh(WALK)).positions()[rep["frames"]]
    err = np.linalg.norm(np.array(rep["heads"]) - _to_blender(src), axis=-1)
    assert err.max() < 1e-3


@needs_data
def test_centimetre_bvh_in_blender(blender, tmp_path):
    out = tmp_path / "walk_cm.bvh"
    assert main(["retarget", str(WALK), "--rig", "mixamo", "--units", "cm", "-o",
                 str(out)]) == 0
    rep = blender.bvh_report(out, [0])
    m = main(["retarget", str(WALK), "--rig", "mixamo", "-o", str(tmp_path / "m.bvh")])
    assert m == 0
    rep_m = blender.bvh_report(tmp_path / "m.bvh", [0])
    # Blender imports 1 unit = 1 m: the cm file is 100 times larger
    np.testing.assert_allclose(np.array(rep["heads"]), 100 * np.array(rep_m["heads"]),
                               atol=1e-3)


@needs_data
@pytest.mark.parametrize("units", ["m", "cm"])
def test_the_printed_import_hint_gives_true_size_in_blender(blender, units, tmp_path):
    """Imported with the Scale that `convert` prints for its --units, a BVH has the same
    joint positions in Blender (metres) as the metre file at Scale 1."""
    import re

    from mocap.commands.convert import blender_import_hint

    hint = blender_import_hint(units)
    scale = float(re.search(r"Scale ([0-9.]+)", hint).group(1))
    assert scale == {"m": 1.0, "cm": 0.01}[units]
    assert "metres" in hint if units == "m" else "in cm" in hint
    out = tmp_path / f"walk_{units}.bvh"
    assert main(["retarget", str(WALK), "--rig", "mixamo", "--units", units, "-o",
                 str(out)]) == 0
    assert main(["retarget", str(WALK), "--rig", "mixamo", "-o", str(tmp_path / "m.bvh")]) == 0
    rep = blender.bvh_report(out, [0, 10], scale=scale)
    rep_m = blender.bvh_report(tmp_path / "m.bvh", [0, 10])
    np.testing.assert_allclose(np.array(rep["heads"]), np.array(rep_m["heads"]), atol=1e-4)
    hips = np.array(rep["heads"])[0, 0]
    assert 0.5 < hips[2] < 1.5  # hips about a metre up (Blender Z), not 100 m
