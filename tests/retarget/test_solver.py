"""Retargeting: exact same-skeleton round trips, cross-rig bone directions, foot skate,
continuity, units, bone lengths, CLI errors. Real CMU data from ../shared/data/bvh."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.cli import main
from mocap.errors import InputError, OutputError
from mocap.export.bvh import write_bvh
from mocap.io.bvh import read_bvh
from mocap.motion.contacts import foot_skate
from mocap.retarget.bvh_source import bvh_animation
from mocap.retarget.foot_lock import lock_feet
from mocap.retarget.metrics import bone_direction_errors
from mocap.retarget.solver import retarget
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from tests.helpers import BVH_FILES, SHARED_DATA
from tests.helpers import needs_bvh_files as needs_data

DATA = SHARED_DATA
WALK = DATA / "bvh" / "cmu_walk_delfem2.bvh"


@cache
def _source(path: Path) -> Animation:
    return bvh_animation(read_bvh(path))


def _position_errors(a: dict, b: dict) -> np.ndarray:
    keys = sorted(set(a) & set(b))
    assert keys
    return np.stack([np.linalg.norm(a[k] - b[k], axis=-1) for k in keys])


@needs_data
@pytest.mark.parametrize("path", BVH_FILES, ids=lambda p: p.stem)
def test_same_skeleton_round_trip_through_the_cli(path, tmp_path, capsys):
    """`mocap retarget X.bvh --rig X.bvh`: every joint and End Site within 1 mm mean,
    5 mm max over all frames."""
    out = tmp_path / "out.bvh"
    assert main(["retarget", str(path), "--rig", str(path), "-o", str(out)]) == 0
    assert "31 joints, 31 driven" in capsys.readouterr().out
    src = _source(path)
    back = read_bvh(out)
    assert back.names == read_bvh(path).names
    assert back.frame_time == pytest.approx(read_bvh(path).frame_time, rel=1e-9, abs=0)
    assert len(back) == len(src)
    err = _position_errors(src.points(), bvh_animation(back, unit="m").points())
    assert len(err) == 31 + 7  # joints + End Sites
    assert err.mean() <= 0.001 and err.max() <= 0.005, (err.mean(), err.max())


@needs_data
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
@pytest.mark.parametrize("path", BVH_FILES, ids=lambda p: p.stem)
def test_cross_rig_bone_directions(path, rig):
    src = _source(path)
    pts = src.points()
    for anim in (retarget(pts, load_rig(rig), src.fps),
                 retarget(pts, load_rig(rig), src.fps, "actor")):
        err = np.concatenate(list(bone_direction_errors(pts, anim).values()))
        assert np.median(err) <= 2.0 and np.percentile(err, 95) <= 10.0
    # the feet-locked result (what `mocap retarget` writes) too
    locked = lock_feet(retarget(pts, load_rig(rig), src.fps))
    errs = bone_direction_errors(pts, locked)
    assert len(errs) >= 16
    err = np.concatenate(list(errs.values()))
    assert np.median(err) <= 2.0 and np.percentile(err, 95) <= 10.0


@needs_data
def test_cli_walk_on_mixamo_does_not_skate_more_than_the_source(tmp_path, capsys):
    out = tmp_path / "walk_mixamo.bvh"
    assert main(["retarget", str(WALK), "--rig", "mixamo", "-o", str(out)]) == 0
    src = _source(WALK)
    res = bvh_animation(read_bvh(out), unit="m")
    assert res.rig.joints == load_rig("mixamo").joints
    skate_src = foot_skate(src.points(), src.fps)
    skate_out = foot_skate(res.points(), res.fps)
    assert 0 < skate_out <= skate_src, (skate_out, skate_src)
    # upright and on the ground
    pts = res.points()
    assert (pts["head"][:, 1] > pts["hips"][:, 1] + 0.3).all()
    feet = np.minimum(pts["left_toe"][:, 1], pts["right_toe"][:, 1])
    assert abs(np.median(feet) - np.median(np.minimum(src.points()["left_toe"][:, 1],
                                                      src.points()["right_toe"][:, 1]))) < 0.05


@needs_data
def test_actor_bone_lengths_are_the_sources_and_symmetric():
    src = _source(WALK)
    pts = src.points()
    anim = retarget(pts, load_rig("mixamo"), src.fps, "actor")
    rest = anim.rig.points()
    for side in ("left", "right"):
        for a, b in (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow")):
            got = np.linalg.norm(rest[f"{side}_{b}"] - rest[f"{side}_{a}"])
            want = np.mean([np.median(np.linalg.norm(pts[f"{s}_{b}"] - pts[f"{s}_{a}"], axis=1))
                            for s in ("left", "right")])
            assert got == pytest.approx(want, rel=1e-6)
    # same lengths and directions: the leg reaches the source's ankle from the hip joint
    # (the hip joint itself sits where the rig's pelvis puts it)
    got = anim.points()
    leg = lambda p: p["left_ankle"] - p["left_hip"]  # noqa: E731
    err = np.linalg.norm(leg(got) - leg(pts), axis=1)
    assert np.median(err) < 0.01


def test_synthetic_rotations_are_recovered_with_twist():
    """Random poses of the mixamo rig -> points -> retarget onto the same rig: positions
    exact, and the hips' full rotation (including yaw/twist) recovered."""
    rig = load_rig("mixamo")
    rng = np.random.default_rng(0)
    t, j = 50, len(rig)
    quats = Rotation.from_rotvec(rng.normal(scale=0.4, size=(t * j, 3))).as_quat()
    quats = quats.reshape(t, j, 4)
    root = rng.normal(size=(t, 3)) * 0.2 + [0, 1, 0]
    truth = Animation(rig, root, quats, 30.0)
    got = retarget(truth.points(), rig, 30.0)
    err = _position_errors(truth.points(), got.points())
    assert err.max() < 1e-9
    r_true = Rotation.from_quat(quats[:, 0])
    r_got = Rotation.from_quat(got.rotations[:, 0])
    assert (r_true.inv() * r_got).magnitude().max() < 1e-9


