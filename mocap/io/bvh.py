"""Read and validate BVH motion files, fast and strictly.

The reader keeps the file faithful (names, parents, offsets, each joint's own channel order,
raw motion values in file units) in a :class:`BvhData`; :func:`bvh_rotations` turns it into
local rotations honouring each joint's channel order (BVH Euler angles are *intrinsic*: a
``Zrotation Xrotation Yrotation`` joint is ``Rz @ Rx @ Ry``, scipy's uppercase ``"ZXY"``).

Every problem in the file is reported as one :class:`~mocap.errors.InputError` line naming
the file and line number; nothing is half-read. Numbers are read strictly: ASCII decimal only
(Python's ``float()`` would also take ``1_0`` or other scripts' digits), finite and at most
:data:`MAX_ABS_VALUE` in size; ``Frame Time`` lies in :data:`FRAME_TIME_RANGE`. A UTF-8 byte
order mark at the start is skipped.

Position channels replace the matching component of the joint's ``OFFSET`` (what Blender's
importer and bvhio do), so a root with ``OFFSET 0 0 0`` and absolute ``Xposition`` values
and a root with a rest offset both read correctly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.errors import InputError, shape_error
from mocap.fileio import read_input
from mocap.types import check_hierarchy

POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
ROTATION_CHANNELS = ("Xrotation", "Yrotation", "Zrotation")
_VALID_CHANNELS = frozenset(POSITION_CHANNELS + ROTATION_CHANNELS)


@dataclass
class BvhData:
    """A BVH file as written: skeleton in file units plus the raw motion table.

    Attributes:
        names: (J,) joint names in file order (depth-first, parents before children).
        parents: (J,) int64, parent index per joint, -1 for the root.
        offsets: (J, 3) float64, file units, each joint's OFFSET from its parent.
        channels: J tuples of channel names, in the file's order for that joint.
        end_sites: (J, 3) float64, file units, End Site offset per joint (NaN where the joint
            has no End Site).
        frame_time: seconds per frame.
        motion: (T, C) float64, file units / degrees, C = total number of channels.
        path: the file it came from (for messages).
    """

    names: tuple[str, ...]
    parents: np.ndarray
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    end_sites: np.ndarray
    frame_time: float
    motion: np.ndarray
    path: str = field(default="<memory>")

    def __post_init__(self) -> None:
        j = len(self.names)
        self.parents = np.asarray(self.parents, np.int64)
        self.offsets = np.asarray(self.offsets, np.float64)
        self.end_sites = np.asarray(self.end_sites, np.float64)
        self.motion = np.asarray(self.motion, np.float64)
        check_hierarchy(j, self.parents, self.offsets, self.end_sites)
        if len(self.channels) != j:
            raise ValueError(f"`channels` must have one entry per joint ({j}), "
                             f"got {len(self.channels)}")
        c = sum(len(ch) for ch in self.channels)
        if self.motion.ndim != 2 or self.motion.shape[1] != c:
            raise shape_error("motion", f"(T, {c})", self.motion.shape)

    def __len__(self) -> int:
        return len(self.motion)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    @property
    def channel_starts(self) -> np.ndarray:
        """(J,) int64 column of each joint's first channel in :attr:`motion`."""
        sizes = [len(ch) for ch in self.channels]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _err(path: str, line: int, msg: str) -> InputError:
    return InputError(f"{path}:{line}: {msg}")


#: Largest magnitude accepted for an OFFSET or motion value (file units or degrees).
MAX_ABS_VALUE = 1e7
#: Accepted seconds per frame (10,000 fps to 0.1 fps).
FRAME_TIME_RANGE = (1e-4, 10.0)

# ASCII only: Python's float()/int() also take "1_0", "²" and other scripts' digits
_NUM = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_MAX_COUNT_DIGITS = 15


