"""Finger retargeting: finger joints found by name, hand landmarks made from known finger
angles recovered, joint limits, easing to the relaxed pose where a hand is unseen, and the
body left exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from mocap.retarget.fingers import LIMITS, apply_fingers, finger_chains, finger_of
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from tests.finger_poses import FINGERS, SIDES, hand_landmarks, joint_names, palm_axes, posed
from tests.helpers import SHARED_DATA

FPS = 30.0


@pytest.fixture(scope="module")
def mixamo():
    return load_rig("mixamo")


def _finger_joints(rig) -> list[int]:
    return sorted(j for c in finger_chains(rig).values() for js in c.values() for j in js)


def _body(rig, t: int, seed: int = 0) -> np.ndarray:
    """(T, J, 4) random body rotations, fingers at rest."""
    rng = np.random.default_rng(seed)
    quats = Rotation.from_rotvec(rng.normal(scale=0.3, size=(t * len(rig), 3))).as_quat()
    quats = quats.reshape(t, len(rig), 4)
    quats[:, _finger_joints(rig)] = [0.0, 0.0, 0.0, 1.0]
    return quats


def _hand_local(anim: Animation, side: str) -> np.ndarray:
    """(T, J, 3) joint positions in the hand's rest frame, relative to the wrist, metres."""
    rots, pos = anim.global_transforms()
    w = anim.rig.role_index(f"{side}_wrist")
    return np.einsum("tba,tjb->tja", rots[:, w], pos - pos[:, w:w + 1])


def _bends(anim: Animation, side: str, finger: str) -> np.ndarray:
    """(T, 3) signed flexion, degrees, of a finger's three joints measured on its joint
    positions: the knuckle's from the palm plane, the others' from the bone before, positive
    towards the palm."""
    rig = anim.rig
    f, _, n = palm_axes(rig, side)
    hinge = np.cross(f, n)  # turning about it takes a bone towards the palm
    p = _hand_local(anim, side)
    pts = p[:, [rig.index(j) for j in joint_names(side, finger)]]
    bones = np.diff(pts, axis=1)
    bones /= np.linalg.norm(bones, axis=-1, keepdims=True)
    out = np.empty((len(anim), 3))
    out[:, 0] = np.degrees(np.arcsin(np.clip(bones[:, 0] @ n, -1, 1)))
    for k in (1, 2):
        prev, cur = bones[:, k - 1], bones[:, k]
        out[:, k] = np.degrees(np.arctan2(np.cross(prev, cur) @ hinge,
                                          np.einsum("ti,ti->t", cur, prev)))
    return out


# ---------------------------------------------------------------------------------------
# finger_chains


def test_mixamo_has_five_fingers_of_four_joints_per_hand(mixamo):
    chains = finger_chains(mixamo)
    assert set(chains) == set(SIDES)
    for side in SIDES:
        assert list(chains[side]) == list(FINGERS)
        for finger, js in chains[side].items():
            assert [mixamo.joints[j] for j in js] == joint_names(side, finger)


def test_smpl_has_no_fingers():
    rig = load_rig("smpl")
    assert finger_chains(rig) == {}
    t = 5
    anim = Animation(rig, np.zeros((t, 3)), _body(rig, t), FPS)
    out = apply_fingers(anim, np.zeros((t, 2, 21, 3)), np.ones((t, 2)))
    np.testing.assert_array_equal(out.rotations, anim.rotations)


@pytest.mark.parametrize(("name", "finger"), [
    ("mixamorig:LeftHandIndex1", "index"), ("LThumb", "thumb"), ("index_01_l", "index"),
    ("f_middle.02.L", "middle"), ("DEF-f_ring.01.R", "ring"), ("Index1_L", "index"),
    ("lMid1", "middle"), ("mHandPinky3Left", "pinky"), ("Bip01 L Finger0", "thumb"),
    ("Bip01 R Finger42", "pinky"), ("LeftHand Little Proximal", "pinky"),
    ("lefthandring2", "ring"), ("index_metacarpal_l", None), ("LFingers", None),
    ("LeftFingerBase", None), ("palm.01.L", None), ("lCarpal1", None), ("LeftHand", None),
])
def test_finger_names(name, finger):
    assert finger_of(name) == finger


