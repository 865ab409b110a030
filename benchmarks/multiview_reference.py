"""Triangulated reference of Pose2Sim's Demo_MultiPerson, from the product's own output.

Runs the product on the demo's 4 videos (``cam01.mp4`` .. ``cam04.mp4``, 100 frames, 60
fps, fetched by :func:`mocap.io.assets.ensure_multiview_demo`) exactly as a user would::

    mocap convert cam01.mp4 cam02.mp4 cam03.mp4 cam04.mp4 --calibration Calib.qca.txt \
        --formats bvh,npz --no-preview -o TMP

(in this process, :func:`mocap.app.convert_views.convert_views`), then reads what it
wrote: each person's ``person_<id>.npz`` (``landmarks_world``: the 33 triangulated
landmarks, smoothed, in the outputs' world, Y up, ground at y = 0, metres), the cameras of
``calibration.toml`` (the same world) and ``report.json``'s ``views`` block.

Written to OUT (``.json`` or ``.npz``, by its extension):

* ``landmarks``: BlazePose's 33 landmark names; ``cameras``: per camera its name, image
  size, ``K``, ``dist``, ``R`` and ``t`` (world -> camera) and ``video``;
* ``persons``: per person ``id``, ``frames`` (T,) of the videos, ``times`` (T,) s,
  ``points`` (T, 33, 3) m in the cameras' world (the few centimetres the product raised
  the person to settle the feet on the floor taken back out, so the points reproject
  through the cameras), ``triangulated`` (T, 33) bool (the landmark was triangulated that
  frame, else bridged by the smoother), ``observed`` (T,), ``median_error_px`` (V,) and
  ``tracks`` (per member track: view and the tracker's id).

Printed: each person's median reprojection error per view (px), the offsets found, and
the cost: seconds per frame per view of the whole conversion and of its tracking.

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

    import tempfile

    from mocap.app.convert import ConvertConfig
    from mocap.app.convert_views import ViewsConfig, convert_views
    from mocap.io.assets import ensure_multiview_demo
    from mocap.multiview.calibration import read_calibration
    from mocap.types import LANDMARK_NAMES

    files = ensure_multiview_demo()
    videos = [f"cam{v + 1:02d}.mp4" for v in range(4)]
    with tempfile.TemporaryDirectory(prefix="mocap-reference-") as tmp:
        out = Path(tmp) / "out"
        start = time.perf_counter()
        result = convert_views([files[v] for v in videos], out,
                               ConvertConfig(formats=("bvh", "npz"), preview=False),
                               ViewsConfig(str(files["Calib.qca.txt"])))
        wall = time.perf_counter() - start
        calib = read_calibration(out / "calibration.toml")
        report = json.loads((out / "report.json").read_text())
        block = report["views"]
        rows = {row["id"]: row for row in block["persons"]}
        out_persons = []
        for p in result.people:
            data = np.load(out / f"person_{p.id}.npz")
            # the product raised this person's world to settle the feet (a few cm): the
            # camera in the file moved with it; take it back out, so that the points are in
            # calibration.toml's world
            r0, t0 = calib[0].R, calib[0].t
            lift = r0.T @ (t0 - data["camera_translation"][0])
            row = rows[p.id]
            errors = np.array([np.nan if e is None else e
                               for e in row["median_reprojection_px"]])
            views = ", ".join(f"{calib[v].name} {e:.1f}" for v, e in enumerate(errors))
            print(f"person {p.id}: tracks {[(t['view'], t['track_id']) for t in row['tracks']]},"
                  f" {len(data['frames'])} frames, {data['observed'].mean():.0%} observed, "
                  f"{row['frames_triangulated']} triangulated; median reprojection error "
                  f"px: {views}")
            out_persons.append({
                "id": p.id, "frames": data["frames"], "times": data["times"],
                "points": data["landmarks_world"] - lift,
                "triangulated": data["visibility"] > 0, "observed": data["observed"],
                "median_error_px": errors,
                "tracks": [{"view": t["view"] - 1, "video": videos[t["view"] - 1],
                            "id": t["track_id"]} for t in row["tracks"]]})
    frames = sum(c["frames"] for c in block["cameras"])
    print(f"offsets found (frames): {block['offsets_frames']}")
    solve = result.timings["calibration_sync"] + result.timings["triangulation"]
    print(f"cost: {wall / max(frames, 1):.3f} s per frame per view in all ("
          f"{result.timings['tracking'] / max(frames, 1):.3f} tracking; calibration, sync "
          f"and triangulation {1000 * solve / max(frames, 1):.2f} ms)")

    cameras = [{"name": c.name, "video": videos[v], "size": list(c.size), "K": c.K,
                "dist": c.dist, "R": c.R, "t": c.t} for v, c in enumerate(calib)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() == ".json":
        doc = {"source": "Pose2Sim Demo_MultiPerson (pose2sim==0.10.49), mocap convert's "
                         "own output",
               "world": "mocap convert's world: Y up, ground at y = 0, metres",
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
