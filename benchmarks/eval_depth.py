"""Monocular 3D against the multi-camera reference: the depth yardstick (not a test).

The reference is the product's own multi-camera result on Pose2Sim's Demo_MultiPerson (4
calibrated views, 100 frames at 60 fps; Demo_SinglePerson and Demo_Batch are never used):
each video tracked with :func:`mocap.tracking.loop.track_video` (defaults, as ``mocap
convert`` runs it), then the stages :func:`mocap.app.convert_views.convert_views` runs after
tracking, with the same defaults: the time offsets (motion, then refined with the
calibration), the tracks matched across views and triangulated
(:func:`mocap.multiview.scene.triangulate_persons`: the landmarks smoothed, the frames
where each was triangulated known). The world levelling and export that follow move the
world and cameras together, so they change nothing measured here
(``benchmarks/multiview_reference.py`` writes that exported form to a file).

Then every view **alone**: each of its tracks (the same tracking a single-video conversion
runs) is matched to a reference person in 2D (the person's landmarks projected through
that camera against the track's image landmarks: median distance over the 12 body joints,
as a share of the track's size, under :data:`MATCH_GATE`), and each monocular 3D source of
the track (:func:`monocular_sources`, :data:`SOURCES`: ``blazepose``, the track's smoothed
world landmarks; ``learned``, :mod:`mocap.lift`'s) is compared with the reference in
that camera's axes (``p_cam = R p + t``; x right, y down, z away: BlazePose's world axes)
over the 12 body joints (shoulders, elbows, wrists, hips, knees, ankles) and the frames
where the reference landmark was triangulated (the reference sampled at the track's
instants: the videos' offsets are sub-frame):

* ``PA``: PA-MPJPE, mm (a similarity per frame, rotation det +1:
  :func:`mocap.geometry.metrics.pa_mpjpe`); ``scale``: that similarity's median scale
  (reference size / source size: BlazePose assumes an adult's size);
* ``RR``: root-relative MPJPE, mm (both hip-centred in the camera's axes, no rotation);
* ``across`` and ``depth``: the root-relative error's mean absolute value across the image
  (the mean of the camera's x and y) and along its optical axis (z), mm; ``PAacr`` and
  ``PAdep``: the same split after PA's alignment (as issue 22 first reported it);
* ``2D px``: the track's median 2D distance from the reference's projection (where it is
  large, the detector, not the 3D, went wrong).

Each view is measured against two references: the 4-view one (every camera, the
product's) and the 3-view one without the camera under test (which owes nothing to that
camera's own detections, so the across-image error is not flattered). Per view and
person, per view (persons pooled), and the median over views. The yardstick's own noise:
the 3-view reference against the 4-view one, in that camera's axes, the same measures
plus ``abs`` (the plain distance, no centring), mm. A mirror check: each source's
PA-MPJPE with its depth negated must be worse (a source in mirrored axes is flagged).
Cost: seconds of each stage and ms per person-frame of each source.

With ``--oracle``, rows that take the reference's own depth (:func:`oracles`): what a
perfect depth would give with this detector's 2D, and with each source's x and y.

Usage::

    .venv/bin/python benchmarks/eval_depth.py [--sources blazepose,learned] [--oracle] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.geometry.metrics import (  # noqa: E402
    HIP_JOINTS,
    axis_errors,
    mpjpe,
    pa_mpjpe,
    procrustes_align,
    root_relative,
    similarity_transform,
)
from mocap.lift.prior import constrain  # noqa: E402
from mocap.lift.stage import lift_track  # noqa: E402

#: The 12 body joints compared (BlazePose indices): shoulders, elbows, wrists, hips, knees,
#: ankles.
BODY_JOINTS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: A monocular track is a reference person's when their median 2D distance over the body
#: joints is under this share of the track's size in the image (the median diagonal of its
#: landmarks' box). The multi-camera match's own gate is 0.08 for a reprojection error.
MATCH_GATE = 0.15
#: Fewest shared frames for a 2D match.
MIN_SHARED = 10
#: Fewest frames a reference person must be triangulated in to be measured against.
MIN_PERSON_FRAMES = 10


# --- the sources under test ----------------------------------------------------------------

#: Every source :func:`monocular_sources` knows: ``learned`` is the product's stage (the
#: network, then :func:`mocap.lift.prior.constrain`), ``learned-net`` the network alone,
#: ``blazepose+prior`` BlazePose's 3D through the same prior.
SOURCES = ("blazepose", "blazepose+prior", "learned", "learned-net")


def monocular_sources(track, image_size: tuple[int, int], fps: float,
                      names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Every monocular 3D estimate of one track: ``{name: (T, 33, 3) metres}``, on the
    track's frames, root-relative, in the camera's axes (x right, y down, z away), as
    ``track.world``.

    Args:
        track: a :class:`mocap.types.Track` of one video.
        image_size: that video's (width, height), px.
        fps: its frame rate.
        names: the sources wanted (default: all of :data:`SOURCES`: ``blazepose``;
            ``blazepose+prior``, BlazePose's through :func:`mocap.lift.prior.constrain`;
            ``learned``, :func:`mocap.lift.stage.lift_track`; ``learned-net``, its network
            without the prior).

    Returns:
        The estimates by name.
    """
    names = names or list(SOURCES)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "blazepose+prior":
            out[name] = constrain(np.asarray(track.world, np.float64))
        elif name == "blazepose":
            # what the product animates from one video today: BlazePose's world
            # landmarks, smoothed by the tracker (gaps bridged)
            out[name] = np.asarray(track.world, np.float64)
        elif name in ("learned", "learned-net"):
            out[name] = np.asarray(lift_track(track, tuple(image_size), float(fps),
                                              prior=name == "learned"), np.float64)
        else:
            raise ValueError(f"unknown source {name!r} (known: {', '.join(SOURCES)})")
    return out


