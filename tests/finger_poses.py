"""Hand landmarks made from known finger angles (shared by the finger tests).

The Mixamo rig's hands are posed by forward kinematics: each finger joint's local rotation
is built here, geometrically, from chosen angles (flexion towards the palm, abduction
towards the index side), the posed joint positions are read off as the 21 hand landmarks,
and the hand is then turned and moved arbitrarily and put in camera axes (x right, y down,
z away), as a hand landmark model gives them.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import Rig
from mocap.types import HAND_FINGERS

SIDES = ("left", "right")
FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def joint_names(side: str, finger: str) -> list[str]:
    """The Mixamo joints of one finger, base to tip."""
    return [f"mixamorig:{side.title()}Hand{finger.title()}{k}" for k in range(1, 5)]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def palm_axes(rig: Rig, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rest-pose (forward, index side, palm normal) unit vectors of one hand, rig axes: the
    wrist to the middle knuckle, pinky to index knuckle, and the normal on the palm's side
    (down: the T-pose's palms face the floor)."""
    p = rig.points()
    wrist = p[f"{side}_wrist"]
    f = _unit(p[joint_names(side, "middle")[0]] - wrist)
    lat = p[joint_names(side, "index")[0]] - p[joint_names(side, "pinky")[0]]
    a = _unit(lat - (lat @ f) * f)
    n = np.cross(f, a)
    return f, a, (n if n[1] < 0 else -n)


def finger_rotations(rig: Rig, side: str, finger: str, flex: np.ndarray,
                     abd: np.ndarray) -> np.ndarray:
    """(T, 3, 4) xyzw local rotations of a finger's first three joints.

    Args:
        flex: (T, 3) degrees, flexion of each joint from the rest pose, towards the palm:
            the knuckle about the palm's lateral axis, the others about the bone's own.
            The thumb's MCP and IP joints flex towards the palm and the fingers alike.
        abd: (T,) degrees, the knuckle's abduction from the rest pose, towards the index
            side, about the bone's own normal.
    """
    f, a, n = palm_axes(rig, side)
    p = rig.points()
    names = joint_names(side, finger)
    out = []
    for k in range(3):
        r0 = _unit(p[names[k + 1]] - p[names[k]])
        n0 = _unit(n - (n @ r0) * r0)
        a0 = _unit(np.cross(n0, r0) * np.sign(np.cross(n0, r0) @ a))
        if k == 0:
            rot = (Rotation.from_rotvec(np.outer(np.radians(flex[:, 0]), _unit(np.cross(f, n))))
                   * Rotation.from_rotvec(np.outer(np.radians(abd), _unit(np.cross(r0, a0)))))
        else:
            pad = _unit(n0 - a0) if finger == "thumb" else n0
            rot = Rotation.from_rotvec(np.outer(np.radians(flex[:, k]),
                                                _unit(np.cross(r0, pad))))
        out.append(rot.as_quat())
    return np.stack(out, axis=1)


def posed(rig: Rig, angles: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
          body: np.ndarray, fps: float = 30.0) -> Animation:
    """The rig with body rotations ``body`` (T, J, 4) and fingers at ``angles``:
    ``{(side, finger): (flex (T, 3), abd (T,))}`` degrees (see :func:`finger_rotations`)."""
    quats = body.copy()
    for (side, finger), (flex, abd) in angles.items():
        idx = [rig.index(n) for n in joint_names(side, finger)[:3]]
        quats[:, idx] = finger_rotations(rig, side, finger, flex, abd)
    return Animation(rig, np.tile([0.0, 1.0, 0.0], (len(body), 1)), quats, fps)


def hand_landmarks(anim: Animation, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """(T, 2, 21, 3) the posed hands' joints as hand landmarks (0 left, 1 right), each
    hand turned and moved by a random rigid motion, scaled, in camera axes."""
    rig = anim.rig
    pos = anim.positions()
    rng = np.random.default_rng(seed)
    out = np.empty((len(anim), 2, 21, 3))
    to_camera = np.diag([1.0, -1.0, -1.0])  # Y up, facing the camera -> x right, y down
    for h, side in enumerate(SIDES):
        out[:, h, 0] = pos[:, rig.role_index(f"{side}_wrist")]
        for finger in FINGERS:
            out[:, h, list(HAND_FINGERS[finger])] = pos[:, [rig.index(n) for n in
                                                             joint_names(side, finger)]]
        turn = Rotation.random(random_state=rng).as_matrix()
        out[:, h] = scale * (out[:, h] @ (to_camera @ turn).T) + rng.normal(size=3)
    return out
