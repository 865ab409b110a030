"""Detection geometry, landmark decoding, and the multi-person engine on real photos."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import expit

from mocap.geometry.boxes import box_iou
from mocap.perception.detect import (
    NUM_ANCHORS,
    Detections,
    DetectorConfig,
    detection_views,
    rois_from_points,
    ssd_anchors,
    weighted_nms,
)
from mocap.perception.landmarks import crop_to_image, pose_similarity, refine_from_heatmap
from mocap.types import COCO17_FROM_BLAZEPOSE, Rois


def _refine_loop(xy, heatmap, kernel=7, min_conf=0.5):
    """MediaPipe's RefineLandmarksFromHeatmapCalculator, transcribed loop for loop."""
    out = xy.copy()
    h, w, n_lm = heatmap.shape
    off = (kernel - 1) // 2
    for i in range(n_lm):
        col, row = int(xy[i, 0] * w), int(xy[i, 1] * h)
        if col < 0 or col >= w or row < 0 or row >= h:
            continue
        s = wc = wr = mx = 0.0
        for r in range(max(0, row - off), min(h, row + off + 1)):
            for c in range(max(0, col - off), min(w, col + off + 1)):
                conf = float(expit(heatmap[r, c, i]))
                s += conf
                mx = max(mx, conf)
                wc += c * conf
                wr += r * conf
        if mx >= min_conf and s > 0:
            out[i] = (wc / w / s, wr / h / s)
    return out


def test_heatmap_refinement_matches_mediapipes_loop():
    rng = np.random.default_rng(0)
    xy = rng.uniform(-0.1, 1.1, (3, 39, 2)).astype(np.float32)
    heat = rng.normal(0, 2, (3, 64, 64, 39)).astype(np.float32)
    got = refine_from_heatmap(xy, heat)
    for n in range(3):
        np.testing.assert_allclose(got[n], _refine_loop(xy[n], heat[n]), atol=1e-6)
    assert not np.allclose(got, xy)  # something was refined


def test_anchors_follow_ssd_layout():
    a = ssd_anchors()
    assert a.shape == (NUM_ANCHORS, 2) == (2254, 2)
    # stride 8: 28x28 cells, two anchors each, row-major; first cell centre at 0.5/28
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[2], [1.5 / 28, 0.5 / 28])
    # stride 16 starts after 28*28*2; three stride-32 layers share a 7x7 grid, 6 per cell
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(a[1960:1966], np.tile([[0.5 / 7, 0.5 / 7]], (6, 1)))
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7])


def test_weighted_nms_averages_a_cluster_and_keeps_separate_people():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], np.float32)
    kps = np.zeros((3, 4, 2), np.float32)
    kps[1] += 3.0
    kps[2] += 50.0
    dets = weighted_nms(Detections(boxes, kps, np.array([0.9, 0.3, 0.8], np.float32)), 0.3)
    assert len(dets) == 2
    np.testing.assert_allclose(dets.scores, [0.9, 0.8])
    np.testing.assert_allclose(dets.boxes[0], [0.25, 0, 10.25, 10], atol=1e-5)
    np.testing.assert_allclose(dets.keypoints[0], np.full((4, 2), 0.75), atol=1e-5)
    assert box_iou(boxes[:1], boxes[2:]).item() == 0.0


@pytest.mark.parametrize(("direction", "expected_deg"), [
    ((0, -1), 0.0),  # scale point straight above the hips: upright, no rotation
    ((1, 0), 90.0),  # body lying to the right
    ((-1, 0), -90.0),
    ((0, 1), 180.0),  # upside down
])
def test_roi_rotation_and_size(direction, expected_deg):
    centre = np.array([[100.0, 200.0]])
    point = centre + 40 * np.array([direction], float)
    roi = rois_from_points(centre, point, np.array([1.0]))
    assert roi.size[0] == pytest.approx(2 * 40 * 1.25)
    got = np.degrees(roi.rotation[0])
    assert min(abs(got - expected_deg), 360 - abs(got - expected_deg)) < 1e-3


