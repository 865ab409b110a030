"""Finger motion: hand landmarks -> the local rotations of a rig's finger joints.

The body solve (:mod:`mocap.retarget.solver`) orients each hand; this module then bends
its fingers after the 21 landmarks of a hand landmark model (MediaPipe's order,
:data:`mocap.types.HAND_LANDMARK_NAMES`), in the hand's own frame, so the hand's placement
and the body stay exactly as the body solve left them.

**Which joints** (:func:`finger_chains`): the descendants of each wrist-role joint whose
names name a finger (``LeftHandIndex1``, ``LThumb``, ``index_01_l``, ``f_index.01.L``,
``Index1_L``, ``lMid1``, ``Bip01 L Finger1`` ...), each finger a single parent-to-child path
base to tip. Metacarpal and palm joints are not part of a chain. A chain's joints (and the
End Site of its last joint) are matched to the finger's landmarks base to tip (the first four
to knuckle, middle joint, end joint and tip; shorter chains span them: two points are knuckle
and tip).

**Palm frame**, per hand and frame: forward ``f`` from the wrist to the middle knuckle,
radial ``a`` from the pinky knuckle to the index knuckle (made perpendicular to ``f``),
palm normal ``n = s (f x a)`` with ``s = +1`` for the left hand and ``-1`` for the right, so
``n`` points out of the palm on both (left and right hands are mirror images). The same
frame is built from the rig's rest pose (its wrist and finger base joints; a rig without
a middle finger or pinky uses the fingers it has, and the T-pose's forward +Z as radial where
no lateral pair exists). Every bone direction is expressed in these *palm coordinates*
``(f, a, n)``, in which a left and a right hand read alike; only directions matter, so the
landmarks' own axes (camera axes) and the hand's size do not.

**Angles**, per bone, relative to the frame of the bone before it (the palm for the first):
*flexion* ``atan2(v_n, v_f)`` is the bend towards the palm, *abduction* ``asin(v_a)`` the
sideways deviation towards the index side, of the bone's direction ``v`` in that frame. The
bone's frame is its parent's turned by flexion about the parent's lateral axis, then by
abduction about its own normal, so its twist comes from the palm plane (a hinge stays a
hinge), never from a minimal swing. The thumb's frame is turned a further
:data:`THUMB_PRONATION_DEG` about the thumb's metacarpal, so that its MCP and IP joints flex
towards the palm *and* the fingers, as the thumb's pad faces.

**Joint limits** (:data:`LIMITS`, degrees): flexion is anatomical (0 = in line with the
parent bone, or in the palm plane for the first bone), abduction counts from the rig's rest
splay of that joint (0 = the rig's rest pose)::

    joint       flexion     abduction   relaxed flexion
    mcp         -20 .. 90   -20 .. 20   15
    pip           0 .. 110    0          25
    dip           0 .. 80     0          15
    thumb_cmc   -30 .. 70   -60 .. 40   20
    thumb_mcp   -15 .. 75   -15 .. 15   10
    thumb_ip    -20 .. 85   -15 .. 15   10

so fingers never bend backwards past a slight hyperextension at the knuckle, and PIP and
DIP joints are hinges. Each rotation is rebuilt from the clamped angles.

**Unseen hands** (score below ``min_score``, or any landmark NaN): the fingers ease to a
*relaxed pose* (the rig's rest splay, the relaxed flexions above) rather than snapping. The
blend weight is the seen mask smoothed by a Gaussian (``ease_s``: from 5 % to 95 % in about
that long), and the measured angles are first filled across gaps by interpolating their
nearest seen values, so the weight alone moves the pose.

The rig's local rotations follow: ``G = F Q F^T`` per bone, with ``F`` the rig's rest palm
frame and ``Q`` the bone's rotation in palm coordinates (its frame now times its rest
frame's transpose); local rotations ``G_parent^T G``; xyzw quaternions, sign-continuous
over time. Joints of no finger keep the input animation's rotations exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from mocap.errors import shape_error
from mocap.geometry.rotations import (
    frame_from_axes,
    matrix_to_quat,
    normalize,
    quat_continuity,
    quat_to_matrix,
    rotvec_to_matrix,
)
from mocap.geometry.series import fill_nan, gaussian_smooth
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import Rig
from mocap.types import HAND_FINGERS, HAND_LANDMARK_NAMES, NUM_HAND_LANDMARKS

SIDES = ("left", "right")  # hand index 0 and 1 of ``hands_world``
FINGERS = ("thumb", "index", "middle", "ring", "pinky")

#: Words that name each finger in a joint name (whole words of the name).
FINGER_WORDS: dict[str, tuple[str, ...]] = {
    "thumb": ("thumb", "pollex"),
    "index": ("index", "pointer", "forefinger"),
    "middle": ("middle", "mid"),
    "ring": ("ring",),
    "pinky": ("pinky", "pinkie", "little"),
}
# words of joints that belong to the palm, not to a finger chain
_PALM_WORDS = ("metacarpal", "carpal", "meta", "palm")
# a camelCase / snake_case / dotted name -> words and numbers
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

#: Twist of the thumb's frame about its metacarpal, degrees: its MCP and IP joints flex
#: towards the palm and towards the fingers, half and half.
THUMB_PRONATION_DEG = 45.0
_SIGN = {"left": 1.0, "right": -1.0}  # of the palm normal: mirror-image hands
# (index side, pinky side) finger pairs that can give the palm's lateral axis, best first
_LATERAL_PAIRS = (("index", "pinky"), ("index", "ring"), ("middle", "pinky"),
                  ("index", "middle"), ("middle", "ring"), ("ring", "pinky"))


@dataclass(frozen=True)
class JointLimits:
    """Range of one finger joint, degrees.

    Attributes:
        flex: (low, high) flexion, towards the palm positive, 0 = in line with the parent.
        abd: (low, high) abduction, towards the index side positive, relative to the rig's
            rest pose of that joint.
        relaxed: flexion of the relaxed pose (abduction: the rig's rest).
    """

    flex: tuple[float, float]
    abd: tuple[float, float]
    relaxed: float


#: Limits per joint kind (see the module docstring).
LIMITS: dict[str, JointLimits] = {
    "mcp": JointLimits((-20.0, 90.0), (-20.0, 20.0), 15.0),
    "pip": JointLimits((0.0, 110.0), (0.0, 0.0), 25.0),
    "dip": JointLimits((0.0, 80.0), (0.0, 0.0), 15.0),
    "thumb_cmc": JointLimits((-30.0, 70.0), (-60.0, 40.0), 20.0),
    "thumb_mcp": JointLimits((-15.0, 75.0), (-15.0, 15.0), 10.0),
    "thumb_ip": JointLimits((-20.0, 85.0), (-15.0, 15.0), 10.0),
}
# the LIMITS key of the joint at each of a finger's first three landmarks
_JOINT_KINDS = {"thumb": ("thumb_cmc", "thumb_mcp", "thumb_ip"), "finger": ("mcp", "pip", "dip")}


# ---------------------------------------------------------------------------------------
# Finger joints of a rig


def finger_of(name: str) -> str | None:
    """The finger a joint name names (``"index"`` ...), or None (none, several, or a palm
    joint such as ``index_metacarpal_l``). 3ds Max Biped's ``Finger0``..``Finger4`` (and
    ``Finger01`` ...: finger digit, then segment) are thumb to pinky."""
    words = [w.lower() for w in _WORD.findall(name.rsplit(":", 1)[-1])]
    if any(w in _PALM_WORDS for w in words):
        return None
    found = {f for w in words for f, names in FINGER_WORDS.items() if w in names}
    for w, nxt in pairwise(words):
        if w == "finger" and nxt.isdigit() and int(nxt[0]) < len(FINGERS):
            found.add(FINGERS[int(nxt[0])])
    if not found:  # one lower-case run ("lefthandindex1"): the unambiguous words inside it
        flat = "".join(words)
        found = {f for f, names in FINGER_WORDS.items()
                 if any(len(n) >= 4 and n in flat for n in names)}
    return found.pop() if len(found) == 1 else None


def finger_chains(rig: Rig) -> dict[str, dict[str, list[int]]]:
    """The finger joints of ``rig``, found by name under each wrist-role joint.

    Returns:
        ``{side: {finger: [joint index, ...]}}``, ``side`` in ``("left", "right")``,
        ``finger`` in :data:`FINGERS`, joints base to tip, each the parent of the next. A
        finger appears only if its named joints form one such path (none: not listed; a
        branch: ambiguous, not listed), a side only if it has a finger.
    """
    out: dict[str, dict[str, list[int]]] = {}
    for side in SIDES:
        wrist = rig.role_index(f"{side}_wrist")
        if wrist is None:
            continue
        under = {wrist}
        named: dict[str, list[int]] = {}
        for j in range(wrist + 1, len(rig)):  # topological: parents come first
            if int(rig.parents[j]) in under:
                under.add(j)
                finger = finger_of(rig.joints[j])
                if finger is not None:
                    named.setdefault(finger, []).append(j)
        chains = {f: js for f in FINGERS if (js := named.get(f))
                  and all(int(rig.parents[b]) == a for a, b in pairwise(js))}
        if chains:
            out[side] = chains
    return out


# ---------------------------------------------------------------------------------------
# Palm frames and angles


def _palm_frame(points: dict[str, np.ndarray], forward: tuple[str, ...],
                lateral: tuple[str, str] | None, sign: float) -> np.ndarray:
    """(..., 3, 3) palm frames, columns ``(f, a, n)`` (see the module docstring).

    Args:
        points: ``"wrist"`` and finger base names -> (..., 3) positions.
        forward: finger bases whose mean the forward axis aims at.
        lateral: (index side, pinky side) finger bases, or None for the T-pose's +Z.
        sign: +1 left hand, -1 right hand.
    """
    f = np.mean([points[k] for k in forward], axis=0) - points["wrist"]
    lat = (points[lateral[0]] - points[lateral[1]] if lateral is not None
           else np.broadcast_to([0.0, 0.0, 1.0], f.shape))
    frame, _ = frame_from_axes(f, lat)  # columns (a, f, a x f)
    return np.stack([frame[..., 1], frame[..., 0], -sign * frame[..., 2]], axis=-1)


def _turn(abd: np.ndarray, flex: np.ndarray) -> np.ndarray:
    """(..., 3, 3) a bone's frame in its parent's: flexion about the lateral axis (towards
    the normal), then abduction about the bone's own normal (towards the lateral axis)."""
    zero = np.zeros_like(flex)
    return (rotvec_to_matrix(np.stack([zero, -flex, zero], -1))
            @ rotvec_to_matrix(np.stack([zero, zero, abd], -1)))