def test_quaternions_and_euler_channels_are_continuous(tmp_path):
    """A yaw spinning through many turns: no quaternion sign flips, no 360-degree jumps in
    the written Euler channels."""
    rig = load_rig("mixamo")
    t = 400
    yaw = np.linspace(0, 6 * np.pi, t)
    quats = np.zeros((t, len(rig), 4))
    quats[..., 3] = 1
    quats[:, 0] = Rotation.from_euler("Y", yaw[:, None]).as_quat()
    src = Animation(rig, np.tile([0, 1.0, 0], (t, 1)), quats, 30.0)
    got = retarget(src.points(), rig, 30.0)
    dots = np.einsum("tjk,tjk->tj", got.rotations[1:], got.rotations[:-1])
    assert (dots > 0).all()
    path = write_bvh(got, tmp_path / "spin.bvh")
    motion = read_bvh(path).motion
    assert np.abs(np.diff(motion[:, 3:], axis=0)).max() < 20
    assert motion[-1, 3:6].max() > 1000  # unwrapped: three full turns accumulate


@needs_data
def test_units_cm_and_bvhio_reads_our_output(tmp_path):
    import bvhio

    src = _source(WALK)
    anim = retarget(src.points(), load_rig("smpl"), src.fps)
    m = write_bvh(anim[:20], tmp_path / "m.bvh", units="m")
    cm = write_bvh(anim[:20], tmp_path / "cm.bvh", units="cm")
    a = bvh_animation(read_bvh(m), unit="m").positions()
    b = bvh_animation(read_bvh(cm), unit="cm").positions()
    np.testing.assert_allclose(a, b, atol=2e-5)
    np.testing.assert_allclose(read_bvh(cm).offsets, read_bvh(m).offsets * 100, atol=1e-4)
    container = bvhio.readAsBvh(str(cm))
    layout = [j for j, _, _ in container.Root.layout()]
    assert [j.Name for j in layout] == list(read_bvh(m).names)
    assert layout[0].Channels[:3] == ["Xposition", "Yposition", "Zposition"]
    assert all(len(j.Channels) == 3 for j in layout[1:])
    assert container.FrameCount == 20


