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

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.io.bvh import BvhData, read_bvh
from mocap.skeleton.roles import REQUIRED_ROLES, ROLES, auto_roles
from mocap.types import check_hierarchy
from mocap.units import METRES_PER_UNIT, detect_unit, metres_per

#: Units a rig TOML file may give its offsets in.
TOML_UNITS = ("m", "cm", "mm")



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
            dup = next(n for n in self.joints if self.joints.count(n) > 1)
            raise ValueError(f"rig {self.name!r}: duplicate joint name {dup!r}")
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
            dup = next(r for r in used if used.count(r) > 1)
            raise ValueError(f"rig {self.name!r}: role {dup!r} is given to two joints")

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


def load_rig(spec: str | os.PathLike) -> Rig:
    """Resolve a rig by name (``"cmu"``, ``"mixamo"``, ``"smpl"``) or load a file.

    Args:
        spec: a shipped rig name, a ``.toml`` rig file or a ``.bvh`` file whose hierarchy
            becomes the rig (roles recognised from joint names).

    Raises:
        InputError: unknown name (the message lists the valid names), unreadable or invalid
            file, or a rig missing a required joint.
    """
    s = os.fspath(spec)
    p = Path(s)
    if p.suffix.lower() == ".bvh":
        return rig_from_bvh(read_bvh(p))[0]
    if p.suffix.lower() == ".toml":
        return _rig_from_toml(p)
    names = available_rigs()
    if s in names:
        return _rig_from_toml(rigs_dir() / f"{s}.toml")
    raise InputError(f"unknown rig {s!r}; valid rig names: {', '.join(names) or '(none found)'}"
                     " (or give a .toml or .bvh file)")


def _line_of(text: str, needle: str) -> int:
    for k, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return k
    return 1


def _rig_from_toml(path: Path) -> Rig:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read rig file ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML ({exc})") from None

    def fail(msg: str, needle: str | None = None) -> InputError:
        line = _line_of(text, needle) if needle else 1
        return InputError(f"{path}:{line}: {msg}")

    unit = data.get("units", "m")
    if unit not in TOML_UNITS:
        raise fail(f"units must be one of {', '.join(TOML_UNITS)}, got {unit!r}", "units")
    scale = METRES_PER_UNIT[unit]
    joints = data.get("joints")
    if not isinstance(joints, list) or not joints:
        raise fail("a rig file needs [[joints]] tables")
    names: list[str] = []
    parents: list[int] = []
    offsets, ends, roles, end_roles = [], [], [], []
    for k, jt in enumerate(joints):
        name = jt.get("name")
        if not isinstance(name, str) or not name:
            raise fail(f"joint #{k + 1} needs a name")
        needle = f'"{name}"'
        parent = jt.get("parent", "")
        if parent == "":
            if names:
                raise fail(f"joint {name!r}: only the first joint may be the root", needle)
            parents.append(-1)
        elif parent not in names:
            raise fail(f"joint {name!r}: parent {parent!r} is not defined before it", needle)
        else:
            parents.append(names.index(parent))
        off = jt.get("offset")
        if not (isinstance(off, list) and len(off) == 3
                and all(isinstance(v, int | float) for v in off)):
            raise fail(f"joint {name!r}: offset must be 3 numbers", needle)
        end = jt.get("end")
        if end is not None and not (isinstance(end, list) and len(end) == 3):
            raise fail(f"joint {name!r}: end must be 3 numbers", needle)
        role = jt.get("role")
        if role is not None and role not in ROLES:
            raise fail(f"joint {name!r}: unknown role {role!r}", needle)
        end_role = jt.get("end_role")
        if end_role is not None and end_role not in ROLES:
            raise fail(f"joint {name!r}: unknown end_role {end_role!r}", needle)
        names.append(name)
        offsets.append(np.array(off, float) * scale)
        ends.append(np.array(end, float) * scale if end is not None else np.full(3, np.nan))
        roles.append(role)
        end_roles.append(end_role)
    landmarks = dict(DEFAULT_LANDMARKS)
    extra = data.get("landmarks", {})
    for role, expr in extra.items():
        if role not in ROLES:
            raise fail(f"[landmarks]: unknown role {role!r}", f"{role}")
        landmarks[role] = str(expr)
    try:
        rig = Rig(str(data.get("name", path.stem)), tuple(names), np.array(parents),
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




def rig_from_bvh(bvh: BvhData, unit: str | None = None) -> tuple[Rig, float]:
    """The hierarchy of a BVH file as a :class:`Rig` (roles from :func:`auto_roles`).

    Args:
        bvh: a :class:`mocap.io.bvh.BvhData`.
        unit: the file's unit (key of :data:`METRES_PER_UNIT`); None recognises it from the
            rest height.

    Returns:
        ``(rig, scale)``: the rig in metres and the file's metres per unit.

    Raises:
        InputError: required joints cannot be recognised (the message lists them and the
            joint names found).
    """
    has_end = ~np.isnan(bvh.end_sites[:, 0])
    roles, end_roles, missing = auto_roles(bvh.names, bvh.parents, has_end)
    if missing:
        raise InputError(
            f"{bvh.path}: cannot recognise required joints {', '.join(missing)} among "
            f"{', '.join(bvh.names)} (supported namings: CMU, Mixamo, SMPL, Daz/Second Life)")
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
