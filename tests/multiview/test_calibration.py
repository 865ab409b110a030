"""Cameras and calibration files: the model against OpenCV's documented formulas, the TOML
round trip, the three readers on real files (Pose2Sim's Demo_MultiPerson calibration, and
what OpenCV's own FileStorage writes), Pose2Sim's own conversion as the reference, and one
line for every bad file."""

from __future__ import annotations

import ast
import logging
import os
import re
import tomllib
import types
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.errors import InputError, ModelUnavailableError
from mocap.io import assets
from mocap.multiview.calibration import (
    READERS,
    Calibration,
    Camera,
    calibration_toml,
    detect_format,
    read_calibration,
    write_calibration,
)
from tests.multiview.synthetic import LENS, look_at, ring

# Pose2Sim's own conversion code (BSD-3-Clause), run as the reference the qca reader and
# the TOML writer are checked against; from the same wheel as the demo, never copied here.
POSE2SIM_CODE = (
    assets.Asset("calibration.py", assets.MULTIVIEW_PACKAGE, "Pose2Sim/calibration.py",
                 76_651, "6d0c44a91716788d837f05b4b97b7ae7c64e029a36c2a2fd486a646e3d64dfef"),
    assets.Asset("common.py", assets.MULTIVIEW_PACKAGE, "Pose2Sim/common.py",
                 71_788, "119b90f22ba7cedb4ecb513a255ffa96b7eb191486d6dbd55abb7b01d26e0230"),
)


def _points(n: int = 500, seed: int = 0) -> np.ndarray:
    """Points of a capture volume around the origin (metres)."""
    return np.random.default_rng(seed).uniform([-1.5, -1.5, 0.0], [1.5, 1.5, 2.0], (n, 3))


def _same_projections(a: Calibration, b: Calibration, points: np.ndarray) -> float:
    """Largest difference (px) of the two calibrations' projections, over points that every
    camera of ``a`` sees inside its image."""
    pa, pb = a.project(points), b.project(points)
    size = np.array([c.size for c in a], float)[:, None, :]
    inside = (np.isfinite(pa).all(-1) & (pa >= 0).all(-1) & (pa < size).all(-1)).all(0)
    assert inside.sum() > 50, "too few points in view to compare"
    return float(np.abs(pa[:, inside] - pb[:, inside]).max())


# --- the camera model ----------------------------------------------------------------------

def _opencv_pinhole(cam: Camera, p: np.ndarray) -> np.ndarray:
    """OpenCV's documented pinhole model with k1 k2 p1 p2 k3, written out."""
    pc = p @ cam.R.T + cam.t
    x, y = pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2]
    k1, k2, p1, p2, k3 = cam.dist
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2**2 + k3 * r2**3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([cam.K[0, 0] * xd + cam.K[0, 2], cam.K[1, 1] * yd + cam.K[1, 2]], -1)


def _opencv_fisheye(cam: Camera, p: np.ndarray) -> np.ndarray:
    """OpenCV's documented fisheye model (k1..k4 on the angle), written out."""
    pc = p @ cam.R.T + cam.t
    a, b = pc[:, 0] / pc[:, 2], pc[:, 1] / pc[:, 2]
    r = np.hypot(a, b)
    theta = np.arctan(r)
    k1, k2, k3, k4 = cam.dist
    theta_d = theta * (1 + k1 * theta**2 + k2 * theta**4 + k3 * theta**6 + k4 * theta**8)
    return np.stack([cam.K[0, 0] * theta_d / r * a + cam.K[0, 2],
                     cam.K[1, 1] * theta_d / r * b + cam.K[1, 2]], -1)


def test_projection_is_opencvs_model_and_normalize_inverts_it():
    cam = look_at("c", [1.2, 1.4, 1.6], [0.0, 1.0, 0.0])
    p = np.random.default_rng(1).uniform([-0.7, 0.3, -0.7], [0.7, 1.7, 0.7], (400, 3))
    px = cam.project(p)
    assert np.abs(px - _opencv_pinhole(cam, p)).max() < 1e-9
    assert (np.abs(px - cam.K[:2, 2]) > 350).any()  # the points spread over the image
    pc = cam.to_camera(p)
    assert np.abs(cam.normalize(px) - pc[:, :2] / pc[:, 2:]).max() < 1e-10
    # the lens matters: without it the same points land up to tens of px elsewhere
    plain = Camera("p", cam.size, cam.K, np.zeros(5), cam.R, cam.t)
    assert np.abs(plain.project(p) - px).max() > 5


