"""Quality warnings: each fires on the situation it names and stays quiet otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.app.checks import (
    FLOATING_M,
    ID_GAP_S,
    LOW_COVERAGE,
    person_warnings,
    track_warnings,
    video_warnings,
)
from mocap.app.person import PersonMotion, PersonResult, person_stats
from mocap.motion.world import WorldMotion
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from mocap.types import NUM_LANDMARKS, Track

FPS = 30.0


def person(length: int = 120, observed: np.ndarray | None = None, lift: float = 0.0,
           contacts: bool = True, visibility: float = 0.9) -> PersonResult:
    """A person standing in the T-pose (feet on the ground, unless ``lift`` m up) for
    ``length`` frames, seen where ``observed``."""
    rig = load_rig("mixamo")
    rest = rig.rest_positions()
    lowest = min(rest[:, 1].min(), (rest + np.nan_to_num(rig.end_sites))[:, 1].min())
    root = np.tile([0.0, rest[0, 1] - lowest + lift, 0.0], (length, 1))
    anim = Animation(rig, root, np.tile([0, 0, 0, 1.0], (length, len(rig), 1)), FPS)
    seen = np.ones(length, bool) if observed is None else observed
    image = np.full((length, NUM_LANDMARKS, 3), 100.0)
    vis = np.where(seen[:, None], visibility, 0.0) * np.ones((length, NUM_LANDMARKS))
    track = Track(1, np.arange(length), np.arange(length) / FPS, seen,
                  np.where(seen[:, None, None], image, np.nan), np.zeros_like(image), vis,
                  vis, np.where(seen, 0.9, 0.0), image, np.zeros_like(image))
    c = np.zeros((length, 2), bool)
    c[::2, 0] = contacts
    wm = WorldMotion(np.zeros((length, NUM_LANDMARKS, 3)), root, c, FPS, 0.0)
    motion = PersonMotion(anim, wm, 0.0, 0.0)
    camera = (wm.camera_rotation, wm.camera_translation + np.array([0, 0, 3.0]))
    stats = person_stats(track, motion, camera, 500.0, (640, 480), length)
    return PersonResult(1, track, motion, length, camera, stats)


def codes(p: PersonResult) -> list[str]:
    return [w.code for w in person_warnings(p, FPS)]


def test_a_good_person_has_no_warnings():
    assert codes(person()) == []


def test_floating_person():
    ws = person_warnings(person(lift=FLOATING_M + 0.5), FPS)
    assert [w.code for w in ws] == ["floating"]
    assert ws[0].frames == [[0, 119]] and "0.75 m" in ws[0].message
    assert codes(person(lift=FLOATING_M - 0.1)) == []


def test_short_track():
    assert codes(person(length=20)) == ["short_track"]


def test_low_coverage_and_a_long_gap():
    seen = np.ones(120, bool)
    seen[20:100] = False  # 80 of 120 frames bridged, a 2.7 s gap
    ws = {w.code: w for w in person_warnings(person(observed=seen), FPS)}
    assert set(ws) == {"low_coverage", "id_gap"}
    assert ws["id_gap"].frames == [[20, 99]]
    assert f"{100 * 40 / 120:.0f} %" in ws["low_coverage"].message
    assert LOW_COVERAGE > 40 / 120


@pytest.mark.parametrize(("gaps", "expected"), [
    ([(40, 48)], [[40, 48]]),  # 9 frames: 0.3 s at 30 fps
    ([(40, 47)], []),  # 8 frames: under 0.3 s
    ([(10, 12), (40, 58), (80, 89)], [[40, 58], [80, 89]]),  # each long gap, its frames
])
def test_every_gap_of_0_3_s_or_more_is_a_warning_with_its_frames(gaps, expected):
    assert ID_GAP_S == 0.3
    seen = np.ones(120, bool)
    for a, b in gaps:
        seen[a:b + 1] = False
    ws = {w.code: w for w in person_warnings(person(observed=seen), FPS)}
    if not expected:
        assert "id_gap" not in ws
        return
    assert ws["id_gap"].frames == expected
    for a, b in expected:
        assert f"{a}-{b}" in ws["id_gap"].message
    assert f"up to {max(b - a + 1 for a, b in expected) / FPS:.2f} s" in ws["id_gap"].message


def test_low_confidence():
    assert codes(person(visibility=0.3)) == ["low_confidence"]


def test_feet_never_on_the_ground():
    assert codes(person(contacts=False)) == ["feet_off_ground"]
    assert codes(person(length=40, contacts=False)) == []  # too short to tell


def _gappy() -> np.ndarray:
    seen = np.ones(120, bool)
    seen[20:100] = False
    return seen


@pytest.mark.parametrize("make", [
    lambda: person(length=20), lambda: person(observed=_gappy()),
    lambda: person(visibility=0.3), lambda: person(lift=FLOATING_M + 0.5, length=20),
    lambda: person(contacts=False, visibility=0.3), lambda: person()])
def test_track_warnings_are_the_persons_that_need_no_3d(make):
    """`mocap track` warns from the track alone, exactly as a conversion does (same codes,
    messages, frames); the 3D ones (floating, feet_off_ground) only a conversion gives."""
    p = make()
    tracked = track_warnings(p.track, FPS)
    full = person_warnings(p, FPS)
    assert tracked == [w for w in full if w.code not in ("floating", "feet_off_ground")]
    assert {w.code for w in full} - {w.code for w in tracked} <= {"floating",
                                                                   "feet_off_ground"}


@pytest.mark.parametrize(("truncated", "people", "expected"), [
    (False, 2, []), (True, 2, ["truncated"]), (False, 0, ["nobody_found"]),
    (True, 0, ["truncated", "nobody_found"]),
])
def test_video_warnings(truncated, people, expected):
    assert [w.code for w in video_warnings(truncated, 90, people)] == expected


def test_camera_warnings():
    from mocap.app.checks import video_warnings
    from mocap.types import CameraPath
    from tests.helpers import true_path, view_rotation

    n = 40
    views = np.stack([view_rotation(y) for y in np.linspace(0, 12, n)])
    share = np.ones(n)
    share[10:30] = 0.5  # half the background unexplained over half the clip
    reliable = np.ones(n, bool)
    reliable[30:] = False
    path = CameraPath(true_path(views), np.ones(n), np.zeros(n), share, reliable,
                      moving=True, translating=True)
    ws = {w.code: w for w in video_warnings(False, n, 1, path)}
    assert list(ws) == ["camera_moving", "camera_translating", "camera_unreliable"]
    assert "pan +0.0 to +12.0 deg" in ws["camera_moving"].message
    assert ws["camera_translating"].frames == [[10, 29]]
    assert ws["camera_unreliable"].frames == [[30, 39]]
    # a fixed camera, measured: nothing to say
    assert video_warnings(False, n, 1, CameraPath.still(n)) == []


def test_unknown_camera_mode_is_refused():
    from mocap.app.convert import ConvertConfig
    from mocap.errors import InputError

    with pytest.raises(InputError, match="unknown camera mode 'pan'; choose from auto, "
                                         "static, moving"):
        ConvertConfig(camera="pan")


def test_feet_out_of_view_with_their_frames():
    """Every foot landmark below the picture for frames 30-79 of 120 (42 %: a telephoto
    framing the upper body) is a warning with that range; one foot in view, a short
    stretch, or no image size given is not."""
    p = person()
    p.track.image[30:80, 27:33, 1] = 700.0  # below a 640x480 picture
    ws = [w for w in person_warnings(p, FPS, (640, 480)) if w.code == "feet_out_of_view"]
    assert len(ws) == 1 and ws[0].frames == [[30, 79]] and "42 %" in ws[0].message
    assert "feet_out_of_view" not in codes(p)  # no size: not checked
    p.track.image[30:80, 27, 1] = 400.0  # the left ankle stays in view
    assert [w.code for w in person_warnings(p, FPS, (640, 480))] == []
    short = person()
    short.track.image[30:60, 27:33, 0] = -5.0  # 25 %: under the 30 % threshold
    assert [w.code for w in person_warnings(short, FPS, (640, 480))] == []
