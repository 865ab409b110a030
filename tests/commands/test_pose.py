"""`mocap pose` end to end: outputs on real photos, and every bad input a user can give."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from tests.helpers import assert_one_line_error, run_cli


@pytest.mark.slow
def test_pose_writes_coco_json_and_overlays(shared_data, model_paths, tmp_path):
    img = shared_data / "keypoints" / "mmpose_coco" / "000000196141.jpg"
    proc = run_cli("pose", img, "--coco", tmp_path / "c.json", "--json", tmp_path / "f.json",
                   "--draw", tmp_path / "draw")
    assert proc.returncode == 0, proc.stderr
    coco = json.loads((tmp_path / "c.json").read_text())
    assert len(coco) >= 2
    for r in coco:
        assert r["file_name"] == img.name and r["image_id"] == 196141
        assert len(r["keypoints"]) == 51 and 0 < r["score"] <= 1
    full = json.loads((tmp_path / "f.json").read_text())
    person = full["images"][0]["people"][0]
    assert len(person["landmarks"]) == 33 and len(person["landmarks"][0]) == 5
    assert len(person["world_landmarks"]) == 33
    overlay = cv2.imread(str(tmp_path / "draw" / "000000196141.png"))
    original = cv2.imread(str(img))
    assert overlay.shape == original.shape
    assert np.abs(overlay.astype(int) - original).mean() > 0.5  # skeletons were drawn
    assert not list(tmp_path.rglob("*.part*"))


def _write(path, image, params=()):
    assert cv2.imwrite(str(path), image, list(params))
    return path


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory, shared_data):
    d = tmp_path_factory.mktemp("odd")
    photo = cv2.imread(str(shared_data / "keypoints" / "mmpose_coco" / "000000196141.jpg"))
    return {
        "gray": _write(d / "gray.png", cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)),
        "16bit": _write(d / "deep.png", photo.astype(np.uint16) * 257),
        "tiny": _write(d / "tiny.png", np.full((1, 1, 3), 128, np.uint8)),
        "huge": _write(d / "huge.png", np.zeros((10000, 10000, 3), np.uint8),
                       (cv2.IMWRITE_PNG_COMPRESSION, 1)),
    }


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "min_people"), [("gray", 2), ("16bit", 2), ("tiny", 0),
                                                  ("huge", 0)])
def test_unusual_images_give_a_result(odd_images, model_paths, kind, min_people, tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("pose", odd_images[kind], "--coco", out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(json.loads(out.read_text())) >= min_people


def _file(d, name, data: bytes):
    (d / name).write_bytes(data)
    return d / name


@pytest.mark.parametrize(("make", "needle"), [
    (lambda d: d / "missing.jpg", "no such file"),
    (lambda d: _file(d, "empty.jpg", b""), "empty file"),
    (lambda d: _file(d, "notes.jpg", b"not an image"), "not an image"),
    (lambda d: d, "is a directory"),
])
def test_bad_inputs_are_one_line_errors(tmp_path, model_paths, make, needle):
    path = make(tmp_path)
    out = tmp_path / "out.json"
    proc = run_cli("pose", path, "--coco", out)
    assert_one_line_error(proc, needle, str(path))
    assert not out.exists()  # nothing written when no image could be read


def test_bad_options_are_one_line_errors(tmp_path, model_paths):
    proc = run_cli("pose", "x.jpg", "--threads", "0")
    assert_one_line_error(proc, "--threads")
    proc = run_cli("pose", "x.jpg", "--coco", tmp_path)
    assert_one_line_error(proc, "is a directory")


@pytest.fixture(scope="module")
def demo_photos(demo_video_path):
    """Two different photos from the demo video (no ../shared needed)."""
    cap = cv2.VideoCapture(str(demo_video_path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 100)
    ok, frame = cap.read()
    cap.release()
    assert ok
    frame = cv2.resize(frame, (frame.shape[1] // 2, frame.shape[0] // 2))
    return frame, frame[:, ::-1].copy()


@pytest.mark.slow
def test_draw_never_replaces_an_input_photo(tmp_path, model_paths, demo_photos):
    """`pose photos/me.png --draw photos` replaced the photo with its overlay."""
    me = _write(tmp_path / "me.png", demo_photos[0])
    before = me.read_bytes()
    proc = run_cli("pose", me, "--draw", tmp_path)
    assert_one_line_error(proc, "would replace the input image", str(me))
    assert proc.returncode == 2 and me.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["me.png"]


@pytest.mark.slow
def test_two_inputs_of_one_name_leave_two_overlays_and_two_ids(tmp_path, model_paths,
                                                                demo_photos):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _write(tmp_path / "a" / "x.jpg", demo_photos[0])
    b = _write(tmp_path / "b" / "x.jpg", demo_photos[1])
    out = tmp_path / "out"
    proc = run_cli("pose", a, b, "--draw", out, "--json", tmp_path / "f.json", "--coco",
                   tmp_path / "c.json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["x-2.png", "x.png"]
    first, second = (cv2.imread(str(out / n)) for n in ("x.png", "x-2.png"))
    assert np.abs(first.astype(int) - second).mean() > 5  # each its own photo's overlay
    images = json.loads((tmp_path / "f.json").read_text())["images"]
    assert [(i["path"], i["image_id"]) for i in images] == [(str(a), "x"), (str(b), "x-2")]
    ids = {r["image_id"] for r in json.loads((tmp_path / "c.json").read_text())}
    assert ids == {"x", "x-2"}