def test_fisheye_projection_and_its_inverse():
    base = look_at("f", [2.0, 1.5, 2.5], [0.0, 1.0, 0.0], focal=600.0)
    cam = Camera("f", base.size, base.K, [0.05, -0.01, 0.003, -0.001], base.R, base.t,
                 fisheye=True)
    p = np.random.default_rng(2).uniform([-1, 0, -1], [1, 2, 1], (300, 3))
    px = cam.project(p)
    assert np.abs(px - _opencv_fisheye(cam, p)).max() < 1e-9
    pc = cam.to_camera(p)
    assert np.abs(cam.normalize(px) - pc[:, :2] / pc[:, 2:]).max() < 1e-9


def test_points_behind_the_camera_or_not_finite_project_to_nan():
    cam = look_at("c", [0.0, 1.0, 5.0], [0.0, 1.0, 0.0])
    px = cam.project(np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 9.0], [np.nan, 0, 0]]))
    assert np.isfinite(px[0]).all() and np.isnan(px[1:]).all()
    assert np.abs(px[0] - cam.K[:2, 2]).max() < 1e-9  # the target sits on the optical axis
    assert np.allclose(cam.center, [0.0, 1.0, 5.0])


def test_virtual_cameras_are_rotations_not_mirrors():
    cams = ring(np.random.default_rng(0).uniform(-1, 1, (10, 5, 3)), views=6)
    for cam in cams:
        assert np.linalg.det(cam.R) == pytest.approx(1.0, abs=1e-12)
    # a mirror (one camera axis flipped) is refused, and says so
    cam = cams[0]
    with pytest.raises(ValueError, match=r"`R` must be a rotation \(det \+1\), got det "
                                         r"-1.000: a mirror"):
        Camera("m", cam.size, cam.K, cam.dist, np.diag([1.0, -1.0, 1.0]) @ cam.R, cam.t)


GOOD = {"name": "c", "size": (640, 480), "K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]],
        "dist": [0, 0, 0, 0], "R": np.eye(3), "t": [0, 0, 3]}


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "", "`name` must be a non-empty printable string"),
    ("name", "a\nb", "`name` must be a non-empty printable string"),
    ("size", (640,), r"`size` must be \(width, height\)"),
    ("size", (640, 0), r"`size` must be \(width, height\)"),
    ("size", (640.5, 480), r"`size` must be \(width, height\)"),
    ("K", np.eye(2), r"`K` must have shape \(3, 3\), got \(2, 2\)"),
    ("K", [[500, 0, 320], [0, -500, 240], [0, 0, 1]], "with fx, fy > 0"),
    ("K", [[500, 9, 320], [0, 500, 240], [0, 0, 1]], r"\[\[fx, 0, cx\]"),
    ("K", [[500, 0, 320], [0, 500, 240], [0, 0, 2]], r"\[\[fx, 0, cx\]"),
    ("dist", [0, 0, 0], r"`dist` must have shape \(D,\) with D in 4, 5, 8, 12, 14, got \(3,\)"),
    ("dist", [0, 0, 0, np.nan], "`dist` must be finite"),
    ("R", np.eye(3) * 1.01, r"`R` must be a rotation matrix \(orthonormal\)"),
    ("R", np.full((3, 3), np.nan), "`R` must be a finite rotation matrix"),
    ("t", [0, 0], r"`t` must have shape \(3,\), got \(2,\)"),
    ("t", [0, 0, np.inf], "`t` must be finite"),
])
def test_camera_refuses_bad_values_with_the_template(field, value, message):
    with pytest.raises(ValueError, match=message):
        Camera(**{**GOOD, field: value})


def test_fisheye_needs_four_coefficients_and_calibration_needs_unique_names():
    with pytest.raises(ValueError, match=r"`dist` must have shape \(4,\), got \(5,\)"):
        Camera(**{**GOOD, "dist": [0] * 5}, fisheye=True)
    cam = Camera(**GOOD)
    with pytest.raises(ValueError, match="camera names must be unique, got 'c' twice"):
        Calibration((cam, cam))
    with pytest.raises(ValueError, match="at least one camera"):
        Calibration(())
    calib = Calibration((cam, Camera(**{**GOOD, "name": "d", "t": [1, 0, 3]})))
    assert calib["d"] is calib[1] and calib.subset(["d", 0]).names == ("d", "c")
    assert np.allclose(calib.centers, [[0, 0, -3], [-1, 0, -3]])
    with pytest.raises(KeyError, match="no camera named 'x'; cameras: c, d"):
        calib["x"]


