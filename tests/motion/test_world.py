"""Landmarks -> world motion: root by reprojection, ground plane, contacts, foot locking.

Video-like input is made from real CMU motion (../shared/data/bvh): BlazePose-style
landmarks placed on the CMU skeleton, seen by a tilted pinhole camera, so the answer is
known.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from mocap.app.person import animate_landmarks
from mocap.errors import InputError
from mocap.geometry.camera import focal_px, solve_root
from mocap.geometry.rotations import swing as _swing
from mocap.io.bvh import read_bvh
from mocap.motion.contacts import foot_contacts, foot_skate, lock_feet
from mocap.motion.world import LANDMARK_INDEX, fit_ground, lowest_support, world_motion
from mocap.retarget.bvh_source import bvh_animation
from tests.helpers import SHARED_DATA

DATA = SHARED_DATA
WALK = DATA / "bvh" / "cmu_walk_delfem2.bvh"
needs_data = pytest.mark.skipif(not WALK.exists(), reason=f"shared BVH data not found in {DATA}")

W, H, FOV = 1920, 1080, 60.0


def test_focal_length():
    assert focal_px(1920, 90.0) == pytest.approx(960.0)
    for bad in (0.0, 9.9, 170.5, float("nan")):
        with pytest.raises(InputError, match="--fov must be between 10 and 170 degrees"):
            focal_px(1920, bad)


def test_solve_root_recovers_translation_exactly():
    rng = np.random.default_rng(0)
    t = 20
    world = rng.normal(scale=0.4, size=(t, 33, 3))
    true = np.column_stack([rng.uniform(-1, 1, t), rng.uniform(-0.5, 0.5, t),
                            rng.uniform(3, 8, t)])
    cam = world + true[:, None]
    f, c = 1000.0, (640.0, 360.0)
    xy = f * cam[..., :2] / cam[..., 2:] + c
    got = solve_root(world, xy, np.ones((t, 33)), f, c)
    np.testing.assert_allclose(got, true, atol=1e-9)
    # a frame without enough confident landmarks gives NaN, not garbage
    vis = np.ones((t, 33))
    vis[3, 2:] = 0
    assert np.isnan(solve_root(world, xy, vis, f, c)[3]).all()


@cache
def _cmu_landmarks() -> tuple[np.ndarray, float]:
    """(T, 33, 3) BlazePose-style landmarks on the CMU walk, metres, Y up."""
    src = bvh_animation(read_bvh(WALK))
    rots, _ = src.global_transforms()
    p = src.points()
    rig = src.rig
    t = len(src)
    lm = np.zeros((t, 33, 3))

    def local(joint_role: str, offset) -> np.ndarray:
        j = rig.roles.index(joint_role)
        return p[joint_role] + rots[:, j] @ np.asarray(offset, float)

    lm[:, LANDMARK_INDEX["nose"]] = local("head", (0, 0.02, 0.10))
    for side, sx in (("left", 1), ("right", -1)):
        lm[:, LANDMARK_INDEX[f"{side}_ear"]] = local("head", (sx * 0.075, 0.02, 0))
        for k in ("eye_inner", "eye", "eye_outer"):
            lm[:, LANDMARK_INDEX[f"{side}_{k}"]] = local("head", (sx * 0.03, 0.05, 0.09))
        lm[:, LANDMARK_INDEX[f"mouth_{side}"]] = local("head", (sx * 0.025, -0.03, 0.09))
        for k in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
            lm[:, LANDMARK_INDEX[f"{side}_{k}"]] = p[f"{side}_{k}"]
        lm[:, LANDMARK_INDEX[f"{side}_index"]] = local(f"{side}_wrist", (sx * 0.09, 0, 0.025))
        lm[:, LANDMARK_INDEX[f"{side}_pinky"]] = local(f"{side}_wrist", (sx * 0.08, 0, -0.03))
        lm[:, LANDMARK_INDEX[f"{side}_thumb"]] = p[f"{side}_thumb"]
        lm[:, LANDMARK_INDEX[f"{side}_heel"]] = local(f"{side}_ankle", (0, -0.06, -0.05))
        lm[:, LANDMARK_INDEX[f"{side}_foot_index"]] = p[f"{side}_toe_end"]
    return lm, src.fps


def _camera_view(lm: np.ndarray, pitch_deg: float = 12.0, noise_px: float = 0.0):
    """World (Y up) landmarks seen by a camera at (0.5, 1.4, 6) looking along -Z, pitched
    down: returns hip-centred camera-axes world landmarks, pixels, visibility."""
    a = np.radians(pitch_deg)
    # camera axes in world coordinates: x right, y down, z forward (pitched down by a)
    fwd = np.array([0, -np.sin(a), -np.cos(a)])
    down = np.array([0, -np.cos(a), np.sin(a)])
    right = np.cross(down, fwd)
    cam_r = np.stack([right, down, fwd])
    cam = (lm - [0.5, 1.4, 6.0]) @ cam_r.T
    f = focal_px(W, FOV)
    xy = f * cam[..., :2] / cam[..., 2:] + [W / 2, H / 2]
    xy += np.random.default_rng(0).normal(scale=noise_px, size=xy.shape) if noise_px else 0
    hips = 0.5 * (cam[:, LANDMARK_INDEX["left_hip"]] + cam[:, LANDMARK_INDEX["right_hip"]])
    return cam - hips[:, None], xy, np.ones(lm.shape[:2])


def _rigid_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance after the best rotation about Y and shift (the ground fit cannot know
    the camera's yaw, where the origin is on the floor, or the source's floor height)."""
    a2, b2 = a.reshape(-1, 3), b.reshape(-1, 3)
    a2, b2 = a2 - a2.mean(0), b2 - b2.mean(0)
    ca, cb = a2.mean(0), b2.mean(0)
    x, z = (a2 - ca)[:, [0, 2]], (b2 - cb)[:, [0, 2]]
    u, _, vt = np.linalg.svd(x.T @ z)
    r2 = u @ vt
    aligned = np.column_stack([(x @ r2)[:, 0], a2[:, 1], (x @ r2)[:, 1]])
    target = np.column_stack([z[:, 0], b2[:, 1], z[:, 1]])
    return float(np.linalg.norm(aligned - target, axis=1).mean())


