"""Hands: region geometry against hand-computed values, the torch backend against LiteRT's
reference kernels on real crops, accuracy on real FreiHAND photos, and pose-driven hands on
the demo video."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.perception.hands import (
    PALM_LANDMARKS,
    HandConfig,
    decode_hands,
    hand_roi_from_landmarks,
    hand_rois_from_pose,
    roi_agreement,
    transform_rois,
)
from mocap.perception.landmarks import crop_to_image
from mocap.types import NUM_LANDMARKS, Poses2D, Rois
from tests.helpers import SHARED_DATA

FREIHAND = SHARED_DATA / "keypoints" / "mmpose_freihand"
needs_freihand = pytest.mark.skipif(not (FREIHAND / "test_freihand.json").is_file(),
                                    reason=f"FreiHAND sample not found in {FREIHAND}")


def _poses(points: dict[int, tuple[float, float]], n: int = 1, visibility: float = 0.9):
    """``n`` people with the given BlazePose landmarks (others at 0); person k shifted by
    (1000 k, 0)."""
    xy = np.zeros((n, NUM_LANDMARKS, 2), np.float32)
    for j, p in points.items():
        xy[:, j] = p
    xy[:, :, 0] += 1000 * np.arange(n)[:, None]
    vis = np.full((n, NUM_LANDMARKS), visibility, np.float32)
    vis[:, 16] = visibility / 2  # the right wrist: a different score per side
    return Poses2D(xy, np.zeros((n, NUM_LANDMARKS)), vis, vis, np.zeros((n, NUM_LANDMARKS, 3)),
                   np.ones(n), np.zeros((n, 5)), np.full(n, -1))


def _angle_close(a, b, tol=1e-5) -> bool:
    return bool(np.all(np.abs((np.asarray(a) - b + np.pi) % (2 * np.pi) - np.pi) < tol))


# --- geometry ----------------------------------------------------------------------------
def test_pose_region_of_a_hand_pointing_down():
    # left wrist (15) at (100, 100), pinky (17) and index (19) 30 px below: the middle
    # finger's base (2 index + pinky) / 3 = (100, 130) is straight below the wrist
    rois = hand_rois_from_pose(_poses({15: (100, 100), 17: (90, 130), 19: (105, 130),
                                       16: (300, 100), 18: (310, 130), 20: (295, 130)}))
    assert len(rois) == 2
    # side 2 x 30 = 60, x 2.7; centre moved 0.1 x 60 towards the fingers (down)
    np.testing.assert_allclose(rois.center[0], [100, 136], atol=1e-4)
    np.testing.assert_allclose(rois.size, [162, 162], rtol=1e-6)
    assert _angle_close(rois.rotation[0], np.pi)  # upside down
    # the right hand (16, 18, 20) is region 1: index (20) left of the pinky (18)
    np.testing.assert_allclose(rois.center[1], [300, 136], atol=1e-4)
    np.testing.assert_allclose(rois.score, [0.9, 0.45], rtol=1e-6)  # wrist visibility


def test_pose_region_of_a_hand_pointing_right_and_people_order():
    rois = hand_rois_from_pose(_poses({15: (100, 100), 17: (130, 90), 19: (130, 105),
                                       16: (100, 300), 18: (100, 270), 20: (100, 270)}, n=2))
    assert len(rois) == 4  # p0 left, p0 right, p1 left, p1 right
    np.testing.assert_allclose(rois.center[0], [136, 100], atol=1e-4)
    assert _angle_close(rois.rotation[0], np.pi / 2)
    # the right hand points up: rotation 0, centre 30 px above its wrist plus 0.1 x 60
    np.testing.assert_allclose(rois.center[1], [100, 264], atol=1e-4)
    assert _angle_close(rois.rotation[1], 0.0)
    np.testing.assert_allclose(rois.center[2], [1136, 100], atol=1e-4)
    np.testing.assert_allclose(rois.center[3], [1100, 264], atol=1e-4)


@pytest.mark.parametrize("angle", [0.3, 1.7, -2.5, 3.0])
def test_pose_region_puts_the_fingers_at_the_top_of_the_crop(angle):
    # the wrist -> middle-finger direction in the image is the crop's up
    d = np.array([np.cos(angle), np.sin(angle)]) * 40
    wrist = np.array([500.0, 400.0])
    normal = np.array([-d[1], d[0]]) / 4
    rois = hand_rois_from_pose(_poses({15: tuple(wrist), 19: tuple(wrist + d + normal),
                                       17: tuple(wrist + d - 2 * normal),
                                       16: (0, 0), 18: (0, 10), 20: (0, 10)}))
    a = crop_to_image(rois[:1], 224)[0]
    top, centre = a[:, :2] @ [112, 0] + a[:, 2], a[:, :2] @ [112, 112] + a[:, 2]
    up = (top - centre) / np.linalg.norm(top - centre)
    np.testing.assert_allclose(up, d / 40, atol=1e-5)
    np.testing.assert_allclose(rois.size[0], 2.7 * 80, rtol=1e-5)


def test_transform_rois_shifts_along_the_regions_own_axis():
    rois = Rois([[100, 100], [100, 100], [100, 100]], [100, 100, 100], [0, np.pi / 2, np.pi],
                [1, 1, 1])
    moved = transform_rois(rois, 2.0, -0.1)
    # negative shift: towards the region's top, by 0.1 of the side before scaling
    np.testing.assert_allclose(moved.center, [[100, 90], [110, 100], [100, 110]], atol=1e-4)
    np.testing.assert_allclose(moved.size, 200)
    np.testing.assert_allclose(moved.rotation, rois.rotation)
    down = transform_rois(rois[:1], 1.0, 0.25)
    np.testing.assert_allclose(down.center, [[100, 125]], atol=1e-4)


def _upright_hand() -> np.ndarray:
    """A hand pointing up in the image, wrist at (100, 200): (21, 2) px."""
    xy = np.zeros((21, 2))
    xy[0] = (100, 200)
    xy[1:5] = [(85, 190), (75, 175), (65, 160), (60, 148)]  # thumb
    for base, x in ((5, 85), (9, 100), (13, 115), (17, 125)):  # mcp, pip, dip, tip
        y0 = 150 if base != 17 else 160
        xy[base:base + 4] = [(x, y0), (x, y0 - 20), (x, y0 - 35), (x, y0 - 48)]
    return xy


def _inside(rois: Rois, points: np.ndarray) -> np.ndarray:
    """(N, P) bool: points inside each rotated square."""
    a = crop_to_image(rois, 1.0)
    rel = points - a[:, None, :, 2]
    local = np.einsum("nji,npj->npi", a[:, :, :2], rel) / (rois.size[:, None, None] ** 2)
    return ((local >= 0) & (local <= 1)).all(-1)


def test_region_from_landmarks_of_an_upright_hand():
    xy = _upright_hand()
    roi = hand_roi_from_landmarks(xy[None])
    palm = xy[list(PALM_LANDMARKS)]
    lo, hi = palm.min(0), palm.max(0)  # x 65..125, y 130..200 (pips 6, 10, 14 at 130)
    side = (hi - lo).max()
    assert side == 70
    # doubled long side; centre of the palm box moved 0.1 x side towards the fingers
    np.testing.assert_allclose(roi.size, [2 * side], rtol=1e-6)
    np.testing.assert_allclose(roi.center[0], [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2 - 7],
                               atol=1e-4)
    assert _angle_close(roi.rotation, 0.0)
    assert _inside(roi, palm[None]).all()


@pytest.mark.parametrize("angle", [0.6, -1.9, 2.8])
def test_region_from_landmarks_turns_with_the_hand(angle):
    xy = _upright_hand()
    c, s = np.cos(angle), np.sin(angle)
    turned = (xy - [100, 200]) @ np.array([[c, -s], [s, c]]).T + [400, 300]
    a, b = hand_roi_from_landmarks(xy[None]), hand_roi_from_landmarks(turned[None])
    assert _angle_close(b.rotation, angle)
    np.testing.assert_allclose(b.size, a.size, rtol=1e-5)
    expect = np.array([[c, -s], [s, c]]) @ (a.center[0] - [100, 200]) + [400, 300]
    np.testing.assert_allclose(b.center[0], expect, atol=1e-3)
    assert _inside(b, turned[list(PALM_LANDMARKS)][None]).all()
    assert roi_agreement(b, b).all()


def test_roi_agreement_thresholds():
    base = Rois([[100, 100]], [100], [0.0], [1])

    def variant(dx=0.0, size=100.0, turn=0.0):
        return Rois([[100 + dx, 100]], [size], [turn], [1])

    cases = [(variant(), True), (variant(dx=15), True), (variant(dx=25), False),
             (variant(size=70), True), (variant(size=50), False),
             (variant(turn=np.radians(30)), True), (variant(turn=np.radians(50)), False)]
    for other, expected in cases:
        assert roi_agreement(base, other)[0] == expected, other
    # angles wrap: 179 and -179 degrees are 2 degrees apart
    a = Rois([[0, 0]], [50], [np.radians(179)], [1])
    b = Rois([[0, 0]], [50], [np.radians(-179)], [1])
    assert roi_agreement(a, b)[0]


def test_decode_hands_maps_crop_px_and_turns_world_landmarks():
    rois = Rois([[300, 200]], [112], [np.pi / 2], [1])  # crop up = image right
    raw = np.zeros((1, 21, 3), np.float32)
    raw[0, :, :2] = (112, 112)  # the crop centre
    raw[0, 1, :2] = (112, 0)  # the top middle of the crop
    world = np.zeros((1, 21, 3), np.float32)
    world[0, 1] = (0, -0.05, 0.01)  # 5 cm up in the crop
    out = decode_hands([raw.reshape(1, 63), np.array([[0.9]]), np.array([[0.2]]),
                        world.reshape(1, 63)], rois)
    np.testing.assert_allclose(out.xy[0, 0], [300, 200], atol=1e-4)
    np.testing.assert_allclose(out.xy[0, 1], [356, 200], atol=1e-4)  # half a side right
    np.testing.assert_allclose(out.world[0, 1], [0.05, 0, 0.01], atol=1e-6)
    np.testing.assert_allclose([out.score[0], out.handedness[0]], [0.9, 0.2], rtol=1e-6)


def test_hand_config_rejects_bad_values():
    with pytest.raises(InputError, match="unknown hand model 'heavy'"):
        HandConfig(model="heavy")
    with pytest.raises(ValueError, match="min_score"):
        HandConfig(min_score=1.5)
    assert HandConfig(model="lite").model == "lite"


# --- the models: torch against LiteRT's reference kernels --------------------------------
def _freihand():
    doc = json.loads((FREIHAND / "test_freihand.json").read_text())
    files = {im["id"]: im["file_name"] for im in doc["images"]}
    return [(FREIHAND / files[a["image_id"]], np.asarray(a["bbox"], np.float64),
             np.asarray(a["keypoints"], np.float64).reshape(-1, 3)[:, :2])
            for a in doc["annotations"]]


@pytest.fixture(scope="module")
def hand_crops(model_paths):
    """Real hand crops (N, S, S, 3) for S = 224 and 256: FreiHAND photos (upright and
    turned) where ../shared exists, else the demo video's hands from the pose."""
    from mocap.io.images import load_image
    from mocap.perception.landmarks import crop_rois

    images, rois = [], []
    if (FREIHAND / "test_freihand.json").is_file():
        for path, (x, y, w, h), _ in _freihand()[:4]:
            image = load_image(path)
            for turn in (0.0, 1.0):
                images.append(image)
                rois.append(Rois([[x + w / 2, y + h / 2]], [1.5 * max(w, h)], [turn], [1]))
    else:
        from mocap.io.assets import ensure_demo_video
        from mocap.io.video import open_video
        from mocap.perception.hands import HandEngine
        from mocap.perception.landmarks import PoseEngine

        engine, hands = PoseEngine(), HandEngine(backend="torch", device="cpu")
        with open_video(ensure_demo_video(), max_frames=90) as video:
            for frame in video:  # people on the lawn; regions as the estimator makes them
                if frame.index in (45, 60, 75, 89):
                    poses = engine.landmarks(frame.image, engine.detect(frame.image))
                    found = hands.recrop(frame.image, hand_rois_from_pose(poses))
                    for k in range(min(len(found), 2)):
                        images.append(frame.image)
                        rois.append(found[k:k + 1])
        assert len(rois) >= 4
    return {size: np.concatenate([crop_rois(im, r, size) for im, r in zip(images, rois,
                                                                          strict=True)])
            for size in (224, 256)}