def _brief(text: str, limit: int = 40) -> str:
    """``repr(text)``, cut to about ``limit`` characters (messages stay one short line)."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def _float(tok: str, path: str, line: int, what: str) -> float:
    """A finite number within :data:`MAX_ABS_VALUE`, written in ASCII."""
    if not _NUM.fullmatch(tok):
        raise _err(path, line, f"{what} must be a number, got {_brief(tok)}")
    value = float(tok)
    if not abs(value) <= MAX_ABS_VALUE:
        raise _err(path, line, f"{what} must be within +-{MAX_ABS_VALUE:g}, got {_brief(tok)}")
    return value


def _count(tok: str, path: str, line: int, what: str) -> int:
    """A non-negative integer written in ASCII digits."""
    if not _DIGITS.fullmatch(tok):
        raise _err(path, line, f"{what} must be a non-negative integer, got {_brief(tok)}")
    if len(tok) > _MAX_COUNT_DIGITS:
        raise _err(path, line, f"{what} is too large, got {_brief(tok)}")
    return int(tok)


def parse_bvh(text: str, path: str = "<memory>") -> BvhData:
    """Parse BVH text into a :class:`BvhData` (see :func:`read_bvh`)."""
    lines = text.removeprefix("\ufeff").splitlines()  # a UTF-8 byte order mark is skipped
    n = len(lines)
    i = 0

    def next_tokens() -> tuple[int, list[str]]:
        nonlocal i
        while i < n:
            toks = lines[i].split()
            i += 1
            if toks:
                return i, toks
        raise _err(path, n, "unexpected end of file inside HIERARCHY (no MOTION section)")

    ln, toks = next_tokens()
    if toks[0].upper() != "HIERARCHY":
        raise _err(path, ln, f"expected 'HIERARCHY', got {_brief(toks[0])}")

    names: list[str] = []
    seen_names: set[str] = set()
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    end_sites: list[list[float]] = []
    stack: list[int] = []  # joint index per open brace; -2 marks an End Site block
    expect_root = True
    pending: int | None = None  # joint (or -2) whose '{' we expect next
    seen_root = False

    while True:
        ln, toks = next_tokens()
        head = toks[0]
        key = head.upper()
        if key in ("ROOT", "JOINT"):
            if pending is not None:
                raise _err(path, ln, f"expected '{{' before {head}")
            if key == "ROOT" and (seen_root or stack):
                raise _err(path, ln, "only one ROOT is supported and it must come first")
            if key == "JOINT" and (expect_root or not stack or stack[-1] < 0):
                raise _err(path, ln, "JOINT outside a ROOT or JOINT block")
            if len(toks) < 2:
                raise _err(path, ln, f"{head} needs a name")
            name = " ".join(toks[1:])
            if name in seen_names:
                raise _err(path, ln, f"duplicate joint name {_brief(name)}")
            names.append(name)
            seen_names.add(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append([np.nan] * 3)
            channels.append(())
            end_sites.append([np.nan] * 3)
            pending = len(names) - 1
            expect_root = False
            seen_root = True
        elif key == "END":
            if pending is not None or not stack or stack[-1] < 0:
                raise _err(path, ln, "End Site outside a joint block")
            pending = -2
        elif head == "{":
            if pending is None:
                raise _err(path, ln, "unexpected '{'")
            stack.append(pending)
            pending = None
        elif head == "}":
            if pending is not None or not stack:
                raise _err(path, ln, "unexpected '}'")
            closed = stack.pop()
            if closed >= 0 and np.isnan(offsets[closed][0]):
                raise _err(path, ln, f"joint {_brief(names[closed])} has no OFFSET")
            if not stack:
                # hierarchy done; MOTION must follow
                ln, toks = next_tokens()
                if toks[0].upper() != "MOTION":
                    raise _err(path, ln, f"expected 'MOTION', got {_brief(toks[0])}")
                break
        elif key == "OFFSET":
            if pending is not None or not stack:
                raise _err(path, ln, "OFFSET outside a joint block")
            if len(toks) != 4:
                raise _err(path, ln, f"OFFSET needs 3 numbers, got {len(toks) - 1}")
            vals = [_float(t, path, ln, "OFFSET value") for t in toks[1:]]
            if stack[-1] == -2:
                end_sites[stack[-2]] = vals
            else:
                offsets[stack[-1]] = vals
        elif key == "CHANNELS":
            if pending is not None or not stack or stack[-1] < 0:
                raise _err(path, ln, "CHANNELS outside a joint block")
            if len(toks) < 2:
                raise _err(path, ln, "CHANNELS needs a count")
            count = _count(toks[1], path, ln, "the CHANNELS count")
            chans = tuple(toks[2:])
            if len(chans) != count:
                raise _err(path, ln, f"CHANNELS says {count} channels but lists {len(chans)}")
            bad = [c for c in chans if c not in _VALID_CHANNELS]
            if bad:
                raise _err(path, ln, f"unknown channel {_brief(bad[0])} (valid: "
                                     f"{', '.join(POSITION_CHANNELS + ROTATION_CHANNELS)})")
            if len(set(chans)) != len(chans):
                raise _err(path, ln, "repeated channel")
            channels[stack[-1]] = chans
        elif key == "MOTION":
            raise _err(path, ln, f"MOTION inside an unclosed block ({len(stack)} '{{' open)")
        else:
            raise _err(path, ln, f"unexpected {_brief(head)} in HIERARCHY")

    if not names:
        raise _err(path, ln, "no joints in HIERARCHY")

    # MOTION header
    frames, frame_time, i = _motion_header(lines, i, path)
    ncols = sum(len(c) for c in channels)
    body = lines[i:i + frames]
    # Blank trailing lines are fine; blank lines inside the block are not.
    if len(body) < frames or (frames and not body[-1].strip()):
        got = sum(1 for b in body if b.strip())
        raise _err(path, min(i + len(body), n) or 1,
                   f"truncated motion: header says {frames} frames, file has {got}")
    counts = [len(b.split()) for b in body]
    if frames:
        counts_arr = np.asarray(counts)
        bad = np.flatnonzero(counts_arr != ncols)
        if bad.size:
            k = int(bad[0])
            raise _err(path, i + k + 1, f"frame {k} has {counts[k]} values, expected {ncols} "
                                        f"(the channel count of the HIERARCHY)")
    for extra in range(i + frames, n):
        if lines[extra].strip():
            raise _err(path, extra + 1, f"more motion lines than the {frames} frames the "
                                        f"header declares")
    blob = " ".join(body)
    try:
        # float() also reads "1_0" and other scripts' digits: those take the slow path
        if not blob.isascii() or "_" in blob:
            raise ValueError
        motion = np.array(blob.split(), dtype=np.float64).reshape(frames, ncols)
    except ValueError:
        for k, b in enumerate(body):
            for tok in b.split():
                if tok.lower().lstrip("+-") not in ("nan", "inf", "infinity"):
                    _float(tok, path, i + k + 1, f"frame {k} value")
        motion = np.array(blob.split(), dtype=np.float64).reshape(frames, ncols)
    if not np.isfinite(motion).all():
        k = int(np.flatnonzero(~np.isfinite(motion).all(axis=1))[0])
        raise _err(path, i + k + 1, f"frame {k} has a non-finite value (nan or inf)")
    if motion.size and not np.abs(motion).max() <= MAX_ABS_VALUE:
        k = int(np.flatnonzero((np.abs(motion) > MAX_ABS_VALUE).any(axis=1))[0])
        raise _err(path, i + k + 1, f"frame {k} has a value beyond +-{MAX_ABS_VALUE:g}")
    return BvhData(tuple(names), np.array(parents), np.array(offsets), tuple(channels),
                   np.array(end_sites), frame_time, motion, path)


def _motion_header(lines: list[str], i: int, path: str) -> tuple[int, float, int]:
    n = len(lines)

    def take(label: str) -> tuple[int, str]:
        nonlocal i
        while i < n and not lines[i].strip():
            i += 1
        if i >= n:
            raise _err(path, n, f"missing '{label}' after MOTION")
        line = lines[i]
        i += 1
        if not line.strip().lower().startswith(label.lower()):
            raise _err(path, i, f"expected '{label}', got {line.strip()[:40]!r}")
        return i, line.split(":", 1)[1].strip() if ":" in line else ""

    ln, val = take("Frames:")
    frames = _count(val, path, ln, "Frames")
    ln, val = take("Frame Time:")
    if not _NUM.fullmatch(val):
        raise _err(path, ln, f"Frame Time must be a number, got {_brief(val)}")
    ft = float(val)
    if not ft > 0:
        raise _err(path, ln, f"Frame Time must be positive, got {_brief(val)}")
    lo, hi = FRAME_TIME_RANGE
    if not lo <= ft <= hi:
        raise _err(path, ln, f"Frame Time must be between {lo:g} and {hi:g} seconds per frame "
                             f"({1 / lo:g} to {1 / hi:g} fps), got {_brief(val)}")
    return frames, ft, i


def read_bvh(path: str | os.PathLike) -> BvhData:
    """Read and validate a BVH file.

    Args:
        path: the ``.bvh`` file.

    Returns:
        The file's skeleton and motion in file units (:class:`BvhData`).

    Raises:
        InputError: the file is missing, unreadable or malformed; the message is one line
            ``<file>:<line>: <what is wrong>``.
    """
    p = Path(path)
    if not p.exists() and not p.is_symlink():
        raise InputError(f"{p}: no such BVH file")
    data = read_input(p, "bvh")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not a text BVH file ({exc.reason})") from None
    # universal newlines, as reading in text mode did
    return parse_bvh(text.replace("\r\n", "\n").replace("\r", "\n"), str(p))


def bvh_local_transforms(bvh: BvhData, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Local rotations and translations of every joint over time.

    Args:
        bvh: the parsed file.
        scale: metres per file unit applied to offsets and position channels.

    Returns:
        ``(quats, trans)``: (T, J, 4) float64 xyzw local rotations, each joint's Euler
        channels applied in its own order (intrinsic), and (T, J, 3) float64 local
        translations (offset, with position channels replacing their components), scaled.
    """
    from scipy.spatial.transform import Rotation

    t, j = len(bvh.motion), len(bvh.names)
    quats = np.zeros((t, j, 4))
    quats[..., 3] = 1.0
    trans = np.broadcast_to(bvh.offsets * scale, (t, j, 3)).copy()
    starts = bvh.channel_starts
    groups: dict[str, list[tuple[int, list[int]]]] = {}
    for k, chans in enumerate(bvh.channels):
        rot_cols = []
        order = ""
        for c_i, c in enumerate(chans):
            col = int(starts[k]) + c_i
            if c in POSITION_CHANNELS:
                trans[:, k, POSITION_CHANNELS.index(c)] = bvh.motion[:, col] * scale
            else:
                rot_cols.append(col)
                order += c[0]
        if order:
            groups.setdefault(order, []).append((k, rot_cols))
    for order, items in groups.items():
        idx = [k for k, _ in items]
        cols = np.array([c for _, c in items])  # (G, n)
        ang = bvh.motion[:, cols]  # (T, G, n)
        if t == 0:
            continue
        r = Rotation.from_euler(order.upper(), ang.reshape(-1, len(order)), degrees=True)
        quats[:, idx] = r.as_quat().reshape(t, len(idx), 4)
    return quats, trans
