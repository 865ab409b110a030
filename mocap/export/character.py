"""A user's own rigged character as the target rig, and the character itself animated.

``--rig hero.fbx`` (or ``.glb``, ``.gltf``, ``.vrm``): the file is read through Blender (the
environment the FBX export already uses, ``blender_scripts/character.py``); its armature's
bones become a :class:`~mocap.skeleton.rig.Rig` in mocap's axes (Y up, facing +Z, metres),
in whatever rest pose the file has (T, A or any: the solver turns each bone from its rest
direction), with roles recognised from the bone names (:mod:`mocap.skeleton.roles`: Mixamo,
UE5, Rigify, VRoid/VRM, Character Creator, Daz, the BVH namings). The solved animation is
then keyed back onto the character in Blender and exported with its mesh, materials and
armature, the bind pose untouched.

Axes: Blender's world is Z up with characters facing -Y (the importers' defaults for FBX and
glTF); mocap's is Y up facing +Z: ``p_mocap = AXES @ p_blender`` (a character facing +Y is
turned half a turn about the vertical). A joint's local rotation ``q`` in mocap's axes is
``AXES.T q AXES`` in Blender's world; the pose rotation Blender keys for a bone whose world
rest orientation is ``R`` is ``R.T (AXES.T q AXES) R`` (rest orientations compose away
along the chain, so this holds for every bone, whatever its parent), and the root bone's
pose location is ``R.T (p - head) / s`` for a root at ``p`` (Blender world), rest head
``head`` and armature scale ``s``.

Every bone is a joint of the rig: Blender's FBX and glTF importers mark every bone as
deforming, so controls and IK targets cannot be told apart and come along (without a role
they keep their rest pose relative to their parent; a floor-level root follows the hips).
Where an armature does mark some bones as not deforming (a file loaded another way), only
the deforming ones and the ancestors that join them are used. Of several root bones, the
one holding most of them is the rig's root.
"""

from __future__ import annotations

import collections
import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mocap.errors import InputError, MocapError
from mocap.export.blender import SCRIPTS_DIR, BlenderUnavailableError, run_blender_json
from mocap.fileio import atomic_path, check_input
from mocap.geometry.rotations import matrices_to_quats, quat_to_matrix
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import (
    Rig,
    load_rig,
    named_roles,
    orientation_problem,
    read_bone_map,
)

__all__ = ["CHARACTER_SUFFIXES", "Character", "character_pose", "export_character",
           "is_character", "load_target", "read_character"]

#: File suffixes read as characters (through Blender) by ``--rig``.
CHARACTER_SUFFIXES = (".fbx", ".glb", ".gltf", ".vrm")
SCRIPT = SCRIPTS_DIR / "character.py"
#: Blender's world (Z up, characters facing -Y) to mocap's (Y up, facing +Z).
AXES = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
#: Half a turn about mocap's vertical (a character facing +Y in Blender).
TURN = np.diag([-1.0, 1.0, -1.0])


@dataclass(frozen=True)
class Character:
    """A rigged character file read as a target.

    Attributes:
        path: the file.
        kind: ``"fbx"`` or ``"glb"`` (what it is exported as).
        rig: its bones as a rig (mocap axes, metres, the file's rest pose).
        rest: (J, 3, 3) each of ``rig``'s bones' rest orientation in Blender's world.
        heads: (J, 3) each bone's rest head in Blender's world, metres.
        axes: (3, 3) Blender world -> mocap world (the half turn included where needed).
        scale: the armature object's scale (Blender units per armature unit).
        meshes: mesh objects the armature deforms.
        vertices: their vertices in all.
        bones: the armature's bones in all (``rig`` may use fewer: deform bones only).
    """

    path: Path
    kind: str
    rig: Rig
    rest: np.ndarray
    heads: np.ndarray
    axes: np.ndarray
    scale: float
    meshes: int
    vertices: int
    bones: int


def is_character(spec) -> bool:
    """Whether a ``--rig`` value names a character file (by its suffix)."""
    return isinstance(spec, str | os.PathLike) and \
        Path(spec).suffix.lower() in CHARACTER_SUFFIXES


def load_target(spec, blender=None, bone_map: str | os.PathLike | None = None,
                ) -> tuple[Rig, Character | None]:
    """The target of ``--rig``: a character file (read through Blender) or any rig
    :func:`mocap.skeleton.rig.load_rig` takes (then no character); ``bone_map``: a
    ``--bone-map`` file naming the joints of a character or BVH rig by role."""
    mapping = read_bone_map(bone_map) if bone_map is not None else None
    if is_character(spec):
        character = read_character(spec, blender, mapping)
        return character.rig, character
    return load_rig(spec, mapping), None


def read_character(path: str | os.PathLike, blender=None,
                   bone_map: dict[str, str] | None = None) -> Character:
    """Read a rigged character file's armature (see the module docstring); ``bone_map``:
    role -> bone name over the roles recognised from the names.

    Raises:
        InputError: not a readable FBX/glTF/VRM file, no armature or several, or a
            skeleton whose body joints cannot be recognised (the message lists what was
            and what is missing).
        BlenderUnavailableError: no Blender to read it with.
    """
    path = Path(path)
    check_input(path, "character")
    try:
        res = run_blender_json(SCRIPT, {"mode": "read", "path": str(path.resolve())}, blender,
                               timeout=600.0)
    except BlenderUnavailableError:
        raise
    except MocapError as exc:
        raise InputError(f"{path}: not a character file Blender can read ({exc})") from None
    arms = res["armatures"]
    if not arms:
        raise InputError(f"{path}: no armature in the file (mocap animates a rigged "
                         "character: a skeleton, usually with a mesh skinned to it)")
    if len(arms) > 1:
        raise InputError(f"{path}: {len(arms)} armatures ({', '.join(arms[:5])}); give a "
                         "file with one character")
    return _character(path, res, bone_map)