@needs_data
@pytest.mark.parametrize("noise_px", [0.0, 1.0])
def test_world_motion_recovers_the_walk(noise_px):
    lm, fps = _cmu_landmarks()
    world, xy, vis = _camera_view(lm, noise_px=noise_px)
    wm = world_motion(world, xy, vis, (W, H), fps, FOV)
    out = wm.landmarks
    # Y up, ground at 0: the lowest foot landmarks sit on y = 0
    feet = [LANDMARK_INDEX[n] for n in ("left_heel", "right_heel", "left_foot_index",
                                        "right_foot_index")]
    assert abs(np.median(out[:, feet, 1].min(axis=1))) < 0.02
    assert (out[:, 0, 1] > out[:, LANDMARK_INDEX["left_hip"], 1]).all()  # nose above hip
    # the whole motion, root path included, matches the truth up to yaw and floor origin;
    # the truth is levelled on its own foot-contact plane first (the CMU walk's contacts
    # rise ~1 degree along the walk, which the ground fit rightly removes)
    t = len(lm)
    low_i = lm[:, feet, 1].argmin(axis=1)
    low = lm[:, feet][np.arange(t), low_i]
    n, _ = fit_ground(low, low_i, np.array([0.0, 1.0, 0.0]))
    level = _swing(n, np.array([0.0, 1.0, 0.0]))
    tol = 0.01 if noise_px == 0 else 0.05
    assert _rigid_error(out, lm @ level.T) < tol
    walked = np.linalg.norm(wm.root[-1, [0, 2]] - wm.root[0, [0, 2]])
    hips = 0.5 * (lm[:, LANDMARK_INDEX["left_hip"]] + lm[:, LANDMARK_INDEX["right_hip"]])
    assert walked == pytest.approx(np.linalg.norm(hips[-1, [0, 2]] - hips[0, [0, 2]]),
                                   rel=0.05)
    assert wm.contacts.any(axis=0).all()  # both feet touch down during the walk


