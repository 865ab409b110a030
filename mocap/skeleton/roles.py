"""Joint roles recognised from names and structure: which joint of any skeleton is the
left knee, the chest, the head (CMU MotionBuilder and 3dsMax namings, Mixamo, SMPL,
Daz/Second Life and Genesis, Unreal/UE5, Biped, Rigify's ``DEF-`` bones, VRoid/VRM
``J_Bip_``, Character Creator ``CC_Base_``), plus the role vocabulary and its mirror."""

from __future__ import annotations

import re

import numpy as np

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


_PREFIX = re.compile(r"^(mixamorig\d*:|bip0*1[ _]?|def[-_]|cc_base_|rig:|j_bip_c_|j_bip_|"
                     r"[a-z0-9_]+:)", re.I)
#: Segments of a limb bone split for twisting (UE5 ``upperarm_twist_01_l``, Daz
#: ``lForearmTwist``, Character Creator ``CC_Base_L_ForearmTwist01``) or continued (Rigify's
#: ``DEF-forearm.L.001``): a hand's or foot's parent of this kind is not the elbow or knee.
_PART = re.compile(r"(twist|roll|share)|\.\d{3}$", re.I)


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
    parent_of = [int(p) for p in parents]
    kids: list[list[int]] = [[] for _ in range(j)]  # one pass: large skeletons stay linear
    for c, p in enumerate(parent_of):
        if p >= 0:
            kids[p].append(c)

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
            k = parent_of[k]
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

    def up(k: int) -> int:
        """``k``'s parent, past twist and continuation segments (-1: none)."""
        p = parent_of[k]
        while p >= 0 and _PART.search(names[p]) and parent_of[p] >= 0:
            p = parent_of[p]
        return p

    def chain_tip(k: int) -> tuple[int | None, bool]:
        """(first child, or None and whether the joint has an End Site)."""
        return (kids[k][0] if kids[k] else None), bool(has_end[k])

    for side in ("left", "right"):
        wrist = find_sided(_HAND_WORDS, side)
        ankle = find_sided(_FOOT_WORDS, side)
        if wrist is not None and up(wrist) >= 0 and up(up(wrist)) >= 0:
            elbow = up(wrist)
            shoulder = up(elbow)
            roles[wrist], roles[elbow], roles[shoulder] = (
                f"{side}_wrist", f"{side}_elbow", f"{side}_shoulder")
            taken = set(roles)
            for c in kids[wrist]:
                n = norm[c]
                tag = ("thumb" if "thumb" in n else "index" if "index" in n
                       else "pinky" if ("pinky" in n or "little" in n) else None)
                if tag and f"{side}_{tag}" not in taken:
                    roles[c] = f"{side}_{tag}"
                    taken.add(roles[c])
            rest = [c for c in kids[wrist] if roles[c] is None]
            if rest and f"{side}_fingers" not in roles and f"{side}_index" not in roles:
                roles[rest[0]] = f"{side}_fingers"
        if ankle is not None and up(ankle) >= 0 and up(up(ankle)) >= 0:
            knee = up(ankle)
            hip = up(knee)
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
    chest = lca(ls, rs) if ls is not None and rs is not None else None
    if hips is not None and chest is not None and hips not in ancestors(chest):
        # the legs hang from a pelvis bone beside the spine (Character Creator, Daz): the
        # hips are the joint both come from
        hips = lca(hips, chest)
    if hips is not None and roles[hips] is None:
        roles[hips] = "hips"
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
    if head is None and chest is not None:
        # no joint called head (Rigify's DEF-spine.006): where the longest chain above
        # the chest that leads to neither arm ends or branches (into a face)
        arms = {k for s in (ls, rs) if s is not None for k in ancestors(s)}

        def run(k: int) -> int:  # joints from k down its single-child chain
            n = 1
            while len(kids[k]) == 1:
                k, n = kids[k][0], n + 1
            return n

        up_chain = [c for c in kids[chest] if c not in arms]
        if up_chain:
            top = max(up_chain, key=run)
            head = top
            while len(kids[head]) == 1:
                head = kids[head][0]
            if head == top:
                head = None  # a single joint over the chest: no neck and head to tell
    if head is not None and roles[head] is None:
        roles[head] = "head"
        tip, end = chain_tip(head)
        if tip is not None and len(kids[head]) == 1 and roles[tip] is None:  # not a face
            roles[tip] = "head_top"
        elif end:
            end_roles[head] = "head_top"
        if chest is not None:
            nk = path_child(chest, head)
            if nk is not None and nk != head and roles[nk] is None:
                roles[nk] = "neck"
    return roles, end_roles, _missing(roles, end_roles)


def _missing(roles: list[str | None], end_roles: list[str | None]) -> list[str]:
    """The required roles no joint or End Site has."""
    have = {r for r in roles + end_roles if r}
    return [r for r in REQUIRED_ROLES if r not in have]


def mapped_roles(names: tuple[str, ...], parents: np.ndarray, has_end: np.ndarray,
                 bone_map: dict[str, str] | None = None,
                 ) -> tuple[list[str | None], list[str | None], list[str]]:
    """:func:`auto_roles`, then a user's bone map (role -> joint name, ``--bone-map``) over
    it: each mapped joint takes its role (from whichever joint had it before).

    Raises:
        ValueError: a mapped joint name that is not in the skeleton (the message lists the
            first few names there are).
    """
    roles, end_roles, _ = auto_roles(names, parents, has_end)
    for role, name in (bone_map or {}).items():
        if name not in names:
            shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
            raise ValueError(f"the bone map gives {role} = {name!r}, a joint the skeleton "
                             f"does not have (its joints: {shown})")
        roles = [None if r == role else r for r in roles]
        end_roles = [None if r == role else r for r in end_roles]
        roles[names.index(name)] = role
    return roles, end_roles, _missing(roles, end_roles)


def mirror_role(role: str) -> str:
    if role.startswith("left_"):
        return "right_" + role[5:]
    if role.startswith("right_"):
        return "left_" + role[6:]
    return role