def _bvh_text(rig, rename) -> str:
    """A one-frame BVH of ``rig``'s hierarchy, joints renamed by ``rename``, without the
    finger tips (joint 4 of each Mixamo finger: joint 3 gets an End Site there instead),
    and with a metacarpal joint halfway to each index knuckle."""
    lines: list[str] = []

    def joint(name: str, depth: int, offset: np.ndarray) -> str:
        pad = "  " * depth
        chans = "6 Xposition Yposition Zposition" if depth == 0 else "3"
        lines.extend([f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}", pad + "{",
                      f"{pad}  OFFSET {offset[0]:.5f} {offset[1]:.5f} {offset[2]:.5f}",
                      f"{pad}  CHANNELS {chans} Zrotation Xrotation Yrotation"])
        return pad

    def emit(j: int, depth: int, offset: np.ndarray) -> None:
        pad = joint(rename(rig.joints[j]), depth, offset)
        kids = [c for c in rig.children(j) if not rig.joints[c].endswith("4")]
        for c in kids:
            if rig.joints[c].endswith("HandIndex1"):
                meta = joint(rename(rig.joints[c]).replace("01", "metacarpal"),
                             depth + 1, 0.5 * rig.offsets[c])
                emit(c, depth + 2, 0.5 * rig.offsets[c])
                lines.append(meta + "}")
            else:
                emit(c, depth + 1, rig.offsets[c])
        if not kids:
            tip = rig.children(j)
            end = rig.offsets[tip[0]] if tip else np.array([0.0, 0.05, 0.0])
            lines.extend([f"{pad}  End Site", pad + "  {",
                          f"{pad}    OFFSET {end[0]:.5f} {end[1]:.5f} {end[2]:.5f}",
                          pad + "  }"])
        lines.append(pad + "}")

    emit(0, 0, rig.offsets[0])
    channels = 3 + 3 * sum(ln.lstrip().startswith(("ROOT", "JOINT")) for ln in lines)
    return "\n".join(["HIERARCHY", *lines, "MOTION", "Frames: 1", "Frame Time: 0.0333333",
                      " ".join(["0"] * channels)]) + "\n"


def _ue_name(name: str) -> str:
    """mixamorig:LeftHandIndex2 -> index_02_l (Unreal style); other joints as they are."""
    base = name.removeprefix("mixamorig:")
    for side, s in (("Left", "l"), ("Right", "r")):
        for finger in FINGERS:
            key = f"{side}Hand{finger.title()}"
            if base.startswith(key):
                return f"{finger}_0{base[len(key):]}_{s}"
    return base


def _rigify_name(name: str) -> str:
    """mixamorig:RightHandThumb1 -> DEF-thumb.01.R, other fingers f_<finger>.0N.<side>."""
    base = _ue_name(name)
    if "_0" not in base:
        return base
    finger, num, side = base.split("_")
    return f"DEF-{'' if finger == 'thumb' else 'f_'}{finger}.{num}.{side.upper()}"


@pytest.mark.parametrize("rename", [_ue_name, _rigify_name], ids=["unreal", "rigify"])
def test_bvh_rig_with_other_finger_names(mixamo, rename, tmp_path):
    """A BVH rig named Unreal- or Rigify-style, three joints a finger and the tip an End
    Site, an index metacarpal (not part of the chain): all ten fingers found, each three
    joints base to tip; and its fingers follow landmarks made on the Mixamo rig."""
    path = tmp_path / "hands.bvh"
    path.write_text(_bvh_text(mixamo, rename))
    rig = load_rig(path)
    chains = finger_chains(rig)
    assert set(chains) == set(SIDES)
    for side in SIDES:
        assert list(chains[side]) == list(FINGERS)
        for finger, js in chains[side].items():
            want = [rename(n) for n in joint_names(side, finger)[:3]]
            assert [rig.joints[j] for j in js] == want
    # the same finger angles on both rigs: the same bends
    t = 10
    angles = {(s, f): (np.tile([40.0, 60.0, 30.0], (t, 1)), np.zeros(t))
              for s in SIDES for f in FINGERS if f != "thumb"}
    truth = posed(mixamo, angles, _body(mixamo, t))
    anim = Animation(rig, np.zeros((t, 3)), np.tile([0.0, 0, 0, 1], (t, len(rig), 1)), FPS)
    out = apply_fingers(anim, hand_landmarks(truth), np.ones((t, 2)))
    pos = out.positions()
    for side in SIDES:
        js = chains[side]["middle"]
        p = pos[:, js]
        end = out.global_transforms()[0][:, js[-1]] @ rig.end_sites[js[-1]] + p[:, -1]
        bones = np.diff(np.concatenate([p, end[:, None]], axis=1), axis=1)
        bones /= np.linalg.norm(bones, axis=-1, keepdims=True)
        bend = np.degrees(np.arccos(np.clip(np.einsum("tbi,tbi->tb", bones[:, 1:],
                                                      bones[:, :-1]), -1, 1)))
        np.testing.assert_allclose(bend, np.tile([60.0, 30.0], (t, 1)), atol=1.5)


