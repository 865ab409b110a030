"""Issue 22's checks on real clips: what a user sees of each 3D lift (not a test).

Each clip is converted by the product's public API as ``mocap convert CLIP --lift LIFT``
runs it (:func:`mocap.app.convert.convert_video` with :class:`~mocap.app.convert.ConvertConfig`
defaults: the Mixamo rig, the camera measured; ``--formats bvh,npz``, no preview or HTML
report, which change no motion), once per lift in :data:`LIFTS`, into temporary folders.
Everything is then measured from the exported files: each person's ``person_<id>.npz``
(``joint_positions``, the exported rig's joints in the world, Y up, metres, the same motion
as the BVH; ``observed``; ``camera_rotation``), the rig's joints found by their roles
(:meth:`mocap.skeleton.rig.Rig.role_index`). Only frames where the person was seen
(``observed``) are measured. Per person and lift:

* ``walk``: the root (the rig's hips) over the ground, smoothed (Gaussian, s.d.
  :data:`WALK_SMOOTH_S`); walking frames are those where its smoothed speed is at least
  :data:`WALK_SPEED` and its vertical speed under :data:`WALK_MAX_CLIMB`, in runs of at
  least :data:`MIN_WALK_S` (a sustained walk on level ground, not a jump, a landing or a
  step); a person with such a run is a walker. ``across``: the median angle between the
  walking direction and the camera's horizontal right axis (0 deg: walking straight across
  the image); a walker within :data:`SIDE_ON_DEG` of it is **side-on**.
* ``wrist95``: over the walking frames and both arms, the 95th percentile of the wrist's
  sideways distance from its shoulder, m (sideways: horizontal, perpendicular to that
  frame's walking direction). Issue 22 gave BlazePose 0.42 m for a side-on walker;
  target <= :data:`WRIST_TARGET_M`.
* ``radius``: the 95th percentile of the root's horizontal distance from its median
  position, m; ``still``: the same of the hips' midpoint in the image (``landmarks_image``),
  as a share of the person's size there (the median diagonal of their landmarks' box). A
  person within :data:`STAND_RADIUS_M` and :data:`STILL_SHARE` stands in place: one video's
  depth wanders by a few tenths of a metre (Demo_MultiPerson's woman, standing: up to
  0.26 m; its man, stepping about the board: 0.09-0.35 m), so the world radius alone cannot
  tell them apart; in the image of a fixed camera the woman moves 4 % of her size, the man
  9-20 %. (A panning camera moves everyone in the image: nobody stands, by this rule.)
  ``knee``: the median
  knee angle (hip-knee-ankle, 180 = straight), deg, both knees, reported for everyone
  and checked for those standing in place. Issue 22: 156 deg for Demo_MultiPerson's woman
  doing dumbbell raises; target >= :data:`KNEE_TARGET_DEG`.
* ``jitter``: the product's own measure (:func:`mocap.geometry.series.jitter`: the mean
  absolute second difference over runs of observed frames) of the rig's body joints
  (hips, shoulders, elbows, wrists, hips, knees, ankles by role), mm per frame^2.
  Target: learned no worse than BlazePose.
* ``feet``: the height of the lowest foot joint (ankles and toes, by role) above the
  exported floor (y = 0), median over observed frames, m (feet on the ground: near 0; the
  Blender test checks the same in Blender).
* the same wrist and knee measures on the exported ``landmarks_world`` (the placed 33
  landmarks before retargeting) are in ``--json`` as ``lm_wrist95`` and ``lm_knee``.

Clips: the demo video (``mocap demo``'s ``sports2d_demo.mp4``: a woman walking side-on
across the image, a man on a box who jumps off it; 230 frames at 30 fps) and each camera of
Pose2Sim's Demo_MultiPerson converted alone (``cam01`` .. ``cam04``, 100 frames at 60 fps,
portrait: a man walking and turning, a woman standing in place moving her arms, and a
person far behind). Demo_SinglePerson and Demo_Batch are never used. People are paired
across lifts by id (the lift runs after tracking, which is the same for both).

The summary states the issue's four checks: the side-on walkers' ``wrist95`` against
0.20 m, the standing people's ``knee`` against 165 deg, the ratio of jitters
(learned / blazepose, per person, median over people), and a pointer to the Blender check
(``tests/lift/test_real_clips.py``: the learned demo's BVH upright in Blender, feet on the
floor). Cost: seconds per conversion.

Usage::

    .venv/bin/python benchmarks/eval_depth_clips.py [--clips demo,cam01,...]
        [--lifts blazepose,learned] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.geometry.series import gaussian_smooth, jitter, segments  # noqa: E402

#: The lifts compared (``--lift``).
LIFTS = ("blazepose", "learned")
#: The clips known: the demo video and each Demo_MultiPerson camera alone.
CLIPS = ("demo", "cam01", "cam02", "cam03", "cam04")

#: The root's path over the ground is smoothed with a Gaussian of this s.d., s, before its
#: direction and speed are taken (a stride's sway and the root's jitter average out).
WALK_SMOOTH_S = 0.4
#: Smoothed root speed, m/s, from which a frame counts as walking (a slow walk is ~0.8).
WALK_SPEED = 0.4
#: ... and its smoothed vertical speed, m/s, below this (a jump or a fall is not a walk).
WALK_MAX_CLIMB = 0.5
#: Shortest run of walking frames counted, s (a walker has one).
MIN_WALK_S = 1.0
#: A walker is side-on when their median walking direction is within this angle of the
#: camera's horizontal right axis, deg.
SIDE_ON_DEG = 30.0
#: A person stands in place when the 95th percentile of their root's horizontal distance
#: from its median is within this, m ...
STAND_RADIUS_M = 0.35
#: ... and that of their hips in the image within this share of their size in the image.
STILL_SHARE = 0.06
#: Fewest observed frames for a person to be measured at all.
MIN_FRAMES = 15
#: Issue 22's targets.
WRIST_TARGET_M = 0.20
KNEE_TARGET_DEG = 165.0

SIDES = ("left", "right")
#: The body roles whose jitter is measured.
BODY_ROLES = ("hips", *(f"{s}_{p}" for p in ("shoulder", "elbow", "wrist", "hip", "knee",
                                             "ankle") for s in SIDES))
#: The foot joints whose lowest is the person's foot height.
FOOT_ROLES = tuple(f"{s}_{p}" for p in ("ankle", "toe") for s in SIDES)
#: The same points among BlazePose's 33 landmarks (``landmarks_world``).
LANDMARK_ROLES = {"left_shoulder": 11, "right_shoulder": 12, "left_wrist": 15,
                  "right_wrist": 16, "left_hip": 23, "right_hip": 24, "left_knee": 25,
                  "right_knee": 26, "left_ankle": 27, "right_ankle": 28}


# --- the clips and the conversions ----------------------------------------------------------

def clip_paths(names: list[str]) -> dict[str, Path]:
    """``{clip name: video}`` for :data:`CLIPS` names (the videos fetched and cached as
    ``mocap demo`` fetches them)."""
    from mocap.io.assets import ensure_demo_video, ensure_multiview_demo

    out = {}
    if "demo" in names:
        out["demo"] = ensure_demo_video()
    views = [n for n in names if n != "demo"]
    if views:
        files = ensure_multiview_demo()
        out.update({n: files[f"{n}.mp4"] for n in views})
    return out


def convert(video: Path, out_dir: Path, lift: str, engine=None,
            formats: tuple[str, ...] = ("bvh", "npz")):
    """``mocap convert VIDEO -o OUT --lift LIFT --formats bvh,npz --no-preview`` through the
    public API; returns the :class:`~mocap.app.convert.ConvertResult`."""
    from mocap.app.convert import ConvertConfig, convert_video

    cfg = ConvertConfig(lift=lift, formats=formats, preview=False, report=False)
    return convert_video(video, out_dir, cfg, engine=engine)


# --- the measures ---------------------------------------------------------------------------

def read_people(out_dir: Path) -> list[dict]:
    """Every ``person_<id>.npz`` of a conversion: ``{"id", "fps", "observed" (F,), "camera"
    (F, 3, 3) world -> camera, "points" {role: (F, 3) m} of the rig's joints, "landmarks"
    {role: (F, 3) m} of the placed landmarks, "body" (F, B, 3) m (the rig's
    :data:`BODY_ROLES`), "image" (F, 33, 2) px}`` in the order of their ids."""
    from mocap.skeleton.rig import load_rig

    people = []
    for path in sorted(out_dir.glob("person_*.npz"), key=lambda p: int(p.stem.split("_")[1])):
        with np.load(path) as npz:
            rig = load_rig(str(npz["rig"]))
            joints = [str(j) for j in npz["joints"]]
            if joints != list(rig.joints):
                raise ValueError(f"{path.name}: joints differ from the rig {rig.name!r}")
            pos = npz["joint_positions"].astype(np.float64)
            lms = npz["landmarks_world"].astype(np.float64)
            points = {}
            for role in (*BODY_ROLES, *FOOT_ROLES[2:]):
                j = rig.role_index(role)
                if j is None:
                    raise ValueError(f"rig {rig.name!r} has no joint of role {role!r}")
                points[role] = pos[:, j]
            people.append({
                "id": int(npz["id"]), "fps": float(npz["fps"]),
                "observed": npz["observed"].astype(bool),
                "camera": npz["camera_rotation"].astype(np.float64),
                "points": points,
                "landmarks": {r: lms[:, i] for r, i in LANDMARK_ROLES.items()},
                "body": np.stack([points[r] for r in BODY_ROLES], axis=1),
                "image": npz["landmarks_image"].astype(np.float64),
            })
    return people


def walking(root: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(speed (F,) m/s over the ground, direction (F, 2) unit over the ground (x, z),
    climb (F,) m/s vertical)`` of the root (F, 3) smoothed over :data:`WALK_SMOOTH_S`."""
    smooth = gaussian_smooth(root, WALK_SMOOTH_S * fps)
    vel = np.gradient(smooth, axis=0) * fps if len(smooth) > 1 else np.zeros_like(smooth)
    ground = vel[:, [0, 2]]
    speed = np.linalg.norm(ground, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        direction = ground / speed[:, None]
    return speed, direction, vel[:, 1]


def wrist_sideways(points: dict[str, np.ndarray], direction: np.ndarray) -> np.ndarray:
    """(F, 2) the left and right wrists' sideways distance from their shoulders, m:
    horizontal, perpendicular to ``direction`` (F, 2) (x, z) over the ground."""
    side = np.stack([-direction[:, 1], direction[:, 0]], axis=1)  # (x, z) turned 90 deg
    out = []
    for s in SIDES:
        d = points[f"{s}_wrist"][:, [0, 2]] - points[f"{s}_shoulder"][:, [0, 2]]
        out.append(np.abs(np.sum(d * side, axis=1)))
    return np.stack(out, axis=1)


def knee_angles(points: dict[str, np.ndarray]) -> np.ndarray:
    """(F, 2) the left and right knee angles, deg (hip-knee-ankle; 180 = straight)."""
    out = []
    for s in SIDES:
        a = points[f"{s}_hip"] - points[f"{s}_knee"]
        b = points[f"{s}_ankle"] - points[f"{s}_knee"]
        cos = np.sum(a * b, -1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        out.append(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    return np.stack(out, axis=1)


def _pct(x: np.ndarray, q: float) -> float:
    x = np.asarray(x, np.float64).ravel()
    x = x[np.isfinite(x)]
    return float(np.percentile(x, q)) if x.size else math.nan


def measure_person(person: dict) -> dict:
    """The module docstring's measures of one person (see :func:`read_people`)."""
    fps, seen = person["fps"], person["observed"]
    pts = person["points"]
    root = pts["hips"]
    speed, direction, climb = walking(root, fps)
    walk = (seen & (speed >= WALK_SPEED) & (np.abs(climb) < WALK_MAX_CLIMB)
            & np.isfinite(direction).all(1))
    for a, b in segments(walk):
        if b - a < MIN_WALK_S * fps:
            walk[a:b] = False
    # the camera's right axis in the world, over the ground: row 0 of world -> camera
    right = person["camera"][:, 0, [0, 2]]
    right = right / np.linalg.norm(right, axis=1, keepdims=True)
    across = np.degrees(np.arccos(np.clip(np.abs(np.sum(direction * right, 1)), 0, 1)))
    walker = bool(walk.any())
    across_deg = float(np.median(across[walk])) if walk.any() else math.nan
    ground = root[seen][:, [0, 2]]
    radius = _pct(np.linalg.norm(ground - np.median(ground, 0), axis=1), 95)
    image = person["image"][seen]
    hips_px = image[:, [LANDMARK_ROLES["left_hip"], LANDMARK_ROLES["right_hip"]]].mean(1)
    size_px = np.median(np.linalg.norm(image.max(1) - image.min(1), axis=1))
    still = _pct(np.linalg.norm(hips_px - np.median(hips_px, 0), axis=1), 95) / float(size_px)
    lms = person["landmarks"]
    return {
        "id": person["id"], "frames": len(seen), "observed": int(seen.sum()),
        "walking_s": float(walk.sum() / fps),
        "speed": float(np.median(speed[walk])) if walk.any() else math.nan,
        "walker": bool(walker), "across": across_deg,
        "side_on": bool(walker and across_deg <= SIDE_ON_DEG),
        "wrist95": _pct(wrist_sideways(pts, direction)[walk], 95) if walker else math.nan,
        "lm_wrist95": (_pct(wrist_sideways(lms, direction)[walk], 95) if walker
                       else math.nan),
        "radius": radius, "still": still,
        "standing": bool(radius <= STAND_RADIUS_M and still <= STILL_SHARE),
        "knee": _pct(knee_angles(pts)[seen], 50), "lm_knee": _pct(knee_angles(lms)[seen], 50),
        "jitter": 1000 * jitter(person["body"], seen),
        "feet": _pct(np.min([pts[r][seen, 1] for r in FOOT_ROLES], axis=0), 50),
    }


def measure_run(out_dir: Path) -> list[dict]:
    """:func:`measure_person` of every person of a conversion with :data:`MIN_FRAMES` seen
    frames."""
    return [measure_person(p) for p in read_people(out_dir) if p["observed"].sum() >= MIN_FRAMES]


def evaluate(clips: dict[str, Path], lifts: list[str], engine=None) -> dict:
    """Convert every clip with every lift and measure it: ``{"rows": [...], "summary":
    {...}, "cost_s": {...}}`` (see the module docstring)."""
    if engine is None:
        from mocap.tracking.loop import make_video_engine

        engine = make_video_engine()
    rows, cost = [], {}
    with tempfile.TemporaryDirectory(prefix="eval-depth-clips-") as tmp:
        for clip, video in clips.items():
            for lift in lifts:
                t0 = time.perf_counter()
                out = Path(tmp) / clip / lift
                result = convert(video, out, lift, engine)
                cost[f"{clip}/{lift}"] = time.perf_counter() - t0
                if "lift" in result.timings:
                    cost[f"{clip}/{lift}/lift_stage"] = result.timings["lift"]
                rows += [{"clip": clip, "lift": lift, **m} for m in measure_run(out)]
    return {"rows": rows, "summary": summarize(rows, lifts), "cost_s": cost}


def summarize(rows: list[dict], lifts: list[str]) -> dict:
    """Issue 22's real-clip checks per lift. Who is a side-on walker or stands in place is
    decided by the first lift's run (BlazePose's: today's), so both lifts are measured on the
    same people."""
    first = lifts[0]
    base = {(r["clip"], r["id"]): r for r in rows if r["lift"] == first}
    side_on = [k for k, r in base.items() if r["side_on"]]
    standing = [k for k, r in base.items() if r["standing"]]
    out = {"side_on": [f"{c} #{i}" for c, i in side_on],
           "standing": [f"{c} #{i}" for c, i in standing], "lifts": {}}
    for lift in lifts:
        mine = {(r["clip"], r["id"]): r for r in rows if r["lift"] == lift}
        wrist = [mine[k]["wrist95"] for k in side_on if k in mine]
        knee = [mine[k]["knee"] for k in standing if k in mine]
        ratio = [mine[k]["jitter"] / base[k]["jitter"] for k in base
                 if k in mine and base[k]["jitter"] > 0]
        out["lifts"][lift] = {
            "wrist95_side_on_max": max(wrist) if wrist else math.nan,
            "wrist_ok": bool(wrist) and max(wrist) <= WRIST_TARGET_M,
            "knee_standing_min": min(knee) if knee else math.nan,
            "knee_standing_median": float(np.median(knee)) if knee else math.nan,
            "knee_ok": bool(knee) and min(knee) >= KNEE_TARGET_DEG,
            "jitter_ratio_median": float(np.median(ratio)) if ratio else math.nan,
            "jitter_ratio_max": max(ratio) if ratio else math.nan,
        }
    return out


# --- printing -------------------------------------------------------------------------------

def _f(value, fmt: str, width: int) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-".rjust(width)
    return format(value, fmt).rjust(width)


def _print(result: dict, lifts: list[str]) -> None:
    print("per person (exported rig, observed frames): wrist95 = 95th pct of the wrist's "
          "sideways distance from its shoulder while walking, m;\nknee = median knee angle, "
          "deg; jitter = mean |2nd difference| of the body joints, mm/frame^2; radius = "
          "95th pct of the root's distance from its median, m;\nstill = the same of the hips in "
          "the image, share of the person's size; feet = median height of the lowest foot "
          "joint, m; across = walking direction's "
          "angle to the camera's right axis, deg (walkers only)")
    cols = "".join(f"{'wrist95 ' + lift[:5]:>15}" for lift in lifts) + "".join(
        f"{'knee ' + lift[:5]:>12}" for lift in lifts) + "".join(
        f"{'jitter ' + lift[:5]:>14}" for lift in lifts) + "".join(
        f"{'feet ' + lift[:5]:>12}" for lift in lifts)
    print(f"\n{'clip':6}{'id':>4}{'seen':>6}{'walk s':>7}{'across':>7}{'radius':>7}"
          f"{'still':>6} role    {cols}")
    by = {(r["clip"], r["id"], r["lift"]): r for r in result["rows"]}
    for r in result["rows"]:
        if r["lift"] != lifts[0]:
            continue
        role = "side-on" if r["side_on"] else "walker" if r["walker"] else \
            "stands" if r["standing"] else ""
        others = [by.get((r["clip"], r["id"], lift), {}) for lift in lifts]
        line = (f"{r['clip']:6}{r['id']:>4}{r['observed']:>6}{r['walking_s']:>7.1f}"
                f"{_f(r['across'], '.0f', 7)}{_f(r['radius'], '.2f', 7)}"
                f"{_f(r['still'], '.2f', 6)} {role:8}")
        line += "".join(_f(o.get("wrist95"), ".3f", 15) for o in others)
        line += "".join(_f(o.get("knee"), ".1f", 12) for o in others)
        line += "".join(_f(o.get("jitter"), ".2f", 14) for o in others)
        line += "".join(_f(o.get("feet"), ".3f", 12) for o in others)
        print(line)
    s = result["summary"]
    print(f"\nside-on walkers: {', '.join(s['side_on']) or 'none'}; standing in place: "
          f"{', '.join(s['standing']) or 'none'} (decided on the {lifts[0]} run)")
    print(f"{'lift':11}{'wrist95 max':>12} (<= {WRIST_TARGET_M:.2f})"
          f"{'knee min/median':>17} (>= {KNEE_TARGET_DEG:.0f})"
          f"{'jitter ratio median/max':>26} (<= 1)")
    for lift, v in s["lifts"].items():
        print(f"{lift:11}{_f(v['wrist95_side_on_max'], '.3f', 12)} "
              f"{'ok ' if v['wrist_ok'] else 'MISS':>8}{_f(v['knee_standing_min'], '.1f', 10)}"
              f" /{_f(v['knee_standing_median'], '.1f', 6)}"
              f"{'ok ' if v['knee_ok'] else 'MISS':>8}"
              f"{_f(v['jitter_ratio_median'], '.3f', 14)} /{_f(v['jitter_ratio_max'], '.3f', 6)}")
    print("Blender (upright, feet on the floor, learned lift): "
          ".venv/bin/pytest tests/lift/test_real_clips.py -m blender")
    cost = ", ".join(f"{k} {v:.1f}" for k, v in result["cost_s"].items())
    print(f"cost, s: {cost}")


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", default=",".join(CLIPS),
                        help=f"comma-separated clips (default: {','.join(CLIPS)})")
    parser.add_argument("--lifts", default=",".join(LIFTS),
                        help=f"comma-separated lifts, the first is the baseline (default: "
                             f"{','.join(LIFTS)})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    names, lifts = args.clips.split(","), args.lifts.split(",")
    for n in names:
        if n not in CLIPS:
            parser.error(f"--clips: unknown clip {n!r} (known: {', '.join(CLIPS)})")
    for lift in lifts:
        if lift not in LIFTS:
            parser.error(f"--lifts: unknown lift {lift!r} (known: {', '.join(LIFTS)})")
    start = time.perf_counter()
    result = evaluate(clip_paths(names), lifts)
    result["cost_s"]["total"] = time.perf_counter() - start
    result["targets"] = {"wrist95_m": WRIST_TARGET_M, "knee_deg": KNEE_TARGET_DEG,
                         "jitter_ratio": 1.0}
    if args.json:
        print(json.dumps(_jsonable(result), indent=1))
    else:
        _print(result, lifts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