def test_crop_mapping_puts_crop_up_along_the_body_axis():
    # A body lying to the right: the crop's "up" (decreasing v) must point to +x in the image.
    roi = rois_from_points(np.array([[300.0, 100.0]]), np.array([[340.0, 100.0]]), np.ones(1))
    a = crop_to_image(roi)[0]
    centre = a[:, :2] @ [128, 128] + a[:, 2]
    top = a[:, :2] @ [128, 0] + a[:, 2]
    np.testing.assert_allclose(centre, [300, 100], atol=1e-4)
    direction = (top - centre) / np.linalg.norm(top - centre)
    np.testing.assert_allclose(direction, [1, 0], atol=1e-6)


def test_detection_views_cover_the_image():
    cfg = DetectorConfig(tile_scales=(1.0, 0.5), tile_overlap=0.3, min_tile_px=100)
    views = detection_views(480, 640, cfg)
    np.testing.assert_allclose(views[0], [0, -80, 640])  # the whole image, letterboxed
    tiles = views[1:]
    assert (tiles[:, 0] >= 0).all() and (tiles[:, 0] + tiles[:, 2] <= 640 + 1e-3).all()
    assert (tiles[:, 1] >= 0).all() and (tiles[:, 1] + tiles[:, 2] <= 480 + 1e-3).all()
    for side in (480, 240):  # each tile scale reaches both far edges
        t = tiles[np.isclose(tiles[:, 2], side)]
        assert t[:, 0].min() == 0 and np.isclose((t[:, 0] + side).max(), 640)
        assert t[:, 1].min() == 0 and np.isclose((t[:, 1] + side).max(), 480)


def test_rois_validate_shapes():
    with pytest.raises(ValueError, match=r"`size` must have shape \(N,\), got \(3,\)"):
        Rois(np.zeros((2, 2)), np.ones(3), np.zeros(2), np.ones(2))


def _oks(pred_xy, gt, area):
    sigmas = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                       .87, .87, .89, .89]) / 10
    k = np.array(gt["keypoints"], float).reshape(17, 3)
    vis = k[:, 2] > 0
    d2 = ((pred_xy - k[None, :, :2]) ** 2).sum(-1)
    e = d2 / (2 * area * (2 * sigmas) ** 2 + np.spacing(1))
    return np.exp(-e)[:, vis].mean(1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["torch", "auto"])
def test_engine_finds_the_annotated_people(shared_data, model_paths, backend):
    """On the mmpose COCO photos, most fully annotated people are found with OKS >= 0.5."""
    from mocap.io.images import load_image
    from mocap.perception.landmarks import PoseEngine

    engine = PoseEngine(backend=backend, device="cpu")
    root = shared_data / "keypoints" / "mmpose_coco"
    ann = json.loads((root / "test_coco.json").read_text())
    found = total = 0
    for img in ann["images"]:
        poses = engine.estimate(load_image(root / img["file_name"]))
        assert len(poses) >= 1
        assert np.isfinite(poses.world).all() and (poses.visibility <= 1).all()
        # world landmarks are hip-centred metres: hips near the origin, a body ~1-2 m tall
        hips = poses.world[:, 23:25].mean(1)
        assert (np.abs(hips) < 0.1).all()
        for gt in ann["annotations"]:
            if gt["image_id"] != img["id"] or gt["num_keypoints"] < 10:
                continue
            total += 1
            oks = _oks(poses.xy[:, list(COCO17_FROM_BLAZEPOSE)], gt, gt["area"])
            found += int(oks.max() >= 0.5)
    assert total >= 5
    assert found / total >= 0.7, f"{found}/{total} annotated people found"


@pytest.mark.slow
def test_backends_agree_on_real_photos(shared_data, engine, torch_engine):
    from mocap.io.images import load_image

    image = load_image(shared_data / "keypoints" / "mmpose_coco" / "000000196141.jpg")
    a, b = engine.estimate(image), torch_engine.estimate(image)
    assert len(a) == len(b) >= 2
    sim = pose_similarity(a, b)
    assert (sim.max(1) > 0.95).all()


def test_video_views_skip_the_letterbox_only_where_tiles_cover_the_frame():
    cfg = DetectorConfig(tile_scales=(1.0,), whole_image=False)
    wide = detection_views(994, 1768, cfg)
    assert (wide[:, 2] == 994).all() and len(wide) == 3  # frame-high tiles, no letterbox
    assert wide[0, 0] == 0 and wide[-1, 0] + 994 == pytest.approx(1768)
    square = detection_views(500, 500, cfg)  # no scale-1 tile fits: the whole image
    np.testing.assert_allclose(square, [[0, 0, 500]])