# --- the reference ---------------------------------------------------------------------------

@dataclass
class Solved:
    """The multi-camera solve of the take (what convert_views does after tracking)."""

    calibration: object
    tracks: list
    sizes: list
    fps: float
    offsets: np.ndarray
    match: object
    persons: list
    seconds: dict = field(default_factory=dict)


def solve_reference(files: dict, names: list[str]) -> Solved:
    """Track every video and triangulate the persons as ``mocap convert VIDEOS
    --calibration Calib.qca.txt`` does (see the module docstring)."""
    from mocap.multiview.calibration import read_calibration
    from mocap.multiview.match import match_tracks
    from mocap.multiview.scene import triangulate_persons
    from mocap.multiview.sync import estimate_offsets
    from mocap.tracking.loop import make_video_engine, track_video

    seconds = {}
    t0 = time.perf_counter()
    engine = make_video_engine()
    seconds["load_models"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    results = [track_video(files[f"{n}.mp4"], engine) for n in names]
    seconds["tracking"] = time.perf_counter() - t0
    sizes = [(r.info.width, r.info.height) for r in results]
    fps = results[0].info.rate
    calib, _ = read_calibration(files["Calib.qca.txt"]).for_videos(names, sizes,
                                                                   "Calib.qca.txt")
    tracks = [r.tracks for r in results]
    t0 = time.perf_counter()
    offsets = estimate_offsets(tracks, fps).offsets  # as convert_views: motion first,
    offsets = estimate_offsets(tracks, fps, calib).offsets  # then refined with the cameras
    match = match_tracks(tracks, calib, offsets=offsets)
    persons = triangulate_persons(tracks, match, calib, offsets=offsets, fps=fps)
    seconds["multiview"] = time.perf_counter() - t0
    seconds["frames"] = sum(r.frame_count for r in results)
    return Solved(calib, tracks, sizes, fps, np.asarray(offsets, np.float64), match,
                  persons, seconds)


def leave_one_out(solved: Solved, view: int) -> dict[int, object]:
    """``{person index: Person3D}`` triangulated without ``view`` (its tracks removed; the
    same match and offsets, the same first-view frame axis). Persons left in one view are
    absent."""
    from mocap.multiview.match import TrackMatch
    from mocap.multiview.scene import triangulate_persons

    kept, labels = [], [np.full(len(t), -1, np.int64) for t in solved.tracks]
    labels[view] = np.zeros(0, np.int64)
    for p, members in enumerate(solved.match.persons):
        rest = [(v, i) for v, i in members if v != view]
        if len({v for v, _ in rest}) < 2:
            continue
        for v, i in rest:
            labels[v][i] = len(kept)
        kept.append(p)
    if not kept:
        return {}
    tracks = [list(t) for t in solved.tracks]
    tracks[view] = []
    match = TrackMatch(tuple(labels), np.asarray(solved.match.errors)[kept])
    persons = triangulate_persons(tracks, match, solved.calibration,
                                  offsets=solved.offsets, fps=solved.fps)
    return dict(zip(kept, persons, strict=True))


def _triangulated(person) -> np.ndarray:
    """(T, 33) bool: the landmark was triangulated that frame (not bridged)."""
    return np.isfinite(person.raw).all(-1)


def reference_at(person, at: np.ndarray) -> np.ndarray:
    """The person's smoothed points at fractional first-view frames ``at`` (F,): (F, 33,
    3) metres, world; linear between the two neighbouring frames, NaN where either was not
    triangulated or ``at`` lies outside the person's frames."""
    pts = person.points.astype(np.float64)
    tri = _triangulated(person)
    u = np.asarray(at, np.float64) - person.frames[0]
    whole = np.round(u)
    u = np.where(np.abs(u - whole) < 1e-6, whole, u)
    lo = np.floor(u).astype(np.int64)
    w = (u - lo)[:, None, None]
    hi = lo + (w[:, 0, 0] > 0)
    inside = (lo >= 0) & (hi < len(pts))
    lo_c, hi_c = np.where(inside, lo, 0), np.where(inside, hi, 0)
    out = pts[lo_c] * (1 - w) + pts[hi_c] * w
    ok = inside[:, None] & tri[lo_c] & tri[hi_c]
    return np.where(ok[..., None], out, np.nan)


def _size_px(track) -> float:
    """The track's size in the image: the median diagonal of its landmarks' box, px."""
    raw = track.image_raw[track.observed][:, :, :2].astype(np.float64)
    if not len(raw):
        return math.nan
    with np.errstate(invalid="ignore"):
        diag = np.linalg.norm(np.nanmax(raw, 1) - np.nanmin(raw, 1), axis=-1)
    return float(np.nanmedian(diag)) if np.isfinite(diag).any() else math.nan


def match_2d(track, persons: list, camera, offset: float) -> tuple[int, float, float]:
    """``(index of the reference person, cost, px)`` for one monocular track, or ``(-1,
    best cost, px)``: the person whose body joints projected through ``camera`` lie
    nearest the track's own (median distance ``px`` over the frames both have; ``cost`` is
    it as a share of the track's size), when ``cost`` is under :data:`MATCH_GATE`."""
    size = _size_px(track)
    at = track.frames.astype(np.float64) - offset
    seen = track.observed[:, None] & (track.visibility > 0.3)
    img = np.where(seen[..., None], track.image_raw[:, :, :2], np.nan)[:, BODY_JOINTS]
    costs, pxs = [], []
    for person in persons:
        ref = reference_at(person, at)[:, BODY_JOINTS]
        proj = camera.project(ref)
        dist = np.linalg.norm(proj - img, axis=-1)
        ok = np.isfinite(dist)
        px = float(np.median(dist[ok])) if ok.any(1).sum() >= MIN_SHARED else math.inf
        pxs.append(px)
        costs.append(px / size)
    if not costs:
        return -1, math.inf, math.inf
    best = int(np.argmin(costs))
    return (best if costs[best] < MATCH_GATE else -1), costs[best], pxs[best]


# --- measuring -----------------------------------------------------------------------------

#: The table's columns (mm): PA-MPJPE, root-relative MPJPE, the root-relative error across
#: the image and in depth, and the same split after the per-frame similarity of PA-MPJPE
#: (how issue 22 and 3D-NOTES.md first reported it).
COLUMNS = ("PA", "RR", "across", "depth", "PA_across", "PA_depth")


def camera_pair(pred_root_rel: np.ndarray, true_cam: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Both poses hip-centred (the truth by its own hips, in camera axes) and cut to the
    body joints: ``(pred (T, 12, 3), true (T, 12, 3))``; NaN where the truth is missing."""
    pred = root_relative(pred_root_rel, HIP_JOINTS)[:, BODY_JOINTS]
    true = root_relative(true_cam, HIP_JOINTS)[:, BODY_JOINTS]
    missing = ~np.isfinite(true).all(-1)
    pred[missing] = np.nan
    return pred, true


def measures(pairs: list[tuple[np.ndarray, np.ndarray]],
             absolute: list[tuple[np.ndarray, np.ndarray]] | None = None) -> dict:
    """The table's numbers (mm) over hip-centred (T, 12, 3) pose pairs in camera axes,
    pooled (concatenated over frames); ``absolute``: the same uncentred, for the plain
    distance (``abs``)."""
    pred = np.concatenate([p for p, _ in pairs])
    true = np.concatenate([t for _, t in pairs])
    ax = axis_errors(pred, true)
    pa_ax = axis_errors(procrustes_align(pred, true), true)
    frames = int((np.isfinite(pred).all(-1) & np.isfinite(true).all(-1)).any(1).sum())
    out = {"frames": frames, "pairs": ax.count, "PA": 1000 * pa_mpjpe(pred, true),
           "RR": 1000 * mpjpe(pred, true), "x": 1000 * ax.x, "y": 1000 * ax.y,
           "across": 1000 * ax.across, "depth": 1000 * ax.depth,
           "PA_x": 1000 * pa_ax.x, "PA_y": 1000 * pa_ax.y,
           "PA_across": 1000 * pa_ax.across, "PA_depth": 1000 * pa_ax.depth,
           "scale": _nanmedian(similarity_transform(pred, true)[0])}
    if absolute:
        out["abs"] = 1000 * mpjpe(np.concatenate([p for p, _ in absolute]),
                                  np.concatenate([t for _, t in absolute]))
    return out


def _nanmedian(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(np.median(x)) if x.size else math.nan


def _median(rows: list[dict], keys) -> dict:
    return {k: float(np.median([r[k] for r in rows])) for k in keys if rows}


def oracles(track, cam, true_cam: np.ndarray, sources: dict[str, np.ndarray]
            ) -> dict[str, np.ndarray]:
    """What each part of the error costs (``--oracle``), from the reference's own depth:

    * ``oracle:2D+depth``: the track's 2D landmarks back-projected through the calibrated
      camera (distortion undone) at the reference's depth of each landmark: what a perfect
      depth would give with this detector's 2D (the floor of any monocular 3D here);
    * ``oracle:NAME+depth``: source NAME's root-relative x and y with the reference's
      root-relative depth: how good NAME would be with its depth right.

    Args:
        track: the view's track; cam: its calibrated camera; true_cam: (T, 33, 3) the
            reference in that camera's axes at the track's instants; sources: the
            monocular estimates by name.
    """
    rays = cam.normalize(track.image[..., :2])  # x/z, y/z, the lens undone
    out = {"oracle:2D+depth": np.concatenate([rays * true_cam[..., 2:], true_cam[..., 2:]],
                                             -1)}
    true_rel = true_cam - true_cam[:, list(HIP_JOINTS)].mean(1, keepdims=True)
    for name, pts in sources.items():
        rel = pts - pts[:, list(HIP_JOINTS)].mean(1, keepdims=True)
        out[f"oracle:{name}+depth"] = np.concatenate([rel[..., :2], true_rel[..., 2:]], -1)
    return out


def evaluate(solved: Solved, persons: dict[int, object], source_names: list[str],
             oracle: bool = False) -> dict:
    """Every view's tracks against the reference persons; see the module docstring.

    Each view is measured against two references: ``4-view`` (the product's, from every
    camera: the brief's yardstick) and ``3-view`` (triangulated without the camera under
    test, so the reference owes nothing to that camera's own 2D detections).
    """
    calib = solved.calibration
    refs = list(persons.values())
    ref_ids = list(persons)
    rows, views, noise, matches = [], [], [], []
    cost = {n: [0.0, 0] for n in source_names}
    for v, cam in enumerate(calib):
        off = float(solved.offsets[v])
        loo = leave_one_out(solved, v)
        references = {"4-view": dict(enumerate(refs)),
                      "3-view": {k: loo[p] for k, p in enumerate(ref_ids) if p in loo}}
        # (reference, source) -> person -> pairs
        slots: dict[tuple[str, str], dict[int, list]] = {}
        tracks_of: dict[int, list] = {}
        for i, track in enumerate(solved.tracks[v]):
            k, c, px = match_2d(track, refs, cam, off)
            multi = [p for p, members in enumerate(solved.match.persons) if (v, i) in members]
            matches.append({"view": cam.name, "track": int(track.id),
                            "person": ref_ids[k] + 1 if k >= 0 else None,
                            "cost": c, "px": px,
                            "multiview_person": multi[0] + 1 if multi else None})
            if k < 0:
                continue
            tracks_of.setdefault(k, []).append((int(track.id), px))
            sources = {}
            for name in source_names:
                t0 = time.perf_counter()
                sources.update(monocular_sources(track, solved.sizes[v], solved.fps, [name]))
                cost[name][0] += time.perf_counter() - t0
                cost[name][1] += len(track.frames)
            for ref_name, ref_persons in references.items():
                if k not in ref_persons:
                    continue
                true_cam = cam.to_camera(reference_at(ref_persons[k], track.frames - off))
                extra = oracles(track, cam, true_cam, sources) if oracle else {}
                for name, pts in {**sources, **extra}.items():
                    slots.setdefault((ref_name, name), {}).setdefault(k, []).append(
                        camera_pair(pts, true_cam))
        for (ref_name, name), by_person in slots.items():
            for k, pairs in sorted(by_person.items()):
                rows.append({"view": cam.name, "person": ref_ids[k] + 1,
                             "tracks": [t for t, _ in tracks_of[k]],
                             "px_2d": max(px for _, px in tracks_of[k]),
                             "reference": ref_name, "source": name, **measures(pairs)})
            flat = [p for pairs in by_person.values() for p in pairs]
            # a source in mirrored axes (z towards the camera) scores better with its depth
            # negated: a reflection no similarity undoes, so say it where it happens
            flip = np.array([1.0, 1.0, -1.0])
            mirrored = 1000 * pa_mpjpe(np.concatenate([p * flip for p, _ in flat]),
                                       np.concatenate([t for _, t in flat]))
            views.append({"view": cam.name, "reference": ref_name, "source": name,
                          **measures(flat), "PA_depth_negated": mirrored})
        # the yardstick's noise: the 3-view reference against the 4-view one
        pairs, absolute, used = [], [], []
        for k, three in references["3-view"].items():
            ref = refs[k]
            common, ia, ib = np.intersect1d(ref.frames, three.frames, return_indices=True)
            if not len(common):
                continue
            a = np.where(_triangulated(ref)[ia][..., None], ref.points[ia], np.nan)
            b = np.where(_triangulated(three)[ib][..., None], three.points[ib], np.nan)
            a_cam, b_cam = cam.to_camera(a), cam.to_camera(b)
            pairs.append(camera_pair(b_cam, a_cam))
            absolute.append((b_cam[:, BODY_JOINTS], a_cam[:, BODY_JOINTS]))
            tri = _triangulated(ref)[:, BODY_JOINTS]
            used.append(ref.used[v][:, BODY_JOINTS][tri])
        if pairs:
            noise.append({"view": cam.name, **measures(pairs, absolute),
                          "camera_used": float(np.concatenate(used).mean())})
    summary = []
    shown = list(source_names)
    if oracle:
        shown += ["oracle:2D+depth", *(f"oracle:{n}+depth" for n in source_names)]
    for ref_name in ("4-view", "3-view"):
        for name in shown:
            sel = [r for r in views if r["reference"] == ref_name and r["source"] == name]
            if sel:
                summary.append({"reference": ref_name, "source": name,
                                **_median(sel, (*COLUMNS, "x", "y", "PA_x", "PA_y"))})
    if noise:
        summary.append({"reference": "4-view", "source": "3-view noise",
                        **_median(noise, (*COLUMNS, "x", "y", "PA_x", "PA_y", "abs"))})
    ms = {n: 1000 * s / max(f, 1) for n, (s, f) in cost.items() if n in source_names}
    return {"rows": rows, "views": views, "noise": noise, "summary": summary,
            "matches": matches, "ms_per_person_frame": ms}


# --- printing ------------------------------------------------------------------------------

def _fmt(value, width: int = 6) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-".rjust(width)
    return f"{value:{width}.0f}" if isinstance(value, float) else str(value).rjust(width)


HEADS = {"PA": "PA", "RR": "RR", "across": "across", "depth": "depth",
         "PA_across": "PAacr", "PA_depth": "PAdep", "abs": "abs", "px_2d": "2D px",
         "scale": "scale"}


def _head(cols) -> str:
    return "".join(HEADS[c].rjust(7) for c in cols)


def _vals(row: dict, cols) -> str:
    # the scale is a ratio near 1; everything else is mm or px
    return "".join(" " + (f"{row[c]:6.2f}" if c == "scale" and math.isfinite(row[c])
                          else _fmt(row.get(c))) for c in cols)


def _print(result: dict) -> None:
    print(f"Demo_MultiPerson, 4 views: persons {result['persons']} (frames with every body "
          f"joint triangulated: {result['person_frames']}); offsets (frames) "
          f"{result['offsets']}")
    print("columns, mm over 12 body joints and the frames the reference triangulated: PA = "
          "PA-MPJPE; RR = root-relative MPJPE (hip-centred in the camera's axes);\n"
          "across/depth = RR's mean |error| across the image (x, y) / along the optical "
          "axis; PAacr/PAdep = the same after PA's alignment; scale = PA's median scale\n"
          "(reference size / source size); 2D px = the track's median 2D distance from the "
          "reference's projection")
    for ref_name, what in (("4-view", "the 4-view reference (every camera)"),
                           ("3-view", "the 3-view reference (without the camera under "
                                      "test)")):
        rows = [r for r in result["rows"] if r["reference"] == ref_name]
        if not rows:
            continue
        cols = (*COLUMNS, "scale", "px_2d")
        print(f"\nper view and person, against {what}")
        print(f"{'view':7}{'person':>7} {'source':30}{'frames':>7}{_head(cols)}   tracks")
        for r in rows:
            print(f"{r['view']:7}{r['person']:>7} {r['source']:30}{r['frames']:>7}"
                  f"{_vals(r, cols)}   {r['tracks']}")
        print(f"per view, persons pooled, against {what}")
        print(f"{'view':7} {'source':30}{'frames':>7}{_head(COLUMNS)}")
        for r in result["views"]:
            if r["reference"] == ref_name:
                print(f"{r['view']:7} {r['source']:30}{r['frames']:>7}{_vals(r, COLUMNS)}")
    cols = (*COLUMNS, "abs")
    print("\nyardstick noise: the 3-view reference (each camera left out) against the 4-view "
          "one, in that camera's axes; used = share of the 4-view body points that camera "
          "was used in")
    print(f"{'view':7}{'frames':>7}{_head(cols)}   used")
    for r in result["noise"]:
        print(f"{r['view']:7}{r['frames']:>7}{_vals(r, cols)}   {r['camera_used']:.2f}")
    print("\nmedian over views (mm)")
    print(f"{'reference':10}{'source':30}{_head(cols)}")
    for s in result["summary"]:
        print(f"{s['reference']:10}{s['source']:30}{_vals(s, cols)}")
    mirror = [f"{r['view']} {r['source']} {r['PA']:.0f} -> {r['PA_depth_negated']:.0f}"
              for r in result["views"] if r["reference"] == "4-view"]
    print("\nmirror check, PA-MPJPE with the source's depth negated (must be worse): "
          + ", ".join(mirror))
    if any(r["PA_depth_negated"] < r["PA"] for r in result["views"]):
        print("WARNING: a source scores better mirrored: its axes are not the camera's")
    measured = set(result["persons"])
    odd = [m for m in result["matches"] if m["person"] != m["multiview_person"]
           and (m["person"] in measured or m["multiview_person"] in measured)]
    print(f"\n2D matches: {sum(m['person'] is not None for m in result['matches'])} of "
          f"{len(result['matches'])} tracks matched to a reference person; "
          f"{len(odd)} differ from the multi-camera match over the measured persons"
          + (": " if odd else "")
          + "; ".join(f"{m['view']} track {m['track']} -> {m['person']} (multi-camera: "
                      f"{m['multiview_person']})" for m in odd))
    c = result["cost_s"]
    ms = ", ".join(f"{n} {v:.3f}" for n, v in result["ms_per_person_frame"].items())
    print(f"cost: tracking {c['tracking']:.1f} s ({c['frames']} frames, models "
          f"{c['load_models']:.1f} s), multi-camera solve {c['multiview']:.1f} s, "
          f"evaluation {c['evaluation']:.1f} s, total {c['total']:.1f} s; sources, ms per "
          f"person-frame: {ms}")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 3) if math.isfinite(value) else None
    return value


def measure(solved: Solved, names: list[str], oracle: bool = False) -> dict:
    """Everything printed, as one dict (see the module docstring), from a solved take
    (``oracle``: see :func:`evaluate`)."""
    persons = {p: person for p, person in enumerate(solved.persons)
               if _triangulated(person)[:, BODY_JOINTS].all(1).sum() >= MIN_PERSON_FRAMES}
    t0 = time.perf_counter()
    result = evaluate(solved, persons, names, oracle)
    seconds = dict(solved.seconds)
    seconds["evaluation"] = time.perf_counter() - t0
    seconds["total"] = sum(seconds[k] for k in ("load_models", "tracking", "multiview",
                                                "evaluation"))
    return {"source": "Pose2Sim Demo_MultiPerson (4 views), mocap's own tracking and "
                      "multi-camera triangulation",
            "joints": list(BODY_JOINTS),
            "sources": list(names),
            "persons": [p + 1 for p in persons],
            "person_frames": [int(_triangulated(p)[:, BODY_JOINTS].all(1).sum())
                              for p in persons.values()],
            "offsets": [round(float(o), 3) for o in solved.offsets],
            "cameras": [c.name for c in solved.calibration], **result, "cost_s": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=None,
                        help="comma-separated monocular sources (default: all: "
                             f"{', '.join(SOURCES)})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--oracle", action="store_true",
                        help="also the error with the reference's own depth: the track's 2D "
                             "back-projected at it, and each source's x, y with it (what a "
                             "perfect depth would give)")
    args = parser.parse_args(argv)
    names = args.sources.split(",") if args.sources else list(SOURCES)
    for name in names:
        if name not in SOURCES:
            parser.error(f"--sources: unknown source {name!r} (known: {', '.join(SOURCES)})")

    from mocap.io.assets import ensure_multiview_demo

    start = time.perf_counter()
    files = ensure_multiview_demo()
    views = [f"cam{v + 1:02d}" for v in range(4)]
    result = measure(solve_reference(files, views), names, oracle=args.oracle)
    result["cost_s"]["total"] = time.perf_counter() - start
    if args.json:
        print(json.dumps(_jsonable(result), indent=1))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