def test_write_errors_leave_no_partial_output(tmp_path):
    rig = load_rig("smpl")
    anim = Animation(rig, np.zeros((3, 3)), np.tile([0, 0, 0, 1.0], (3, len(rig), 1)), 30)
    with pytest.raises(InputError, match="unknown unit 'km'; choose from m, cm"):
        write_bvh(anim, tmp_path / "a.bvh", units="km")
    nan_root = Animation(rig, np.full((3, 3), np.nan), anim.rotations, 30)
    with pytest.raises(InputError, match="frame 0 of the animation has non-finite values"):
        write_bvh(nan_root, tmp_path / "a.bvh")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError):
        write_bvh(anim, blocker / "a.bvh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@needs_data
def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "o.bvh"
    assert main(["retarget", str(WALK), "--rig", "robot", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mocap: error: unknown rig 'robot'") and "\n" not in err
    bad = tmp_path / "bad.bvh"
    lines = WALK.read_text().splitlines()
    bad.write_text("\n".join(lines[:200]) + "\n")  # truncated frames
    assert main(["retarget", str(bad), "--rig", "mixamo", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"{bad}:" in err and "truncated" in err and "\n" not in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.bvh"]


def test_animation_validates_shapes():
    rig = load_rig("smpl")
    with pytest.raises(ValueError, match=r"`rotations` must have shape \(T, 24, 4\)"):
        Animation(rig, np.zeros((2, 3)), np.zeros((2, 5, 4)), 30)
    with pytest.raises(InputError, match="valid: rig, actor"):
        retarget({"hips": np.zeros((2, 3))}, rig, 30, "average")


@needs_data
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
def test_twist_is_continuous_on_real_motion(rig):
    """Twist axes blend smoothly where they degenerate (straight knees, feet along the leg):
    no joint turns more than 30 degrees between two frames at 120 fps (the source's largest
    step is 8 degrees; before blending, thigh twist flipped by 140)."""
    src = _source(WALK)
    for anim in (retarget(src.points(), load_rig(rig), src.fps),
                 lock_feet(retarget(src.points(), load_rig(rig), src.fps))):
        q = anim.rotations
        t, j, _ = q.shape
        step = (Rotation.from_quat(q[1:].reshape(-1, 4)).inv()
                * Rotation.from_quat(q[:-1].reshape(-1, 4))).magnitude().reshape(t - 1, j)
        assert np.degrees(step[1:]).max() < 30  # frame 0 -> 1 jumps in the CMU source too


# --- degenerate rigs (issue 20, item 7): retargeted, or one clear error; never a crash ------
def _mixamo_bvh_with(tmp_path, joint: str, offset: str) -> Path:
    rig = load_rig("mixamo")
    q = np.zeros((2, len(rig), 4))
    q[..., 3] = 1.0
    text = write_bvh(Animation(rig, np.tile([0.0, 1.0, 0.0], (2, 1)), q, 30.0),
                     tmp_path / "rig.bvh").read_text()
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.strip() == f"JOINT {joint}")
    lines[at + 2] = lines[at + 2].split("OFFSET")[0] + f"OFFSET {offset}"
    path = tmp_path / "odd.bvh"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(("joint", "offset"), [
    ("mixamorig:LeftLeg", "0 100 0"),      # a shin pointing up, 100 m long
    ("mixamorig:LeftForeArm", "0 0 0"),    # a forearm of length 0
    ("mixamorig:RightUpLeg", "0 -1e7 0"),  # a thigh of 10,000 km
])
def test_a_target_rig_with_odd_geometry_is_retargeted(tmp_path, joint, offset):
    from tests.helpers import probe_motion, retarget_onto

    rig = load_rig(_mixamo_bvh_with(tmp_path, joint, offset))
    assert retarget_onto(rig, probe_motion()) == "retargeted"


def test_a_toml_rig_with_a_1e7_offset_is_retargeted(tmp_path):
    from mocap.skeleton.rig import rigs_dir
    from tests.helpers import probe_motion, retarget_onto

    text = (rigs_dir() / "smpl.toml").read_text()
    old = "offset = [0.0350, -0.3610, -0.0050]"
    assert old in text
    path = tmp_path / "big.toml"
    path.write_text(text.replace(old, "offset = [0.0350, -1e7, -0.0050]", 1))
    assert retarget_onto(load_rig(path), probe_motion()) == "retargeted"


def test_a_source_whose_joints_all_coincide_is_refused_in_one_line(tmp_path):
    """All offsets 0 (the root still moves): there is no body; it divided by a leg length
    of 0 (ZeroDivisionError, 'internal error')."""
    import re

    from tests.helpers import run_cli

    src = _mixamo_bvh_with(tmp_path, "mixamorig:Spine", "0 0.1 0")
    text = re.sub(r"OFFSET\s+\S+\s+\S+\s+\S+", "OFFSET 0 0 0", src.read_text())
    zero = tmp_path / "zero.bvh"
    zero.write_text(text)
    with pytest.raises(InputError, match="all lie at one point"):
        retarget(bvh_animation(read_bvh(zero)).points(), load_rig("mixamo"), 30.0)
    proc = run_cli("retarget", zero, "--rig", "smpl", "-o", tmp_path / "out.bvh")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("mocap: error:") and "one point" in proc.stderr
    assert not (tmp_path / "out.bvh").exists()


@pytest.mark.parametrize("command", ["retarget", "export"])
def test_a_bvh_without_frames_is_refused_in_one_line(tmp_path, command):
    """`Frames: 0`: retarget said 'internal error' (a reduction over no frames), export
    failed inside Blender with an IndexError (issue 20, item 19)."""
    from tests.helpers import assert_one_line_error, run_cli

    src = _mixamo_bvh_with(tmp_path, "mixamorig:Spine", "0 0.1 0")
    head = src.read_text().split("MOTION")[0]
    empty = tmp_path / "empty.bvh"
    empty.write_text(head + "MOTION\nFrames: 0\nFrame Time: 0.0333333\n")
    out = tmp_path / ("o.bvh" if command == "retarget" else "o.fbx")
    args = ["--rig", "smpl"] if command == "retarget" else []
    proc = run_cli(command, empty, *args, "-o", out)
    assert_one_line_error(proc, "has no frames of motion (Frames: 0)", str(empty))
    assert proc.returncode == 2 and not out.exists()
    with pytest.raises(InputError, match="no frames"):
        retarget({"hips": np.zeros((0, 3))}, load_rig("smpl"), 30.0)


def test_an_all_nan_track_does_not_make_a_body_a_point():
    """The body-size check took max() over tracks, which keeps a leading NaN: a valid body
    with one track never seen was refused as 'all at one point'."""
    from tests.helpers import probe_motion

    points = dict(probe_motion().items())
    name = next(iter(points))
    points = {name: np.full_like(points[name], np.nan),
              **{k: v for k, v in points.items() if k != name}}
    anim = retarget(points, load_rig("smpl"), 30.0)
    assert np.isfinite(anim.rotations).all()


def test_the_actors_torso_on_a_rig_whose_trunk_joints_coincide():
    """CMU puts its spine joint at the hips and its neck and collars at the chest: from a
    video (BlazePose landmarks through the rig's landmark table) with the actor's bone
    lengths, its shoulders still stand where the actor's are (they were 17 % low: the
    hips-to-spine and chest-to-neck lengths had no bone to go to)."""
    from mocap.motion.world import landmark_points

    cmu = load_rig("cmu")
    assert cmu.landmarks["spine"] == cmu.landmarks["hips"]
    assert cmu.landmarks["neck"] == cmu.landmarks["chest"] == cmu.landmarks["left_collar"]
    mixamo = load_rig("mixamo")  # its trunk joints are apart: the table as it was
    assert mixamo.landmarks["spine"] == "lerp(hips_mid, shoulders_mid, 0.3)"
    # an actor 1.8 m tall standing still in a T-pose: shoulders 0.55 m above the hips
    lm = np.zeros((5, 33, 3))
    lm[:, 23], lm[:, 24] = [0.1, 1.0, 0], [-0.1, 1.0, 0]  # hips
    lm[:, 11], lm[:, 12] = [0.19, 1.55, 0], [-0.19, 1.55, 0]  # shoulders
    lm[:, 13], lm[:, 14] = [0.47, 1.55, 0], [-0.47, 1.55, 0]  # elbows
    lm[:, 15], lm[:, 16] = [0.72, 1.55, 0], [-0.72, 1.55, 0]  # wrists
    lm[:, 25], lm[:, 26] = [0.1, 0.55, 0], [-0.1, 0.55, 0]  # knees
    lm[:, 27], lm[:, 28] = [0.1, 0.1, 0], [-0.1, 0.1, 0]  # ankles
    lm[:, 7], lm[:, 8] = [0.07, 1.7, 0], [-0.07, 1.7, 0]  # ears
    lm[:, 0] = [0, 1.7, 0.1]  # nose
    for rig in (cmu, mixamo):
        pts = landmark_points(lm, rig.landmarks)
        anim = retarget(pts, rig, 30.0, "actor")
        got = anim.points()
        shoulders = 0.5 * (got["left_shoulder"] + got["right_shoulder"])
        assert np.abs(shoulders[:, 1] - got["hips"][:, 1] - 0.55).max() < 0.03, rig.name


@pytest.mark.slow
def test_cmu_shoulders_where_mixamos_are_on_the_demo_walker(demo_video_path, tmp_path):
    """The demo's side-on walker on --rig cmu and --rig mixamo (actor bone lengths, the
    default): her shoulders at the same height within 5 % (CMU's were at 1.12 m against
    mixamo's 1.35 m), and near her own landmarks' (within 5 %)."""
    import json

    from mocap.app.convert import ConvertConfig, convert_video

    heights = {}
    for rig in ("cmu", "mixamo"):
        out = tmp_path / rig
        convert_video(demo_video_path, out, ConvertConfig(rig=rig, preview=False,
                                                          report=False, formats=("json",)))
        r = load_rig(rig)
        people = [json.loads(p.read_text()) for p in sorted(out.glob("person_*.json"))]
        walker = max(people, key=lambda d: np.ptp(np.array(d["root_translation"])[:, 0]))
        joints = np.array(walker["joint_positions"])
        lms = np.array(walker["landmarks_world"])
        sides = [r.role_index("left_shoulder"), r.role_index("right_shoulder")]
        heights[rig] = np.nanmedian(joints[:, sides, 1].mean(axis=1))
        own = np.nanmedian(lms[:, [11, 12], 1].mean(axis=1))
        assert abs(heights[rig] / own - 1) < 0.05, (rig, heights[rig], own)
    assert abs(heights["cmu"] / heights["mixamo"] - 1) < 0.05, heights


def test_root_motion_in_place(tmp_path):
    """--root-motion in-place: the BVH's root stays over the origin (x = z = 0 on every
    frame) with its height and every rotation as with the root travelling."""
    from mocap.export.bvh import write_bvh
    from mocap.skeleton.animation import in_place
    from tests.helpers import probe_motion

    src = tmp_path / "walk.bvh"
    write_bvh(retarget(probe_motion(20), load_rig("mixamo"), 30.0), src)
    outs = {}
    for mode in ("on", "in-place"):
        outs[mode] = tmp_path / f"{mode}.bvh"
        assert main(["retarget", str(src), "--rig", "ue5", "-o", str(outs[mode]),
                     "--root-motion", mode, "--foot-lock", "off", "-q"]) == 0
    on, fixed = read_bvh(outs["on"]), read_bvh(outs["in-place"])
    assert np.ptp(on.motion[:, 0]) > 0.3  # the walk travels ~0.5 m sideways
    np.testing.assert_allclose(fixed.motion[:, [0, 2]], 0.0, atol=1e-9)
    np.testing.assert_allclose(fixed.motion[:, 1], on.motion[:, 1])
    np.testing.assert_allclose(fixed.motion[:, 3:], on.motion[:, 3:])
    anim = retarget(probe_motion(5), load_rig("cmu"), 30.0)
    assert np.array_equal(in_place(anim).rotations, anim.rotations)


def test_a_bone_map_names_a_bvh_rig_mocap_does_not_know(tmp_path):
    """A BVH whose joints are j00 ... j64 (mixamo's body under other names): as a target
    rig it is refused with a pointer to --bone-map, and retargeted onto with one."""
    from mocap.export.bvh import write_bvh
    from mocap.skeleton.rig import Rig
    from tests.helpers import assert_one_line_error, probe_motion, run_cli

    mixamo = load_rig("mixamo")
    names = tuple(f"j{i:02d}" for i in range(len(mixamo)))
    plain = Rig("plain", names, mixamo.parents, mixamo.offsets, mixamo.end_sites)
    target = tmp_path / "plain.bvh"
    write_bvh(Animation(plain, np.array([[0.0, 1.0, 0.0]]),
                        np.tile([0, 0, 0, 1.0], (1, len(plain), 1)), 30.0), target)
    src = tmp_path / "walk.bvh"
    write_bvh(retarget(probe_motion(10), mixamo, 30.0), src)
    refused = run_cli("retarget", src, "--rig", target, "-o", tmp_path / "no.bvh")
    assert_one_line_error(refused, "cannot recognise required joints", "--bone-map")
    bone_map = tmp_path / "map.toml"
    bone_map.write_text("".join(f'{role} = "{names[j]}"\n'
                                for j, role in enumerate(mixamo.roles) if role))
    out = tmp_path / "out.bvh"
    proc = run_cli("retarget", src, "--rig", target, "--bone-map", bone_map, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert read_bvh(out).names == names and len(read_bvh(out).motion) == 10
    toml_map = run_cli("retarget", src, "--rig", "mixamo", "--bone-map", bone_map, "-o",
                       tmp_path / "m.bvh")
    assert_one_line_error(toml_map, "--bone-map applies to a BVH rig or a character")
