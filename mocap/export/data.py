"""Per-person trajectory files: ``person_<id>.json``, ``.npz`` and ``.csv``.

All three hold the arrays of :func:`person_arrays` over the F frames from the person's first
to last appearance, and the same metadata: ``id``, ``fps``, ``frame_time`` (s), ``rig``,
``joints`` (J,) names, ``parents`` (J,) indices (-1 for the root), ``units``, ``axes`` and
``rotation_convention`` (descriptions). In the ``.npz`` each metadata item is an array of its own
(``np.load(f)["fps"]``, ``["joints"]``); in the ``.json`` a top-level key; the ``.csv``
has one row per frame: ``frame, time, observed, <joint>_x, <joint>_y, <joint>_z ...``
(metres). Its header is quoted as RFC 4180 says (a joint name with a comma stays one column),
and a name a spreadsheet would take for a formula (starting with ``=``, ``+``, ``-``, ``@``)
gets a leading ``'``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from mocap.errors import InputError
from mocap.export.formats import DATA_FORMATS
from mocap.fileio import json_array
from mocap.skeleton.animation import Animation
from mocap.types import Track

UNITS = {"positions": "m", "image": "px", "time": "s"}
AXES = "Y up, ground at y=0, x camera right, z towards the camera (the first frame's camera)"
ROTATIONS = "local quaternions x, y, z, w relative to the parent; identity = the rig's T-pose"
# a cell starting with one of these is a formula to a spreadsheet (CSV injection)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it: formula-looking text gets a leading ``'``."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def person_arrays(animation: Animation, track: Track, landmarks_world: np.ndarray,
                  camera: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                  ) -> dict[str, np.ndarray]:
    """The per-person trajectory arrays written to ``.npz`` / ``.json`` / ``.csv``.

    Args:
        animation: the rig animation over the track's frames.
        track: the smoothed track.
        landmarks_world: (F, 33, 3) metres, the placed landmarks.
        camera: the camera of each frame, ``(rotation, translation, focal)`` world ->
            camera as :func:`mocap.geometry.camera.project` takes them (fixed or per frame).

    Returns:
        ``frames`` (F,) video frame indices, ``times`` (F,) s, ``observed`` (F,) bool
        (person seen in that frame; the others are bridged by the smoother),
        ``root_translation`` (F, 3) m, ``joint_positions`` (F, J, 3) m and ``rotations``
        (F, J, 4) xyzw local quaternions of the rig, ``landmarks_world`` (F, 33, 3) m,
        ``landmarks_image`` (F, 33, 2) px (smoothed), ``visibility`` (F, 33); with
        ``camera``: ``camera_rotation`` (F, 3, 3) and ``camera_translation`` (F, 3) m, world
        -> camera (x right, y down, z forward: ``p_cam = R p + t``), ``focal_px`` (F,)
        (principal point at the image centre). World axes: Y up, ground at y = 0, x the
        first frame's camera right, z towards that camera (right-handed). When the track
        has hands (``--hands``): ``hands_image`` (F, 2, 21, 2) px, ``hands_world``
        (F, 2, 21, 3) m around each hand's centre in camera axes (x right, y down, z
        away), hand 0 = the person's left, NaN where the hand was not seen, and
        ``hands_score`` (F, 2) (0 where not seen).
    """
    cam = {}
    if camera is not None:
        f = len(track.frames)
        rot, trans, focal = (np.asarray(c, np.float64) for c in camera)
        cam = {"camera_rotation": np.broadcast_to(rot, (f, 3, 3)).copy(),
               "camera_translation": np.broadcast_to(trans, (f, 3)).copy(),
               "focal_px": np.broadcast_to(focal, (f,)).copy()}
    return {
        "frames": track.frames,
        "times": track.times,
        "observed": track.observed,
        "root_translation": animation.root_translation,
        "joint_positions": animation.positions(),
        "rotations": animation.rotations,
        "landmarks_world": np.asarray(landmarks_world),
        "landmarks_image": track.image[:, :, :2],
        "visibility": track.visibility,
        **cam,
        **({"hands_image": track.hands_image, "hands_world": track.hands_world,
            "hands_score": track.hands_score} if track.has_hands else {}),
    }


def person_meta(person_id: int, animation: Animation, fps: float) -> dict:
    """The metadata written beside the arrays (see the module docstring)."""
    rig = animation.rig
    return {"id": int(person_id), "fps": float(fps), "frame_time": 1.0 / fps,
            "rig": rig.name, "joints": list(rig.joints), "parents": rig.parents.tolist(),
            "units": UNITS, "axes": AXES, "rotation_convention": ROTATIONS}


def write_person_data(fmt: str, path: str | Path, meta: dict,
                      arrays: dict[str, np.ndarray]) -> None:
    """Write one data file (``fmt`` in :data:`~mocap.export.formats.DATA_FORMATS`).

    Args:
        fmt: ``json``, ``npz`` or ``csv``.
        path: the file to write (a staged temporary path: this writes in place).
        meta: :func:`person_meta`.
        arrays: :func:`person_arrays`.

    Raises:
        InputError: an unknown format.
    """
    path = Path(path)
    if fmt == "npz":
        items = {k: (np.asarray(v) if not isinstance(v, dict) else np.asarray(json.dumps(v)))
                 for k, v in meta.items()}
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **items, **arrays)
    elif fmt == "json":
        # NaN (a hand not seen) as null
        doc = {**meta, **{k: json_array(v, 5) for k, v in arrays.items()}}
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    elif fmt == "csv":
        pos = arrays["joint_positions"]
        header = ["frame", "time", "observed"] + [
            f"{j}_{a}" for j in meta["joints"] for a in "xyz"]
        rows = np.column_stack([arrays["frames"], arrays["times"],
                                arrays["observed"].astype(int), pos.reshape(len(pos), -1)])
        with open(path, "w", encoding="utf-8", newline="") as fh:
            # RFC 4180 quoting: a joint name with a comma, quote or newline stays one column
            csv.writer(fh, lineterminator="\n").writerow([_csv_cell(h) for h in header])
            # frame indices and times exactly (a long video's frame 1234567 or time
            # 10000.017 s do not survive %g); positions to a micrometre
            fmt = ["%d", "%.6f", "%d"] + ["%.6g"] * (rows.shape[1] - 3)
            np.savetxt(fh, rows, delimiter=",", fmt=fmt)
    else:
        raise InputError(f"unknown data format {fmt!r}; choose from {', '.join(DATA_FORMATS)}")
