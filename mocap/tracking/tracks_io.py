"""``tracks.npz`` and its JSON twin ``tracks.json``: the output of ``mocap track``.

``tracks.npz`` format (one file, ``np.load(path)``):

* ``frame_count`` () int, ``fps`` () float (container's), ``timestamps`` (F,) float64 seconds
  of every decoded frame, ``track_ids`` (P,) int64;
* per person ``<id>`` (``p<id>_`` prefix): ``frames`` (T,) int64 frame indices, contiguous
  from first to last appearance; ``times`` (T,) float64 s; ``observed`` (T,) bool, False in
  bridged gaps; ``image_raw`` / ``image`` (T, 33, 3) float32: x, y px and z (px-scaled depth,
  hip-relative), raw (NaN where not observed) and smoothed; ``world_raw`` / ``world``
  (T, 33, 3) float32 metres, hip-centred (x right, y down, z away); ``visibility`` and
  ``presence`` (T, 33) float32 (0 where not observed); ``score`` (T,) float32 pose score;
  with ``--hands``: ``hands_image`` (T, 2, 21, 2) float32 px and ``hands_world`` (T, 2, 21,
  3) float32 metres around each hand's centre (hand 0 = the person's left; NaN where the
  hand was not seen), ``hands_score`` (T, 2) float32 (0 where not seen).

``tracks.json`` is the same content: ``{"format": "mocap.tracks/1", "frame_count", "fps",
"timestamps", "landmark_names", "smoothing", "tracks": [{"id", "frames", "times",
"observed", "image_raw", "image", "world_raw", "world", "visibility", "presence",
"score"}]}`` with NaN written as ``null`` (plus ``hand_landmark_names``, and with
``--hands`` each track's ``hands_image``, ``hands_world``, ``hands_score``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from mocap.errors import InputError, OutputError
from mocap.fileio import OutputDir, json_array
from mocap.tracking.loop import TrackResult
from mocap.types import HAND_LANDMARK_NAMES, LANDMARK_NAMES, TRACK_HAND_FIELDS, Track


# --------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------
def tracks_to_json(result: TrackResult) -> dict:
    """The JSON twin of ``tracks.npz`` (see the module docstring)."""
    return {
        "format": "mocap.tracks/1",
        "video": str(result.info.path),
        "frame_count": result.frame_count,
        "fps": result.info.fps,
        "timestamps": json_array(result.timestamps, 6),
        "landmark_names": list(LANDMARK_NAMES),
        "hand_landmark_names": list(HAND_LANDMARK_NAMES),
        "smoothing": asdict(result.config.smooth),
        "tracks": [{
            "id": t.id, "frames": json_array(t.frames), "times": json_array(t.times, 6),
            "observed": json_array(t.observed),
            "image_raw": json_array(t.image_raw, 2), "image": json_array(t.image, 2),
            "world_raw": json_array(t.world_raw, 4), "world": json_array(t.world, 4),
            "visibility": json_array(t.visibility, 3), "presence": json_array(t.presence, 3),
            "score": json_array(t.score, 3),
            **({"hands_image": json_array(t.hands_image, 2),
                "hands_world": json_array(t.hands_world, 4),
                "hands_score": json_array(t.hands_score, 3)} if t.has_hands else {}),
        } for t in result.tracks],
    }


def tracks_to_arrays(result: TrackResult) -> dict[str, np.ndarray]:
    """The arrays of ``tracks.npz`` (see the module docstring)."""
    out: dict[str, np.ndarray] = {
        "frame_count": np.array(result.frame_count),
        "fps": np.array(result.info.fps),
        "timestamps": result.timestamps,
        "track_ids": np.array([t.id for t in result.tracks], np.int64),
    }
    for t in result.tracks:
        for name in ("frames", "times", "observed", "image_raw", "image", "world_raw",
                     "world", "visibility", "presence", "score"):
            out[f"p{t.id}_{name}"] = getattr(t, name)
        if t.has_hands:
            for name in TRACK_HAND_FIELDS:
                out[f"p{t.id}_{name}"] = getattr(t, name)
    return out


def load_tracks(path: str | os.PathLike) -> tuple[list[Track], np.ndarray, float]:
    """Read a ``tracks.npz`` written by :func:`write_tracks`.

    Returns:
        ``(tracks, timestamps, fps)``: the :class:`Track` list, (F,) seconds of every
        decoded frame, and the container's frame rate.

    Raises:
        InputError: missing or not a tracks file.
    """
    try:
        with np.load(path) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read tracks ({exc})") from None
    if "track_ids" not in data:
        raise InputError(f"{path}: not a mocap tracks.npz (no `track_ids`)")
    names = ("frames", "times", "observed", "image_raw", "world_raw", "visibility",
             "presence", "score", "image", "world")
    tracks = [Track(int(i), *(data[f"p{int(i)}_{n}"] for n in names),
                    *(data.get(f"p{int(i)}_{n}") for n in TRACK_HAND_FIELDS))
              for i in data["track_ids"]]
    return tracks, data["timestamps"], float(data["fps"])


def write_tracks(result: TrackResult, out: OutputDir) -> tuple[Path, Path]:
    """Stage ``tracks.npz`` and ``tracks.json`` in ``out`` (published by ``out.commit()``).

    Returns:
        The final paths of the two files.
    """
    try:
        npz = out.path("tracks.npz")
        with open(npz, "wb") as fh:
            np.savez_compressed(fh, **tracks_to_arrays(result))
        js = out.path("tracks.json")
        js.write_text(json.dumps(tracks_to_json(result), separators=(",", ":")) + "\n",
                      encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"cannot write to {out.directory}: {exc.strerror or exc}") from None
    return out.directory / "tracks.npz", out.directory / "tracks.json"