def _character(path: Path, res: dict, bone_map: dict[str, str] | None = None) -> Character:
    bones = res["bones"]
    if not bones:
        raise InputError(f"{path}: the armature has no bones")
    names = [b["name"] for b in bones]
    index = {n: i for i, n in enumerate(names)}
    parent = np.array([index.get(b["parent"], -1) for b in bones])
    keep = np.array([b["deform"] for b in bones])
    if not keep.any() or keep.all():
        keep[:] = True
    else:  # deform bones and the ancestors that connect them
        for i in np.flatnonzero(keep):
            p = parent[i]
            while p >= 0 and not keep[p]:
                keep[p] = True
                p = parent[p]
    chain = {i: _chain(i, parent) for i in np.flatnonzero(keep)}  # bone, parent, ..., root
    # of several root bones, the one holding most kept bones is the rig's root
    root = collections.Counter(c[-1] for c in chain.values()).most_common(1)[0][0]
    # parents before children (by depth), Blender's order kept otherwise
    order = sorted((i for i, c in chain.items() if c[-1] == root), key=lambda i: len(chain[i]))
    pos_of = {b: k for k, b in enumerate(order)}
    joints = tuple(names[i] for i in order)
    # a bone's parent in the rig: its nearest kept ancestor
    parents = np.array([next((pos_of[a] for a in chain[i][1:] if a in pos_of), -1)
                        for i in order])
    heads_bl = np.array([bones[i]["head"] for i in order], np.float64)
    tails_bl = np.array([bones[i]["tail"] for i in order], np.float64)
    leaf = np.array([not (parents == k).any() for k in range(len(order))])
    roles, end_roles = named_roles(path, joints, parents, leaf, bone_map, "the body joints",
                                   f"its {len(joints)} bones")
    axes = AXES
    for _ in range(2):
        heads, tails = heads_bl @ axes.T, tails_bl @ axes.T
        lh, rh = roles.index("left_hip"), roles.index("right_hip")
        if heads[lh, 0] > heads[rh, 0]:
            break
        axes = TURN @ AXES  # facing +Y in Blender: the character's left was at -X
    offsets = heads - np.vstack([np.zeros(3), heads[parents[1:]]])
    offsets[0] = heads[0]
    ends = np.where(leaf[:, None], tails - heads, np.nan)
    rig = Rig(path.stem, joints, parents, offsets, ends, roles, end_roles, source=str(path))
    problem = orientation_problem(rig)
    if problem:
        raise InputError(f"{path}: the character's rest pose cannot be read as standing "
                         f"upright: {problem}")
    world = np.asarray(res["world"], np.float64)
    scale = float(np.cbrt(abs(np.linalg.det(world[:3, :3])))) or 1.0
    meshes = res.get("meshes", [])
    return Character(path, "fbx" if path.suffix.lower() == ".fbx" else "glb", rig,
                     np.array([bones[i]["rest"] for i in order], np.float64), heads_bl,
                     axes, scale, len(meshes), sum(m["vertices"] for m in meshes),
                     len(bones))


def _chain(i: int, parent: np.ndarray) -> list[int]:
    """Bone ``i`` and its ancestors up to its root bone."""
    out = [int(i)]
    while parent[out[-1]] >= 0:
        out.append(int(parent[out[-1]]))
    return out


def character_pose(character: Character, animation: Animation
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The keys Blender takes for ``animation`` on ``character``: (F, J, 4) pose rotations
    (w, x, y, z) of the rig's bones in their own rest frames, and (F, 3) the root bone's
    pose location (see the module docstring)."""
    m = character.axes
    local = quat_to_matrix(animation.rotations)  # (F, J, 3, 3) mocap axes
    world = np.einsum("ab,fjbc,cd->fjad", m.T, local, m)  # Blender world axes
    rest = character.rest
    basis = np.einsum("jba,fjbc,jcd->fjad", rest, world, rest)  # R^T Q R
    q = matrices_to_quats(basis)  # x, y, z, w
    quats = np.concatenate([q[..., 3:], q[..., :3]], axis=-1)
    root_bl = animation.root_translation @ m  # m.T @ p, row-wise
    locs = (root_bl - character.heads[0]) @ rest[0] / character.scale
    return quats, locs


def export_character(character: Character, clips: dict[str, Animation],
                     outputs: dict[str, dict[str, Path]], blender=None,
                     steps=None) -> dict:
    """Key each clip onto the character and export it (one Blender process).

    Args:
        character: from :func:`read_character`.
        clips: name (``"person_1"``: the action's and take's name) -> animation of
            ``character.rig``.
        outputs: name -> {"fbx": path, "glb": path} (either or both).
        blender: a Blender executable (default: ``$MOCAP_BLENDER``, else the environment).
        steps: ``steps(done, total)`` per clip exported.

    Returns:
        Blender's result (``jobs``: name, frames, bones, seconds).
    """
    with contextlib.ExitStack() as stack:  # each output under a temporary name until done
        jobs = []
        for name, anim in clips.items():
            quats, locs = character_pose(character, anim)
            files = {k: stack.enter_context(atomic_path(Path(v).resolve()))
                     for k, v in outputs[name].items()}
            jobs.append({"name": name, "fps": anim.fps, "bones": list(character.rig.joints),
                         "quats": np.round(quats, 7).tolist(),
                         "root": character.rig.joints[0], "locs": np.round(locs, 7).tolist(),
                         **{k: str(v) for k, v in files.items()}})
        return run_blender_json(SCRIPT, {"mode": "animate",
                                         "path": str(Path(character.path).resolve()),
                                         "jobs": jobs}, blender, steps=steps)
