"""Several videos of one take -> one animated rig per person (multi-camera convert).

:func:`convert_views` runs the single-video pipeline's tracking on every video, then the
multi-camera stages (:mod:`mocap.multiview`) in place of the monocular 3D:

1. the cameras: a calibration file (each video goes with the camera of its name,
   :meth:`~mocap.multiview.calibration.Calibration.for_videos`) or ``auto``
   (:func:`~mocap.multiview.autocalib.auto_calibrate`, from the people alone);
2. the time offsets between the videos (:func:`~mocap.multiview.sync.estimate_offsets`,
   sub-frame; or given);
3. each video's tracks matched into persons
   (:func:`~mocap.multiview.match.match_tracks`) and triangulated
   (:func:`~mocap.multiview.scene.triangulate_persons`);
4. the world levelled from the feet (:func:`mocap.motion.world.level_scene`: Y up, the
   ground at y = 0), then every person retargeted and exported exactly as a single video's
   (:func:`mocap.app.person.animate_person`, :mod:`mocap.export`).

Frames are the *first* video's: frame ``i`` of every output is frame ``i`` of the first
video. Written beside the person files: ``calibration.toml`` (the cameras in the outputs'
world, Pose2Sim's TOML), ``preview.mp4`` (a grid of the views, the exported rigs
reprojected into each), ``report.json``/``report.html`` with a ``views`` block (offsets,
per-view reprojection errors, coverage per view and person, the cameras seen from above).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from mocap.app.checks import QualityWarning, frame_ranges, person_warnings
from mocap.app.convert import (
    ConvertConfig,
    ConvertResult,
    conversion_settings,
    conversion_target,
    pipeline_config,
    prepare_output,
    publish,
    write_people,
)
from mocap.app.person import PersonResult, animate_person, person_stats
from mocap.app.preview import write_views_preview
from mocap.app.report import build_report, render_report_html
from mocap.errors import InputError, OutputError
from mocap.export.blender import check_blender
from mocap.export.formats import BLENDER_FORMATS
from mocap.fileio import OutputDir
from mocap.geometry.series import fill_nan
from mocap.io.video import VideoInfo, open_video
from mocap.motion.world import LANDMARK_INDEX, level_scene, placed_motion
from mocap.multiview.autocalib import auto_calibrate
from mocap.multiview.calibration import Calibration, calibration_toml, read_calibration
from mocap.multiview.match import match_tracks
from mocap.multiview.scene import Person3D, triangulate_persons
from mocap.multiview.sync import estimate_offsets
from mocap.perception.hands import HandConfig
from mocap.perception.landmarks import EngineOptions
from mocap.tracking.loop import TrackResult, make_video_engine, track_video
from mocap.types import LANDMARK_NAMES, NUM_LANDMARKS, Track

__all__ = ["CALIBRATION_FILE", "ViewsConfig", "convert_views"]

#: The calibration written beside the outputs.
CALIBRATION_FILE = "calibration.toml"
#: Videos whose frame rates differ by more than this share are refused (frames are paired
#: by index and offset: a 30 and a 60 fps video would need resampling).
FPS_TOLERANCE = 0.01
#: ... nor may two rates drift apart by more than this many frames over the shorter clip.
MAX_DRIFT_FRAMES = 0.5
#: A track seen by one camera only is reported when it was seen this many seconds.
LONE_TRACK_S = 1.0
#: A view whose median reprojection error over everyone is above this (px) is warned about.
HIGH_REPROJECTION_PX = 15.0
#: Where a person's landmark was never triangulated (seen by under two cameras in every
#: frame), the landmark standing in for it: the face on the nose, the hand points on the
#: wrist, heel and toes on the ankle (the rig then holds those parts still relative to it).
STAND_INS = {**{i: 0 for i in range(1, 11)}, 17: 15, 19: 15, 21: 15, 18: 16, 20: 16, 22: 16,
             29: 27, 31: 27, 30: 28, 32: 28}
#: The landmarks a person needs triangulated (in some frame) to be exported: shoulders,
#: elbows, wrists, hips, knees, ankles, and the nose or any other face landmark.
BODY_LANDMARKS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


@dataclass(frozen=True)
class ViewsConfig:
    """The multi-camera settings of a conversion (validated on construction).

    Attributes:
        calibration: a calibration file (Pose2Sim/anipose/FreeMoCap TOML, Qualisys
            ``.qca.txt``, OpenCV YAML/JSON/XML) or ``"auto"`` (the cameras from the people).
        offsets: per video, its time offset in frames (video ``v``'s frame ``f +
            offsets[v]`` is the first video's frame ``f``; the first is 0); None: found
            from the people's motion.
        scale_m: with ``auto``, the distance between the first two cameras, metres (None:
            the scale from the people's sizes).
    """

    calibration: str
    offsets: tuple[float, ...] | None = None
    scale_m: float | None = None

    def __post_init__(self) -> None:
        if not str(self.calibration):
            raise InputError("--calibration needs a file or 'auto'")
        if self.offsets is not None:
            offs = tuple(float(o) for o in self.offsets)
            if not all(math.isfinite(o) for o in offs):
                raise InputError(f"--offsets must be finite numbers of frames, got {offs}")
            if offs and offs[0] != 0:
                raise InputError(f"--offsets: the first video's offset must be 0 (the others "
                                 f"are relative to it), got {offs[0]:g}")
            object.__setattr__(self, "offsets", offs)
        if self.scale_m is not None:
            if not (math.isfinite(self.scale_m) and self.scale_m > 0):
                raise InputError(f"--scale-m must be a length > 0 in metres, got "
                                 f"{self.scale_m}")
            if not self.auto:
                raise InputError("--scale-m sets the scale of --calibration auto; a "
                                 "calibration file has its own")

    @property
    def auto(self) -> bool:
        return str(self.calibration).lower() == "auto"


def _video_infos(videos: list[Path]) -> list[VideoInfo]:
    """Each video opened once (an unreadable one fails by name), frame rates checked."""
    infos = []
    for v in videos:
        with open_video(v, prefetch=0) as reader:
            infos.append(reader.info)
    rate0 = infos[0].rate
    for v, info in zip(videos[1:], infos[1:], strict=True):
        # frames are paired by index and one offset: a different rate drifts by this many
        # frames over the clip
        frames = max(min(infos[0].frame_count, info.frame_count), 1)
        drift = abs(info.rate / rate0 - 1.0) * frames
        if abs(info.rate - rate0) > FPS_TOLERANCE * rate0 or drift > MAX_DRIFT_FRAMES:
            raise InputError(f"the videos have different frame rates ({videos[0].name} "
                             f"{rate0:g} fps, {v.name} {info.rate:g} fps): re-encode them "
                             "to one rate")
    return infos


def convert_views(videos: Sequence[str | os.PathLike], out_dir: str | os.PathLike,
                  config: ConvertConfig | None = None, views: ViewsConfig | None = None, *,
                  engine=None, force: bool = False,
                  progress: Callable[[str, int, int], None] | None = None,
                  engine_options: EngineOptions | None = None,
                  within: str | os.PathLike | None = None) -> ConvertResult:
    """Convert several videos of one take into per-person animations and their outputs.

    Args:
        videos: two or more video files of the same take, one per camera.
        out_dir: output directory (created if missing).
        config: :class:`~mocap.app.convert.ConvertConfig` (``fov_deg`` and ``camera`` do
            not apply: the cameras are calibrated and fixed).
        views: :class:`ViewsConfig` (required: the calibration).
        engine, force, progress, engine_options, within: as
            :func:`mocap.app.convert.convert_video` (``progress`` stages: ``"tracking
            N/V"`` per video, ``"preview"``, ``"blender"``).

    Returns:
        :class:`~mocap.app.convert.ConvertResult` for the first video's frames, with
        ``views`` (the report's block) and ``scene_warnings``.

    Raises:
        InputError: fewer than two videos, the same video twice, an unreadable video,
            different frame rates, a video with no camera in the calibration or of
            another size, a calibration that cannot be read or found (``auto``).
        OutputError: as :func:`~mocap.app.convert.convert_video`.
    """
    start = time.perf_counter()
    cfg = config or ConvertConfig()
    if views is None:
        raise InputError("several videos need --calibration FILE or --calibration auto")
    paths = [Path(v) for v in videos]
    if len(paths) < 2:
        raise InputError("--calibration needs two or more videos of the same take (one "
                         "video: mocap convert VIDEO -o DIR)")
    seen: dict[tuple, Path] = {}
    for p in paths:
        try:
            key = (os.stat(p).st_dev, os.stat(p).st_ino)
        except OSError:
            key = (str(p.resolve()),)
        if key in seen:
            raise InputError(f"{p} is given twice (as {seen[key]}): one video per camera")
        seen[key] = p
    stems: dict[str, Path] = {}
    for p in paths:  # the stem names the camera: two alike would be one camera
        if p.stem.lower() in stems:
            raise InputError(f"{stems[p.stem.lower()]} and {p} have one name ({p.stem}): "
                             "each video names its camera; rename one")
        stems[p.stem.lower()] = p
    if views.auto and len(paths) < 3:
        raise InputError("--calibration auto needs three or more cameras: from two, the "
                         "people alone cannot fix the cameras' focal lengths (calibrate "
                         "them with `mocap calibrate` and a board)")
    if views.offsets is not None and len(views.offsets) != len(paths):
        raise InputError(f"--offsets needs one value per video ({len(paths)}), got "
                         f"{len(views.offsets)}")
    out_dir = Path(out_dir)
    cfg, rig, character = conversion_target(cfg)
    infos = _video_infos(paths)
    names = [p.stem for p in paths]
    sizes = [(i.width, i.height) for i in infos]
    calib, by_name = None, False
    if not views.auto:
        source = Path(views.calibration)
        calib, by_name = read_calibration(source).for_videos(names, sizes, source.name)
    if any(f in BLENDER_FORMATS for f in cfg.formats):
        check_blender(cfg.blender)
    old = prepare_output(out_dir, within, force)
    timings: dict[str, float] = {}
    try:
        result = _convert_views(paths, infos, out_dir, cfg, views, (rig, character), calib,
                                by_name, old, engine, progress, engine_options, timings,
                                within)
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    result.wall_s = time.perf_counter() - start
    return result


def _convert_views(paths, infos, out_dir, cfg, views, target, calib, by_name, old, engine,
                   progress, engine_options, timings, within) -> ConvertResult:
    rig, character = target
    fps = infos[0].rate
    with OutputDir(out_dir, within) as out:
        t0 = time.perf_counter()
        if engine is None:
            engine = make_video_engine(engine_options)
        timings["load_models"] = time.perf_counter() - t0
        hands = HandConfig(model=cfg.hand_model) if cfg.hands else None
        pipe = pipeline_config(cfg)
        results: list[TrackResult] = []
        t0 = time.perf_counter()
        for v, path in enumerate(paths):
            stage = f"tracking {v + 1}/{len(paths)}"
            cb = ((lambda done, total, s=stage: progress(s, done, total))
                  if progress else None)
            results.append(track_video(path, engine, pipe, progress=cb, hands=hands,
                                       engine_options=engine_options))
        timings["tracking"] = time.perf_counter() - t0
        tracks = [r.tracks for r in results]
        names = [p.stem for p in paths]
        for v, r in enumerate(results):
            if not r.tracks:
                raise InputError(f"nobody was found in video {v + 1} ({paths[v].name}): "
                                 "every camera must see the people to triangulate them")
        t0 = time.perf_counter()
        auto_info = None
        sync = None
        offsets = views.offsets
        if offsets is None and calib is None:  # auto: the cameras need rough offsets first
            sync = estimate_offsets(tracks, fps)
            offsets = tuple(float(o) for o in sync.offsets)
        if calib is None:
            auto_info = _auto_calibration(tracks, infos, names, offsets, views)
            calib = auto_info.calibration
        if views.offsets is None:  # refined now that the cameras are known
            sync = estimate_offsets(tracks, fps, calib)
            offsets = tuple(float(o) for o in sync.offsets)
        timings["calibration_sync"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        match = match_tracks(tracks, calib, offsets=offsets)
        persons = triangulate_persons(tracks, match, calib, offsets=offsets, fps=fps)
        total = results[0].frame_count
        min_frames = max(1, min(pipe.min_track_frames, total // 2))
        kept, scene = {}, []
        for pid, (person, members) in enumerate(zip(persons, match.persons, strict=True),
                                                start=1):
            ready = _prepared(person, total, min_frames)
            if isinstance(ready, str):
                views_seen = ", ".join(sorted({str(v + 1) for v, _ in members}))
                inside = (person.frames >= 0) & (person.frames < total)
                scene.append(QualityWarning(
                    "not_exported", f"person {pid} (matched across videos {views_seen}) is "
                    f"not exported: {ready}",
                    frame_ranges(person.observed[inside], int(max(person.frames[0], 0)))))
                continue
            kept[pid] = ready
        # the floor from the people who are exported, their points completed
        rot, height = level_scene([pts for _, pts in kept.values()], fps)
        level = calib.transformed(rot, np.array([0.0, -height, 0.0]))
        timings["triangulation"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        people, shifts = [], []
        for pid, (keep, pts) in kept.items():
            members = match.persons[pid - 1]
            person = persons[pid - 1]
            built = _person(pid, person, keep, pts, members, tracks, offsets, rot, height,
                            level, rig, cfg, fps, (infos[0].width, infos[0].height), total)
            people.append(built[0])
            shifts.append(built[1])
        scene += _scene_warnings(paths, tracks, match, fps, offsets)
        scene += [QualityWarning("truncated", f"video {v + 1} ({paths[v].name}) is truncated "
                                 f"or corrupt: only its {r.frame_count} decodable frames "
                                 "were used")
                  for v, r in enumerate(results) if v and r.truncated]
        timings["motion"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        blender_error: list = []
        staged = write_people(out, people, cfg, fps, blender_error, progress, character)
        staged[CALIBRATION_FILE] = out.path(CALIBRATION_FILE)
        staged[CALIBRATION_FILE].write_text(calibration_toml(level), encoding="utf-8")
        timings["export"] = time.perf_counter() - t0
        views_block = _views_block(paths, infos, results, level, by_name, views, auto_info,
                                   sync, offsets, match, persons, people, shifts, rot, height)
        scene += _reprojection_warnings(views_block)
        if cfg.preview:
            t0 = time.perf_counter()
            pcb = (lambda n: progress("preview", n, total)) if progress else None
            staged["preview.mp4"] = write_views_preview(
                paths, offsets, people, shifts, level, out.path("preview.mp4"), fps, total,
                pcb)
            timings["preview"] = time.perf_counter() - t0
        settings = {**conversion_settings(cfg), "fov_deg": None, "camera_mode": "calibrated"}
        if cfg.report:
            t0 = time.perf_counter()
            staged["report.html"] = out.path("report.html")
            staged["report.html"].write_text(
                render_report_html(paths[0], people, results[0], settings,
                                   thumbnails=False, views=views_block, extra=scene),
                encoding="utf-8")
            timings["report"] = time.perf_counter() - t0
        report = build_report(paths[0], people, results[0], settings, timings,
                              extra=scene, views=views_block)
        if blender_error:
            report["message"] = f"FBX/glTF not written: {blender_error[0]}"
        written = publish(out, out_dir, staged, report, old)
    if blender_error:
        exc = blender_error[0]
        raise type(exc)(f"{exc} (the BVH and data files are written in {out_dir})")
    return ConvertResult(paths[0], out_dir, people, written, total, fps,
                         any(r.truncated for r in results), timings, None, units=cfg.units,
                         scene_warnings=scene, views=views_block)


def _auto_calibration(tracks, infos, names, offsets, views: ViewsConfig):
    """``--calibration auto``: :func:`~mocap.multiview.autocalib.auto_calibrate` started
    from the offsets given or found from motion, and (when those are not all 0) from none;
    the start whose bundle adjustment reprojects the people best is kept. The offsets from
    motion alone can be a frame off; on Pose2Sim's demo that led the bundle adjustment to
    a wrong camera (a metre off) at a reprojection error only a little worse."""
    sizes = [(i.width, i.height) for i in infos]
    starts = [tuple(offsets)]
    if views.offsets is None and any(abs(o) > 1e-9 for o in offsets):
        starts.append((0.0,) * len(offsets))
    found, errors = [], []
    for o in starts:
        try:
            found.append(auto_calibrate(tracks, sizes, names=names, offsets=o,
                                        scale_m=views.scale_m))
        except InputError as exc:  # one start may fail where another succeeds
            errors.append(exc)
    if not found:
        raise errors[0]
    return min(found, key=lambda a: float(np.nanmean(a.median_error_px)))


def _sample(track: Track, frames: np.ndarray, offset: float) -> np.ndarray:
    """Indices into ``track`` of the first video's ``frames`` (offset rounded), -1 where
    the track has no such frame."""
    idx = frames + round(offset) - int(track.frames[0])
    return np.where((idx >= 0) & (idx < len(track.frames)), idx, -1)


def complete_landmarks(points: np.ndarray) -> np.ndarray | str:
    """A person's (T, 33, 3) triangulated points with every landmark never triangulated
    replaced by its stand-in (:data:`STAND_INS`; the nose by the mean of the other face
    landmarks), or the reason they cannot be exported (a body landmark never
    triangulated, :data:`BODY_LANDMARKS`)."""
    pts = np.array(points, np.float64)
    have = np.isfinite(pts).all(-1).any(0)  # (33,) triangulated in some frame
    gone = [i for i in BODY_LANDMARKS if not have[i]]
    if gone:
        names = ", ".join(LANDMARK_NAMES[i] for i in gone)
        return f"never triangulated: {names} (seen by under two cameras)"
    if not have[0]:
        face = [i for i in range(1, 11) if have[i]]
        if not face:
            return "no face landmark triangulated (seen by under two cameras)"
        pts[:, 0] = pts[:, face].mean(1)
    for i, stand_in in STAND_INS.items():
        if not have[i]:
            pts[:, i] = pts[:, stand_in]
    return pts


def _prepared(person: Person3D, total: int, min_frames: int):
    """``(keep (T,) bool, points (K, 33, 3))``: the frames of a person that are exported
    (the first video's, first to last triangulated) and their points completed
    (:func:`complete_landmarks`), in the calibration's world; or the reason the person is
    not exported (triangulated in fewer than ``min_frames`` of the first video's frames,
    or a body landmark never)."""
    keep = (person.frames >= 0) & (person.frames < total)
    seen = np.flatnonzero(keep & person.observed)
    if len(seen) < min_frames:
        return f"triangulated in {len(seen)} frames of the first video (under {min_frames})"
    keep[:seen[0]] = keep[seen[-1] + 1:] = False  # first to last frame triangulated
    pts = complete_landmarks(person.points[keep].astype(np.float64))
    return pts if isinstance(pts, str) else (keep, pts)


def _person(pid: int, person: Person3D, keep, points, members, tracks, offsets, rot,
            height, level: Calibration, rig, cfg: ConvertConfig, fps: float, size,
            total: int):
    """One triangulated person (:func:`_prepared`) -> ``(PersonResult, lift (3,))`` on the
    first video's frames. ``lift`` is how far :func:`~mocap.app.person.animate_person`
    raised the world to settle the feet (the preview projects through the calibration,
    so it lowers the rig by it)."""
    frames = person.frames[keep]
    up = np.array([0.0, height, 0.0])
    pts = points @ rot.T - up
    raw = person.raw[keep] @ rot.T - up
    found = np.isfinite(raw).all(-1)  # (T, 33)
    observed = person.observed[keep]
    cam0 = level[0]
    track = _view0_track(pid, frames, fps, pts, raw, found, observed, cam0)
    hands = _hands(frames, members, tracks, offsets)
    if hands is not None:
        track.hands_image, track.hands_world, track.hands_score = hands
    placed = placed_motion(pts, fps, cam0.R, cam0.t, float(cam0.K[0, 0]))
    motion = animate_person(placed, rig, cfg.bone_lengths,
                            hands=None if hands is None else hands[1:], observed=observed)
    lift = motion.world.root[0] - placed.root[0]
    camera = (motion.world.camera_rotation, motion.world.camera_translation)
    stats = person_stats(track, motion, camera, float(cam0.K[0, 0]), size, total)
    # the hips' re-projection through the first camera as calibrated (its principal point
    # and lens; person_stats' pinhole has neither)
    hips = cam0.project(motion.animation.positions()[:, 0] - lift)
    err = np.linalg.norm(hips - track.image[:, 23:25, :2].mean(1), axis=-1)[observed]
    stats = replace(stats, hip_reprojection_px_median=(
        round(float(np.nanmedian(err)), 2) if np.isfinite(err).any() else None))
    result = PersonResult(pid, track, motion, total, camera, stats)
    result.warnings = person_warnings(result, fps)
    return result, lift


def _view0_track(pid, frames, fps, pts, raw, found, observed, cam0) -> Track:
    """The person as a :class:`~mocap.types.Track` of the first video: image landmarks the
    triangulated points projected into it (``image_raw`` the raw ones, NaN where not
    triangulated), ``world`` the points hip-centred in its camera axes, ``visibility`` 1
    where the landmark was triangulated (0 where the smoother bridged it)."""
    t = len(frames)
    img = cam0.project(pts)
    behind = ~np.isfinite(img).all(-1)  # (T, 33): behind the first camera (or on its plane)
    img = fill_nan(img)  # the image path bridged across (the stats skip those frames)
    img_raw = cam0.project(np.where(found[..., None], raw, np.nan))
    zeros = np.zeros((t, NUM_LANDMARKS, 1))
    hips = [LANDMARK_INDEX["left_hip"], LANDMARK_INDEX["right_hip"]]
    cam_pts = pts @ cam0.R.T
    world = cam_pts - cam_pts[:, hips].mean(1, keepdims=True)
    cam_raw = raw @ cam0.R.T
    world_raw = cam_raw - cam_pts[:, hips].mean(1, keepdims=True)
    vis = (found & observed[:, None] & ~behind).astype(np.float32)
    share = vis.mean(1)
    return Track(id=pid, frames=frames, times=frames / fps, observed=observed,
                 image_raw=np.concatenate([img_raw, zeros], -1), world_raw=world_raw,
                 visibility=vis, presence=vis, score=share,
                 image=np.concatenate([np.nan_to_num(img), zeros], -1), world=world)


def _hands(frames, members, tracks, offsets):
    """``(hands_image, hands_world, hands_score)`` over ``frames``: each hand from the view
    that saw it best that frame (only the hand's own shape is used downstream, so any
    view's axes serve); ``hands_image`` is the first video's, NaN where it did not see the
    hand. None when no member track has hands."""
    with_hands = [(v, tracks[v][i]) for v, i in members if tracks[v][i].has_hands]
    if not with_hands:
        return None
    t = len(frames)
    image = np.full((t, 2, 21, 2), np.nan, np.float32)
    world = np.full((t, 2, 21, 3), np.nan, np.float32)
    score = np.zeros((t, 2), np.float32)
    for v, tr in with_hands:
        idx = _sample(tr, frames, offsets[v])
        ok = idx >= 0
        s = np.zeros((t, 2), np.float32)
        s[ok] = tr.hands_score[idx[ok]]
        better = s > score
        sel = better & ok[:, None]
        w = np.full((t, 2, 21, 3), np.nan, np.float32)
        w[ok] = tr.hands_world[idx[ok]]
        world[sel] = w[sel]
        score[sel] = s[sel]
        if v == 0:
            im = np.full((t, 2, 21, 2), np.nan, np.float32)
            im[ok] = tr.hands_image[idx[ok]]
            image[ok] = im[ok]
    return image, world, score


def _scene_warnings(paths, tracks, match, fps, offsets) -> list[QualityWarning]:
    """``one_camera``: a track of at least :data:`LONE_TRACK_S` seconds that no other
    camera's tracks agree with (a bystander, or a person only one camera sees): not
    exported, since it cannot be triangulated."""
    out = []
    for v, i in match.unmatched:
        tr = tracks[v][i]
        if tr.frames_observed < LONE_TRACK_S * fps:
            continue
        out.append(QualityWarning(
            "one_camera", f"video {v + 1} ({paths[v].name}): a person (its track {tr.id}) "
            "is seen by this camera only, or by no other consistently: not exported (a "
            "person must be seen by two cameras to be triangulated)",
            # in the first video's frames, as every frame number mocap prints
            frame_ranges(tr.observed, int(tr.frames[0]) - round(float(offsets[v])))))
    return out


def _reprojection_warnings(block: dict) -> list[QualityWarning]:
    out = []
    for cam in block["cameras"]:
        err = cam["median_reprojection_px"]
        if err is not None and err > HIGH_REPROJECTION_PX:
            out.append(QualityWarning(
                "high_reprojection", f"camera {cam['name']} ({cam['video']}): the people's "
                f"joints reproject {err:.1f} px from where it saw them (median; over "
                f"{HIGH_REPROJECTION_PX:g} px: a wrong calibration or time offset?)"))
    return out


def _round(x, digits: int = 3):
    a = np.asarray(x, np.float64)
    if a.ndim == 0:
        return round(float(a), digits) if np.isfinite(a) else None
    return [_round(v, digits) for v in a]


def _views_block(paths, infos, results, level: Calibration, by_name, views, auto_info, sync,
                 offsets, match, persons, people, shifts, rot, height) -> dict:
    """``report.json``'s ``views``: the calibration, offsets, per camera its numbers (over
    the exported people), per person its tracks, reprojection error and coverage per view
    (over the first video's frames)."""
    v_count = len(paths)
    total = results[0].frame_count
    errors = [[] for _ in range(v_count)]
    person_rows = []
    lifts = {p.id: lift for p, lift in zip(people, shifts, strict=True)}
    for pid, (person, members) in enumerate(zip(persons, match.persons, strict=True),
                                            start=1):
        inside = (person.frames >= 0) & (person.frames < total)
        if pid in lifts:  # a person not exported (a brief mismatch) judges no camera
            for v in range(v_count):
                errors[v].append(person.errors[v][person.used[v] & inside[:, None]])
        span = max(int(inside.sum()), 1)
        person_rows.append({
            "id": pid,
            "exported": pid in lifts,
            "lift_m": None if pid not in lifts else round(float(lifts[pid][1]), 4),
            "tracks": [{"view": v + 1, "track_id": int(tracks_id)} for v, tracks_id in
                       ((v, results[v].tracks[i].id) for v, i in members)],
            "median_reprojection_px": _round(person.median_error(), 2),
            "coverage_per_view": [round(float((person.used[v].any(1) & inside).sum()
                                              / span), 4) for v in range(v_count)],
            "frames_triangulated": int((person.observed & inside).sum()),
        })
    cameras = []
    for v, (path, info, cam) in enumerate(zip(paths, infos, level, strict=True)):
        err = np.concatenate(errors[v]) if errors[v] else np.zeros(0)
        forward = cam.R[2]  # the optical axis in the world
        cameras.append({
            "name": cam.name, "video": path.name, "width": info.width,
            "height": info.height, "fps": info.rate, "frames": results[v].frame_count,
            "offset_frames": round(float(offsets[v]), 3),
            "center_m": _round(cam.center, 4), "forward": _round(forward, 4),
            "focal_px": round(float(cam.K[0, 0]), 2),
            "median_reprojection_px": _round(np.median(err), 2) if len(err) else None,
            "tracks": len(results[v].tracks),
            "unmatched_tracks": [int(results[v].tracks[i].id) for w, i in match.unmatched
                                 if w == v],
            "tracking_s_per_frame": round(results[v].seconds
                                          / max(results[v].frame_count, 1), 4),
        })
    block = {
        "calibration": {"source": "auto" if views.auto else "file",
                        "file": None if views.auto else str(views.calibration),
                        "matched_by": None if views.auto else ("name" if by_name else "order"),
                        "written": CALIBRATION_FILE},
        "offsets_frames": [round(float(o), 3) for o in offsets],
        "offsets_source": "given" if views.offsets is not None else "estimated",
        "ground": {"rotation": _round(rot, 6), "height_m": round(float(height), 4),
                   "note": "world = rotation @ calibration world - height * Y"},
        "cameras": cameras,
        "persons": person_rows,
    }
    if sync is not None:
        block["sync"] = {"scores": _round(sync.scores, 3), "refined": bool(sync.refined)}
    if auto_info is not None:
        block["calibration"].update({
            "scale_source": auto_info.scale_source, "persons": auto_info.persons,
            "median_error_px": _round(auto_info.median_error_px, 3),
            "scale": _round(auto_info.scale, 3)})
    return block