# --- TOML: the round trip and other writers' files -----------------------------------------

def _mixed_calibration() -> Calibration:
    """Three cameras: the synthetic lens (5 coefficients), 4 coefficients, and a fisheye;
    names that need escaping in TOML."""
    cams = list(ring(np.random.default_rng(0).uniform(-1, 1, (10, 5, 3)), views=3))
    cams[1] = Camera('side "B" \\ café', cams[1].size, cams[1].K, cams[1].dist[:4],
                     cams[1].R, cams[1].t)
    cams[2] = Camera("fish", cams[2].size, cams[2].K, [0.02, -0.01, 0.001, 0.0], cams[2].R,
                     cams[2].t, fisheye=True)
    return Calibration(tuple(cams))


def test_toml_round_trip_keeps_every_value_and_projection(tmp_path):
    calib = _mixed_calibration()
    path = write_calibration(calib, tmp_path / "calibration.toml")
    back = read_calibration(path)
    assert back.names == calib.names
    for a, b in zip(calib, back, strict=True):
        assert a.size == b.size and a.fisheye == b.fisheye
        assert np.array_equal(a.K, b.K) and np.array_equal(a.dist, b.dist)
        assert np.array_equal(a.t, b.t)
        assert np.abs(a.R - b.R).max() < 1e-12  # through the Rodrigues vector
    points = np.random.default_rng(3).uniform(-1, 1, (400, 3))
    assert _same_projections(calib, back, points) < 1e-8
    # the layout Pose2Sim writes and reads: one table per camera, then [metadata]
    doc = tomllib.loads(path.read_text())
    assert list(doc) == ["cam_01", "cam_02", "cam_03", "metadata"]
    assert doc["cam_01"]["size"] == [1920, 1080] and len(doc["cam_01"]["rotation"]) == 3
    # written again, only the Rodrigues vectors' last digits may move
    again = tomllib.loads(calibration_toml(back))
    assert again["cam_02"]["name"] == 'side "B" \\ café' and again["cam_03"]["fisheye"]
    assert np.allclose(again["cam_01"]["rotation"], doc["cam_01"]["rotation"], rtol=0,
                       atol=1e-13)


def test_toml_in_anipose_and_freemocap_layout(tmp_path):
    # anipose's CameraGroup.dump: [cam_0] ... with 5 coefficients and an integer size;
    # FreeMoCap adds tables of its own, which are not cameras
    path = tmp_path / "camera_calibration.toml"
    path.write_text(
        '[cam_0]\nname = "A"\nsize = [ 640, 480,]\n'
        "matrix = [ [ 500.0, 0.0, 320.0,], [ 0.0, 501.0, 240.0,], [ 0.0, 0.0, 1.0,],]\n"
        "distortions = [ -0.1, 0.01, 0.0, 0.0, 0.0,]\n"
        "rotation = [ 0.0, 0.0, 0.0,]\ntranslation = [ 0.0, 0.0, 3.0,]\n\n"
        '[cam_1]\nname = "B"\nsize = [ 640, 480,]\n'
        "matrix = [ [ 500.0, 0.0, 320.0,], [ 0.0, 501.0, 240.0,], [ 0.0, 0.0, 1.0,],]\n"
        "distortions = [ 0.1, 0.2, 0.3, 0.4,]\nfisheye = true\n"
        "rotation = [ 0.0, 1.5707963267948966, 0.0,]\ntranslation = [ 0.0, 0.0, 3.0,]\n\n"
        "[metadata]\nadjusted = false\nerror = 0.5\n\n"
        "[capture_volume]\ncenter = [ 0.0, 0.0, 0.0,]\n\n[charuco]\nsquare_size = 50\n")
    calib = read_calibration(path)
    assert calib.names == ("A", "B")
    assert calib["A"].dist.tolist() == [-0.1, 0.01, 0.0, 0.0, 0.0] and not calib["A"].fisheye
    assert calib["B"].fisheye
    # rotation is world -> camera: camera B, turned 90 degrees about y, stands at x = +3
    # and looks along -x, at the origin
    assert np.allclose(calib["B"].center, [3.0, 0.0, 0.0])
    assert np.allclose(calib["B"].R[2], [-1.0, 0.0, 0.0])


# --- Qualisys: the real demo file, and Pose2Sim's own conversion of it ---------------------