def test_cmu_bvh_rig_thumb_and_index_joints():
    """The real CMU skeleton (../shared/data): one thumb and one index joint per hand."""
    path = SHARED_DATA / "bvh" / "cmu_walk_delfem2.bvh"
    if not path.exists():
        pytest.skip(f"shared BVH data not found in {SHARED_DATA}")
    rig = load_rig(path)
    chains = finger_chains(rig)
    names = {s: {f: [rig.joints[j] for j in js] for f, js in c.items()}
             for s, c in chains.items()}
    assert names == {"left": {"thumb": ["LThumb"], "index": ["LeftHandIndex1"]},
                     "right": {"thumb": ["RThumb"], "index": ["RightHandIndex1"]}}


# ---------------------------------------------------------------------------------------
# apply_fingers


def _random_angles(t: int, seed: int) -> dict:
    """Finger angles within the joint limits, varying per frame, degrees."""
    rng = np.random.default_rng(seed)
    out = {}
    for side in SIDES:
        for finger in FINGERS:
            if finger == "thumb":
                flex = rng.uniform([-15, 0, 0], [25, 50, 50], (t, 3))
                abd = rng.uniform(-20, 20, t)
            else:
                flex = rng.uniform([-10, 5, 5], [80, 100, 70], (t, 3))
                abd = rng.uniform(-15, 15, t)
            out[side, finger] = (flex, abd)
    return out


def test_round_trip_recovers_known_finger_angles(mixamo):
    """Landmarks from known angles (both hands, random body and hand placement, camera
    axes, another hand size) -> the same finger rotations (the thumb's twist is its own
    convention, so it is checked by its joints' positions), joints within 1 mm."""
    t = 40
    truth = posed(mixamo, _random_angles(t, 1), _body(mixamo, t))
    body = Animation(mixamo, truth.root_translation, _body(mixamo, t), FPS)
    out = apply_fingers(body, hand_landmarks(truth, seed=2, scale=1.15), np.ones((t, 2)))
    err = (Rotation.from_quat(out.rotations.reshape(-1, 4)).inv()
           * Rotation.from_quat(truth.rotations.reshape(-1, 4))).magnitude()
    err = np.degrees(err.reshape(t, len(mixamo)))
    worst_rot, worst_mm = 0.0, 0.0
    for side in SIDES:
        got, want = _hand_local(out, side), _hand_local(truth, side)
        for finger in FINGERS:
            idx = [mixamo.index(n) for n in joint_names(side, finger)]
            mm = 1000 * np.linalg.norm(got[:, idx] - want[:, idx], axis=-1).max()
            worst_mm = max(worst_mm, mm)
            assert mm < 1.0, (side, finger, mm)
            if finger != "thumb":
                worst_rot = max(worst_rot, err[:, idx[:3]].max())
                assert err[:, idx[:3]].max() < 1.0, (side, finger, err[:, idx].max(0))
            np.testing.assert_allclose(_bends(out, side, finger), _bends(truth, side, finger),
                                       atol=1.0)
    print(f"finger round trip: rotations within {worst_rot:.3f} deg (thumb excluded), joints "
          f"within {worst_mm:.4f} mm")


def test_body_joints_are_untouched(mixamo):
    t = 12
    truth = posed(mixamo, _random_angles(t, 3), _body(mixamo, t, seed=4))
    body = Animation(mixamo, truth.root_translation, _body(mixamo, t, seed=4), FPS)
    out = apply_fingers(body, hand_landmarks(truth), np.full((t, 2), 0.9))
    others = [j for j in range(len(mixamo)) if j not in _finger_joints(mixamo)]
    np.testing.assert_array_equal(out.rotations[:, others], body.rotations[:, others])
    np.testing.assert_array_equal(out.root_translation, body.root_translation)
    assert out.rig is mixamo and out.fps == FPS
    assert not np.allclose(out.rotations, body.rotations)  # and the fingers did move


