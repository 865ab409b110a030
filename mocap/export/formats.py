"""Output format names, and the one parser of ``--formats`` / ``--to`` lists."""

from __future__ import annotations

from collections.abc import Sequence

from mocap.errors import InputError

#: Per-person trajectory files (:mod:`mocap.export.data`).
DATA_FORMATS: tuple[str, ...] = ("json", "npz", "csv")
#: Formats written through Blender (:mod:`mocap.export.blender`).
BLENDER_FORMATS: tuple[str, ...] = ("fbx", "glb")
#: Everything ``mocap convert`` writes per person.
FORMATS: tuple[str, ...] = ("bvh", *DATA_FORMATS, *BLENDER_FORMATS)
#: ``mocap convert``'s default.
DEFAULT_FORMATS: tuple[str, ...] = ("bvh", "json")
#: The rule of ``--formats`` (:func:`convert_formats`), as ``--help`` and the README say it.
FORMATS_RULE = ("BVH and the trajectories are always written (the trajectories as JSON "
                "unless the list names json, npz or csv); fbx and glb are added, through "
                "Blender")
#: Other spellings users type.
ALIASES: dict[str, str] = {"gltf": "glb"}


def parse_formats(formats: str | Sequence[str], valid: Sequence[str] = FORMATS,
                  required: Sequence[str] = ()) -> tuple[str, ...]:
    """``"bvh,JSON"`` or ``["gltf"]`` -> known format names, in order, without repeats.

    Names are case-insensitive, may start with a dot (``.fbx``), and ``gltf`` means
    ``glb``.

    Args:
        formats: a comma-separated string or a sequence of names.
        valid: the names allowed here.
        required: names always included, first (e.g. ``("bvh",)`` for ``convert``).

    Raises:
        InputError: an unknown name, or nothing at all; the message lists the valid names.
    """
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    names = list(required)
    for item in items:
        name = str(item).strip().lower().lstrip(".")
        if not name:
            continue
        name = ALIASES.get(name, name)
        if name not in valid:
            raise InputError(f"unknown format {str(item).strip()!r}; choose from "
                             f"{', '.join(valid)}")
        names.append(name)
    if not names:
        raise InputError(f"no format given; choose from {', '.join(valid)}")
    return tuple(dict.fromkeys(names))


def convert_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """What a conversion writes per person for a ``--formats`` list (:data:`FORMATS_RULE`).

    BVH is always written, first. The trajectories are always written too: in the data
    formats the list names (``json``, ``npz``, ``csv``), else as JSON. So ``fbx,glb`` gives
    ``bvh, json, fbx, glb`` (asking for more never loses the default data), while ``npz``
    gives ``bvh, npz`` (naming a data format chooses it).

    Raises:
        InputError: an unknown name (the message lists the valid names).
    """
    names = parse_formats(formats, required=("bvh",))
    if not any(name in DATA_FORMATS for name in names):
        names = (names[0], "json", *names[1:])
    return names
