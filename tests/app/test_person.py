"""One person from a real video: a gap in a jump is warned about, marked, and bridged along
the body's path (the demo's first person somersaults off a box at frames ~165-195)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from mocap.app.checks import person_warnings
from mocap.app.person import animate_scene
from mocap.app.preview import rig_pixels
from mocap.export.data import person_arrays
from mocap.skeleton.rig import load_rig
from mocap.tracking.loop import PipelineConfig, make_video_engine, smooth_track, track_video

GAP = (170, 188)  # 19 frames, 0.63 s: from just after take-off to just before landing
FEET = [27, 28, 29, 30, 31, 32]  # ankles, heels, toes (image y grows downwards)


@pytest.fixture(scope="module")
def demo_tracked(demo_video_path, model_paths):
    return track_video(demo_video_path, make_video_engine())


def _jumper(tracks):
    """The track that falls furthest in the image from frame 165 to 195 (off the box)."""
    def drop(t):
        if t.first_frame > 165 or t.last_frame < 195:
            return -np.inf
        hips = t.image[:, 23:25, 1].mean(1)
        return hips[195 - t.first_frame] - hips[165 - t.first_frame]
    return max(range(len(tracks)), key=lambda k: drop(tracks[k]))


@pytest.fixture(scope="module")
def jump_gap(demo_tracked):
    """The demo with the jumper unseen over GAP (as if lost mid-air; the tracker already
    loses him there on its own), re-smoothed and animated like `mocap convert` does."""
    tracks = copy.deepcopy(demo_tracked.tracks)
    k = _jumper(tracks)
    t = tracks[k]
    gap = slice(GAP[0] - t.first_frame, GAP[1] - t.first_frame + 1)
    t.observed[gap] = False
    t.image_raw[gap] = np.nan
    t.world_raw[gap] = np.nan
    t.visibility[gap] = 0.0
    t.presence[gap] = 0.0
    t.score[gap] = 0.0
    smooth_track(t, PipelineConfig().smooth)
    info = demo_tracked.info
    size, fps = (info.width, info.height), float(info.fps)
    people = animate_scene(tracks, load_rig("mixamo"), size, fps, demo_tracked.frame_count)
    p = people[k]
    p.warnings = person_warnings(p, fps)
    return p, gap, size


@pytest.mark.slow
def test_a_gap_in_a_jump_is_a_warning_with_its_frames_and_marked_in_the_data(jump_gap):
    p, _, _ = jump_gap
    gaps = [w for w in p.warnings if w.code == "id_gap"]
    assert len(gaps) == 1
    assert list(GAP) in gaps[0].frames
    assert f"{GAP[0]}-{GAP[1]}" in gaps[0].message
    arrays = person_arrays(p.animation, p.track, p.motion.world.landmarks)
    frames = arrays["frames"][~arrays["observed"]]
    assert set(range(GAP[0], GAP[1] + 1)) <= set(frames.tolist())


@pytest.mark.slow
def test_the_bridge_follows_the_jump(jump_gap):
    """The bridged rig flies along the path the body's bridged image landmarks draw: its
    hips on the 2D hips (the straight chord between take-off and landing put them up to
    131 px below, the rig hanging under the airborne body), its hips' height between the
    ends and above the chord (a fall from a box: slow first, then fast), its feet not
    below the body's."""
    p, gap, size = jump_gap
    t, anim = p.track, p.animation
    px = rig_pixels(p, size, 60.0)
    hips_2d = t.image[:, 23:25, :2].mean(1)
    off = np.linalg.norm(px[gap, 0] - hips_2d[gap], axis=1)
    assert off.max() < 20, off.round()
    below = px[gap, :, 1].max(1) - t.image[gap][:, FEET, 1].max(1)
    assert below.max() < 25, below.round()  # chord: up to 58 px below
    y = anim.root_translation[:, 1]
    before, after = gap.start - 1, gap.stop
    assert y[before] - y[after] > 1.0  # he lands more than a metre lower
    assert (y[gap] <= y[before] + 0.15).all() and (y[gap] >= y[after] - 0.05).all()
    chord = np.interp(np.arange(gap.start, gap.stop), [before, after], [y[before], y[after]])
    mid = (gap.stop - gap.start) // 2
    assert y[gap][mid] - chord[mid] > 0.2  # measured 0.47 m; the chord: 0
    assert (y[gap] >= chord - 0.02).all()