@pytest.fixture(scope="module")
def demo_qca(multiview_demo) -> Path:
    return multiview_demo[assets.MULTIVIEW_CALIBRATION.name]


def test_demo_assets_are_the_pinned_files(multiview_demo):
    for asset in assets.MULTIVIEW_DEMO:
        path = multiview_demo[asset.name]
        assert path.stat().st_size == asset.size and assets.sha256_of(path) == asset.sha256
    cap = cv2.VideoCapture(str(multiview_demo["cam01.mp4"]))
    try:
        assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (
            1088, 1920)  # the size the calibration gives (fov_video + 1)
    finally:
        cap.release()


def test_qca_reader_on_the_demo_calibration(demo_qca):
    calib = read_calibration(demo_qca)
    assert detect_format(demo_qca.read_bytes(), demo_qca) == "qca"
    assert calib.names == ("cam01", "cam02", "cam03", "cam04")
    root = ET.parse(demo_qca).getroot()
    for cam, elem in zip(calib, root.findall("cameras/camera"), strict=True):
        assert cam.size == (1088, 1920)
        intr = elem.find("intrinsic")
        assert cam.K[0, 0] == float(intr.get("focalLengthU")) / 64
        assert cam.K[1, 2] == float(intr.get("centerPointV")) / 64  # fov_video top is 0
        assert cam.dist[0] == float(intr.get("radialDistortion1")) / 64
        tr = elem.find("transform")
        assert np.allclose(cam.center, [float(tr.get(a)) / 1000 for a in "xyz"])
        assert np.linalg.det(cam.R) == pytest.approx(1.0)
    # a real rig: every camera stands 1.7-2.1 m above the floor (Z up), 2-4.5 m from the
    # middle of the room, and sees the middle (1 m above the floor) inside its image
    centers = calib.centers
    assert ((centers[:, 2] > 1.6) & (centers[:, 2] < 2.2)).all()
    assert ((np.hypot(*centers[:, :2].T) > 2.0) & (np.hypot(*centers[:, :2].T) < 4.5)).all()
    middle = calib.project(np.array([0.0, 0.0, 1.0]))
    assert ((middle > 100) & (middle < [988, 1820])).all()
    # ... and the floor point below it lower in every image (larger y: image y is down)
    assert (calib.project(np.zeros(3))[:, 1] > middle[:, 1] + 100).all()


def test_qca_fov_video_crop_shifts_the_principal_point(demo_qca, tmp_path):
    text = demo_qca.read_text()
    cropped = tmp_path / "crop.qca.txt"
    cropped.write_text(text.replace('<fov_video bottom="1919" left="0" right="1087" top="0"/>',
                                    '<fov_video bottom="1799" left="40" right="1047" top="100"/>'))
    full, crop = read_calibration(demo_qca), read_calibration(cropped)
    for a, b in zip(full, crop, strict=True):
        assert b.size == (1008, 1700)
        assert np.allclose(b.K[:2, 2], a.K[:2, 2] - [40, 100])
        # the same world point lands at the same sensor pixel: crop offset apart
        p = np.array([0.2, -0.3, 1.2])
        assert np.allclose(b.project(p), a.project(p) - [40, 100], atol=1e-9)


@pytest.fixture(scope="module")
def pose2sim(multiview_demo, tmp_path_factory) -> dict:
    """Pose2Sim's own functions (its calibration.py and common.py of the pinned wheel), run
    here as the reference: lxml's etree and rtoml stand-ins from the standard library."""
    try:
        paths = assets.ensure(POSE2SIM_CODE, assets.cache_dir() / "pose2sim-0.10.49-code")
    except ModelUnavailableError as exc:
        pytest.skip(f"Pose2Sim's code cannot be obtained here: {exc}")
    rtoml = types.SimpleNamespace(load=lambda f: tomllib.loads(Path(f).read_text()))
    ns = {"np": np, "cv2": cv2, "etree": ET, "re": re, "logging": logging, "rtoml": rtoml}
    wanted = {"common.py": ("world_to_camera_persp", "rotate_cam", "natural_sort_key",
                            "computeP"),
              "calibration.py": ("read_qca", "calib_qca_fun", "toml_write")}
    for name, funcs in wanted.items():
        src = paths[name].read_text(encoding="utf-8")
        found = {n.name: ast.get_source_segment(src, n) for n in ast.parse(src).body
                 if isinstance(n, ast.FunctionDef) and n.name in funcs}
        assert sorted(found) == sorted(funcs)
        for code in found.values():
            exec(code, ns)  # Pose2Sim's function, defined in ns
    return ns


