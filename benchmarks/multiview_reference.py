"""Triangulated reference of Pose2Sim's Demo_MultiPerson, from the product's own tracking.

Each of the demo's 4 videos (``cam01.mp4`` .. ``cam04.mp4``, 100 frames, 60 fps; fetched
by :func:`mocap.io.assets.ensure_multiview_demo`) is tracked by
:func:`mocap.tracking.loop.track_video` with its defaults; the tracks are matched across
views (:func:`mocap.multiview.match.match_tracks`) and each person spanning two views or
more is triangulated and smoothed (:func:`mocap.multiview.scene.triangulate_persons`),
in the demo calibration's world turned Y up (:meth:`Calibration.to_y_up`), metres.

Written to OUT (``.json`` or ``.npz``, by its extension):

* ``landmarks``: BlazePose's 33 landmark names; ``cameras``: per camera its name, image
  size, ``K``, ``dist``, ``R`` and ``t`` (world -> camera, the same Y-up world) and ``video``;
* ``persons``: per person ``frames`` (T,), ``times`` (T,) s, ``points`` (T, 33, 3) m
  smoothed, ``raw`` (T, 33, 3) m as triangulated (NaN / null where not), ``observed`` (T,),
  ``median_error_px`` (V,), ``bone_lengths_m`` and ``tracks`` (per member track: view and
  the tracker's id).

Printed: the matching (persons, unmatched tracks), each person's median reprojection error
per view (px), and the cost: seconds per frame per view of the tracking, and of matching
plus triangulation.

Usage::

    .venv/bin/python benchmarks/multiview_reference.py OUT.json|OUT.npz
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _jsonable(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the reference file to write (.json or .npz)")
    args = parser.parse_args(argv)
    if args.out.suffix.lower() not in (".json", ".npz"):
        parser.error(f"OUT must end in .json or .npz, got {args.out.name}")

    from mocap.io.assets import ensure_multiview_demo
    from mocap.multiview.calibration import read_calibration
    from mocap.multiview.match import match_tracks
    from mocap.multiview.scene import triangulate_persons
    from mocap.tracking.loop import track_video
    from mocap.types import LANDMARK_NAMES

    files = ensure_multiview_demo()
    calib = read_calibration(files["Calib.qca.txt"]).to_y_up()
    videos = [f"cam{v + 1:02d}.mp4" for v in range(len(calib))]
    tracks, frames, seconds = [], 0, 0.0
    for name in videos:
        result = track_video(files[name])
        tracks.append(result.tracks)
        frames += result.frame_count
        seconds += result.seconds
        print(f"{name}: {len(result.tracks)} tracks, {result.frame_count} frames, "
              f"{result.seconds / max(result.frame_count, 1):.3f} s/frame")
    start = time.perf_counter()
    match = match_tracks(tracks, calib)
    persons = triangulate_persons(tracks, match, calib)
    solve = time.perf_counter() - start

    print(f"matched: {len(match)} persons; unmatched tracks (view, index): {match.unmatched}")
    out_persons = []
    for k, (person, members) in enumerate(zip(persons, match.persons, strict=True)):
        errors = person.median_error()
        views = ", ".join(f"{calib[v].name} {e:.1f}" for v, e in enumerate(errors))
        print(f"person {k + 1}: tracks {[(videos[v], tracks[v][i].id) for v, i in members]}, "
              f"{len(person)} frames, {person.observed.mean():.0%} observed; median "
              f"reprojection error px: {views}")
        out_persons.append({
            "frames": person.frames, "times": person.times, "points": person.points,
            "raw": person.raw, "observed": person.observed, "median_error_px": errors,
            "bone_lengths_m": person.bone_lengths,
            "tracks": [{"view": v, "video": videos[v], "id": tracks[v][i].id}
                       for v, i in members]})
    print(f"cost: tracking {seconds / max(frames, 1):.3f} s per frame per view; matching + "
          f"triangulation {solve / max(frames, 1) * 1000:.2f} ms per frame per view")

    cameras = [{"name": c.name, "video": videos[v], "size": list(c.size), "K": c.K,
                "dist": c.dist, "R": c.R, "t": c.t} for v, c in enumerate(calib)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".json":
        doc = {"source": "Pose2Sim Demo_MultiPerson (pose2sim==0.10.49), product tracking",
               "world": "calibration's world turned Y up, metres",
               "landmarks": list(LANDMARK_NAMES), "cameras": cameras, "persons": out_persons}
        args.out.write_text(json.dumps(_jsonable(doc)))
    else:
        width = max(len(c.dist) for c in calib)
        arrays = {"landmarks": np.array(LANDMARK_NAMES),
                  "camera_names": np.array([c.name for c in calib]),
                  "camera_K": np.stack([c.K for c in calib]),
                  # OpenCV's trailing coefficients default to 0: pad to the longest
                  "camera_dist": np.array([np.pad(c.dist, (0, width - len(c.dist)))
                                           for c in calib]),
                  "camera_R": np.stack([c.R for c in calib]),
                  "camera_t": np.stack([c.t for c in calib]),
                  "camera_size": np.array([c.size for c in calib])}
        for k, p in enumerate(out_persons):
            for key, value in p.items():
                if key == "tracks":
                    value = np.array([[t["view"], t["id"]] for t in value])
                arrays[f"person{k + 1}_{key}"] = np.asarray(value)
        np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