# model -> (input size, per-output bound): landmarks crop px, presence, handedness, world m;
# the converter measured ~3e-4 px / 2e-6 / 3e-7 m here (XNNPACK itself: 4e-4 px)
PARITY = {
    "hand_landmark_full.tflite": (224, (2e-3, 2e-5, 2e-5, 5e-6)),
    "hand_landmark_lite.tflite": (224, (2e-3, 2e-5, 2e-5, 5e-6)),
    "hand_recrop.tflite": (256, (5e-4,)),  # its two points, crop px
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(PARITY))
def test_torch_matches_litert_reference_kernels_on_real_crops(name, hand_crops):
    pytest.importorskip("ai_edge_litert", reason="parity tests need ai-edge-litert")
    from mocap.io import assets
    from mocap.perception.engine.runtime import LiteRTRunner, make_runner

    asset = {a.name: a for a in assets.ALL_MODELS}[name]
    path = assets.ensure_models(None, (asset,))[name]
    size, bounds = PARITY[name]
    x = hand_crops[size]
    ref = LiteRTRunner(path, None, 1, reference=True)(x)
    got = make_runner(path, None, "torch", "cpu")(x)
    assert len(got) == len(ref) == len(bounds)
    for o, bound in enumerate(bounds):
        assert got[o].shape == ref[o].shape
        diff = np.abs(got[o].astype(np.float64) - ref[o]).max()
        assert diff <= bound, f"{name} output {o}: max diff {diff:.3g} > {bound:g}"
    if size == 224:  # real hands, found: the crops are not trivial inputs
        assert (ref[1] > 0.5).sum() >= 2, ref[1].ravel()


