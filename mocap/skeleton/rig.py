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
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mocap.errors import InputError, shape_error

if TYPE_CHECKING:
    from mocap.io.bvh import BvhData

_SIDED = ("collar", "shoulder", "elbow", "wrist", "fingers", "index", "pinky", "thumb",
          "hip", "knee", "ankle", "heel", "toe", "toe_end", "ear")
#: Body points a joint (or End Site) can sit at. "left" is the character's left (+X).
ROLES: tuple[str, ...] = (
    "hips", "spine", "chest", "neck", "head", "head_top", "nose",
    *(f"{side}_{part}" for part in _SIDED for side in ("left", "right")),
)
#: Roles every humanoid rig must have (the rest are used when present).
REQUIRED_ROLES: tuple[str, ...] = (
    "hips", "chest", "head",
    *(f"{side}_{part}" for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
      for side in ("left", "right")),
)

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

_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}


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
        if self.parents.shape != (j,):
            raise shape_error("parents", "(J,)", self.parents.shape)
        if self.offsets.shape != (j, 3):
            raise shape_error("offsets", "(J, 3)", self.offsets.shape)
        if self.end_sites.shape != (j, 3):
            raise shape_error("end_sites", "(J, 3)", self.end_sites.shape)
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
        from mocap.io.bvh import read_bvh

        return rig_from_bvh(read_bvh(p))
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
    if unit not in _UNITS:
        raise fail(f"units must be one of {', '.join(_UNITS)}, got {unit!r}", "units")
    scale = _UNITS[unit]
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

_PREFIX = re.compile(r"^(mixamorig\d*:|bip0*1[ _]?|def[-_]|cc_base_|rig:|[a-z0-9_]+:)", re.I)

#: metres per unit, candidates for a BVH file's unit (CMU's ASF unit is inch / 0.45).
UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254, "cmu": 0.0254 / 0.45}


def detect_unit(height: float) -> str:
    """The unit (key of :data:`UNIT_SCALES`) that makes a rest ``height`` most human-sized.

    Body height in metres is assumed near 1.7 m (children and tall adults still resolve).
    """
    if not height > 0:
        return "m"
    return min(UNIT_SCALES, key=lambda u: abs(np.log(height * UNIT_SCALES[u] / 1.7)))


def _norm(name: str) -> str:
    n = _PREFIX.sub("", name.strip())
    return re.sub(r"[^a-z0-9]", "", n.lower())


