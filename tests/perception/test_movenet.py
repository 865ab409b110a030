"""MoveNet people -> BlazePose regions -> fused COCO-17 joints, on synthetic values and on
real photos of people seen from behind, small, crouched and overlapping."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from mocap.perception.fusion import MOVENET_SHARE, fuse_coco, movenet_coco
from mocap.perception.movenet import (
    COCO_SIGMAS,
    STRIDE,
    MoveNetConfig,
    decode_movenet,
    merge_views,
    movenet_input,
    oks_matrix,
    rois_from_bodies,
    tile_views,
)
from mocap.types import COCO17_FROM_BLAZEPOSE, NUM_LANDMARKS, BodyDetections, Poses2D
from tests.helpers import SHARED_DATA

KEYPOINTS = SHARED_DATA / "keypoints"
needs_photos = pytest.mark.skipif(not KEYPOINTS.is_dir(),
                                  reason=f"keypoint photos not found in {KEYPOINTS}")


def _standing(cx: float, top: float, height: float, score: float = 0.9) -> BodyDetections:
    """An upright person facing the camera, COCO-17 joints in px."""
    rel = np.array([  # (x, y) as fractions of the height, from the head top
        (0, .06), (-.02, .04), (.02, .04), (-.05, .05), (.05, .05), (-.12, .19), (.12, .19),
        (-.15, .35), (.15, .35), (-.16, .5), (.16, .5), (-.08, .52), (.08, .52),
        (-.08, .75), (.08, .75), (-.08, .97), (.08, .97)])
    kp = np.array([cx, top]) + rel * height
    box = [kp[:, 0].min(), top, kp[:, 0].max(), top + height]
    return BodyDetections([box], kp[None], np.full((1, 17), 0.8), [score])


def test_input_keeps_the_aspect_ratio_and_pads_to_the_stride():
    image = np.full((480, 640, 3), 200, np.uint8)
    x, scale = movenet_input(image, 384)
    assert x.dtype == np.uint8 and x.shape == (1, 288, 384, 3)
    assert scale == pytest.approx(0.6)
    assert x.shape[1] % STRIDE == 0 and x.shape[2] % STRIDE == 0
    tall, s2 = movenet_input(np.zeros((1000, 300, 3), np.uint8), 256)
    assert tall.shape == (1, 256, 96, 3) and s2 == pytest.approx(0.256)
    assert (tall[0, :, 77:] == 0).all()  # the padding is black


def test_decode_maps_normalised_output_to_image_pixels():
    out = np.zeros((6, 56), np.float32)
    out[0, :51] = np.tile([0.5, 0.25, 0.9], 17)  # y, x, score
    out[0, 51:55] = [0.1, 0.2, 0.9, 0.8]  # ymin, xmin, ymax, xmax
    out[0, 55] = 0.7
    people = decode_movenet(out[None], (288, 384), 0.6, offset=(10.0, 20.0))
    assert len(people) == 6
    np.testing.assert_allclose(people.keypoints[0, 0], [0.25 * 384 / 0.6 + 10,
                                                        0.5 * 288 / 0.6 + 20], rtol=1e-6)
    np.testing.assert_allclose(people.boxes[0], [0.2 * 384 / 0.6 + 10, 0.1 * 288 / 0.6 + 20,
                                                 0.8 * 384 / 0.6 + 10, 0.9 * 288 / 0.6 + 20],
                               rtol=1e-6)
    assert people.score[0] == pytest.approx(0.7) and people.keypoint_scores[0, 3] == \
        pytest.approx(0.9)


def test_region_is_centred_on_the_hips_upright_and_covers_the_body():
    p = _standing(500, 100, 400)
    roi = rois_from_bodies(p)
    hips = 0.5 * (p.keypoints[0, 11] + p.keypoints[0, 12])
    np.testing.assert_allclose(roi.center[0], hips, atol=1e-3)
    assert abs(roi.rotation[0]) < 1e-6
    # the square reaches the head top and the feet from the hip centre
    assert roi.size[0] / 2 > max(hips[1] - 100, 500 - hips[1])
    assert roi.size[0] < 2.0 * 400
    # lying down (head to the right): rotated by 90 degrees, same size
    lying = BodyDetections(p.boxes, (p.keypoints - hips) @ np.array([[0, 1], [-1, 0]]) + hips,
                           p.keypoint_scores, p.score)
    r2 = rois_from_bodies(lying)
    assert r2.rotation[0] == pytest.approx(np.pi / 2, abs=1e-5)  # MediaPipe's sense
    assert r2.size[0] == pytest.approx(roi.size[0], rel=1e-5)


def test_region_of_an_upper_body_uses_the_torso():
    p = _standing(500, 100, 400)
    p.keypoint_scores[0, 13:] = 0.0  # knees and ankles cut off by the image border
    roi = rois_from_bodies(p)
    torso = np.linalg.norm(0.5 * (p.keypoints[0, 5] + p.keypoints[0, 6])
                           - 0.5 * (p.keypoints[0, 11] + p.keypoints[0, 12]))
    assert roi.size[0] >= 2 * 1.25 * 1.9 * torso - 1e-3


def test_views_are_merged_without_duplicates_best_first():
    a = _standing(300, 50, 300, score=0.6)
    b = _standing(302, 51, 300, score=0.8)  # the same person seen in a tile
    c = _standing(900, 50, 300, score=0.7)
    weak = _standing(600, 50, 300, score=0.05)
    merged = merge_views([a, b, c, weak], MoveNetConfig())
    np.testing.assert_allclose(merged.score, [0.8, 0.7])
    assert oks_matrix(merged, merged)[0, 1] < 0.1


def test_tiles_only_when_they_are_finer():
    assert tile_views(400, 420, 384, 384) == []  # the whole view is at full size already
    assert tile_views(1080, 1920, 256, 384) == []  # tiles at 256 would be coarser
    assert len(tile_views(480, 640, 384, 384)) == 4  # 2 x 2, each 0.6 of a side
    tiles = tile_views(1080, 1920, 384, 384)
    assert len(tiles) == 2  # wide: two tiles across
    for x0, y0, w, h in tiles:
        assert x0 >= 0 and y0 >= 0 and x0 + w <= 1920 + 1e-6 and h == 1080
    assert len(tile_views(2000, 2000, 384, 384)) == 4


def test_fusion_weights_each_model_by_its_joint_and_keeps_disagreeing_people():
    body = _standing(500, 100, 400)
    shifted = body.keypoints[0] + np.array([4.0, 0.0])  # BlazePose's joints, 4 px right
    xy = np.zeros((1, NUM_LANDMARKS, 2), np.float32)
    xy[0, list(COCO17_FROM_BLAZEPOSE)] = shifted
    vis = np.zeros((1, NUM_LANDMARKS), np.float32)
    vis[0, list(COCO17_FROM_BLAZEPOSE)] = 0.8
    z = np.zeros((1, NUM_LANDMARKS), np.float32)
    poses = Poses2D(xy, z, vis, vis, np.zeros((1, NUM_LANDMARKS, 3)), [0.9],
                    np.zeros((1, 5)), [-1])
    fused = fuse_coco(body, poses)
    # equal confidences: the offset splits by MoveNet's share of each joint
    np.testing.assert_allclose(fused[0, :, 0] - body.keypoints[0, :, 0],
                               4.0 * (1 - MOVENET_SHARE), atol=1e-4)
    np.testing.assert_allclose(fused[0, :, 2], body.keypoint_scores[0])
    # a pose of somebody else (far away) is not mixed in
    poses.xy[0] += 300
    np.testing.assert_allclose(fuse_coco(body, poses), movenet_coco(body))
    poses.xy[0] -= 300
    poses.score[:] = 0.1  # nor is a region BlazePose scores as empty
    np.testing.assert_allclose(fuse_coco(body, poses), movenet_coco(body))
    with pytest.raises(ValueError, match="same length"):
        fuse_coco(BodyDetections.concat([body, body]), poses)


# --------------------------------------------------------------------------------------
# real photos


def _annotation(data: str, ann_id: int) -> tuple[np.ndarray, dict, int]:
    folder = KEYPOINTS / data
    doc = json.loads(next(p for p in sorted(folder.glob("*.json"))
                          if "_det_" not in p.name).read_text())
    ann = next(a for a in doc["annotations"] if a["id"] == ann_id)
    img = next(i for i in doc["images"] if i["id"] == ann["image_id"])
    images = folder / "images" if (folder / "images").is_dir() else folder
    image = cv2.cvtColor(cv2.imread(str(images / img["file_name"])), cv2.COLOR_BGR2RGB)
    return image, ann, len(doc["categories"][0]["keypoints"])


def _oks(found: np.ndarray, ann: dict, n_kp: int) -> float:
    """OKS of our COCO-17 joints against one annotation (COCO-17, or CrowdPose's 12 body
    joints)."""
    gt = np.asarray(ann["keypoints"], float).reshape(n_kp, 3)
    ours, sig = (found, COCO_SIGMAS) if n_kp == 17 else (found[5:17], COCO_SIGMAS[5:17])
    gt = gt[:len(ours)]
    area = ann.get("area") or ann["bbox"][2] * ann["bbox"][3] * 0.53
    seen = gt[:, 2] > 0
    d2 = ((ours[:, :2] - gt[:, :2]) ** 2).sum(-1)
    return float(np.exp(-d2 / (2 * area * (2 * sig) ** 2))[seen].mean())


@pytest.fixture(scope="module")
def movenet_engine(movenet_path, model_paths):
    from mocap.perception.landmarks import EstimatorConfig, PoseEngine

    return PoseEngine(config=EstimatorConfig(min_pose_score=0.1))


@pytest.fixture(scope="module")
def blazepose_engine(model_paths):
    from mocap.perception.landmarks import EstimatorConfig, PoseEngine

    return PoseEngine(detector="blazepose", config=EstimatorConfig(min_pose_score=0.1))


@needs_photos
@pytest.mark.slow
@pytest.mark.parametrize(("what", "data", "ann_id"), [
    ("seen from behind", "mmpose_coco", 1717641),
    ("small (1,400 px^2)", "minicoco_val", 1278695),
    ("crouched", "minicoco_val", 219454),
    ("turned away and crouched", "mmpose_coco", 198196),
])
def test_person_is_found_with_a_plausible_pose(movenet_engine, what, data, ann_id):
    image, ann, n_kp = _annotation(data, ann_id)
    poses = movenet_engine.estimate(image)
    best = max(_oks(c, ann, n_kp) for c in poses.coco17())
    print(f"{what}: OKS {best:.2f}")
    assert best >= 0.7, f"{what}: best OKS {best:.2f}"


@needs_photos
@pytest.mark.slow
def test_small_person_that_blazepose_alone_misses(movenet_engine, blazepose_engine):
    image, ann, n_kp = _annotation("minicoco_val", 1278695)
    ours = max(_oks(c, ann, n_kp) for c in movenet_engine.estimate(image).coco17())
    theirs = max([_oks(c, ann, n_kp) for c in blazepose_engine.estimate(image).coco17()] or [0])
    assert ours >= 0.7 and theirs < 0.5, (ours, theirs)


@needs_photos
@pytest.mark.slow
def test_two_overlapping_people_are_two_people_with_their_own_limbs(movenet_engine):
    # CrowdPose 103319.jpg: two people whose boxes overlap by half, one partly behind
    image, a, n_kp = _annotation("mmpose_crowdpose", 127068)
    _, b, _ = _annotation("mmpose_crowdpose", 129014)
    poses = movenet_engine.estimate(image)
    coco = poses.coco17()
    sim = np.array([[_oks(c, ann, n_kp) for c in coco] for ann in (a, b)])
    rows, cols = linear_sum_assignment(-sim)
    matched = sim[rows, cols]
    print(f"overlapping people: OKS {matched.round(2).tolist()}")
    assert len(set(cols)) == 2 and (matched >= 0.6).all()
    # each detection is closer to its own person than to the other one
    assert sim[0, cols[0]] > sim[1, cols[0]] and sim[1, cols[1]] > sim[0, cols[1]]


@needs_photos
@pytest.mark.slow
def test_the_torch_backend_finds_the_same_people(movenet_engine):
    from mocap.perception.landmarks import EstimatorConfig, PoseEngine

    image, _, _ = _annotation("mmpose_crowdpose", 127068)
    lite = movenet_engine.estimate(image)
    torch_engine = PoseEngine(backend="torch", device="cpu",
                              config=EstimatorConfig(min_pose_score=0.1))
    ours = torch_engine.estimate(image)
    assert len(ours) == len(lite) >= 2
    np.testing.assert_allclose(ours.score, lite.score, atol=2e-3)
    np.testing.assert_allclose(ours.coco17()[..., :2], lite.coco17()[..., :2], atol=1.0)
