"""The focal length of a fixed camera from its scene's lines and its people, against a
calibration (not a test).

Each of Pose2Sim's Demo_MultiPerson views alone (4 calibrated portrait phone views,
1088x1920 as decoded, 100 frames at 60 fps; Demo_SinglePerson and Demo_Batch are never
used): tracked with :func:`mocap.tracking.loop.track_video` as ``mocap convert`` does, then
:func:`mocap.geometry.focal.estimate_focal`, compared with the calibration's ``K``
(:meth:`mocap.multiview.calibration.Calibration.for_videos`). Then the demo video (landscape,
no calibration: the estimate alone). Per view: truth; the focal length ``mocap convert``
uses for a fixed camera (:func:`mocap.app.lens.resolve_lens` with
:func:`mocap.app.lens.lines_lens` of the middle frame), its error %, source and uncertainty;
the scene's lines alone (``lines``, :mod:`mocap.perception.camera_lines`: ``-`` where they
do not fix it) and their seconds; the people's estimate
(:func:`mocap.geometry.focal.estimate_focal`: blended with the prior, or the prior) and
their own (``raw``: not blended, never replaced), with the seconds of the estimate
(tracking apart).

Usage::

    .venv/bin/python benchmarks/eval_focal.py [--cache /tmp/focal_tracks.pkl]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.app.lens import lines_lens, resolve_lens  # noqa: E402
from mocap.geometry.focal import estimate_focal  # noqa: E402

VIEWS = ("cam01", "cam02", "cam03", "cam04")


def track_all(cache: Path | None) -> dict:
    """``{name: {"tracks", "size", "fps"}}`` of the 4 views and the demo video, plus the
    calibrated focal lengths ``"truth": {view: fx}``; read from / written to ``cache``."""
    if cache is not None and cache.exists():
        with cache.open("rb") as fh:
            return pickle.load(fh)
    from mocap.io import assets
    from mocap.multiview.calibration import read_calibration
    from mocap.tracking.loop import make_video_engine, track_video

    files = assets.ensure_multiview_demo()
    engine = make_video_engine()
    out: dict = {}
    for name, path in [*((v, files[f"{v}.mp4"]) for v in VIEWS),
                       ("demo", assets.ensure_demo_video())]:
        t0 = time.perf_counter()
        r = track_video(path, engine)
        out[name] = {"tracks": r.tracks, "size": (r.info.width, r.info.height),
                     "fps": r.info.rate, "track_s": time.perf_counter() - t0,
                     "path": path, "frames": r.frame_count}
    calib, _ = read_calibration(files["Calib.qca.txt"]).for_videos(
        list(VIEWS), [out[v]["size"] for v in VIEWS], "Calib.qca.txt")
    out["truth"] = {v: float(c.K[0, 0]) for v, c in zip(VIEWS, calib, strict=True)}
    if cache is not None:
        with cache.open("wb") as fh:
            pickle.dump(out, fh)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=None,
                        help="pickle of the tracks (written on first run, read after)")
    args = parser.parse_args()
    data = track_all(args.cache)
    print(f"{'view':6} {'size':>10} {'truth':>6} {'used':>6} {'err%':>6} {'source':>7} "
          f"{'unc%':>5} {'lines':>6} {'err%':>6} {'s':>5} {'people':>6} {'err%':>6} "
          f"{'raw':>6} {'raw%':>6} {'ppl':>3} {'s':>5}  people's reason")
    errors = []
    for name in (*VIEWS, "demo"):
        d = data[name]
        truth = data["truth"].get(name, float("nan"))
        t0 = time.perf_counter()
        lines = lines_lens(d["path"], d["size"], d["frames"] // 2)
        lines_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        est = estimate_focal(d["tracks"], d["size"], d["fps"])
        sec = time.perf_counter() - t0
        raw = estimate_focal(d["tracks"], d["size"], d["fps"], max_uncertainty=np.inf,
                             blend=False)
        used = resolve_lens(None, None, False, d["tracks"], d["size"], d["fps"], None, lines)
        err = 100 * (used.focal_px / truth - 1)
        if np.isfinite(truth):
            errors.append(abs(err))
        size = f"{d['size'][0]}x{d['size'][1]}"
        line_cols = (f"{lines.focal_px:6.0f} {100 * (lines.focal_px / truth - 1):+6.1f}"
                     if lines is not None else f"{'-':>6} {'':>6}")
        print(f"{name:6} {size:>10} {truth:6.0f} {used.focal_px:6.0f} {err:+6.1f} "
              f"{used.source:>7} {100 * used.uncertainty:5.0f} {line_cols} {lines_s:5.2f} "
              f"{est.focal_px:6.0f} {100 * (est.focal_px / truth - 1):+6.1f} "
              f"{raw.focal_px:6.0f} {100 * (raw.focal_px / truth - 1):+6.1f} {est.people:3d} "
              f"{sec:5.2f}  {est.source}: {est.reason}")
    print(f"calibrated views: median |error| {np.median(errors):.1f} %, max {max(errors):.1f} %"
          " (today's 60 deg horizontal assumption: 935 px, -44 %)")


if __name__ == "__main__":
    main()
