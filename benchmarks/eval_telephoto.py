"""Telephoto pans and tripods through ``mocap convert``, end to end (issue 23's must-shows).

The demo video (a fixed camera, two people) is converted as it is: that is the reference.
Then it is filmed again by a virtual telephoto camera that turns about the real camera's
centre to follow the woman who walks across (``tests.perception.telephoto``: a
perspective-correct moving crop of real footage, upscaled, with a running timer and a logo
burned in), so the true pan, tilt and focal length of every clip frame are known and the
reference says where everybody went. Each clip is written as MJPG (quality 95) and converted
by :func:`mocap.app.convert.convert_video` with default options (no preview; that changes
nothing measured), at 1280 x 720 and 1920 x 1080, as a pan (about 40 deg; ``--pan``) and as a
pan with a 1.3x zoom in, through two crop windows:

* ``fit``: the narrowest window (16:9) that holds her whole body (1.4x her height in the
  source: about 980 px of the source's 1768, so 1.3x / 2.0x the source's focal length);
* ``400``: the issue's 400 px window (3.2x / 4.8x; 4.2x / 6.2x at the end of the zoom), which
  shows her from the thighs up only: the camera is measured there, her feet cannot be.

The source's field of view is taken as 60 deg (the generator's :data:`SRC_FOV`): the clips'
true focal length is that times the window's magnification. The reference is converted
twice: with default options (its focal length then comes from the people or the 65 deg
prior: the tripod check) and with the source's 60 deg (the same lens the clips were made
with: the yardstick for travel).

Per clip: the focal length used (report.json ``camera.focal``) against the truth, % and its
source; the largest pan error, deg (``camera.pan_deg`` against the crop's); the frames whose
inlier share is under ``translating_inliers`` (``T``: ``camera_translating`` raised) and the
unreliable frames (``U``: ``camera_unreliable`` raised); seconds and ms per frame (the whole
conversion). Per person of the clip, matched to a reference person by their hips mapped
back through the crop into the source video (median distance under a third of the
reference person's height): the share of the frames seen in which the lowest foot landmark
(ankles, heels, toes of the placed landmarks; ground at y = 0) is within 0.15 m of the
ground (target >= 90 %), and travel over the frames both saw: the root's path length over
the ground (:func:`mocap.geometry.series.path_length`, as report.json's
``root_path_length_m``) and net displacement, as a ratio to the reference's (target within
10 %).

Tripods: the demo video and each of Demo_MultiPerson's four views
(:func:`mocap.io.assets.ensure_multiview_demo`) converted alone, default options: any
``camera_*`` warning is listed (target: none).

Usage::

    .venv/bin/python benchmarks/eval_telephoto.py [--out DIR] [--pan 40] [--windows fit,400]
        [--sizes 720,1080] [--no-zoom] [--no-tripods] [--true-focal]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.perception.telephoto

from mocap.app.convert import ConvertConfig, convert_video  # noqa: E402
from mocap.geometry.series import path_length  # noqa: E402
from mocap.io import assets  # noqa: E402
from mocap.perception.camera_motion import CameraMotionConfig  # noqa: E402
from mocap.types import CameraPath  # noqa: E402
from tests.helpers import view_rotation  # noqa: E402
from tests.perception.telephoto import SRC_FOV, read_frames, telephoto_clip  # noqa: E402

FOOT = slice(27, 33)  # BlazePose ankles, heels, toes
HIPS = [23, 24]
GROUND_M = 0.15
ZOOM = 1.3
SIZES = {"720": (1280, 720), "1080": (1920, 1080)}


def convert(video: Path, out: Path, **options) -> tuple[dict, object]:
    """``mocap convert`` with default options (no preview): (report.json, result)."""
    cfg = ConvertConfig(preview=False, report=False, formats=("json",), **options)
    result = convert_video(video, out, cfg, force=True)
    return json.loads((out / "report.json").read_text()), result


def people_of(result) -> dict[int, dict]:
    """Per person: video frames, observed, hips (F, 2) px, height (F,) px, feet (F,) m
    (the lowest foot landmark's height), ground path (F, 2) m."""
    out = {}
    for p in result.people:
        img = np.asarray(p.track.image)[:, :, :2]
        out[p.id] = {
            "frames": np.asarray(p.track.frames), "observed": np.asarray(p.track.observed),
            "hips": img[:, HIPS].mean(1), "height": np.ptp(img[:, :, 1], axis=1),
            "box_y": 0.5 * (img[:, :, 1].min(1) + img[:, :, 1].max(1)),
            "feet": np.asarray(p.motion.world.landmarks)[:, FOOT, 1].min(1),
            "ground": np.asarray(p.animation.root_translation)[:, [0, 2]]}
    return out


def follow_path(person: dict, n_src: int, width: int, height: int, pan_deg: float):
    """The source frames to film and the crop's yaw and pitch (deg) that keep ``person``
    centred: the frames where her smoothed bearing stays within ``pan_deg`` around the middle
    of her walk."""
    f_src = 0.5 * width / np.tan(np.radians(SRC_FOV) / 2)
    fr, seen = person["frames"], person["observed"]
    t = np.arange(n_src)
    x = np.interp(t, fr[seen], person["hips"][seen, 0])
    y = np.interp(t, fr[seen], person["box_y"][seen])
    k = np.exp(-0.5 * (np.arange(-20, 21) / 6) ** 2)
    k /= k.sum()
    yaw = np.convolve(np.pad(np.degrees(np.arctan((x - width / 2) / f_src)), 20, "edge"), k,
                      "valid")
    pitch = np.convolve(np.pad(-np.degrees(np.arctan((y - height / 2) / f_src)), 20, "edge"),
                        k, "valid")
    inside = (t >= fr[0]) & (t <= fr[-1])
    mid = 0.5 * (yaw[inside].min() + yaw[inside].max())
    keep = inside & (np.abs(yaw - mid) <= pan_deg / 2)
    idx = np.flatnonzero(keep)
    idx = np.arange(idx[0], idx[-1] + 1)
    return idx, yaw[idx], pitch[idx]


def write_clip(images: list[np.ndarray], path: Path, fps: float) -> None:
    h, w = images[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    out.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    for im in images:
        out.write(cv2.cvtColor(im, cv2.COLOR_RGB2BGR))
    out.release()


def to_source(xy: np.ndarray, views: np.ndarray, focal: np.ndarray, size, src_size):
    """Clip px (F, 2) -> source px through each frame's crop (``views`` (F, 3, 3) the
    crop's orientation, ``focal`` (F,) the clip's focal length, px)."""
    f_src = 0.5 * src_size[0] / np.tan(np.radians(SRC_FOV) / 2)
    ray = np.stack([(xy[:, 0] - size[0] / 2) / focal, (xy[:, 1] - size[1] / 2) / focal,
                    np.ones(len(xy))], axis=1)
    src = np.einsum("fij,fj->fi", views, ray)
    return np.stack([f_src * src[:, 0] / src[:, 2] + src_size[0] / 2,
                     f_src * src[:, 1] / src[:, 2] + src_size[1] / 2], axis=1)


def travel(a: dict, b: dict, fps: float) -> tuple[float, float, float, float, int]:
    """Path length and net displacement of ``a`` and ``b`` over the video frames both
    have: (path a, path b, net a, net b, frames)."""
    common = np.intersect1d(a["frames"], b["frames"])
    if len(common) < 2:
        return (np.nan,) * 4 + (0,)
    ga = a["ground"][np.searchsorted(a["frames"], common)]
    gb = b["ground"][np.searchsorted(b["frames"], common)]
    return (path_length(ga, fps), path_length(gb, fps), float(np.linalg.norm(ga[-1] - ga[0])),
            float(np.linalg.norm(gb[-1] - gb[0])), len(common))


def on_ground(p: dict) -> float:
    seen = p["observed"] & np.isfinite(p["feet"])
    return float((np.abs(p["feet"][seen]) <= GROUND_M).mean()) if seen.any() else np.nan


def camera_numbers(report: dict, truth: dict) -> dict:
    cam = report["camera"]
    n = len(truth["zoom"])
    true = CameraPath(truth["rotation"], truth["zoom"], np.zeros(n), np.ones(n),
                      np.ones(n, bool))
    pan = np.array(cam.get("pan_deg", np.zeros(n)))
    share = np.array([np.nan if s is None else s for s in cam.get("inlier_share", [])], float)
    low = int((share < CameraMotionConfig().translating_inliers).sum())
    unrel = sum(b - a + 1 for a, b in cam.get("unreliable_frames", []))
    codes = {w["code"] for w in report["warnings"]}
    focal = cam.get("focal", {})
    return {"f_true": float(truth["focal_px"][0]), "f": focal.get("focal_px", np.nan),
            "source": focal.get("source", "?"),
            "pan_err": float(np.abs(pan - true.angles_deg()[:, 0]).max()),
            "pan_span": float(np.ptp(true.angles_deg()[:, 0])),
            "low": low, "T": "camera_translating" in codes, "unrel": unrel,
            "U": "camera_unreliable" in codes}


def match(clip_people: dict, ref_people: dict, idx: np.ndarray, views, focal, size,
          src_size) -> dict[int, int | None]:
    """Clip person id -> reference person id (hips through the crop, median distance under
    a third of the reference person's height)."""
    out = {}
    for cid, c in clip_people.items():
        seen = c["observed"]
        src_frames = idx[c["frames"][seen]]
        hips = to_source(c["hips"][seen], views[c["frames"][seen]], focal[c["frames"][seen]],
                         size, src_size)
        best, best_d = None, np.inf
        for rid, r in ref_people.items():
            common, ic, ir = np.intersect1d(src_frames, r["frames"], return_indices=True)
            if len(common) < 5:
                continue
            d = np.median(np.linalg.norm(hips[ic] - r["hips"][ir], axis=1))
            if d < best_d and d < np.median(r["height"][ir]) / 3:
                best, best_d = rid, d
        out[cid] = best
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/eval_telephoto"))
    ap.add_argument("--pan", type=float, default=40.0, help="pan of the clips, deg")
    ap.add_argument("--windows", default="fit,400")
    ap.add_argument("--sizes", default="720,1080")
    ap.add_argument("--no-zoom", action="store_true")
    ap.add_argument("--no-tripods", action="store_true")
    ap.add_argument("--true-focal", action="store_true",
                    help="convert each clip with its true focal length too (--focal-px): "
                    "the pan error that is not the focal length's")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    demo = assets.ensure_demo_video()
    cap = cv2.VideoCapture(str(demo))
    fps, n_src = cap.get(cv2.CAP_PROP_FPS), int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    src_size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    cap.release()
    f_src = 0.5 * src_size[0] / np.tan(np.radians(SRC_FOV) / 2)

    tripods = []
    t0 = time.perf_counter()
    rep, res = convert(demo, args.out / "demo")
    tripods.append(("demo", rep, res, time.perf_counter() - t0))
    _, ref_res = convert(demo, args.out / "reference", focal_px=f_src)
    ref = people_of(ref_res)
    walker = max(ref, key=lambda i: np.ptp(ref[i]["hips"][:, 0]))
    idx, yaw, pitch = follow_path(ref[walker], n_src, *src_size, args.pan)
    frames = read_frames(demo, idx[-1] + 1)[idx[0]:]
    height = np.percentile(ref[walker]["height"], 90)
    print(f"reference: {demo.name} {src_size[0]}x{src_size[1]}, {n_src} frames, people "
          f"{sorted(ref)} (walker {walker}, {height:.0f} px tall); clips: source frames "
          f"{idx[0]}-{idx[-1]}, yaw {yaw[0]:+.1f} -> {yaw[-1]:+.1f} deg, pitch "
          f"{pitch.min():+.1f}..{pitch.max():+.1f} deg")
    for rid, r in sorted(ref.items()):
        print(f"  reference person {rid}: feet on ground {100 * on_ground(r):.0f} %, frames "
              f"{r['frames'][0]}-{r['frames'][-1]}")

    rows, person_rows = [], []
    windows = {"fit": 1.4 * height * 16 / 9, "400": 400.0}
    for size_name in args.sizes.split(","):
        size = SIZES[size_name]
        for wname in args.windows.split(","):
            for zoomed in (False,) if args.no_zoom else (False, True):
                n = len(idx)
                zoom = np.linspace(1, ZOOM, n) if zoomed else None
                window = windows[wname] * (ZOOM if zoomed else 1.0)
                images, truth = telephoto_clip(frames, yaw, zoom, size=size, window=window,
                                               pitch_deg=pitch)
                name = f"{size[1]}p {wname:>3} {'pan+zoom' if zoomed else 'pan'}"
                clip = args.out / f"{name.replace(' ', '_')}.avi"
                write_clip(images, clip, fps)
                del images
                t0 = time.perf_counter()
                report, result = convert(clip, args.out / clip.stem)
                wall = time.perf_counter() - t0
                cam = camera_numbers(report, truth)
                cam.update(name=name, mag=truth["focal_px"][0] / f_src, s=wall,
                           ms=1000 * wall / n, n=n, pan_err_true=np.nan)
                if args.true_focal:
                    given, _ = convert(clip, args.out / f"{clip.stem}_true",
                                       focal_px=float(truth["focal_px"][0]))
                    cam["pan_err_true"] = camera_numbers(given, truth)["pan_err"]
                rows.append(cam)
                views = np.stack([view_rotation(a, b) for a, b in zip(yaw, pitch,
                                                                       strict=True)])
                clip_people = people_of(result)
                for cid, rid in match(clip_people, ref, idx, views, truth["focal_px"],
                                      size, src_size).items():
                    c = dict(clip_people[cid])
                    c["frames"] = idx[c["frames"]]
                    tr = travel(c, ref[rid], fps) if rid is not None else (np.nan,) * 4 + (0,)
                    person_rows.append({"name": name, "id": cid, "ref": rid,
                                        "ground": on_ground(clip_people[cid]),
                                        "seen": int(clip_people[cid]["observed"].sum()),
                                        "travel": tr})
                print(f"  done {name}: {wall:.0f} s", flush=True)

    print(f"\n{'clip':<20}{'x':>5}{'f true':>8}{'f used':>8}{'err %':>7} {'source':<9}"
          f"{'pan':>6}{'pan err':>8}{'@true':>6}{'transl.':>8}{'unrel.':>7}{'s':>6}{'ms/fr':>7}")
    for r in rows:
        print(f"{r['name']:<20}{r['mag']:5.1f}{r['f_true']:8.0f}{r['f']:8.0f}"
              f"{100 * (r['f'] / r['f_true'] - 1):+7.1f} {r['source']:<9}{r['pan_span']:6.1f}"
              f"{r['pan_err']:8.2f}{r['pan_err_true']:6.2f}{r['low']:6d}"
              f"{'T' if r['T'] else ' ':>2}{r['unrel']:5d}"
              f"{'U' if r['U'] else ' ':>2}{r['s']:6.0f}{r['ms']:7.0f}")
    print(f"pan: true pan span, deg; pan err: largest over the frames, deg (@true: with "
          f"--focal-px at the true focal length, --true-focal); transl.: frames with inlier "
          f"share under "
          f"{CameraMotionConfig().translating_inliers} (T: camera_translating raised); "
          f"unrel.: unreliable frames (U: camera_unreliable raised)")

    print(f"\n{'clip':<20}{'person':>7}{'ref':>4}{'seen':>6}{'ground %':>9}{'common':>7}"
          f"{'path m':>8}{'ref m':>7}{'ratio':>7}{'net m':>7}{'ref m':>7}{'ratio':>7}")
    for p in person_rows:
        pa, pb, na, nb, k = p["travel"]
        print(f"{p['name']:<20}{p['id']:7d}{p['ref'] if p['ref'] is not None else '-':>4}"
              f"{p['seen']:6d}{100 * p['ground']:9.0f}{k:7d}{pa:8.2f}{pb:7.2f}"
              f"{pa / pb if pb else np.nan:7.2f}{na:7.2f}{nb:7.2f}{na / nb if nb else np.nan:7.2f}")
    print(f"ground %: frames seen with the lowest foot landmark within {GROUND_M} m of the "
          "ground; path/net: root over the ground over the frames both saw, vs the reference "
          f"(converted at the source's {SRC_FOV:.0f} deg)")

    if not args.no_tripods:
        views = assets.ensure_multiview_demo()
        for cam in ("cam01.mp4", "cam02.mp4", "cam03.mp4", "cam04.mp4"):
            t0 = time.perf_counter()
            rep, res = convert(views[cam], args.out / Path(cam).stem)
            tripods.append((cam, rep, res, time.perf_counter() - t0))
        print(f"\n{'tripod':<12}{'frames':>7}{'moving':>7}{'focal':>8} {'source':<8}"
              f"{'s':>5}{'ms/fr':>7}  camera warnings")
        for name, rep, res, wall in tripods:
            cam = rep["camera"]
            warns = [w["code"] for w in rep["warnings"] if w["code"].startswith("camera")]
            print(f"{name:<12}{res.frame_count:7d}{cam['moving']!s:>7}"
                  f"{cam['focal']['focal_px']:8.0f} {cam['focal']['source']:<8}{wall:5.0f}"
                  f"{1000 * wall / res.frame_count:7.0f}  {', '.join(warns) or 'none'}")


if __name__ == "__main__":
    main()