def test_fingers_bent_backwards_stay_within_their_limits(mixamo):
    """Knuckles and middle joints bent 60 degrees backwards: the knuckle stops at its
    hyperextension limit, the middle joints at straight; never further back."""
    t = 4
    angles = {(s, f): (np.tile([-60.0, -60.0, -60.0], (t, 1)), np.zeros(t))
              for s in SIDES for f in FINGERS if f != "thumb"}
    truth = posed(mixamo, angles, _body(mixamo, t))
    body = Animation(mixamo, truth.root_translation, _body(mixamo, t), FPS)
    out = apply_fingers(body, hand_landmarks(truth), np.ones((t, 2)))
    for side in SIDES:
        for finger in FINGERS[1:]:
            bends = _bends(out, side, finger)
            assert (_bends(truth, side, finger)[:, 0] < -55).all()  # really bent backwards
            assert bends[:, 0] == pytest.approx(LIMITS["mcp"].flex[0], abs=2.5)
            assert (bends[:, 1:] > -0.5).all() and (bends[:, 1:] < 1.0).all(), bends


def test_unseen_hand_eases_to_the_relaxed_pose_and_back(mixamo):
    """Seen (fingers curled), unseen for 1 s (NaN landmarks, score 0), seen again: every
    joint moves continuously to the relaxed pose (over about 0.25 s: no frame-to-frame
    step over 13 degrees where the PIP joints travel 65, which a snap would do in one), is
    there in the middle of the gap, and back to the measured pose after it."""
    t = 90
    gap = slice(30, 60)
    flex = np.tile([70.0, 90.0, 60.0], (t, 1))
    angles = {(s, f): (flex, np.zeros(t)) for s in SIDES for f in FINGERS if f != "thumb"}
    truth = posed(mixamo, angles, _body(mixamo, t))
    hands = hand_landmarks(truth)
    score = np.ones((t, 2))
    hands[gap, 0] = np.nan
    score[gap, 0] = 0.0
    score[gap, 1] = 0.3  # the right hand is there, but below the score threshold
    body = Animation(mixamo, truth.root_translation, _body(mixamo, t), FPS)
    out = apply_fingers(body, hands, score)
    relaxed = [LIMITS[k].relaxed for k in ("mcp", "pip", "dip")]
    steps = []
    for side in SIDES:
        for finger in FINGERS:
            bends = _bends(out, side, finger)
            steps.append(np.abs(np.diff(bends, axis=0)).max())
            assert steps[-1] < 13.0, (side, finger, np.abs(np.diff(bends, axis=0)).max(0))
            if finger == "thumb":
                continue
            np.testing.assert_allclose(bends[45], relaxed, atol=1.5)
            np.testing.assert_allclose(bends[[5, 85]], _bends(truth, side, finger)[[5, 85]],
                                       atol=1.0)
            assert not np.allclose(bends[28], bends[5], atol=1.0)  # easing, not snapping
    print(f"easing: largest frame-to-frame step {max(steps):.2f} deg")


def test_never_seen_hand_is_relaxed_and_bad_shapes_fail(mixamo):
    t = 6
    body = Animation(mixamo, np.zeros((t, 3)), _body(mixamo, t), FPS)
    out = apply_fingers(body, np.full((t, 2, 21, 3), np.nan), np.zeros((t, 2)))
    relaxed = [LIMITS[k].relaxed for k in ("mcp", "pip", "dip")]
    for side in SIDES:
        np.testing.assert_allclose(_bends(out, side, "index")[:, 1:], np.tile(relaxed[1:], (t, 1)),
                                   atol=0.5)
    assert np.isfinite(out.rotations).all()
    with pytest.raises(ValueError, match="hands_world"):
        apply_fingers(body, np.zeros((t, 2, 20, 3)), np.zeros((t, 2)))
    with pytest.raises(ValueError, match="hands_score"):
        apply_fingers(body, np.zeros((t, 2, 21, 3)), np.zeros((t + 1, 2)))
