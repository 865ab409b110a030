"""Skeleton rigs as data: load, validate, and recognise joints by name.

A :class:`Rig` is a joint hierarchy in its rest pose: Y up, metres, a T-pose facing +Z (the
character's left is +X), every rest rotation the identity, so each joint's ``OFFSET`` is
expressed in world axes. Joints carry an optional *role*: the body point they sit at
(``"left_knee"``, ``"chest"`` ...), from the vocabulary :data:`ROLES`. Retargeting matches
joints of two skeletons through their roles, and the video path places roles from BlazePose
landmarks with :data:`DEFAULT_LANDMARKS` (or a rig's own ``[landmarks]`` table).

Rig files (``rigs/<name>.toml``), one per rig::

    name = "mixamo"
    description = "..."
    units = "m"                 # unit of every offset below: "m" or "cm"

    [[joints]]                  # one table per joint, parents before children
    name = "mixamorig:Hips"
    parent = ""                 # "" for the root (exactly one)
    offset = [0.0, 1.0, 0.0]    # from the parent, world axes (rest rotations are identity)
    role = "hips"               # optional, one of ROLES, each role at most once
    end = [0.0, 0.1, 0.0]       # optional End Site offset of a leaf joint
    end_role = "head_top"       # optional role of that End Site

    [landmarks]                 # optional overrides of DEFAULT_LANDMARKS: role = expression
    chest = "lerp(hips_mid, shoulders_mid, 0.75)"

Any BVH file can be a rig too (``load_rig("x.bvh")``): its hierarchy and rest offsets are
used, units are recognised from the body height, and roles are recognised from joint names
(CMU MotionBuilder and 3dsMax namings, Mixamo, SMPL, Daz/Second Life, Unreal, Biped) plus
the structure (the chest is where the arms branch, the hips where the legs branch).
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.fileio import read_input
from mocap.io.bvh import BvhData, read_bvh
from mocap.motion.world import landmark_points
from mocap.skeleton.roles import REQUIRED_ROLES, ROLES, mapped_roles
from mocap.types import NUM_LANDMARKS, check_hierarchy
from mocap.units import METRES_PER_UNIT, detect_unit, metres_per

#: Units a rig TOML file may give its offsets in.
TOML_UNITS = ("m", "cm", "mm")
#: Largest magnitude of an offset in a rig TOML file (in its units).
MAX_ABS_OFFSET = 1e7


def _brief(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to about ``limit`` characters (messages stay one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _name_list(names: tuple[str, ...] | list[str], limit: int = 10) -> str:
    """At most ``limit`` names, comma separated, then "... and N more"."""
    shown = ", ".join(_brief(n) if len(n) > 40 else n for n in names[:limit])
    return shown + (f" ... and {len(names) - limit} more" if len(names) > limit else "")


#: Where each role sits, as an expression over BlazePose landmark names: a name,
#: ``mean(a, b, ...)`` or ``lerp(a, b, t)`` (``a + t (b - a)``). ``hips_mid`` and
#: ``shoulders_mid`` are the hip and shoulder midpoints. Roles missing here are not placed
#: from video (those joints keep their rest pose relative to their parent).
DEFAULT_LANDMARKS: dict[str, str] = {
    "hips": "hips_mid",
    "spine": "lerp(hips_mid, shoulders_mid, 0.3)",
    "chest": "lerp(hips_mid, shoulders_mid, 0.75)",
    "neck": "shoulders_mid",
    "head": "mean(left_ear, right_ear)",
    "nose": "nose",
    **{f"{s}_{part}": f"{s}_{lm}" for s in ("left", "right") for part, lm in (
        ("shoulder", "shoulder"), ("elbow", "elbow"), ("wrist", "wrist"),
        ("index", "index"), ("pinky", "pinky"), ("thumb", "thumb"), ("hip", "hip"),
        ("knee", "knee"), ("ankle", "ankle"), ("heel", "heel"), ("toe_end", "foot_index"),
        ("ear", "ear"))},
    # the ball of the foot (where rigs put the toe joint): ~70 % from heel to toe tip
    "left_toe": "lerp(left_heel, left_foot_index, 0.7)",
    "right_toe": "lerp(right_heel, right_foot_index, 0.7)",
    "left_fingers": "mean(left_index, left_pinky)",
    "right_fingers": "mean(right_index, right_pinky)",
    "left_collar": "lerp(shoulders_mid, left_shoulder, 0.2)",
    "right_collar": "lerp(shoulders_mid, right_shoulder, 0.2)",
}


#: Trunk roles that take their nearest placed ancestor's landmark where the rig puts them at
#: that ancestor's joint (CMU puts its spine joint at the hips, its neck and collar joints
#: at the chest): the actor's hips-to-spine and chest-to-neck lengths would otherwise have
#: no bone to go to, and the torso came out short (CMU's shoulders 17 % low on the demo's
#: walker with the actor's bone lengths).
TRUNK_ROLES = ("spine", "chest", "neck", "left_collar", "right_collar")
#: The skeleton namings whose joints are recognised (for messages).
SUPPORTED_NAMINGS = ("CMU, Mixamo, SMPL, Daz/Second Life and Genesis, Unreal/UE5, Biped, "
                     "Rigify DEF-, VRoid/VRM J_Bip_, Character Creator CC_Base_")
#: Two joints closer than this (metres) sit at one point.
COINCIDENT_M = 0.01


@dataclass
class Rig:
    """A skeleton in rest pose (Y up, metres, T-pose facing +Z, identity rest rotations).

    Attributes:
        name: rig name (``"mixamo"``, or the BVH file stem).
        joints: (J,) joint names, parents before children.
        parents: (J,) int64, parent index, -1 for the root (index 0); ``parents[j] < j``.
        offsets: (J, 3) float64, metres, offset from the parent in world axes; the root's is
            its rest position.
        end_sites: (J, 3) float64, metres, End Site offset of each leaf (NaN where none).
        roles: (J,) role (from :data:`ROLES`) or ``None`` per joint.
        end_roles: (J,) role of each joint's End Site or ``None``.
        landmarks: role -> landmark expression (see :data:`DEFAULT_LANDMARKS`).
        source: where the rig came from (file path or ``"<memory>"``).
    """

    name: str
    joints: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    end_sites: np.ndarray | None = None
    roles: tuple[str | None, ...] | None = None
    end_roles: tuple[str | None, ...] | None = None
    landmarks: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LANDMARKS))
    source: str = "<memory>"

    def __post_init__(self) -> None:
        self.joints = tuple(self.joints)
        j = len(self.joints)
        if j == 0:
            raise ValueError("`joints` must not be empty")
        self.parents = np.asarray(self.parents, np.int64)
        self.offsets = np.asarray(self.offsets, np.float64)
        if self.end_sites is None:
            self.end_sites = np.full((j, 3), np.nan)
        self.end_sites = np.asarray(self.end_sites, np.float64)
        self.roles = tuple(self.roles) if self.roles is not None else (None,) * j
        self.end_roles = tuple(self.end_roles) if self.end_roles is not None else (None,) * j
        check_hierarchy(j, self.parents, self.offsets, self.end_sites)
        if len(self.roles) != j or len(self.end_roles) != j:
            raise ValueError(f"`roles` and `end_roles` must have J={j} entries")
        if len(set(self.joints)) != j:
            seen: set[str] = set()
            dup = next(n for n in self.joints if n in seen or seen.add(n))
            raise ValueError(f"rig {_brief(self.name)}: duplicate joint name {_brief(dup)}")
        if self.parents[0] != -1 or (self.parents[1:] < 0).any():
            raise ValueError(f"rig {self.name!r}: joint 0 must be the only root (parent -1)")
        if (self.parents[1:] >= np.arange(1, j)).any():
            bad = int(np.flatnonzero(self.parents[1:] >= np.arange(1, j))[0]) + 1
            raise ValueError(f"rig {self.name!r}: joint {self.joints[bad]!r} comes before its "
                             "parent (joints must be in topological order)")
        if not np.isfinite(self.offsets).all():
            raise ValueError(f"rig {self.name!r}: offsets must be finite")
        used = [r for r in (*self.roles, *self.end_roles) if r is not None]
        for r in used:
            if r not in ROLES:
                raise ValueError(f"rig {self.name!r}: unknown role {r!r} (valid: "
                                 f"{', '.join(ROLES)})")
        if len(set(used)) != len(used):
            seen_roles: set[str] = set()
            dup = next(r for r in used if r in seen_roles or seen_roles.add(r))
            raise ValueError(f"rig {self.name!r}: role {dup!r} is given to two joints")
        self.landmarks = dict(self.landmarks)
        self._share_coincident_landmarks()

    def _share_coincident_landmarks(self) -> None:
        """A trunk role (:data:`TRUNK_ROLES`) at its nearest role-carrying ancestor's joint
        is placed where that ancestor is, unless the rig gives its own expression."""
        pos = self.rest_positions()
        for j, role in enumerate(self.roles):
            if role not in TRUNK_ROLES or self.landmarks.get(role) != DEFAULT_LANDMARKS[role]:
                continue
            a = int(self.parents[j])
            while a >= 0 and self.roles[a] is None:
                a = int(self.parents[a])
            if (a >= 0 and self.roles[a] in self.landmarks
                    and np.linalg.norm(pos[j] - pos[a]) < COINCIDENT_M):
                self.landmarks[role] = self.landmarks[self.roles[a]]

    def __len__(self) -> int:
        return len(self.joints)

    def index(self, name: str) -> int:
        """Index of joint ``name``."""
        try:
            return self.joints.index(name)
        except ValueError:
            raise KeyError(f"rig {self.name!r} has no joint {name!r}") from None

    def role_index(self, role: str) -> int | None:
        """Index of the joint with ``role``, or None."""
        return self.roles.index(role) if role in self.roles else None

    def rest_positions(self) -> np.ndarray:
        """(J, 3) float64, metres: joint positions in the rest pose."""
        pos = np.zeros((len(self), 3))
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] + (pos[p] if p >= 0 else 0.0)
        return pos

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.flatnonzero(self.parents == j)]

    def with_offsets(self, offsets: np.ndarray, end_sites: np.ndarray | None = None,
                     name: str | None = None) -> Rig:
        """A copy with other rest offsets (same joints, roles and landmarks)."""
        return Rig(name or self.name, self.joints, self.parents.copy(), offsets,
                   self.end_sites.copy() if end_sites is None else end_sites, self.roles,
                   self.end_roles, dict(self.landmarks), self.source)

    def points(self) -> dict[str, np.ndarray]:
        """Named rest points, metres: every joint by name, End Sites as ``"<name>/end"``,
        and every role. Values are (3,) float64."""
        pos = self.rest_positions()
        out: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.joints):
            out[name] = pos[j]
            if self.roles[j]:
                out[self.roles[j]] = pos[j]
            if not np.isnan(self.end_sites[j, 0]):
                end = pos[j] + self.end_sites[j]
                out[f"{name}/end"] = end
                if self.end_roles[j]:
                    out[self.end_roles[j]] = end
        return out

    def missing_required(self) -> list[str]:
        have = {r for r in (*self.roles, *self.end_roles) if r}
        return [r for r in REQUIRED_ROLES if r not in have]

    def height(self) -> float:
        """Rest height, metres (top of the highest point to the lowest point)."""
        pts = np.array(list(self.points().values()))
        return float(pts[:, 1].max() - pts[:, 1].min())


# ---------------------------------------------------------------------------------------
# Loading


def rigs_dir() -> Path:
    """Folder of the shipped rig files: ``$MOCAP_RIGS_DIR``, else ``rigs/`` beside the package
    (a source checkout), else ``mocap/rigs`` inside an installed package."""
    if env := os.environ.get("MOCAP_RIGS_DIR"):
        return Path(env).expanduser()
    package = Path(__file__).resolve().parents[1]
    for cand in (package.parent / "rigs", package / "rigs"):
        if cand.is_dir():
            return cand
    return package.parent / "rigs"


def available_rigs() -> list[str]:
    """Names of the shipped rigs (``rigs/*.toml``)."""
    return sorted(p.stem for p in rigs_dir().glob("*.toml"))


def read_bone_map(path: str | os.PathLike) -> dict[str, str]:
    """A ``--bone-map`` file: TOML lines ``role = "joint name"`` (roles from
    :data:`mocap.skeleton.roles.ROLES`), for skeletons whose names mocap does not know.

    Raises:
        InputError: unreadable, not TOML, an unknown role or a value that is not a name.
    """
    text = read_input(path, "rig").decode("utf-8", "replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not a TOML bone map ({exc})") from None
    for role, name in doc.items():
        if role not in ROLES:
            close = difflib.get_close_matches(role, ROLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(f"{path}: unknown role {_brief(role)}{hint}; roles: hips, "
                             "spine, chest, neck, head, left_/right_ shoulder, elbow, wrist, "
                             "hip, knee, ankle, toe ... (mocap.skeleton.roles.ROLES)")
        if not isinstance(name, str) or not name:
            raise InputError(f"{path}: {role} must be a joint name in quotes, got "
                             f"{_brief(name)}")
    if len(set(doc.values())) != len(doc):
        raise InputError(f"{path}: one joint is given two roles")
    return dict(doc)


def load_rig(spec: str | os.PathLike, bone_map: dict[str, str] | None = None) -> Rig:
    """Resolve a rig by name (``"cmu"``, ``"mixamo"``, ``"smpl"``, ...) or load a file.

    Args:
        spec: a shipped rig name, a ``.toml`` rig file or a ``.bvh`` file whose hierarchy
            becomes the rig (roles recognised from joint names).
        bone_map: role -> joint name over the recognised roles of a ``.bvh`` rig
            (:func:`read_bone_map`).

    Raises:
        InputError: unknown name (the message lists the valid names), unreadable or invalid
            file, a rig missing a required joint, or a bone map for a TOML rig.
    """
    s = os.fspath(spec)
    p = Path(s)
    if p.suffix.lower() == ".bvh":
        return rig_from_bvh(read_bvh(p), bone_map=bone_map)[0]
    if bone_map:
        raise InputError("--bone-map applies to a BVH rig or a character file; a shipped or "
                         ".toml rig names its joints' roles itself")
    if p.suffix.lower() == ".toml":
        return _rig_from_toml(p)
    names = available_rigs()
    if s.strip().lower() in names:  # names are case-insensitive: --rig SMPL
        return _rig_from_toml(rigs_dir() / f"{s.strip().lower()}.toml")
    close = difflib.get_close_matches(s.lower(), names, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(f"unknown rig {s!r}{hint}; valid rig names: "
                     f"{', '.join(names) or '(none found)'} (or give a .toml or .bvh file, "
                     "or a character .fbx/.glb/.gltf/.vrm)")


def _line_of(text: str, needle: str, key: str | None = None) -> int:
    """Line number (1-based) of the first line holding ``needle``; with ``key``, of the first
    line from there on that sets ``key`` (before the next table), else the needle's line."""
    lines = text.splitlines()
    start = next((k for k, line in enumerate(lines) if needle in line), None)
    if start is None:
        return 1
    if key is not None:
        for k in range(start, len(lines)):
            stripped = lines[k].lstrip()
            if k > start and stripped.startswith("["):
                break
            if stripped.startswith(key) and stripped[len(key):].lstrip().startswith("="):
                return k + 1
    return start + 1


def _is_vec3(value: object) -> bool:
    """Three finite numbers (bools are not numbers) of magnitude at most MAX_ABS_OFFSET."""
    # `abs(v) <= limit` is False for nan and inf, and compares huge ints exactly
    return (isinstance(value, list) and len(value) == 3
            and all(isinstance(v, int | float) and not isinstance(v, bool)
                    and abs(v) <= MAX_ABS_OFFSET for v in value))


def _rig_from_toml(path: Path) -> Rig:
    try:
        text = read_input(path, "rig").decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text rig file ({exc.reason})") from None
    try:
        data = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise InputError(f"{path}: invalid TOML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise InputError(f"{path}: invalid TOML (arrays or tables nested too deeply)") from None

    def fail(msg: str, needle: str | None = None, key: str | None = None) -> InputError:
        line = _line_of(text, needle, key) if needle else 1
        return InputError(f"{path}:{line}: {msg}")

    def top(key: str) -> InputError:
        return fail(f"`{key}` must be a string, got {_brief(data[key])}", key, key)

    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise top(key)
    unit = data.get("units", "m")
    if not isinstance(unit, str) or unit not in TOML_UNITS:
        raise fail(f"`units` must be one of {', '.join(map(repr, TOML_UNITS))}, got "
                   f"{_brief(unit)}", "units", "units")
    scale = METRES_PER_UNIT[unit]
    joints = data.get("joints")
    if not isinstance(joints, list) or not joints:
        raise fail("a rig file needs [[joints]] tables (`joints` must be a non-empty array of "
                   f"tables), got {_brief(joints)}", "joints")
    index: dict[str, int] = {}  # name -> joint index, for parents (linear in the joints)
    parents: list[int] = []
    offsets, ends, roles, end_roles = [], [], [], []
    vec3 = f"3 numbers, finite and at most {MAX_ABS_OFFSET:g} in size"
    for k, jt in enumerate(joints):
        if not isinstance(jt, dict):
            raise fail(f"joint #{k + 1}: each of `joints` must be a table ([[joints]]), got "
                       f"{_brief(jt)}", "joints")
        name = jt.get("name")
        if not isinstance(name, str) or not name:
            raise fail(f"joint #{k + 1}: `name` must be a non-empty string, got "
                       f"{_brief(name)}", "[[joints]]")
        needle = f'"{name}"'
        label = f"joint {_brief(name)}"

        def field_error(key: str, expected: str, value: object,
                        needle: str = needle, label: str = label) -> InputError:
            return fail(f"{label}: `{key}` must be {expected}, got {_brief(value)}", needle, key)

        if name in index:
            raise fail(f"{label}: duplicate joint name", needle)
        parent = jt.get("parent", "")
        if not isinstance(parent, str):
            raise field_error("parent", 'a joint name defined before it ("" for the root)',
                              parent)
        if parent == "":
            if index:
                raise fail(f"{label}: only the first joint may be the root", needle, "parent")
            parents.append(-1)
        elif parent not in index:
            raise fail(f"{label}: parent {_brief(parent)} is not defined before it", needle,
                       "parent")
        else:
            parents.append(index[parent])
        off = jt.get("offset")
        if not _is_vec3(off):
            raise field_error("offset", vec3, off)
        end = jt.get("end")
        if end is not None and not _is_vec3(end):
            raise field_error("end", vec3, end)
        for key in ("role", "end_role"):
            role = jt.get(key)
            if role is not None and not isinstance(role, str):
                raise field_error(key, "a role name (a string)", role)
            if role is not None and role not in ROLES:
                raise fail(f"{label}: unknown {key} {_brief(role)}", needle, key)
        index[name] = k
        offsets.append(np.array(off, float) * scale)
        ends.append(np.array(end, float) * scale if end is not None else np.full(3, np.nan))
        roles.append(jt.get("role"))
        end_roles.append(jt.get("end_role"))
    landmarks = dict(DEFAULT_LANDMARKS)
    extra = data.get("landmarks", {})
    if not isinstance(extra, dict):
        raise fail(f'`landmarks` must be a table of role = "expression", got {_brief(extra)}',
                   "landmarks", "landmarks")
    probe = np.arange(NUM_LANDMARKS * 3, dtype=np.float64).reshape(1, NUM_LANDMARKS, 3)
    for role, expr in extra.items():
        if role not in ROLES:
            raise fail(f"[landmarks]: unknown role {_brief(role)}", "[landmarks]", role)
        if not isinstance(expr, str):
            raise fail(f"[landmarks]: `{role}` must be a landmark expression (a string), got "
                       f"{_brief(expr)}", "[landmarks]", role)
        try:  # evaluated once on made-up landmarks, so a bad expression fails here
            ok = bool(np.isfinite(landmark_points(probe, {role: expr})[role]).all())
        except (InputError, ValueError, RecursionError):
            ok = False
        if not ok:
            raise fail(f"[landmarks]: `{role}` must be a landmark name, mean(a, b, ...) or "
                       f"lerp(a, b, t) with a finite t, got {_brief(expr)}", "[landmarks]", role)
        landmarks[role] = expr
    try:
        rig = Rig(data.get("name", path.stem), tuple(index), np.array(parents),
                  np.array(offsets), np.array(ends), tuple(roles), tuple(end_roles),
                  landmarks, str(path))
    except ValueError as exc:
        raise fail(str(exc)) from None
    missing = rig.missing_required()
    if missing:
        raise fail(f"rig {rig.name!r} is missing required joint roles: {', '.join(missing)}")
    problem = orientation_problem(rig)
    if problem:
        raise fail(f"rig {rig.name!r}: {problem} (rig files are Y up, facing +Z, the "
                   "character's left at +X)")
    return rig


def orientation_problem(rig: Rig) -> str | None:
    """Why ``rig``'s rest pose is not Y up / facing +Z / left at +X, or None if it is."""
    p = rig.points()
    if not p["head"][1] > p["hips"][1]:
        return "the head is not above the hips"
    if not p["left_hip"][0] > p["right_hip"][0] or not p["left_shoulder"][0] > \
            p["right_shoulder"][0]:
        return "the left side is not at +X"
    toes = [p[f"{s}_toe"] - p[f"{s}_ankle"] for s in ("left", "right") if f"{s}_toe" in p]
    if toes and not np.mean([t[2] for t in toes]) > 0:
        return "the toes do not point to +Z"
    return None


# ---------------------------------------------------------------------------------------
# BVH skeletons as rigs: units and roles from names + structure




def named_roles(where, names: tuple[str, ...], parents: np.ndarray, has_end: np.ndarray,
                bone_map: dict[str, str] | None, subject: str, among: str,
                ) -> tuple[list[str | None], list[str | None]]:
    """Roles and End Site roles of a skeleton's joints
    (:func:`mocap.skeleton.roles.mapped_roles`), or the one-line error about ``where``
    (a file) naming the required ``subject`` that are missing ``among`` its joints, what
    was recognised, the namings mocap knows and the bone map.

    Raises:
        InputError: a required joint not recognised, or a bone map naming a joint that
            is not there.
    """
    try:
        roles, end_roles, missing = mapped_roles(names, parents, has_end, bone_map)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    if missing:
        found = [f"{r}={n}" for r, n in zip(roles, names, strict=True) if r]
        raise InputError(
            f"{where}: cannot recognise {subject} {', '.join(missing)} among {among} "
            f"(recognised: {_name_list(found) or 'none'}; supported namings: "
            f"{SUPPORTED_NAMINGS}; or name them in a bone map: --bone-map, or "
            "--source-bone-map for retarget's source)")
    return roles, end_roles


def rig_from_bvh(bvh: BvhData, unit: str | None = None,
                 bone_map: dict[str, str] | None = None) -> tuple[Rig, float]:
    """The hierarchy of a BVH file as a :class:`Rig` (roles from :func:`auto_roles`).

    Args:
        bvh: a :class:`mocap.io.bvh.BvhData`.
        unit: the file's unit (key of :data:`METRES_PER_UNIT`); None recognises it from the
            rest height.
        bone_map: role -> joint name over the recognised roles (``--bone-map``).

    Returns:
        ``(rig, scale)``: the rig in metres and the file's metres per unit.

    Raises:
        InputError: required joints cannot be recognised (the message lists them and the
            joint names found).
    """
    has_end = ~np.isnan(bvh.end_sites[:, 0])
    roles, end_roles = named_roles(bvh.path, bvh.names, bvh.parents, has_end, bone_map,
                                   "required joints", _name_list(bvh.names))
    scale = bvh_unit_scale(bvh, unit)
    rig = Rig(Path(bvh.path).stem, bvh.names, bvh.parents, bvh.offsets * scale,
              bvh.end_sites * scale, roles, end_roles, source=bvh.path)
    return rig, scale


def bvh_unit_scale(bvh: BvhData, unit: str | None = None) -> float:
    """Metres per unit of a BVH file (``unit`` forces it; None recognises it)."""
    if unit:
        return metres_per(unit)
    rig = Rig("tmp", bvh.names, bvh.parents, bvh.offsets, bvh.end_sites)
    return METRES_PER_UNIT[detect_unit(rig.height())]
