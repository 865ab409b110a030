"""`mocap convert cam1.mp4 cam2.mp4 ... --calibration FILE|auto`: several cameras of one take.

The real take is Pose2Sim's Demo_MultiPerson (4 calibrated cameras, a man and a rendered
woman, a bystander in one view; fetched from its PyPI wheel). Bad inputs are refused before
any model runs, each with one line naming what is wrong.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.io.bvh import read_bvh
from mocap.multiview.calibration import read_calibration
from tests.helpers import assert_one_line_error, run_cli


def _clip(path: Path, fps: float = 30.0, size=(64, 48), frames: int = 6) -> Path:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    rng = np.random.default_rng(0)
    for _ in range(frames):
        out.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    out.release()
    return path


# --------------------------------------------------------------------------------------
# bad input: one line, exit 2, nothing written
# --------------------------------------------------------------------------------------
def test_several_videos_without_a_calibration_name_it_and_batch(tmp_path):
    a, b = _clip(tmp_path / "a.mp4"), _clip(tmp_path / "b.mp4")
    proc = run_cli("convert", a, b, "-o", tmp_path / "out")
    assert proc.returncode == 2
    assert_one_line_error(proc, "--calibration", "mocap batch")
    assert not (tmp_path / "out").exists()


def test_one_video_with_a_calibration_is_refused(tmp_path, multiview_demo):
    proc = run_cli("convert", multiview_demo["cam01.mp4"], "--calibration",
                   multiview_demo["Calib.qca.txt"], "-o", tmp_path / "out")
    assert_one_line_error(proc, "two or more videos")


def test_different_frame_rates_are_refused(tmp_path):
    a, b = _clip(tmp_path / "a.mp4", 30.0), _clip(tmp_path / "b.mp4", 25.0)
    c = _clip(tmp_path / "c.mp4", 30.0)
    proc = run_cli("convert", a, b, c, "--calibration", "auto", "-o", tmp_path / "out")
    assert_one_line_error(proc, "different frame rates", "a.mp4 30 fps", "b.mp4 25 fps")
    assert not (tmp_path / "out").exists()


def test_auto_calibration_from_two_cameras_is_refused(tmp_path):
    a, b = _clip(tmp_path / "a.mp4"), _clip(tmp_path / "b.mp4")
    proc = run_cli("convert", a, b, "--calibration", "auto", "-o", tmp_path / "out")
    assert_one_line_error(proc, "three or more cameras", "mocap calibrate")


def test_a_video_with_no_camera_in_the_calibration(tmp_path, multiview_demo):
    cam1 = tmp_path / "cam01.mp4"
    shutil.copy(multiview_demo["cam01.mp4"], cam1)
    other = tmp_path / "cam09.mp4"
    shutil.copy(multiview_demo["cam02.mp4"], other)
    proc = run_cli("convert", cam1, other, "--calibration", multiview_demo["Calib.qca.txt"],
                   "-o", tmp_path / "out")
    assert_one_line_error(proc, "no camera named 'cam09'", "cam01, cam02, cam03, cam04")


def test_a_calibration_for_other_image_sizes(tmp_path, multiview_demo):
    a, b = _clip(tmp_path / "cam01.mp4"), _clip(tmp_path / "cam02.mp4")
    proc = run_cli("convert", a, b, "--calibration", multiview_demo["Calib.qca.txt"],
                   "-o", tmp_path / "out")
    assert_one_line_error(proc, "other image sizes", "1088x1920", "64x48")


def test_an_unreadable_video_is_named(tmp_path, multiview_demo):
    cam1 = multiview_demo["cam01.mp4"]
    bad = tmp_path / "cam02.mp4"
    bad.write_text("not a video\n")
    proc = run_cli("convert", cam1, bad, "--calibration", multiview_demo["Calib.qca.txt"],
                   "-o", tmp_path / "out")
    assert_one_line_error(proc, "cam02.mp4")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("extra", "needle"), [
    (["--offsets", "0,1"], "one value per video (3)"),
    (["--offsets", "0,x,1"], "comma-separated numbers"),
    (["--offsets", "2,0,1"], "first video's offset must be 0"),
    (["--scale-m", "2.0"], "--scale-m sets the scale of --calibration auto"),
])
def test_bad_multi_camera_options(tmp_path, multiview_demo, extra, needle):
    videos = [multiview_demo[f"cam0{v}.mp4"] for v in (1, 2, 3)]
    proc = run_cli("convert", *videos, "--calibration", multiview_demo["Calib.qca.txt"],
                   *extra, "-o", tmp_path / "out")
    assert_one_line_error(proc, needle)


def test_the_same_video_twice_is_refused(tmp_path, multiview_demo):
    cam1 = multiview_demo["cam01.mp4"]
    proc = run_cli("convert", cam1, cam1, "--calibration", "auto", "-o", tmp_path / "out")
    assert_one_line_error(proc, "given twice")


def test_offsets_without_a_calibration_are_refused(tmp_path):
    proc = run_cli("convert", _clip(tmp_path / "a.mp4"), "--offsets", "0", "-o",
                   tmp_path / "out")
    assert_one_line_error(proc, "--offsets and --scale-m apply to several cameras")


# --------------------------------------------------------------------------------------
# the real take
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_out(tmp_path_factory, multiview_demo):
    """Demo_MultiPerson's 4 videos converted with the file's calibration (CLI, JSON)."""
    out = tmp_path_factory.mktemp("views") / "out"
    videos = [multiview_demo[f"cam0{v}.mp4"] for v in (1, 2, 3, 4)]
    proc = run_cli("convert", *videos, "--calibration", multiview_demo["Calib.qca.txt"],
                   "--formats", "bvh,npz", "-o", out, "--json", "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, json.loads(proc.stdout), proc.stderr


@pytest.mark.slow
def test_demo_both_people_triangulated_on_the_ground(demo_out, multiview_demo):
    out, summary, _ = demo_out
    report = json.loads((out / "report.json").read_text())
    people = report["people"]
    views = report["views"]
    # the man and the woman, each triangulated from 3 or 4 views in (nearly) every frame;
    # the bystander at the back, when two cameras agree on him, is a third
    main = [row for row in views["persons"] if row["frames_triangulated"] >= 90]
    assert len(main) == 2, views["persons"]
    assert all(sum(c > 0.5 for c in row["coverage_per_view"]) >= 3 for row in main)
    assert len(people) in (2, 3)
    assert [c["video"] for c in views["cameras"]] == [f"cam0{v}.mp4" for v in (1, 2, 3, 4)]
    assert views["calibration"]["matched_by"] == "name"
    for cam in views["cameras"]:  # the videos are synchronised: offsets found near 0
        assert abs(cam["offset_frames"]) < 1.0, cam  # (sync: within 0.6 frame here)
        assert cam["median_reprojection_px"] < 12.0, cam
    for p in (p for p in people if p["id"] in {row["id"] for row in main}):
        # the rig's hips where the triangulated hips are, through cam01 (measured: the man
        # 0.6 px; the rendered woman 14 px, her rig lifted ~4 cm to keep her toes above
        # the floor the two share)
        assert p["hip_reprojection_px_median"] < 20.0, p
        bvh = read_bvh(out / f"person_{p['id']}.bvh")
        assert len(bvh) == report["frames"] == 100
        data = np.load(out / f"person_{p['id']}.npz")
        pos = data["joint_positions"]  # (T, J, 3) m, Y up
        lowest = pos[..., 1].min(axis=1)
        assert abs(np.median(lowest)) < 0.06, np.median(lowest)  # feet on the ground
        hips = pos[:, 0, 1]
        assert 0.7 < np.median(hips) < 1.2, np.median(hips)  # upright, adult height
    # calibration.toml: the cameras in the outputs' world, the same optics as the file
    written = read_calibration(out / "calibration.toml")
    source = read_calibration(multiview_demo["Calib.qca.txt"])
    assert written.names == source.names
    for a, b in zip(written, source, strict=True):
        np.testing.assert_allclose(a.K, b.K, rtol=1e-6)
    # the same rigid motion moved every camera: distances between centres kept
    da = np.linalg.norm(written.centers[:, None] - written.centers[None], axis=-1)
    db = np.linalg.norm(source.centers[:, None] - source.centers[None], axis=-1)
    np.testing.assert_allclose(da, db, atol=1e-6)
    assert any(str(p).endswith("calibration.toml") for p in summary["outputs"])
    assert summary["views"]["offsets_frames"] == [c["offset_frames"] for c in views["cameras"]]


@pytest.mark.slow
def test_demo_preview_is_a_grid_of_the_views(demo_out):
    out, _, _ = demo_out
    cap = cv2.VideoCapture(str(out / "preview.mp4"))
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert (w, h) == (1088, 1920)  # 2x2 cells of 544x960: the 4 portrait views
    assert frames == 100
    page = (out / "report.html").read_text()
    assert "Cameras" in page and "cam04.mp4" in page and "<svg" in page


@pytest.mark.slow
def test_two_of_the_four_cameras_by_name(tmp_path, multiview_demo):
    """cam01 and cam03 alone (the calibration has all four: the videos pick theirs)."""
    out = tmp_path / "out"
    proc = run_cli("convert", multiview_demo["cam01.mp4"], multiview_demo["cam03.mp4"],
                   "--calibration", multiview_demo["Calib.qca.txt"], "--offsets", "0,0",
                   "--no-preview", "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert [c["name"] for c in report["views"]["cameras"]] == ["cam01", "cam03"]
    assert report["views"]["offsets_source"] == "given"
    assert len(report["people"]) >= 1


@pytest.mark.slow
@pytest.mark.blender
def test_demo_bvh_imports_in_real_blender_upright_on_the_floor(demo_out, blender_python):
    """The triangulated people's BVH in real Blender (bpy): every bone where our own
    forward kinematics put it, the head above the hips, the feet at the floor."""
    from mocap.export import blender
    from mocap.skeleton.rig import load_rig
    from tests.export.test_bvh_in_blender import _check, _upright

    out, _, _ = demo_out
    report = json.loads((out / "report.json").read_text())
    rig = load_rig("mixamo")
    names = {role: rig.joints[j] for j, role in enumerate(rig.roles) if role}
    main = [row["id"] for row in report["views"]["persons"]
            if row["frames_triangulated"] >= 90]
    for pid in main:
        rep = _check(blender, out / f"person_{pid}.bvh", rig.joints)
        _upright(rep, names["hips"], names["head"])
        heads = np.array(rep["heads"])  # Blender axes: Z up
        assert np.abs(heads[..., 2].min(axis=1)).max() < 0.15, heads[..., 2].min(axis=1)


@pytest.mark.slow
def test_demo_with_auto_calibration(tmp_path, multiview_demo):
    """No calibration file: the cameras from the two people; both are still triangulated
    across the take, upright on the ground, and the cameras written land where the file's
    are after a similarity (within 20 cm and 5 degrees; measured 12 cm and 3.4 here)."""
    from mocap.multiview.bundle import umeyama

    out = tmp_path / "out"
    videos = [multiview_demo[f"cam0{v}.mp4"] for v in (1, 2, 3, 4)]
    proc = run_cli("convert", *videos, "--calibration", "auto", "--formats", "bvh,npz",
                   "--no-preview", "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    views = report["views"]
    assert views["calibration"]["source"] == "auto"
    main = [row for row in views["persons"] if row["frames_triangulated"] >= 90]
    assert len(main) == 2, views["persons"]
    for row in main:
        data = np.load(out / f"person_{row['id']}.npz")
        lowest = data["joint_positions"][..., 1].min(axis=1)
        assert abs(np.median(lowest)) < 0.06
    auto = read_calibration(out / "calibration.toml")
    truth = read_calibration(multiview_demo["Calib.qca.txt"])
    r, t, s = umeyama(auto.centers, truth.centers)
    moved = (s * (r @ auto.centers.T)).T + t
    assert np.linalg.norm(moved - truth.centers, axis=1).max() < 0.20
    for a, b in zip(auto, truth, strict=True):
        rel = b.R @ (a.R @ r.T).T  # the camera's rotation error after the similarity
        angle = np.degrees(np.arccos(np.clip((np.trace(rel) - 1) / 2, -1, 1)))
        assert angle < 5.0, (a.name, angle)


@pytest.mark.slow
def test_two_cameras_with_hands(tmp_path, multiview_demo):
    """--hands across cameras: each hand from the camera that saw it best, per frame; the
    people's hands are found in most frames (the man spreads his arms towards cam01 and
    cam02) and the fingers' data is written."""
    out = tmp_path / "out"
    proc = run_cli("convert", multiview_demo["cam01.mp4"], multiview_demo["cam02.mp4"],
                   "--calibration", multiview_demo["Calib.qca.txt"], "--hands",
                   "--no-preview", "--formats", "bvh,npz", "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    main = [p for p in report["people"] if p["frames_observed"] >= 90]
    assert main
    for p in main:
        assert min(p["hand_coverage"].values()) > 0.5, p["hand_coverage"]
        data = np.load(out / f"person_{p['id']}.npz")
        seen = data["hands_score"] > 0
        assert np.isfinite(data["hands_world"][seen]).all()
        assert not np.isfinite(data["hands_world"][~seen]).any()


def test_two_videos_of_one_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _clip(tmp_path / "a" / "cam01.mp4"), _clip(tmp_path / "b" / "cam01.mp4")
    c = _clip(tmp_path / "cam02.mp4")
    proc = run_cli("convert", a, b, c, "--calibration", "auto", "-o", tmp_path / "out")
    assert_one_line_error(proc, "have one name (cam01)")


def test_frame_rates_that_drift_apart_over_the_clip_are_refused(tmp_path):
    """29.97 and 30 fps are within 1 %, but over 600 frames they drift 0.6 frame apart."""
    a = _clip(tmp_path / "a.mp4", 30.0, size=(32, 24), frames=600)
    b = _clip(tmp_path / "b.mp4", 29.97, size=(32, 24), frames=600)
    c = _clip(tmp_path / "c.mp4", 30.0, size=(32, 24), frames=600)
    proc = run_cli("convert", a, b, c, "--calibration", "auto", "-o", tmp_path / "out")
    assert_one_line_error(proc, "different frame rates", "b.mp4 29.97 fps")