# --- accuracy on real photos -------------------------------------------------------------
@pytest.mark.slow
@needs_freihand
def test_freihand_accuracy_full_model(model_paths):
    from mocap.io.images import load_image
    from mocap.perception.engine.runtime import resolve_backend
    from mocap.perception.hands import HandEngine

    engine = HandEngine(backend=resolve_backend("auto", "cpu"), config=HandConfig("full"))
    errors, hits = [], []
    for path, box, truth in _freihand():
        found = engine.in_boxes(load_image(path), box[None])
        err = np.linalg.norm(found.xy[0] - truth, axis=-1)
        errors.append(err.mean())
        hits.append((err <= 0.2 * box[2:].max()).mean())  # PCK@0.2 of the longer side
        assert found.score[0] > 0.5, path.name
    assert len(errors) == 8
    assert np.mean(errors) < 12, errors  # measured 9.1 px
    assert np.mean(hits) >= 0.85, hits  # measured 0.92


# --- pose-driven hands on the demo video -------------------------------------------------
@pytest.fixture(scope="module")
def demo_hands(model_paths, demo_video_path):
    """The demo's first 120 frames tracked with hands: person 1 walks from the start,
    person 2 stands on the lawn from frame ~40 with both hands in view."""
    from mocap.tracking.loop import track_video

    return track_video(demo_video_path, hands=HandConfig(), max_frames=120)