def _side_of(norm: str, base_words: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(side, base) when ``norm`` is a sided name like leftarm / lshldr / handleft / l_hand."""
    for side, prefixes in (("left", ("left", "l")), ("right", ("right", "r"))):
        for pre in prefixes:
            for base in base_words:
                if norm in (pre + base, base + pre):
                    return side, base
    return None, None


_HAND_WORDS = ("wrist", "hand")
_FOOT_WORDS = ("ankle", "foot")
_TOE_WORDS = ("toebase", "toe", "toes", "foot", "ball")


def auto_roles(names: tuple[str, ...], parents: np.ndarray, has_end: np.ndarray,
               ) -> tuple[list[str | None], list[str | None], list[str]]:
    """Recognise body roles in a skeleton from joint names and structure.

    Args:
        names: (J,) joint names.
        parents: (J,) parent indices (-1 root), topological order.
        has_end: (J,) bool, whether the joint has an End Site.

    Returns:
        ``(roles, end_roles, missing)``: per-joint roles, per-joint End Site roles and the
        required roles that could not be found.
    """
    j = len(names)
    norm = [_norm(n) for n in names]
    roles: list[str | None] = [None] * j
    end_roles: list[str | None] = [None] * j
    kids = [[c for c in range(j) if parents[c] == k] for k in range(j)]

    def find_sided(words: tuple[str, ...], side: str) -> int | None:
        for w in words:  # word order is preference order (wrist before hand)
            for k in range(j):
                s, _ = _side_of(norm[k], (w,))
                if s == side:
                    return k
        return None

    def ancestors(k: int) -> list[int]:
        out = []
        while k >= 0:
            out.append(k)
            k = int(parents[k])
        return out

    def lca(a: int, b: int) -> int:
        anc = set(ancestors(a))
        return next(k for k in ancestors(b) if k in anc)

    def path_child(top: int, bottom: int) -> int | None:
        """Child of ``top`` on the way down to ``bottom``."""
        prev = None
        for k in ancestors(bottom):
            if k == top:
                return prev
            prev = k
        return None

    def named(words: tuple[str, ...]) -> int | None:
        for w in words:
            for k in range(j):
                if norm[k] == w:
                    return k
        return None

    def chain_tip(k: int) -> tuple[int | None, bool]:
        """(first child, or None and whether the joint has an End Site)."""
        return (kids[k][0] if kids[k] else None), bool(has_end[k])

    for side in ("left", "right"):
        wrist = find_sided(_HAND_WORDS, side)
        ankle = find_sided(_FOOT_WORDS, side)
        if wrist is not None and parents[wrist] >= 0 and parents[parents[wrist]] >= 0:
            elbow = int(parents[wrist])
            shoulder = int(parents[elbow])
            roles[wrist], roles[elbow], roles[shoulder] = (
                f"{side}_wrist", f"{side}_elbow", f"{side}_shoulder")
            for c in kids[wrist]:
                n = norm[c]
                tag = ("thumb" if "thumb" in n else "index" if "index" in n
                       else "pinky" if ("pinky" in n or "little" in n) else None)
                if tag and f"{side}_{tag}" not in roles:
                    roles[c] = f"{side}_{tag}"
            rest = [c for c in kids[wrist] if roles[c] is None]
            if rest and f"{side}_fingers" not in roles and f"{side}_index" not in roles:
                roles[rest[0]] = f"{side}_fingers"
        if ankle is not None and parents[ankle] >= 0 and parents[parents[ankle]] >= 0:
            knee = int(parents[ankle])
            hip = int(parents[knee])
            roles[ankle], roles[knee], roles[hip] = (
                f"{side}_ankle", f"{side}_knee", f"{side}_hip")
            toe, end = chain_tip(ankle)
            if toe is not None:
                roles[toe] = f"{side}_toe"
                tip, tip_end = chain_tip(toe)
                if tip is not None:
                    roles[tip] = f"{side}_toe_end"
                elif tip_end:
                    end_roles[toe] = f"{side}_toe_end"
            elif end:
                end_roles[ankle] = f"{side}_toe"
    def at(role: str) -> int | None:
        return roles.index(role) if role in roles else None

    ls, rs, lh, rh = at("left_shoulder"), at("right_shoulder"), at("left_hip"), at("right_hip")
    hips = lca(lh, rh) if lh is not None and rh is not None else named(("hips", "hip", "pelvis"))
    if hips is not None and roles[hips] is None:
        roles[hips] = "hips"
    chest = lca(ls, rs) if ls is not None and rs is not None else None
    if chest is not None and roles[chest] is None:
        roles[chest] = "chest"
        for side, s in (("left", ls), ("right", rs)):
            col = int(parents[s])
            if col != chest and roles[col] is None:
                roles[col] = f"{side}_collar"
        if hips is not None and chest != hips:
            sp = path_child(hips, chest)
            if sp is not None and sp != chest and roles[sp] is None:
                roles[sp] = "spine"
    head = named(("head",))
    if head is not None and roles[head] is None:
        roles[head] = "head"
        tip, end = chain_tip(head)
        if tip is not None and roles[tip] is None:
            roles[tip] = "head_top"
        elif end:
            end_roles[head] = "head_top"
        if chest is not None:
            nk = path_child(chest, head)
            if nk is not None and nk != head and roles[nk] is None:
                roles[nk] = "neck"
    have = {r for r in roles + end_roles if r}
    missing = [r for r in REQUIRED_ROLES if r not in have]
    return roles, end_roles, missing


def rig_from_bvh(bvh: BvhData, unit: str | None = None) -> Rig:
    """The hierarchy of a BVH file as a :class:`Rig` (roles from :func:`auto_roles`).

    Args:
        bvh: a :class:`mocap.io.bvh.BvhData`.
        unit: the file's unit (key of :data:`UNIT_SCALES`); None recognises it from the rest
            height.

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
    scale = UNIT_SCALES[unit] if unit else 1.0
    tmp = Rig(Path(bvh.path).stem, bvh.names, bvh.parents, bvh.offsets * scale,
              bvh.end_sites * scale, roles, end_roles, source=bvh.path)
    if unit is None:
        scale = UNIT_SCALES[detect_unit(tmp.height())]
        tmp = tmp.with_offsets(tmp.offsets * scale, tmp.end_sites * scale)
    return tmp


def bvh_unit_scale(bvh: BvhData, unit: str | None = None) -> float:
    """Metres per unit of a BVH file (``unit`` forces it; None recognises it)."""
    if unit:
        if unit not in UNIT_SCALES:
            raise InputError(f"unknown unit {unit!r}; valid units: {', '.join(UNIT_SCALES)}")
        return UNIT_SCALES[unit]
    rig = Rig("tmp", bvh.names, bvh.parents, bvh.offsets, bvh.end_sites)
    return UNIT_SCALES[detect_unit(rig.height())]