def _angles(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(abduction, flexion) radians of unit directions ``v`` (..., 3) in a bone frame."""
    return np.arcsin(np.clip(v[..., 1], -1.0, 1.0)), np.arctan2(v[..., 2], v[..., 0])


_PRONATION = rotvec_to_matrix(np.array([np.radians(THUMB_PRONATION_DEG), 0.0, 0.0]))


@dataclass(frozen=True)
class _Chain:
    """One finger of a rig, ready to drive.

    Attributes:
        finger: name in :data:`FINGERS`.
        joints: (B,) joint indices of the bones driven (each bends the bone to the next
            point).
        landmarks: (B + 1,) hand landmark index of each point.
        kinds: (B,) :data:`LIMITS` keys.
        rest_dirs: (B, 3) rest bone directions, palm coordinates.
    """

    finger: str
    joints: tuple[int, ...]
    landmarks: tuple[int, ...]
    kinds: tuple[str, ...]
    rest_dirs: np.ndarray


@dataclass(frozen=True)
class _Hand:
    """One side of a rig: its rest palm frame (3, 3), how to build the palm frame (forward,
    lateral finger names), and its fingers."""

    side: str
    wrist: int
    frame: np.ndarray
    forward: tuple[str, ...]
    lateral: tuple[str, str] | None
    chains: tuple[_Chain, ...]


def _landmark_steps(points: int) -> tuple[int, ...]:
    """Which of a finger's 4 landmarks (knuckle .. tip) a chain of ``points`` points
    (joints, plus the last one's End Site) is matched to."""
    return {2: (0, 3), 3: (0, 1, 3)}.get(points, (0, 1, 2, 3))


def _hands(rig: Rig) -> list[_Hand]:
    """The rig's drivable hands (a hand needs a finger base to aim its palm frame at)."""
    rest = rig.rest_positions()
    hands = []
    for side, chains in finger_chains(rig).items():
        wrist = rig.role_index(f"{side}_wrist")
        base = {f: rest[js[0]] for f, js in chains.items()}
        forward = (("middle",) if "middle" in base
                   else tuple(f for f in ("index", "ring", "pinky") if f in base)[:2])
        if not forward:
            continue
        points = {"wrist": rest[wrist], **base}
        lateral = None
        f_dir, _ = normalize(np.mean([base[k] for k in forward], axis=0) - rest[wrist])
        for a, b in _LATERAL_PAIRS:
            if a in base and b in base:
                lat = base[a] - base[b]
                if np.linalg.norm(np.cross(f_dir, lat)) > 0.3 * np.linalg.norm(lat):
                    lateral = (a, b)
                    break
        frame = _palm_frame(points, forward, lateral, _SIGN[side])
        if not np.isfinite(frame).all():
            continue
        driven = []
        for finger, js in chains.items():
            pts = [rest[j] for j in js]
            if not np.isnan(rig.end_sites[js[-1], 0]):
                pts.append(rest[js[-1]] + rig.end_sites[js[-1]])
            if len(pts) < 2:
                continue
            steps = _landmark_steps(len(pts))
            pts = pts[:len(steps)]
            dirs, length = normalize(np.diff(np.array(pts), axis=0) @ frame)
            if (length < 1e-6).any():
                continue
            driven.append(_Chain(finger, tuple(js[:len(steps) - 1]),
                                 tuple(HAND_FINGERS[finger][s] for s in steps),
                                 tuple(_JOINT_KINDS["thumb" if finger == "thumb" else "finger"][s]
                                       for s in steps[:-1]), dirs))
        if driven:
            hands.append(_Hand(side, wrist, frame, forward, lateral, tuple(driven)))
    return hands


def _rest_angles(chain: _Chain) -> np.ndarray:
    """(B, 2) the rig's rest (abduction, flexion), radians, of each bone of ``chain``."""
    out = np.empty((len(chain.joints), 2))
    parent = np.eye(3)
    for b, d in enumerate(chain.rest_dirs):
        abd, flex = _angles(parent.T @ d)
        out[b] = abd, flex
        parent = parent @ _turn(abd, flex)
        if b == 0 and chain.finger == "thumb":
            parent = parent @ _PRONATION
    return out


def _measure(chain: _Chain, dirs: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(T, B, 2) clamped (abduction, flexion), radians, of measured bone directions ``dirs``
    (T, B, 3) (palm coordinates), each relative to its clamped parent."""
    t = len(dirs)
    out = np.empty((t, len(chain.joints), 2))
    parent = np.broadcast_to(np.eye(3), (t, 3, 3))
    for b, kind in enumerate(chain.kinds):
        lim = LIMITS[kind]
        v = np.einsum("tji,tj->ti", parent, dirs[:, b])
        abd, flex = _angles(v)
        abd = np.clip(abd, *(rest[b, 0] + np.radians(lim.abd)))
        flex = np.clip(flex, *np.radians(lim.flex))
        out[:, b] = np.stack([abd, flex], -1)
        parent = parent @ _turn(abd, flex)
        if b == 0 and chain.finger == "thumb":
            parent = parent @ _PRONATION
    return out


def _rotations(chain: _Chain, angles: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(T, B, 3, 3) each bone's rotation in palm coordinates (its frame from ``angles``
    (T, B, 2) times the transpose of its rest frame from ``rest`` (B, 2))."""
    t = len(angles)
    out = np.empty((t, len(chain.joints), 3, 3))
    cur = np.broadcast_to(np.eye(3), (t, 3, 3))
    rest_frame = np.eye(3)
    for b in range(len(chain.joints)):
        cur = cur @ _turn(angles[:, b, 0], angles[:, b, 1])
        rest_frame = rest_frame @ _turn(*rest[b])
        out[:, b] = cur @ rest_frame.T
        if b == 0 and chain.finger == "thumb":
            cur, rest_frame = cur @ _PRONATION, rest_frame @ _PRONATION
    return out


def _relaxed(chain: _Chain, rest: np.ndarray) -> np.ndarray:
    """(B, 2) the relaxed pose's (abduction, flexion), radians."""
    return np.stack([rest[:, 0], np.radians([LIMITS[k].relaxed for k in chain.kinds])], -1)


def _seen(world: np.ndarray, score: np.ndarray, min_score: float) -> np.ndarray:
    """(T,) frames where a hand counts as seen: score reached, every landmark finite."""
    return (np.nan_to_num(score, nan=0.0) >= min_score) & np.isfinite(world).all(axis=(-1, -2))


# ---------------------------------------------------------------------------------------
# The retarget


def apply_fingers(anim: Animation, hands_world: np.ndarray, hands_score: np.ndarray,
                  min_score: float = 0.5, ease_s: float = 0.25) -> Animation:
    """Bend the fingers of ``anim``'s rig after hand landmarks (see the module docstring).

    Args:
        anim: the body animation (T frames); its finger joints' rotations are replaced.
        hands_world: (T, 2, 21, 3) float, metres, hand landmarks (index 0 the person's left
            hand, 1 the right), in any right-handed axes (e.g. camera axes: x right, y down,
            z away); only the geometry within each hand is used. NaN where unseen.
        hands_score: (T, 2) hand presence scores in [0, 1] (0 where unseen).
        min_score: frames of a hand below this score count as unseen.
        ease_s: seconds over which the fingers ease between seen and relaxed.

    Returns:
        A new :class:`Animation`: the same rig, root path and non-finger rotations (equal
        arrays); a rig without finger joints (SMPL) comes back unchanged.

    Raises:
        ValueError: ``hands_world`` or ``hands_score`` is not shaped as above.
    """
    t = len(anim)
    world = np.asarray(hands_world, np.float64)
    score = np.asarray(hands_score, np.float64)
    if world.shape != (t, 2, NUM_HAND_LANDMARKS, 3):
        raise shape_error("hands_world", f"({t}, 2, {NUM_HAND_LANDMARKS}, 3)", world.shape)
    if score.shape != (t, 2):
        raise shape_error("hands_score", f"({t}, 2)", score.shape)
    rig = anim.rig
    rotations = anim.rotations.copy()
    hands = _hands(rig) if t else []
    if not hands:
        return Animation(rig, anim.root_translation.copy(), rotations, anim.fps)
    local = quat_to_matrix(anim.rotations / np.linalg.norm(anim.rotations, axis=-1,
                                                           keepdims=True))
    sigma = ease_s * anim.fps / 3.29  # the Gaussian's 5 % .. 95 % span is 3.29 sigma
    for hand in hands:
        h = SIDES.index(hand.side)
        pts = world[:, h]
        seen = _seen(pts, score[:, h], min_score)
        palm_pts = {"wrist": pts[:, HAND_LANDMARK_NAMES.index("wrist")],
                    **{f: pts[:, HAND_FINGERS[f][0]] for f in FINGERS if f != "thumb"}}
        frame = _palm_frame(palm_pts, hand.forward, hand.lateral or ("index", "pinky"),
                            _SIGN[hand.side])
        seen &= np.isfinite(frame).all(axis=(-1, -2))
        weight = gaussian_smooth(seen.astype(np.float64), sigma)
        # hand-relative rotations of the joints under the wrist, as the animation has them
        rel = {hand.wrist: np.broadcast_to(np.eye(3), (t, 3, 3))}
        for j in range(hand.wrist + 1, len(rig)):
            p = int(rig.parents[j])
            if p in rel:
                rel[j] = rel[p] @ local[:, j]
        for chain in hand.chains:
            rest = _rest_angles(chain)
            vec = np.diff(pts[:, list(chain.landmarks)], axis=1)  # (T, B, 3)
            dirs, _ = normalize(np.einsum("tji,tbj->tbi", frame, vec))
            angles = np.where(seen[:, None, None], _measure(chain, dirs, rest), np.nan)
            angles = np.nan_to_num(fill_nan(angles), nan=0.0)  # all-NaN: weight 0 anyway
            w = weight[:, None, None]
            angles = w * angles + (1.0 - w) * _relaxed(chain, rest)
            q_palm = _rotations(chain, angles, rest)
            g = hand.frame @ q_palm @ hand.frame.T  # (T, B, 3, 3) hand-relative
            quats = np.empty((t, len(chain.joints), 4))
            for b, j in enumerate(chain.joints):
                parent = rel[int(rig.parents[j])]
                quats[:, b] = matrix_to_quat(np.swapaxes(parent, -1, -2) @ g[:, b])
                rel[j] = g[:, b]
            rotations[:, list(chain.joints)] = quat_continuity(quats)
    return Animation(rig, anim.root_translation.copy(), rotations, anim.fps)