@pytest.mark.slow
def test_demo_hands_are_found_for_tracked_people(demo_hands):
    tracks = demo_hands.tracks
    assert len(tracks) == 2
    assert all(t.has_hands for t in tracks)
    lawn = max(tracks, key=lambda t: t.first_frame)  # person 2 arrives at ~40
    assert 30 <= lawn.first_frame <= 50
    found = lawn.hands_score > 0
    assert found.mean() >= 0.5, found.mean(0)  # measured 0.66 (left 69/80, right 36/80)
    assert found[:, 0].mean() >= 0.7
    assert sum(int((t.hands_score > 0).sum()) for t in tracks) >= 150  # measured 200


@pytest.mark.slow
def test_demo_hands_sit_on_their_own_wrist(demo_hands):
    for t in demo_hands.tracks:
        for side in range(2):
            seen = t.hands_score[:, side] > 0
            if not seen.any():
                continue
            wrist = t.hands_image[seen, side, 0]
            own = np.linalg.norm(wrist - t.image[seen, 15 + side, :2], axis=-1)
            other = np.linalg.norm(wrist - t.image[seen, 16 - side, :2], axis=-1)
            size = np.linalg.norm(t.hands_image[seen, side, 9] - wrist, axis=-1)
            # measured 5.2-12.0 px with OpenCV 4.12 and 5.1 (their decoders differ by ~1 grey
            # level; before the hand rode on its wrist: 29.5 and 39.0 px)
            assert own.max() < 20, (t.id, side, own.max())
            # nearer its own side's wrist than the other one wherever the pose's wrists
            # are apart (hands together: both wrists are near)
            apart = np.linalg.norm(t.image[seen, 15, :2] - t.image[seen, 16, :2], axis=-1)
            assert (own < other)[apart > 40].all(), (t.id, side)
            assert (apart > 40).mean() > 0.5  # not vacuous (0.78 at the least here)
            assert 10 < np.median(size) < 40  # wrist -> middle_mcp, px (~20 here)
            world = t.hands_world[seen, side]
            span = np.linalg.norm(world[:, 9] - world[:, 0], axis=-1)
            assert 0.04 < np.median(span) < 0.15  # metres: a human hand


