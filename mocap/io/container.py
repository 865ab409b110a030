"""What a phone wrote about its lens into a QuickTime/MP4 container.

Phones that record QuickTime metadata (iPhones; any recorder using Apple's keys) put the
lens's 35 mm-equivalent focal length in the movie's metadata: a ``meta`` atom (handler
``mdta``) under ``moov`` (or under ``moov/udta`` or a track) whose ``keys`` atom names
``com.apple.quicktime.camera.focal_length.35mm_equivalent`` and whose ``ilst`` atom holds
the value (a UTF-8 string or a big-endian number; QuickTime File Format, "Metadata").

Only the atoms are walked: a few small reads whatever the file's size (``moov`` is read
whole, up to :data:`MAX_MOOV`). Anything malformed, missing or implausible gives ``None``:
the metadata is a hint, never a reason to fail.

Example:
    >>> meta = lens_metadata("phone.mov")              # doctest: +SKIP
    >>> meta.focal_35mm, meta.focal_px((1920, 1080))   # 26.0, 1323.8
"""

from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass

__all__ = ["FOCAL_35MM_KEY", "LensMetadata", "lens_metadata"]

#: Apple's key for the lens's 35 mm-equivalent focal length, mm.
FOCAL_35MM_KEY = "com.apple.quicktime.camera.focal_length.35mm_equivalent"
#: Apple's key for the lens's name (``"iPhone 13 back camera 5.1mm f/1.6"``).
LENS_MODEL_KEY = "com.apple.quicktime.camera.lens_model"
#: The diagonal of a 36 x 24 mm frame: a 35 mm-equivalent focal length gives the same
#: diagonal angle of view on it (CIPA DC-008's "equivalent focal length").
FILM_DIAGONAL_MM = math.hypot(36.0, 24.0)
#: 35 mm-equivalent focal lengths mocap believes (ultra-wide to long telephoto), mm.
FOCAL_35MM_RANGE = (8.0, 1200.0)
#: The largest ``moov`` atom read (bytes; a phone's is well under 1 MB per minute).
MAX_MOOV = 64 << 20
_CONTAINERS = {b"moov", b"udta", b"trak"}  # atoms whose children may hold a meta atom


@dataclass(frozen=True)
class LensMetadata:
    """The lens as the container states it.

    Attributes:
        focal_35mm: 35 mm-equivalent focal length, mm.
        lens_model: the lens's name where written ("" if not).
    """

    focal_35mm: float
    lens_model: str = ""

    def focal_px(self, size: tuple[int, int]) -> float:
        """The focal length in px of a frame of ``size`` (width, height): the same
        diagonal angle of view as :attr:`focal_35mm` on a 36 x 24 mm frame."""
        return self.focal_35mm / FILM_DIAGONAL_MM * math.hypot(*size)


def lens_metadata(path: str | os.PathLike) -> LensMetadata | None:
    """The 35 mm-equivalent focal length a QuickTime/MP4 file's metadata states, or None
    (not such a file, no such key, a malformed atom, an implausible value)."""
    try:
        with open(path, "rb") as f:
            moov = _read_moov(f)
    except (OSError, struct.error, ValueError):  # unreadable, or cut inside an atom header
        return None
    if moov is None:
        return None
    items: dict[str, object] = {}
    for meta in _meta_atoms(moov):
        items.update(_meta_items(meta))
    focal = _number(items.get(FOCAL_35MM_KEY))
    if focal is None or not FOCAL_35MM_RANGE[0] <= focal <= FOCAL_35MM_RANGE[1]:
        return None
    model = items.get(LENS_MODEL_KEY)
    return LensMetadata(focal, model.strip() if isinstance(model, str) else "")


def _header(data: bytes, room: int) -> tuple[bytes, int, int] | None:
    """(type, size, header length) of the atom whose header starts ``data`` (its first 16
    bytes, or fewer) with ``room`` bytes left for it (None: malformed, or larger than that
    room). A size of 1 means a 64-bit size follows; 0, the atom runs to the end."""
    if len(data) < 8:
        return None
    size, kind = struct.unpack_from(">I4s", data)
    head = 8
    if size == 1:
        if len(data) < 16:
            return None
        size, head = struct.unpack_from(">Q", data, 8)[0], 16
    elif size == 0:
        size = room
    return None if size < head or size > room else (kind, size, head)


def _read_moov(f) -> bytes | None:
    """The payload of the file's top-level ``moov`` atom (None: none, or not an atom file)."""
    end = os.fstat(f.fileno()).st_size
    pos = 0
    while True:
        f.seek(pos)
        atom = _header(f.read(16), end - pos)
        if atom is None or not atom[0].isascii():
            return None
        kind, size, head = atom
        if kind == b"moov":
            if size - head > MAX_MOOV:
                return None
            f.seek(pos + head)
            return f.read(size - head)
        pos += size


def _atoms(data: bytes):
    """(type, payload) of each atom laid end to end in ``data``; stops at a malformed one."""
    pos = 0
    while (atom := _header(data[pos:pos + 16], len(data) - pos)) is not None:
        kind, size, head = atom
        yield kind, data[pos + head:pos + size]
        pos += size


def _meta_atoms(moov: bytes):
    """The payloads of the ``meta`` atoms in ``moov``, its ``udta`` and its tracks."""
    for kind, payload in _atoms(moov):
        if kind == b"meta":
            yield payload
        elif kind in _CONTAINERS:
            yield from _meta_atoms(payload)


def _meta_items(meta: bytes) -> dict[str, object]:
    """key -> value of one ``meta`` atom's ``keys``/``ilst`` pair."""
    # QuickTime's meta holds atoms directly; ISO's is a full box (4 bytes of version/flags)
    children = meta if meta[4:8] in (b"hdlr", b"keys", b"ilst") else meta[4:]
    found = dict(_atoms(children))
    if b"keys" not in found or b"ilst" not in found:
        return {}
    keys = _keys(found[b"keys"])
    items = {}
    for kind, payload in _atoms(found[b"ilst"]):
        index = struct.unpack(">I", kind)[0]  # 1-based index into keys
        if 1 <= index <= len(keys):
            for data_kind, data in _atoms(payload):
                if data_kind == b"data" and len(data) >= 8:
                    items[keys[index - 1]] = _value(data[:4], data[8:])
                    break
    return items


def _keys(atom: bytes) -> list[str]:
    """The key names of a ``keys`` atom (version/flags, count, then size/namespace/name)."""
    if len(atom) < 8:
        return []
    count = struct.unpack_from(">I", atom, 4)[0]
    names, pos = [], 8
    for _ in range(count):
        if pos + 8 > len(atom):
            break
        size = struct.unpack_from(">I", atom, pos)[0]
        if size < 8 or pos + size > len(atom):
            break
        names.append(atom[pos + 8:pos + size].decode("utf-8", "replace"))
        pos += size
    return names


def _value(type_indicator: bytes, raw: bytes) -> object:
    """A ``data`` atom's value by its well-known type (1 UTF-8, 21/22 integers, 23/24
    floats; anything else None)."""
    kind = int.from_bytes(type_indicator[1:], "big")
    if kind == 1:
        return raw.decode("utf-8", "replace")
    if kind in (21, 22) and len(raw) in (1, 2, 4, 8):
        return int.from_bytes(raw, "big", signed=kind == 21)
    if kind == 23 and len(raw) == 4:
        return struct.unpack(">f", raw)[0]
    if kind == 24 and len(raw) == 8:
        return struct.unpack(">d", raw)[0]
    return None


def _number(value: object) -> float | None:
    """A finite number from a value stored as a number or as text (``"26"``), else None."""
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
