"""Issue 22's real-clip checks of ``mocap convert --lift learned`` on the demo video, from
what the user gets (the exported rig), beside ``--lift blazepose``.

The demo (``mocap demo``'s video, obtained from a registry: no ../shared needed) shows a
woman walking side-on across the image from right to left (she enters after the first
frame) and a man standing on a box who jumps off it. The measures are the benchmark's
(``benchmarks/eval_depth_clips.py``, which also runs the Demo_MultiPerson views and prints
the numbers quoted below). Jitter and feet on the floor were first missed with the learned
lift (the floor fitted tilted under the walker, the root's depth jittering); they are met
since the floor fit and the lifted root's smoothing (``mocap.lift.stage.ROOT_SMOOTH_S``).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
LIFTS = ("blazepose", "learned")


def _benchmark():
    """``benchmarks/eval_depth_clips.py`` as a module (the measures are defined once)."""
    spec = importlib.util.spec_from_file_location(
        "eval_depth_clips", ROOT / "benchmarks" / "eval_depth_clips.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


E = _benchmark()


@pytest.fixture(scope="module")
def runs(demo_video_path, model_paths, tmp_path_factory):
    """``mocap convert DEMO --lift LIFT --formats bvh,npz --no-preview`` per lift, as a user
    runs it: ``{lift: (out dir, summary, {person id: measures})}``."""
    out = {}
    for lift in LIFTS:
        folder = tmp_path_factory.mktemp(f"lift_{lift}") / "out"
        proc = run_cli("convert", demo_video_path, "-o", folder, "--lift", lift,
                       "--formats", "bvh,npz", "--no-preview", "--json")
        assert proc.returncode == 0, proc.stderr
        out[lift] = (folder, json.loads(proc.stdout),
                     {m["id"]: m for m in E.measure_run(folder)})
    return out


def _walker_id(summary: dict) -> int:
    """The woman: of the demo's two people, the one who enters after the first frame."""
    late = [p for p in summary["people"] if p["first_frame"] > 0]
    assert len(summary["people"]) == 2 and len(late) == 1, summary["people"]
    return late[0]["id"]


@pytest.mark.slow
@pytest.mark.parametrize("lift", LIFTS)
def test_the_side_on_walker_is_found_in_the_exported_motion(runs, lift):
    """The walking woman, and only she, reads as a side-on walker: several seconds of
    walking, within 30 deg of straight across the image; the man on the box (standing,
    then jumping off and landing) is no walker."""
    _, summary, people = runs[lift]
    walker = _walker_id(summary)
    side_on = [pid for pid, m in people.items() if m["side_on"]]
    assert side_on == [walker]
    w = people[walker]
    assert w["walking_s"] >= 3.0  # she crosses the image in ~5 s
    assert w["across"] <= 20.0  # measured 6-7 deg
    assert 0.7 <= w["speed"] <= 1.6  # a walk, m/s
    assert not any(m["walker"] for pid, m in people.items() if pid != walker)


@pytest.mark.slow
def test_learned_walker_wrists_within_the_issue_target(runs):
    """Issue 22: a side-on walker's wrists within 0.20 m of their shoulder sideways (95th
    percentile). Measured: learned 0.14 m, BlazePose 0.10 m on this walker (the issue's
    0.42 m was another measurement)."""
    _, summary, people = runs["learned"]
    wrist = people[_walker_id(summary)]["wrist95"]
    assert np.isfinite(wrist) and wrist <= E.WRIST_TARGET_M


@pytest.mark.slow
def test_learned_jitter_no_worse_than_blazepose(runs):
    """Issue 22: jitter no worse than BlazePose, for every person of the demo."""
    base, learned = runs["blazepose"][2], runs["learned"][2]
    assert base.keys() == learned.keys()
    for pid in base:
        assert learned[pid]["jitter"] <= base[pid]["jitter"], pid


@pytest.mark.slow
def test_learned_walker_feet_on_the_exported_floor(runs):
    """The walker's lowest foot joint (ankles, toes) within 5 cm of the exported floor in
    most frames, as BlazePose's is."""
    for lift in LIFTS:
        _, summary, people = runs[lift]
        assert abs(people[_walker_id(summary)]["feet"]) < 0.05, lift


def _blender_walker(runs, lift: str):
    """The walker's BVH imported in Blender over her frames: ``(report, walker)``."""
    from mocap.export.blender import bvh_report
    from mocap.export.blender_env import BlenderUnavailableError

    out, summary, _ = runs[lift]
    walker = next(p for p in summary["people"] if p["id"] == _walker_id(summary))
    try:
        rep = bvh_report(out / f"person_{walker['id']}.bvh",
                         frames=list(range(walker["first_frame"], walker["last_frame"])))
    except BlenderUnavailableError as exc:
        pytest.skip(f"no Blender environment: {exc}")
    return rep, walker


@pytest.mark.slow
@pytest.mark.blender
def test_learned_demo_bvh_upright_in_blender(runs):
    """Issue 22: the demo's BVH with the learned lift still imports upright in Blender
    (head over hips) and walks (as ``tests/app/test_convert.py`` checks BlazePose's)."""
    rep, _ = _blender_walker(runs, "learned")
    heads = np.array(rep["heads"])  # (F, bones, 3), Blender Z up
    bones = rep["bones"]
    hips, head = bones.index("mixamorig:Hips"), bones.index("mixamorig:Head")
    assert (heads[:, head, 2] > heads[:, hips, 2] + 0.3).mean() >= 0.95
    assert np.linalg.norm(heads[-1, hips, :2] - heads[0, hips, :2]) > 3.0  # she crosses


@pytest.mark.slow
@pytest.mark.blender
def test_learned_demo_walker_feet_on_the_floor_in_blender(runs):
    """Issue 22: feet on the ground in Blender with the learned lift: over the frames a foot
    is planted, the walker's lowest foot point within 1 cm of the floor and never 2 cm below
    it (``tests/app/test_convert.py``'s check of BlazePose's, same foot points)."""
    from mocap.motion.contacts import foot_contacts
    from tests.app.test_convert import FOOT_POINTS

    rep, _ = _blender_walker(runs, "learned")
    ends = {"h": np.array(rep["heads"]), "t": np.array(rep["tails"])}
    bones = rep["bones"]
    feet = {point: ends[end][:, bones.index(name)][:, [0, 2, 1]] * [1, 1, -1]
            for point, (name, end) in FOOT_POINTS["mixamo"].items()}  # Z up -> Y up
    contacts = foot_contacts(feet, 30.0, 0.08, 1.0)
    planted = contacts["left"] | contacts["right"]
    lowest = np.min([p[:, 1] for p in feet.values()], axis=0)
    assert planted.sum() > 0.3 * len(planted)
    assert abs(np.median(lowest[planted])) < 0.01
    assert lowest.min() > -0.02