@pytest.mark.slow
def test_demo_hands_missing_exactly_where_score_is_zero(demo_hands):
    for t in demo_hands.tracks:
        found = t.hands_score > 0
        assert found.any() and not found.all()
        assert (np.isfinite(t.hands_image).all((2, 3)) == found).all()
        assert (np.isnan(t.hands_image).all((2, 3)) == ~found).all()
        assert (np.isfinite(t.hands_world).all((2, 3)) == found).all()
        assert (t.hands_score >= 0).all() and (t.hands_score <= 1).all()
        assert (t.hands_score[found] >= HandConfig().min_score).all()


@pytest.mark.slow
def test_demo_two_hands_of_a_person_are_different_hands(demo_hands):
    both_seen = 0
    for t in demo_hands.tracks:
        both = (t.hands_score > 0).all(1)
        both_seen += int(both.sum())
        if not both.any():
            continue
        left, right = t.hands_image[both, 0], t.hands_image[both, 1]
        gap = np.linalg.norm(left - right, axis=-1).mean(1)
        span = np.linalg.norm(left[:, 9] - left[:, 0], axis=-1)
        assert (gap > 0.5 * span).all(), (t.id, np.min(gap / span))
        assert np.median(np.linalg.norm(left[:, 0] - right[:, 0], axis=-1)) > 50
    assert both_seen >= 20