def test_qca_reader_agrees_with_pose2sims_conversion(demo_qca, pose2sim, tmp_path):
    _ret, names, sizes, dist, k, rvec, tvec = pose2sim["calib_qca_fun"](str(demo_qca), 1)
    theirs = tmp_path / "Calib_pose2sim.toml"
    pose2sim["toml_write"](str(theirs), names, sizes, dist, k, rvec, tvec)
    ours, converted = read_calibration(demo_qca), read_calibration(theirs)
    assert converted.names == ours.names
    assert [c.size for c in converted] == [c.size for c in ours]
    assert _same_projections(ours, converted, _points()) < 0.1
    assert _same_projections(ours, converted, _points()) < 1e-6  # in fact: rounding only


def test_pose2sim_reads_the_toml_we_write(demo_qca, pose2sim, tmp_path):
    calib = read_calibration(demo_qca)
    path = write_calibration(calib, tmp_path / "calibration.toml")
    projections = pose2sim["computeP"](str(path))  # K [R | t] per camera, its way
    p = _points(200)
    for cam, proj in zip(calib, projections, strict=True):
        h = np.c_[p, np.ones(len(p))] @ proj.T
        undistorted = h[:, :2] / h[:, 2:]
        ours = cam.normalize(cam.project(p)) * np.diag(cam.K)[:2] + cam.K[:2, 2]
        assert np.abs(undistorted - ours).max() < 1e-6


# --- OpenCV YAML / JSON, as cv2.FileStorage writes them -------------------------------------

def _write_storage(path: Path, cams, layout: str) -> None:
    fmt = cv2.FILE_STORAGE_FORMAT_JSON if path.suffix == ".json" else 0
    fs = cv2.FileStorage(str(path), cv2.FILE_STORAGE_WRITE | fmt)
    for cam in cams:
        if layout == "per-camera":
            fs.startWriteStruct(cam.name, cv2.FILE_NODE_MAP)
            fs.write("camera_matrix", cam.K)
            fs.write("distortion_coefficients", cam.dist.reshape(1, -1))
            fs.write("rvec", cam.rvec.reshape(3, 1))
            fs.write("tvec", cam.t.reshape(3, 1))
            fs.write("image_width", cam.size[0])
            fs.write("image_height", cam.size[1])
            fs.endWriteStruct()
        else:  # one camera at the top level, R as a matrix
            fs.write("K", cam.K)
            fs.write("D", cam.dist)
            fs.write("R", cam.R)
            fs.write("T", cam.t)
            fs.startWriteStruct("image_size", cv2.FILE_NODE_SEQ)
            for s in cam.size:
                fs.write("", s)
            fs.endWriteStruct()
    fs.release()


@pytest.mark.parametrize("suffix", [".yml", ".json"])
def test_opencv_files_read_back_to_the_same_projections(tmp_path, suffix):
    calib = ring(np.random.default_rng(4).uniform(-1, 1, (10, 5, 3)), views=3)
    many = tmp_path / f"cams{suffix}"
    _write_storage(many, calib, "per-camera")
    back = read_calibration(many)
    assert back.names == calib.names
    assert _same_projections(calib, back, np.random.default_rng(5).uniform(-1, 1, (300, 3))
                             ) < 1e-8
    one = tmp_path / f"left{suffix}"
    _write_storage(one, calib.cameras[:1], "top-level")
    single = read_calibration(one)
    assert single.names == ("left",) and np.allclose(single[0].R, calib[0].R)
    assert detect_format(one.read_bytes(), one) == "opencv"


# --- bad files: one line naming the file ---------------------------------------------------

_TOML_CAM = ('[cam_1]\nname = "a"\nsize = [640, 480]\n'
             "matrix = [[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]]\n"
             "distortions = [0.0, 0.0, 0.0, 0.0]\nrotation = [0.0, 0.0, 0.0]\n"
             "translation = [0.0, 0.0, 3.0]\n")