@needs_data
def test_animate_landmarks_on_mixamo_locks_feet():
    lm, fps = _cmu_landmarks()
    world, xy, vis = _camera_view(lm, noise_px=1.0)
    res = animate_landmarks(world, xy, vis, (W, H), fps, "mixamo", FOV)
    anim = res.animation
    assert len(anim) == len(lm) and anim.rig.name == "mixamo"
    pts = anim.points()
    assert np.isfinite(anim.rotations).all()
    assert (pts["head"][:, 1] > pts["hips"][:, 1] + 0.3).all()
    assert res.foot_skate < 0.8 * res.foot_skate_unlocked
    unlocked = animate_landmarks(world, xy, vis, (W, H), fps, "mixamo", FOV, lock=False)
    # lock=False reports the skate measured before locking
    assert unlocked.foot_skate == pytest.approx(res.foot_skate_unlocked)
    assert res.foot_skate < foot_skate(unlocked.animation.points(), fps)


def test_lock_feet_stops_sliding_and_keeps_leg_lengths():
    t, fps = 60, 30.0
    x = np.linspace(0, 0.1, t)  # the ankle creeps 10 cm while on the ground
    ankle = np.column_stack([x, np.full(t, 0.08), np.zeros(t)])
    toe = ankle + np.array([0, -0.06, 0.14])
    hip = np.column_stack([x, np.full(t, 0.9), np.zeros(t)])
    knee = np.column_stack([x, np.full(t, 0.49), np.full(t, 0.05)])
    pts = {"left_hip": hip, "left_knee": knee, "left_ankle": ankle, "left_toe": toe}
    contacts = foot_contacts(pts, fps)
    assert contacts["left"].all()
    before = foot_skate(pts, fps, contacts)
    out = lock_feet(pts, contacts)
    after = foot_skate(out, fps, contacts)
    assert before > 0.04 and after < 1e-6
    for a, b in (("left_hip", "left_knee"), ("left_knee", "left_ankle")):
        np.testing.assert_allclose(np.linalg.norm(out[b] - out[a], axis=1),
                                   np.linalg.norm(pts[b] - pts[a], axis=1), atol=1e-9)


def test_world_motion_validates_shapes():
    with pytest.raises(ValueError, match=r"`xy` must have shape \(T, 33, 2\)"):
        world_motion(np.zeros((4, 33, 3)), np.zeros((4, 17, 2)), np.ones((4, 33)),
                     (640, 480), 30.0)


def test_fit_ground_tilted_plane_and_straight_walk():
    rng = np.random.default_rng(0)
    n_true = np.array([0.1, 0.98, -0.15])
    n_true /= np.linalg.norm(n_true)
    # contacts spread over an area, two feet at different clearances (heel, toe)
    pts = rng.uniform(-1, 1, size=(200, 3))
    pts -= np.outer(pts @ n_true, n_true)
    groups = rng.integers(0, 2, 200)
    pts += np.outer(np.where(groups == 0, 0.02, 0.05), n_true)
    n, d = fit_ground(pts, groups)
    assert np.degrees(np.arccos(n @ n_true)) < 0.01
    assert d == pytest.approx(0.02, abs=1e-6)
    # a straight walk along X: the tilt about X is unobservable, so the up hint decides it
    line = np.column_stack([np.linspace(0, 4, 100), 0.01 * rng.normal(size=100),
                            0.003 * rng.normal(size=100)])
    n, _ = fit_ground(line, None, np.array([0.0, 1.0, 0.2]))
    assert abs(n[0]) < 0.01 and n[2] == pytest.approx(0.2 / np.hypot(1, 0.2), abs=0.01)


