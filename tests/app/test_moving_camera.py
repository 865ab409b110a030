"""A camera that pans to follow a walker, end to end, against the fixed original.

The demo video (a fixed camera) is filmed again by a virtual camera that turns about the
real camera's centre to follow the walker (``tests.helpers.virtual_camera_video``: a
perspective-correct moving crop of real footage, 1280 x 720, MJPG), so the true pan of every
frame is known and the original conversion is the reference for where the walker went.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mocap.io.bvh import read_bvh
from tests.helpers import run_cli, virtual_camera_video

SRC_FOV = 60.0
SIZE = (1280, 720)
PAN_LIMIT_DEG = 7.0


def _follow(hip_x: np.ndarray, width: int, frames: int) -> np.ndarray:
    """A camera operator's pan: turn towards the walker's hips (half the angle, at most
    :data:`PAN_LIMIT_DEG`), smoothly."""
    f_src = 0.5 * width / np.tan(np.radians(SRC_FOV) / 2)
    ang = np.degrees(np.arctan((hip_x - width / 2) / f_src))
    yaw = np.clip(0.45 * ang, -PAN_LIMIT_DEG, PAN_LIMIT_DEG)
    k = np.exp(-0.5 * (np.arange(-15, 16) / 5) ** 2)
    return np.convolve(np.pad(yaw, 15, mode="edge"), k / k.sum(), "valid")[:frames]


def _convert(video, out, *args):
    proc = run_cli("convert", video, "-o", out, "--formats", "json", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _walker(summary):
    """The person who enters after the first frame and walks across."""
    return max(summary["people"], key=lambda p: p["last_frame"] - p["first_frame"]
               if p["first_frame"] > 0 else 0)


@pytest.fixture(scope="module")
def runs(demo_video_path, model_paths, tmp_path_factory):
    root = tmp_path_factory.mktemp("moving")
    fixed = _convert(demo_video_path, root / "fixed", "--no-preview")
    doc = json.loads((root / "fixed" / f"person_{_walker(fixed)['id']}.json").read_text())
    frames = np.array(doc["frames"])
    hips = np.array(doc["landmarks_image"])[:, 23:25, 0].mean(1)
    hip_x = np.interp(np.arange(fixed["frames"]), frames, hips)
    yaw = _follow(hip_x, 1768, fixed["frames"])
    clip = root / "pan.avi"
    rotation, _ = virtual_camera_video(demo_video_path, clip, yaw, size=SIZE,
                                       src_fov_deg=SRC_FOV, fourcc="MJPG")
    f_src = 0.5 * 1768 / np.tan(np.radians(SRC_FOV) / 2)
    fov = f"{2 * np.degrees(np.arctan(SIZE[0] / 2 / f_src)):.5f}"
    panned = _convert(clip, root / "pan", "--fov", fov)
    static = _convert(clip, root / "static", "--fov", fov, "--camera", "static",
                      "--no-preview")
    demo_static = _convert(demo_video_path, root / "demo_static", "--no-preview",
                           "--camera", "static")
    return {"root": root, "fixed": fixed, "panned": panned, "static": static,
            "demo_static": demo_static, "yaw": yaw, "rotation": rotation}


def _person(out, summary):
    return json.loads((out / f"person_{_walker(summary)['id']}.json").read_text())


def _compare(a: dict, b: dict) -> dict:
    """The walker of two conversions over their common frames: rig's lowest point, hip
    height above the ground, horizontal path after the best turn about Y and shift."""
    fa, fb = np.array(a["frames"]), np.array(b["frames"])
    common = np.intersect1d(fa, fb)
    ia, ib = np.searchsorted(fa, common), np.searchsorted(fb, common)
    pa, pb = np.array(a["joint_positions"])[ia], np.array(b["joint_positions"])[ib]
    lowest = np.abs(pa[:, :, 1].min(1) - pb[:, :, 1].min(1))
    hips = np.abs(pa[:, 0, 1] - pb[:, 0, 1])
    xa, xb = pa[:, 0, [0, 2]], pb[:, 0, [0, 2]]
    ca, cb = xa - xa.mean(0), xb - xb.mean(0)
    u, _, vt = np.linalg.svd(cb.T @ ca)
    d = np.sign(np.linalg.det(u @ vt))
    r = u @ np.diag([1, d]) @ vt
    path = np.linalg.norm(ca @ r.T - cb, axis=1)
    return {"frames": len(common), "lowest_m": float(np.median(lowest)),
            "hips_m": float(np.median(hips)), "path_m": float(np.median(path)),
            "travel_a": float(np.linalg.norm(xa[-1] - xa[0])),
            "travel_b": float(np.linalg.norm(xb[-1] - xb[0]))}


@pytest.mark.slow
def test_the_pan_is_measured_within_half_a_degree(runs):
    report = json.loads((runs["root"] / "pan" / "report.json").read_text())
    cam = report["camera"]
    assert cam["measured"] and cam["moving"] and cam["applied"] and not cam["translating"]
    true_pan = runs["yaw"] - runs["yaw"][0]
    err = np.abs(np.array(cam["pan_deg"]) - true_pan)
    print(f"pan over the clip {true_pan.min():+.1f}..{true_pan.max():+.1f} deg; estimate "
          f"error max {err.max():.3f} deg, end {err[-1]:.3f} deg")
    assert err.max() < 0.5
    assert np.abs(cam["tilt_deg"]).max() < 0.5
    assert [w["code"] for w in report["warnings"]] == ["camera_moving"]
    # the per-frame camera is in the data files and the preview follows it
    doc = _person(runs["root"] / "pan", runs["panned"])
    rot = np.array(doc["camera_rotation"])
    assert rot.shape == (len(doc["frames"]), 3, 3) and np.ptp(rot, axis=0).max() > 0.05
    walker = next(p for p in report["people"] if p["id"] == _walker(runs["panned"])["id"])
    assert walker["hip_reprojection_px_median"] < 15


@pytest.mark.slow
def test_the_walker_moves_as_on_the_fixed_original(runs):
    fixed = _person(runs["root"] / "fixed", runs["fixed"])
    undone = _compare(fixed, _person(runs["root"] / "pan", runs["panned"]))
    ignored = _compare(fixed, _person(runs["root"] / "static", runs["static"]))
    print(f"pan undone: {undone}\npan ignored (--camera static): {ignored}")
    assert undone["frames"] > 120
    assert undone["lowest_m"] < 0.05  # feet as high above the ground (median)
    assert undone["hips_m"] < 0.06
    assert undone["path_m"] < 0.15  # the path, frame by frame
    assert undone["path_m"] < 0.5 * ignored["path_m"]
    assert undone["travel_b"] == pytest.approx(undone["travel_a"], rel=0.15)


@pytest.mark.slow
def test_a_fixed_camera_changes_nothing(runs):
    """The demo's camera is fixed: measured as fixed, and the BVH files are those of
    ``--camera static`` (nothing measured) to the byte."""
    report = json.loads((runs["root"] / "fixed" / "report.json").read_text())
    cam = report["camera"]
    assert cam["measured"] and not cam["moving"] and not cam["applied"]
    assert np.abs(cam["pan_deg"]).max() < 0.1 and np.abs(cam["tilt_deg"]).max() < 0.1
    assert not [w for w in report["warnings"] if w["code"].startswith("camera")]
    static = json.loads((runs["root"] / "demo_static" / "report.json").read_text())
    # the focal length is found the same way for both: the camera never turned
    assert static["camera"] == {"measured": False, "moving": False, "applied": False,
                                "translating": False, "focal": cam["focal"]}
    assert cam["focal"]["source"] in ("lines", "people", "prior")  # a fixed camera's
    for p in runs["fixed"]["people"]:
        a = (runs["root"] / "fixed" / f"person_{p['id']}.bvh").read_bytes()
        b = (runs["root"] / "demo_static" / f"person_{p['id']}.bvh").read_bytes()
        assert a == b


@pytest.mark.slow
@pytest.mark.blender
def test_the_panned_walker_has_feet_on_the_floor_in_blender(runs):
    """Imported in real Blender: the lowest foot joint within 0.15 m of the floor in most
    frames, hips at human height above the feet, travel to the camera's left over about
    the distance the fixed original shows."""
    from mocap.export.blender import bvh_report
    from mocap.export.blender_env import BlenderUnavailableError

    walker = _walker(runs["panned"])
    first, last = walker["first_frame"], walker["last_frame"]
    path = runs["root"] / "pan" / f"person_{walker['id']}.bvh"
    assert len(read_bvh(path).motion) == runs["panned"]["frames"]
    try:
        rep = bvh_report(path, frames=list(range(first, last)))
    except BlenderUnavailableError as exc:
        pytest.skip(f"no Blender environment: {exc}")
    heads = np.array(rep["heads"])[..., [0, 2, 1]] * [1, 1, -1]  # Blender Z up -> Y up
    bones = rep["bones"]
    feet = [bones.index(f"mixamorig:{s}{b}") for s in ("Left", "Right")
            for b in ("Foot", "ToeBase", "Toe_End")]
    lowest = heads[:, feet, 1].min(axis=1)
    hips = heads[:, bones.index("mixamorig:Hips"), 1]
    on_floor = np.abs(lowest) < 0.15
    travel = heads[-1, bones.index("mixamorig:Hips"), [0, 2]] - \
        heads[0, bones.index("mixamorig:Hips"), [0, 2]]
    print(f"lowest foot joint within 0.15 m of the floor in {100 * on_floor.mean():.0f} % "
          f"of {len(lowest)} frames; hips {np.median(hips - lowest):.2f} m above the feet; "
          f"travel {np.linalg.norm(travel):.2f} m towards {travel.round(2)}")
    assert on_floor.mean() > 0.8
    assert 0.7 < np.median(hips - lowest) < 1.1
    assert travel[0] < 0 and abs(travel[1]) < 0.5 * abs(travel[0])  # to the left
    assert 4.0 < np.linalg.norm(travel) < 7.0