@pytest.mark.parametrize(("name", "content", "needles"), [
    ("empty.toml", "", ["no camera tables", "found tables: none"]),
    ("binary.toml", b"\xff\xfe\x00garbage", ["not a UTF-8 text calibration file"]),
    ("broken.toml", "[cam_1\nname = 1", ["not a TOML calibration"]),
    ("missing.toml", _TOML_CAM.replace("translation = [0.0, 0.0, 3.0]\n", ""),
     ["camera [cam_1] has no translation", "found name, size, matrix"]),
    ("words.toml", _TOML_CAM.replace("[0.0, 0.0, 3.0]", '["a", 0.0, 3.0]'),
     ["camera [cam_1]: `translation` must hold numbers"]),
    ("short.toml", _TOML_CAM.replace("[0.0, 0.0, 0.0]\n", "[0.0, 0.0]\n"),
     ["camera [cam_1]: `rotation` must hold 3 or 9 numbers, got 2"]),
    ("huge.toml", _TOML_CAM.replace("3.0]\n", "1e999]\n"),
     ["camera [cam_1]: `translation` must be finite"]),
    ("mirror.toml", _TOML_CAM.replace("rotation = [0.0, 0.0, 0.0]",
                                      "rotation = [1, 0, 0, 0, -1, 0, 0, 0, 1]"),
     ["camera [cam_1]: `R` must be a rotation (det +1)", "a mirror"]),
    ("twice.toml", _TOML_CAM + _TOML_CAM.replace("[cam_1]", "[cam_2]"),
     ["camera names must be unique, got 'a' twice"]),
    ("entity.qca.txt", '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><calibration/>',
     ["no DOCTYPE or ENTITY"]),
    ("bad.qca.txt", "<calibration><cameras><camera", ["invalid XML"]),
    ("other.xml", "<something/>", ["not a Qualisys .qca.txt calibration", "<something>"]),
    ("markers.qca.txt", '<calibration><cameras><camera model="Miqus M3" serial="1"/>'
                        "</cameras></calibration>",
     ["no video camera", "found 1 cameras, models 'Miqus M3'"]),
    ("nofov.qca.txt", '<calibration><cameras><camera model="none" serial="c1"/></cameras>'
                      "</calibration>", ["camera 'c1' has no <fov_video>"]),
    ("nosize.yml", "%YAML:1.0\n---\nK: [500, 0, 320, 0, 500, 240, 0, 0, 1]\ndist: [0, 0, 0, 0]\n"
                   "rvec: [0, 0, 0]\ntvec: [0, 0, 3]\n",
     ["no image size (image_width and image_height, or image_size)",
      "found keys: K, dist, rvec, tvec"]),
    ("norot.json", '{"K": [500, 0, 320, 0, 500, 240, 0, 0, 1], "dist": [0, 0, 0, 0], '
                   '"tvec": [0, 0, 3], "image_size": [640, 480]}',
     ["no rotation (rvec: Rodrigues, or R: 3x3)", "found keys: K, dist, tvec, image_size"]),
    ("nothing.yml", "%YAML:1.0\n---\nfoo: 1\nbar: [1, 2]\n",
     ["no camera found", "found keys: foo, bar"]),
    ("broken.yml", "%YAML:1.0\n---\nK: [1, 2\n", ["not an OpenCV YAML/JSON calibration"]),
])
def test_bad_files_are_one_line_naming_the_file(tmp_path, name, content, needles):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(InputError) as exc:
        read_calibration(path)
    msg = str(exc.value)
    assert "\n" not in msg and msg.startswith(f"{path}: "), msg
    for needle in needles:
        assert needle in msg, msg


def test_not_a_regular_file_or_an_unknown_format(tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a pipe"):
        read_calibration(fifo)
    with pytest.raises(InputError, match="is a directory"):
        read_calibration(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        read_calibration(tmp_path / "absent.toml")
    path = tmp_path / "c.toml"
    path.write_text(_TOML_CAM)
    with pytest.raises(InputError, match="unknown calibration format 'xml'; valid formats: "
                                         "toml, qca, opencv"):
        read_calibration(path, format="xml")
    # a format named explicitly is used whatever the content looks like
    with pytest.raises(InputError, match="not a Qualisys"):
        read_calibration(path, format="qca")
    assert set(READERS) == {"toml", "qca", "opencv"} and len(read_calibration(path)) == 1


def test_synthetic_lens_is_what_the_docstring_says():
    cam = look_at("c", [0.0, 1.0, 5.0], [0.0, 1.0, 0.0], dist=LENS)
    plain = Camera("p", cam.size, cam.K, np.zeros(5), cam.R, cam.t)
    corner = plain.normalize(np.array([0.0, 0.0]))  # the ray to the top-left corner
    p = (np.array([*corner, 1.0]) * 5.0 - cam.t) @ cam.R  # on it, 5 m deep
    assert np.abs(plain.project(p)).max() < 1e-6
    assert 40 < np.abs(cam.project(p) - plain.project(p)).max() < 65