@needs_data
def test_gaps_in_landmarks_are_bridged():
    lm, fps = _cmu_landmarks()
    world, xy, vis = _camera_view(lm)
    world, xy = world.copy(), xy.copy()
    world[100:110] = np.nan  # the person is lost for 10 frames
    xy[100:110] = np.nan
    xy[:, LANDMARK_INDEX["left_pinky"]][50:60] = np.nan
    res = animate_landmarks(world, xy, vis, (W, H), fps, "smpl", FOV)
    assert np.isfinite(res.animation.rotations).all()
    assert np.isfinite(res.animation.root_translation).all()
    world[:, 3] = np.nan
    with pytest.raises(InputError, match="left_eye_outer is missing"):
        world_motion(world, xy, vis, (W, H), fps)


@needs_data
def test_video_path_reproduces_joint_angles_of_the_walk():
    """Landmarks seen by the camera -> animation of the CMU rig: knee and elbow flexion
    (rotation-invariant) match the real motion."""
    lm, fps = _cmu_landmarks()
    world, xy, vis = _camera_view(lm)
    res = animate_landmarks(world, xy, vis, (W, H), fps, "cmu", FOV, lock=False)
    got = res.animation.points()
    truth = bvh_animation(read_bvh(WALK)).points()

    def flexion(p, a, b, c):
        u, v = p[b] - p[a], p[c] - p[b]
        cos = np.einsum("ti,ti->t", u, v) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
        return np.degrees(np.arccos(np.clip(cos, -1, 1)))

    for side in ("left", "right"):
        for joints in (("hip", "knee", "ankle"), ("shoulder", "elbow", "wrist")):
            names = [f"{side}_{j}" for j in joints]
            err = np.abs(flexion(got, *names) - flexion(truth, *names))
            assert np.median(err) < 1.0 and err.max() < 5.0, (names, np.median(err), err.max())


@needs_data
def test_scene_ground_keeps_a_person_on_a_box_above_the_floor():
    """Two people, one camera: a walker on the floor and the same walk 1.2 m up on a box.
    One ground serves both, so the box stays a box; the camera pose reprojects exactly."""
    from mocap.geometry.camera import project
    from mocap.motion.world import scene_world_motion

    lm, fps = _cmu_landmarks()
    floor_walk = lm + np.array([-1.0, 0.0, 0.0])
    box_walk = lm + np.array([1.0, 1.2, -1.0])
    people = [_camera_view(floor_walk), _camera_view(box_walk)]
    feet = [LANDMARK_INDEX[n] for n in ("left_heel", "right_heel", "left_foot_index",
                                        "right_foot_index")]
    a, b = scene_world_motion(people, (W, H), fps, FOV)
    lowest_a = np.median(a.landmarks[:, feet, 1].min(axis=1))
    lowest_b = np.median(b.landmarks[:, feet, 1].min(axis=1))
    assert abs(lowest_a) < 0.03
    assert lowest_b == pytest.approx(1.2 + lowest_a, abs=0.05)
    # alone, the person on the box would make the box top the floor
    alone = world_motion(*people[1], (W, H), fps, FOV)
    assert abs(np.median(alone.landmarks[:, feet, 1].min(axis=1))) < 0.03
    # the camera pose maps the placed landmarks back onto the pixels they came from
    for wm, (_, xy, _) in ((a, people[0]), (b, people[1])):
        px = project(wm.landmarks, (wm.camera_rotation, wm.camera_translation),
                     focal_px(W, FOV), (W, H))
        assert np.abs(px - xy).max() < 0.5


