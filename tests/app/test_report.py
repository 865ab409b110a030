"""The report: per-person numbers (:func:`person_stats`), ``report.json`` and ``report.html``,
and the full-length animation a person is exported with, on small synthetic inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mocap.app.draw import color_for
from mocap.app.person import PersonMotion, PersonResult, full_length, person_stats
from mocap.app.report import build_report, render_report_html
from mocap.io.video import VideoInfo
from mocap.motion.world import WorldMotion
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from mocap.tracking.loop import TrackResult
from mocap.types import NUM_LANDMARKS, Track

FPS = 30.0
TOTAL = 30  # frames in the video
SIZE = (640, 480)
FOCAL = 500.0
DEPTH = 2.5  # m in front of the default camera (which looks down -z)
HIP_OFFSET = np.array([3.0, 4.0])  # px between the 2D hips and the projected rig: 5 px
SETTINGS = {"rig": "smpl", "units": "m", "fov_deg": 60.0, "bone_lengths": "actor"}


def _person(pid: int = 1, first: int = 5, length: int = 12, gap: tuple[int, int] = (3, 5),
            noise: bool = True, seed: int = 0) -> tuple[Track, PersonMotion, np.ndarray]:
    """A person seen from frame ``first`` for ``length`` frames, unobserved in ``gap``.

    The rig's root walks along +x at ``DEPTH`` m, so that it projects (default camera,
    ``FOCAL``) to integer pixels on a straight line; the smoothed image landmarks are
    straight integer lines too (no jitter), the hips ``HIP_OFFSET`` px off the projected
    root. The raw landmarks add alternating noise of amplitude ``eps`` (33, 2) to x, y
    (and a large one to z, which jitter ignores). Returns the track, motion and ``eps``.
    """
    rng = np.random.default_rng(seed)
    rig = load_rig("smpl")
    t = np.arange(length)
    observed = np.ones(length, bool)
    observed[gap[0]:gap[1]] = False

    root = np.column_stack([0.05 * t, np.ones(length), np.full(length, -DEPTH)])
    q = rng.normal(size=(length, len(rig), 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    anim = Animation(rig, root, q, FPS)

    # the default camera: x right, y down, z forward = (x, -y, -z) of the world
    hip_px = np.column_stack([FOCAL * root[:, 0] / DEPTH + SIZE[0] / 2,
                              FOCAL * -root[:, 1] / DEPTH + SIZE[1] / 2])
    base = rng.integers(0, 400, (NUM_LANDMARKS, 3)).astype(float)
    vel = rng.integers(-5, 6, (NUM_LANDMARKS, 3)).astype(float)
    image = base + vel * t[:, None, None]
    image[:, 23, :2] = hip_px + HIP_OFFSET + [7.0, 0.0]
    image[:, 24, :2] = hip_px + HIP_OFFSET - [7.0, 0.0]
    image[~observed, 23:25, :2] += 100.0  # off in the bridged frames, which do not count

    eps = rng.choice([0.25, 0.5, 1.0, 2.0], (NUM_LANDMARKS, 2)) * (noise * 1.0)
    sign = (-1.0) ** t
    image_raw = image.copy()
    image_raw[..., :2] += sign[:, None, None] * eps
    image_raw[..., 2] += sign[:, None] * 50.0
    image_raw[~observed] = np.nan

    visibility = np.where(observed[:, None], rng.uniform(0.2, 1.0, (length, NUM_LANDMARKS)),
                          0.0)
    score = np.where(observed, rng.uniform(0.5, 1.0, length), 0.0)
    world = rng.normal(scale=0.3, size=(length, NUM_LANDMARKS, 3))
    frames = first + t
    track = Track(id=pid, frames=frames, times=frames / FPS, observed=observed,
                  image_raw=image_raw, world_raw=np.where(observed[:, None, None], world, np.nan),
                  visibility=visibility, presence=visibility, score=score, image=image,
                  world=world)

    contacts = rng.uniform(size=(length, 2)) < [0.3, 0.7]
    wm = WorldMotion(landmarks=rng.normal(size=(length, NUM_LANDMARKS, 3)), root=root,
                     contacts=contacts, fps=FPS, foot_skate=0.3)
    motion = PersonMotion(anim, wm, foot_skate=0.0123, foot_skate_unlocked=0.0456)
    return track, motion, eps


def _result(track: Track, motion: PersonMotion) -> PersonResult:
    camera = (motion.world.camera_rotation, motion.world.camera_translation)
    stats = person_stats(track, motion, camera, FOCAL, SIZE, TOTAL)
    return PersonResult(track.id, track, motion, TOTAL, camera, stats)


def _tracked(tracks: list[Track], truncated: bool = False, fps: float = FPS,
             name: str = "clip.mp4") -> TrackResult:
    info = VideoInfo(Path(name), SIZE[0], SIZE[1], fps, TOTAL, 0, "h264")
    return TrackResult(tracks=tracks, info=info, frame_count=TOTAL,
                       timestamps=np.arange(TOTAL) / FPS, truncated=truncated)


@pytest.fixture
def two_people() -> list[PersonResult]:
    return [_result(*_person(1, first=5, seed=0)[:2]),
            _result(*_person(2, first=12, length=15, gap=(0, 0), seed=1)[:2])]


# --- person_stats -----------------------------------------------------------------------


def test_stats_frames_and_coverage():
    track, motion, _ = _person(first=5, length=12, gap=(3, 5))
    s = _result(track, motion).stats
    assert (s.first_frame, s.last_frame) == (5, 16)
    assert s.frames_observed == 10
    # two named shares: of the person's own span (10 of frames 5-16) and of the video
    assert s.coverage_span == pytest.approx(10 / 12, abs=1e-4)
    assert s.coverage_video == pytest.approx(10 / TOTAL, abs=1e-4)
    assert s.mean_confidence == pytest.approx(track.visibility[track.observed].mean(), abs=1e-4)
    assert s.mean_pose_score == pytest.approx(track.score[track.observed].mean(), abs=1e-4)
    # the bridged frames (visibility 0) would pull the mean down if they counted
    assert s.mean_confidence > track.visibility.mean() + 1e-3


def test_stats_jitter_is_the_mean_absolute_second_difference():
    track, motion, eps = _person()
    s = _result(track, motion).stats
    # x_t = a + b t + eps (-1)^t: |x_{t+1} - 2 x_t + x_{t-1}| = 4 eps for every landmark
    # and axis, in every window of three observed frames; z (noise 50) does not count
    assert s.jitter_raw_px == pytest.approx(4 * np.abs(eps).mean(), abs=1e-4)
    assert s.jitter_raw_px > 1.0
    assert s.jitter_smoothed_px == 0.0
    assert s.jitter_ratio == 0.0


def test_stats_jitter_ratio_is_none_without_raw_jitter():
    track, motion, _ = _person(noise=False)
    s = _result(track, motion).stats
    assert s.jitter_raw_px == 0.0
    assert s.jitter_ratio is None


def test_stats_motion_numbers():
    track, motion, _ = _person(length=12)
    s = _result(track, motion).stats
    rig = motion.animation.rig
    # the projected rig hips land HIP_OFFSET (3, 4) px from the 2D hips in observed frames
    assert s.hip_reprojection_px_median == pytest.approx(5.0, abs=0.01)
    # a straight walk: path length = net displacement
    assert s.root_path_length_m == pytest.approx(0.05 * 11, abs=1e-3)
    assert s.root_net_displacement_m == pytest.approx(0.05 * 11, abs=1e-3)
    assert s.foot_skate_m_per_s == pytest.approx(0.0123)
    assert s.foot_skate_unlocked_m_per_s == pytest.approx(0.0456)
    assert set(s.bone_lengths_m) == {n for j, n in enumerate(rig.joints) if rig.parents[j] >= 0}
    knee = rig.joints.index("left_knee")
    assert s.bone_lengths_m["left_knee"] == pytest.approx(np.linalg.norm(rig.offsets[knee]),
                                                          abs=1e-4)


def test_stats_to_json_groups_foot_contacts():
    track, motion, _ = _person()
    s = _result(track, motion).stats
    contacts = motion.world.contacts
    assert contacts[:, 0].mean() != contacts[:, 1].mean()
    d = s.to_json()
    assert d["foot_contact_fraction"] == {
        "left": pytest.approx(contacts[:, 0].mean(), abs=1e-4),
        "right": pytest.approx(contacts[:, 1].mean(), abs=1e-4)}
    assert d["foot_contact_fraction"]["left"] == s.foot_contact_left
    assert "foot_contact_left" not in d
    assert "foot_contact_right" not in d
    assert (d["coverage_span"], d["coverage_video"]) == (s.coverage_span, s.coverage_video)
    assert "coverage" not in d
    assert d["bone_lengths_m"] == s.bone_lengths_m
    assert json.loads(json.dumps(d)) == d


def test_no_foot_contact_is_null_and_said_so_not_zero():
    track, motion, _ = _person()
    motion.foot_skate = motion.foot_skate_unlocked = None  # feet never in contact
    p = _result(track, motion)
    assert p.stats.foot_skate_m_per_s is None and p.stats.foot_skate_unlocked_m_per_s is None
    d = json.loads(json.dumps(p.stats.to_json()))
    assert d["foot_skate_m_per_s"] is None and d["foot_skate_unlocked_m_per_s"] is None
    page = render_report_html(Path("clip.mp4"), [p], _tracked([track]), SETTINGS)
    assert "<th>foot skate</th><td>no contact</td>" in page
    assert "0.000 m/s" not in page


def test_path_length_and_net_displacement_are_two_rows(two_people):
    page = render_report_html(Path("clip.mp4"), two_people,
                              _tracked([p.track for p in two_people]), SETTINGS)
    s = two_people[0].stats
    assert f"<th>root path length</th><td>{s.root_path_length_m:.2f} m over the ground" in page
    assert (f"<th>root net displacement</th><td>{s.root_net_displacement_m:.2f} m, first to "
            "last frame") in page
    assert "root travel" not in page


# --- full_length ------------------------------------------------------------------------


def test_full_length_holds_the_ends():
    _, motion, _ = _person(first=5, length=12)
    anim = motion.animation
    full = full_length(anim, 5, TOTAL)
    assert len(full) == TOTAL
    assert full.fps == anim.fps
    assert full.rig is anim.rig
    for i in range(5):
        np.testing.assert_array_equal(full.rotations[i], anim.rotations[0])
        np.testing.assert_array_equal(full.root_translation[i], anim.root_translation[0])
    np.testing.assert_array_equal(full.rotations[5:17], anim.rotations)
    np.testing.assert_array_equal(full.root_translation[5:17], anim.root_translation)
    for i in range(17, TOTAL):
        np.testing.assert_array_equal(full.rotations[i], anim.rotations[-1])
        np.testing.assert_array_equal(full.root_translation[i], anim.root_translation[-1])


def test_person_result_full_animation():
    track, motion, _ = _person(first=5, length=12)
    p = _result(track, motion)
    assert p.animation is motion.animation
    full = p.full_animation()
    assert len(full) == TOTAL
    np.testing.assert_array_equal(full.positions()[5:17], motion.animation.positions())
    np.testing.assert_array_equal(full.positions()[0], motion.animation.positions()[0])


# --- report.json ------------------------------------------------------------------------


def test_build_report_lists_each_person(two_people):
    timings = {"track": 1.23456, "export": 0.0004}
    report = build_report(Path("in/clip.mp4"), two_people, _tracked([p.track for p in two_people]),
                          SETTINGS, timings)
    assert report["video"] == str(Path("in/clip.mp4"))
    assert report["frames"] == TOTAL
    assert report["fps"] == FPS
    assert (report["width"], report["height"]) == SIZE
    assert report["truncated"] is False
    for key, value in SETTINGS.items():
        assert report[key] == value
    assert [p["id"] for p in report["people"]] == [1, 2]
    assert [p["bvh"] for p in report["people"]] == ["person_1.bvh", "person_2.bvh"]
    for entry, person in zip(report["people"], two_people, strict=True):
        assert entry == {"id": person.id, "bvh": f"person_{person.id}.bvh",
                         **person.stats.to_json(),
                         "warnings": [w.to_json() for w in person.warnings]}
    assert report["warnings"] == []  # neither truncated nor empty
    assert report["people"][1]["coverage_video"] == pytest.approx(15 / TOTAL, abs=1e-4)
    assert report["people"][1]["coverage_span"] == 1.0
    assert report["people"][0]["coverage_span"] == pytest.approx(10 / 12, abs=1e-4)
    assert report["message"] is None
    assert report["timings_s"] == {"track": 1.235, "export": 0.0}
    assert json.loads(json.dumps(report)) == report


def test_build_report_without_people():
    report = build_report(Path("clip.mp4"), [], _tracked([], truncated=True, fps=0.0),
                          SETTINGS, {})
    assert report["people"] == []
    assert report["message"] == "no people found in the video"
    assert report["truncated"] is True
    assert report["fps"] == 30.0  # an unknown rate falls back to 30 fps


# --- report.html ------------------------------------------------------------------------


def test_html_is_a_document_with_a_section_per_person(two_people):
    page = render_report_html(Path("clip.mp4"), two_people,
                              _tracked([p.track for p in two_people]), SETTINGS)
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    assert "<title>mocap report: clip.mp4</title>" in page
    assert "No people were found" not in page and "2 people" in page
    # warnings come first, before any person
    assert page.index("<h2>Warnings</h2>") < page.index("Person 1</h2>") < \
        page.index("Person 2</h2>")
    # coverage of the person's own span (10 of 12 frames) and of the video (10 of 30)
    assert "5-16 (12 frames)" in page
    assert "10 of those frames (83 % of the person&#x27;s span; 33 % of the video)" in page
    assert "15 of those frames" in page and "50 % of the video" in page
    p1 = two_people[0]
    assert f"{p1.stats.hip_reprojection_px_median:.1f} px (median)" in page
    # the bone table: parent -> child, length in cm
    rig = p1.animation.rig
    j = rig.joints.index("left_knee")
    length = 100 * p1.stats.bone_lengths_m["left_knee"]
    assert (f"<tr><td>{rig.joints[rig.parents[j]]}</td><td>left_knee</td><td>{length:.1f}</td>"
            "</tr>") in page
    # three plots drawn by matplotlib, with labelled axes and a legend naming each person,
    # and per person the rig seen from the side and from above
    assert page.count("<svg") == 3 + 2
    assert page.count("From the side") == 2 and page.count("From above") == 2
    for text in ("video frame", "mean landmark confidence (0-1)",
                 "hip height above the ground (m)", "z (m), towards the camera"):
        assert text in page
    assert page.count("person 1") >= 3 and page.count("person 2") >= 3
    r, g, b = color_for(0)
    assert f"#{r:02x}{g:02x}{b:02x}" in page  # person 1's overlay colour
    assert "truncated" not in page
    assert "<img" not in page  # clip.mp4 does not exist: no thumbnails


def test_html_escapes_the_video_name(two_people):
    tracked = _tracked([p.track for p in two_people], name="a<script>&b.mp4")
    page = render_report_html(Path("videos/a<script>&b.mp4"), two_people, tracked, SETTINGS)
    assert "<script" not in page.lower()
    assert "a&lt;script&gt;&amp;b.mp4" in page
    assert page.count("a&lt;script&gt;&amp;b.mp4") == 2  # title and heading


def test_html_without_people_and_truncated():
    page = render_report_html(Path("clip.mp4"), [], _tracked([], truncated=True), SETTINGS)
    assert page.lstrip().lower().startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")
    assert "No people were found" in page
    assert "<table" not in page
    assert "<svg" not in page
    assert "truncated" in page
    assert "<h2>Warnings</h2>" in page and "nobody_found" in page
    assert f"{TOTAL} frames at {FPS:.3f} fps" in page