@needs_data
def test_a_turning_zooming_camera_is_undone_exactly():
    """The CMU walk seen by a camera that pans 20 degrees, tilts and zooms about its centre:
    with the camera's path the placement is the fixed camera's; without it, it is not."""
    from mocap.geometry.camera import project
    from mocap.motion.world import scene_world_motion
    from tests.helpers import true_path, view_rotation

    lm, fps = _cmu_landmarks()
    t = len(lm)
    world0, xy0, vis = _camera_view(lm)
    # the same fixed camera's view, not hip-centred: the camera then turns and zooms
    a = np.radians(12.0)
    fwd, down = np.array([0, -np.sin(a), -np.cos(a)]), np.array([0, -np.cos(a), np.sin(a)])
    cam_r = np.stack([np.cross(down, fwd), down, fwd])
    cam0 = (lm - [0.5, 1.4, 6.0]) @ cam_r.T
    views = np.stack([view_rotation(y, p) for y, p in zip(np.linspace(0, 20, t),
                                                           np.linspace(0, -4, t), strict=True)])
    zoom = np.linspace(1.0, 1.3, t)
    turn = true_path(views)
    cam_t = np.einsum("tij,tkj->tki", turn, cam0)
    f = focal_px(W, FOV) * zoom
    xy = f[:, None, None] * cam_t[..., :2] / cam_t[..., 2:] + [W / 2, H / 2]
    hips = 0.5 * (cam_t[:, LANDMARK_INDEX["left_hip"]] + cam_t[:, LANDMARK_INDEX["right_hip"]])
    fixed = world_motion(world0, xy0, vis, (W, H), fps, FOV)
    undone = scene_world_motion([(cam_t - hips[:, None], xy, vis)], (W, H), fps, FOV,
                                [(turn, zoom)])[0]
    np.testing.assert_allclose(undone.landmarks, fixed.landmarks, atol=1e-6)
    # the per-frame camera maps the placed landmarks back onto the pixels they came from
    px = project(undone.landmarks, (undone.camera_rotation, undone.camera_translation),
                 undone.focal, (W, H))
    assert np.abs(px - xy).max() < 1e-6
    ignored = world_motion(cam_t - hips[:, None], xy, vis, (W, H), fps, FOV)
    assert np.abs(ignored.landmarks - fixed.landmarks).max() > 1.0


def test_a_bridged_gap_follows_the_image_path_of_a_jump():
    """A person jumping across the view, lost for 0.4 s mid-air: the smoother's bridged
    image landmarks still draw the arc; the root follows it (not the straight chord
    between the two ends, which hangs below the airborne body)."""
    from mocap.motion.world import bridge_root

    rng = np.random.default_rng(0)
    t, fps = 31, 30.0
    time = np.arange(t) / fps
    pose = rng.normal(scale=0.3, size=(33, 3))  # hip-centred, camera axes (y down)
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    pose -= pose[hips].mean(0)
    world = np.broadcast_to(pose, (t, 33, 3)).copy()
    # flight: constant speed across and away from the camera, a parabola up and down
    up = 4.9 * time * (time[-1] - time)  # 1.2 m high at the top of a 1 s flight
    true = np.column_stack([-1.5 + 3 * time, 1.0 - up, 5.0 + 1.0 * time])
    f, c = 1000.0, (960.0, 540.0)
    cam = world + true[:, None]
    xy = f * cam[..., :2] / cam[..., 2:] + c
    vis = np.ones((t, 33))
    vis[9:21] = 0.0  # not seen for 12 frames around the top
    root = solve_root(world, xy, vis, f, c)
    assert np.isnan(root[9:21]).all()
    got = bridge_root(root, world, xy, f, c)
    # on the arc within 2 mm (the ray goes through the image mid-hip, which perspective
    # puts a hair off the projected 3D mid-hip)
    np.testing.assert_allclose(got, true, atol=2e-3)
    chord = np.interp(15, [8, 21], [true[8, 1], true[21, 1]])
    assert chord - true[15, 1] > 0.2  # the chord sags below the top of the arc (y down)
    # nothing after the gap to head for: the last depth is held, the image path followed
    vis[25:] = 0.0
    held = bridge_root(solve_root(world, xy, vis, f, c), world, xy, f, c)
    np.testing.assert_allclose(held[25:, 2], true[24, 2], atol=1e-9)
    hip_px = f * held[25:, :2] / held[25:, 2:] + c  # (plus the last frame's small misfit)
    np.testing.assert_allclose(hip_px, xy[25:, hips].mean(1), atol=3.0)


@needs_data
def test_level_scene_puts_a_z_up_world_on_a_y_up_floor():
    """Triangulated people arrive in a calibration's own world (Z up, the floor 0.3 m below
    its origin, turned about the vertical): level_scene finds the rotation and height that
    put their feet on y = 0 with Y up, from the feet alone."""
    from mocap.motion.world import level_scene
    from mocap.multiview.calibration import Z_UP_TO_Y_UP

    lm, fps = _cmu_landmarks()  # Y up, feet on y = 0 (truth)
    yaw = _swing(np.array([1.0, 0.0, 0.0]), np.array([0.6, 0.0, 0.8]))
    z_up = (lm @ yaw.T) @ Z_UP_TO_Y_UP - np.array([0.0, 0.0, 0.3])  # (x, z, -y): Z up
    rot, height = level_scene([z_up], fps)
    assert np.linalg.det(rot) == pytest.approx(1.0)
    level = z_up @ rot.T - np.array([0.0, height, 0.0])
    feet = [LANDMARK_INDEX[n] for n in ("left_heel", "right_heel", "left_foot_index",
                                        "right_foot_index")]
    assert abs(np.median(level[:, feet, 1].min(axis=1))) < 0.02
    # heights match the truth's levelled on its own foot contacts (the CMU walk's floor
    # rises ~1 degree along it, which the fit rightly removes), up to the floor's height
    t = len(lm)
    low_i = lm[:, feet, 1].argmin(axis=1)
    n, _ = fit_ground(lm[:, feet][np.arange(t), low_i], low_i, np.array([0.0, 1.0, 0.0]))
    truth = (lm @ _swing(n, np.array([0.0, 1.0, 0.0])).T)[..., 1]
    diff = level[..., 1] - truth
    assert np.abs(diff - np.median(diff)).max() < 0.02
    assert abs(np.median(diff)) < 0.03
    # a person whose heels and toes were never triangulated does not stop it
    no_feet = z_up.copy()
    no_feet[:, 29:33] = np.nan
    rot2, _ = level_scene([no_feet], fps)
    assert (rot2 @ np.array([0.0, 0.0, 1.0]))[1] > 0.99  # the file's Z is up


def test_lowest_support_keeps_a_long_walk_on_a_floor_seen_slightly_tilted():
    """A 6 m walk whose contacts rise 3 degrees along ``up`` (the people's lean, a rolled
    camera) is one floor: every contact counts. A box 0.4 m high beside the floor, its
    contacts within 0.6 m, stays a separate, higher surface."""
    rng = np.random.default_rng(0)
    up = np.array([0.0, 1.0, 0.0])
    x = np.linspace(-3.0, 3.0, 40)
    walk = np.c_[x, np.tan(np.radians(3.0)) * x + rng.normal(0, 0.01, 40), rng.normal(0, 0.2, 40)]
    assert lowest_support(walk, up, min_points=3).all()
    floor = np.c_[rng.uniform(0, 0.6, 12), rng.normal(0, 0.01, 12), rng.uniform(0, 0.3, 12)]
    box = np.c_[rng.uniform(0, 0.6, 30), 0.4 + rng.normal(0, 0.01, 30), rng.uniform(0, 0.3, 30)]
    on = lowest_support(np.concatenate([box, floor]), up, min_points=3)
    assert on[30:].all() and not on[:30].any()


def test_fit_ground_falls_back_along_the_walks_own_contacts():
    """A long walk's contacts whose tilt across the walk is noise (depth error along the
    viewing rays: height follows depth) are refused; the floor is then the up hint made
    square to the contacts' own direction, not to a hips' path tilted by someone jumping
    down: level along the walk although the hint leans 10 degrees sideways."""
    rng = np.random.default_rng(1)
    x = np.linspace(-3.0, 3.0, 60)
    z = rng.normal(0, 0.05, 60)
    pts = np.c_[x, 0.4 * z, z]  # along the walk: level
    lean = np.radians(10.0)
    hint = np.array([np.sin(lean), np.cos(lean), 0.0])
    path = np.array([0.96, -0.26, 0.0])  # a hips' path pooled with a jump down
    n, _ = fit_ground(pts, None, hint, walk_hint=path / np.linalg.norm(path))
    assert abs(n @ np.array([1.0, 0.0, 0.0])) < np.sin(np.radians(2.0))  # level along x
    assert n @ hint > np.cos(np.radians(12.0))
