"""Video -> one animated rig per person: tracking, 3D motion, retargeting and every output.

:func:`convert_video` composes the stages (``pipeline.track_video`` ->
``motion.animate_landmarks`` -> exporters) and writes, into one output directory:

- ``person_<id>.bvh`` per tracked person, covering every frame of the video (frame ``i`` of
  the file is frame ``i`` of the video; before a person appears and after they leave, the
  nearest tracked pose is held), frame time ``1/fps``;
- the trajectories in the chosen data formats (``json``, ``npz``, ``csv``; schema in
  :func:`person_arrays`), over the frames from the person's first to last appearance
  (``frames`` holds the video frame indices);
- ``preview.mp4``: the video with the *exported rig* re-projected onto each person;
- ``report.json`` and ``report.html``: per-person quality numbers and plots.

Every file is staged under a temporary name and published only when all are written
(:class:`mocap.tracking.loop.OutputDir`), so a failed or killed run leaves no partial output.
``report.json`` is published last and lists every output with its size and sha256: a
directory whose report checks out is complete (:func:`outputs_complete`).
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mocap.io.assets import sha256_of
from mocap.errors import InputError, OutputError
from mocap.motion.world import DEFAULT_FOV_DEG

DATA_FORMATS = ("json", "npz", "csv")
BLENDER_FORMATS = ("fbx", "glb")
FORMATS = ("bvh", *DATA_FORMATS, *BLENDER_FORMATS)
DEFAULT_FORMATS = ("bvh", "json")
REPORT = "report.json"


def parse_formats(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"bvh,json"`` -> ``("bvh", "json")``; BVH is always written.

    Raises:
        InputError: an unknown format (the message lists the valid ones).
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [s.strip().lower() for s in items if s.strip()]
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise InputError(f"unknown format {unknown[0]!r}; choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(["bvh", *names]))


@dataclass(frozen=True)
class ConvertConfig:
    """Settings of a conversion (validated on construction).

    Attributes:
        rig: rig name (``cmu``, ``mixamo``, ``smpl``) or path to a BVH whose hierarchy is
            the rig.
        formats: outputs besides BVH: ``json``, ``npz``, ``csv`` (data), ``fbx``, ``glb``
            (through Blender).
        fov_deg: horizontal field of view of the camera, degrees (sets the focal length of
            the pinhole model that places people in the world).
        units: BVH units, ``m`` (Blender imports at true size) or ``cm``.
        bone_lengths: ``actor`` (each person's own proportions) or ``rig``.
        max_people: track at most this many people (None: everyone).
        preview: write ``preview.mp4``.
        report: write ``report.html`` (``report.json`` is always written).
        pipeline: tracking settings (:class:`mocap.tracking.loop.PipelineConfig`); its
            ``max_people`` is replaced by ``max_people``.
    """

    rig: str = "mixamo"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    fov_deg: float = DEFAULT_FOV_DEG
    units: str = "m"
    bone_lengths: str = "actor"
    max_people: int | None = None
    preview: bool = True
    report: bool = True
    pipeline: object | None = None
    blender: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "formats", parse_formats(self.formats))
        if not 10.0 <= self.fov_deg <= 170.0:
            raise InputError(f"--fov must be between 10 and 170 degrees, got {self.fov_deg}")
        if self.units not in ("m", "cm"):
            raise InputError(f"unknown units {self.units!r}; choose from m, cm")
        if self.bone_lengths not in ("actor", "rig"):
            raise InputError(f"unknown bone lengths {self.bone_lengths!r}; choose from actor, "
                             "rig")
        if self.max_people is not None and self.max_people < 1:
            raise InputError(f"--max-people must be >= 1, got {self.max_people}")


@dataclass
class PersonResult:
    """One exported person.

    Attributes:
        id: track id (1, 2, ... in order of appearance).
        track: the smoothed :class:`mocap.tracking.loop.Track`.
        motion: :class:`mocap.motion.world.PersonMotion` (animation over the track's frames,
            ``track.first_frame`` to ``track.last_frame``).
        total_frames: frames in the video (the BVH's length).
        camera: (rotation (3, 3), translation (3,)) world -> camera, for re-projection.
        stats: the numbers in the report.
    """

    id: int
    track: object
    motion: object
    total_frames: int
    camera: tuple[np.ndarray, np.ndarray]
    stats: dict = field(default_factory=dict)

    @property
    def animation(self):
        """The animation over the person's own frames (:class:`mocap.retarget.solver.Animation`)."""
        return self.motion.animation

    def full_animation(self):
        """The exported animation, one frame per video frame (ends held); built on demand,
        so a long video with many people never holds them all at full length."""
        return full_length(self.motion.animation, self.track.first_frame, self.total_frames)


@dataclass
class ConvertResult:
    """What :func:`convert_video` did: people, written files, timings (seconds)."""

    video: Path
    output_dir: Path
    people: list[PersonResult]
    outputs: list[Path]
    frame_count: int
    fps: float
    truncated: bool
    timings: dict[str, float]

    def summary(self) -> dict:
        return {
            "video": str(self.video),
            "output_dir": str(self.output_dir),
            "frames": self.frame_count,
            "fps": self.fps,
            "truncated": self.truncated,
            "people": [{"id": p.id, **{k: p.stats[k] for k in (
                "first_frame", "last_frame", "frames_observed", "coverage")}}
                for p in self.people],
            "outputs": [str(p) for p in self.outputs],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# --------------------------------------------------------------------------------------
# pieces
# --------------------------------------------------------------------------------------
def full_length(anim, first: int, total: int):
    """Pad an animation over frames ``first..`` to ``total`` frames by holding its ends."""
    from mocap.retarget.solver import Animation

    idx = np.clip(np.arange(total) - first, 0, len(anim) - 1)
    return Animation(anim.rig, anim.root_translation[idx], anim.rotations[idx], anim.fps)


def project(points: np.ndarray, camera: tuple[np.ndarray, np.ndarray], focal: float,
            size: tuple[int, int]) -> np.ndarray:
    """(..., 3) world metres -> (..., 2) px through the pinhole camera the motion stage
    used (``camera`` = world -> camera rotation (3, 3) and translation (3,))."""
    rot, trans = camera
    cam = points @ rot.T + trans
    z = np.where(cam[..., 2] > 1e-6, cam[..., 2], np.nan)
    w, h = size
    return np.stack([focal * cam[..., 0] / z + w / 2, focal * cam[..., 1] / z + h / 2], -1)


def jitter(x: np.ndarray, observed: np.ndarray) -> float:
    """Mean absolute second difference over runs of observed frames (units of ``x``)."""
    if len(x) < 3:
        return 0.0
    d2 = np.abs(x[2:] - 2 * x[1:-1] + x[:-2])
    ok = observed[2:] & observed[1:-1] & observed[:-2]
    vals = d2[ok]
    vals = vals[np.isfinite(vals)]
    return float(vals.mean()) if vals.size else 0.0


def person_arrays(p: PersonResult, timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """The per-person trajectory arrays written to ``.npz`` / ``.json`` / ``.csv``.

    Over the F frames from the person's first to last appearance: ``frames`` (F,) video
    frame indices, ``times`` (F,) s, ``observed`` (F,) bool (person seen in that frame; the
    others are bridged by the smoother), ``root_translation`` (F, 3) m, ``joint_positions``
    (F, J, 3) m and ``rotations`` (F, J, 4) xyzw local quaternions of the rig,
    ``landmarks_world`` (F, 33, 3) m (placed BlazePose landmarks), ``landmarks_image``
    (F, 33, 2) px (smoothed), ``visibility`` (F, 33). World axes: Y up, ground at y = 0,
    x the camera's right, z towards the camera (right-handed), metres.
    """
    anim = p.animation
    t = p.track
    return {
        "frames": t.frames,
        "times": t.times,
        "observed": t.observed,
        "root_translation": anim.root_translation,
        "joint_positions": anim.positions(),
        "rotations": anim.rotations,
        "landmarks_world": p.motion.world.landmarks,
        "landmarks_image": t.image[:, :, :2],
        "visibility": t.visibility,
    }


def _write_data(fmt: str, path: Path, p: PersonResult, arrays: dict, fps: float) -> None:
    joints = list(p.animation.rig.joints)
    meta = {"id": p.id, "fps": fps, "frame_time": 1.0 / fps, "rig": p.animation.rig.name,
            "joints": joints, "parents": p.animation.rig.parents.tolist(),
            "units": {"positions": "m", "image": "px", "time": "s"},
            "axes": "Y up, ground at y=0, x camera right, z towards the camera",
            "rotations": "local quaternions x, y, z, w relative to the parent; identity = "
                         "the rig's T-pose"}
    if fmt == "npz":
        with open(path, "wb") as fh:
            np.savez_compressed(fh, meta=json.dumps(meta), **arrays)
    elif fmt == "json":
        doc = {**meta, **{k: np.round(v, 5).tolist() if v.dtype.kind == "f" else v.tolist()
                          for k, v in arrays.items()}}
        path.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    elif fmt == "csv":
        pos = arrays["joint_positions"]
        header = ["frame", "time", "observed"] + [f"{j}_{a}" for j in joints for a in "xyz"]
        rows = np.column_stack([arrays["frames"], arrays["times"],
                                arrays["observed"].astype(int), pos.reshape(len(pos), -1)])
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(",".join(header) + "\n")
            np.savetxt(fh, rows, delimiter=",", fmt="%.6g")


def existing_outputs(out_dir: Path) -> list[Path]:
    """Files of a previous conversion in ``out_dir``."""
    if not out_dir.is_dir():
        return []
    names = ("person_*", "preview.mp4", "report.json", "report.html")
    return sorted({p for pat in names for p in out_dir.glob(pat) if p.is_file()})


def outputs_complete(out_dir: str | os.PathLike) -> bool:
    """True when ``out_dir/report.json`` exists and every file it lists is intact."""
    out_dir = Path(out_dir)
    try:
        report = json.loads((out_dir / REPORT).read_text(encoding="utf-8"))
        files = report["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    for name, info in files.items():
        path = out_dir / name
        try:
            if path.stat().st_size != info["size"] or sha256_of(path) != info["sha256"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return True


# --------------------------------------------------------------------------------------
# the conversion
# --------------------------------------------------------------------------------------
def convert_video(video: str | os.PathLike, out_dir: str | os.PathLike,
                  config: ConvertConfig | None = None, *, engine=None, force: bool = False,
                  progress: Callable[[str, int, int], None] | None = None,
                  engine_options: dict | None = None) -> ConvertResult:
    """Convert one video into per-person animations and their outputs in ``out_dir``.

    Args:
        video: input video file.
        out_dir: output directory (created if missing).
        config: :class:`ConvertConfig`.
        engine: a pose engine (default: :func:`mocap.tracking.loop.make_video_engine`).
        force: overwrite outputs of an earlier conversion in ``out_dir``.
        progress: ``progress(stage, done, total)`` for long stages (``"tracking"``,
            ``"preview"``).
        engine_options: ``PoseEngine`` keyword arguments when ``engine`` is None.

    Returns:
        :class:`ConvertResult`. A video with nobody in it gives no person files and a
        report saying so.

    Raises:
        InputError: unreadable video, unknown rig or format.
        OutputError: ``out_dir`` holds earlier outputs (without ``force``) or cannot be
            written.
    """
    from mocap.tracking.loop import PipelineConfig
    from mocap.skeleton.rig import load_rig
    from mocap.io.video import open_video

    cfg = config or ConvertConfig()
    video, out_dir = Path(video), Path(out_dir)
    rig = load_rig(cfg.rig)  # a bad rig fails before any work
    open_video(video, prefetch=0).close()  # so does a bad video
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir}: exists and is not a directory")
    old = existing_outputs(out_dir)
    if old and not force:
        raise OutputError(f"{out_dir} already holds outputs ({old[0].name}, ...); use --force "
                          "to overwrite or choose another directory")
    pipe = cfg.pipeline or PipelineConfig()
    if cfg.max_people is not None:
        from dataclasses import replace

        pipe = replace(pipe, max_people=cfg.max_people)
    timings: dict[str, float] = {}
    try:
        return _convert(video, out_dir, cfg, rig, pipe, old, engine, progress, engine_options,
                        timings)
    except OSError as exc:  # e.g. the disk filled up: nothing staged is left behind
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None


def _convert(video, out_dir, cfg, rig, pipe, old, engine, progress, engine_options,
             timings) -> ConvertResult:
    from mocap.tracking.loop import OutputDir, make_video_engine, track_video

    with OutputDir(out_dir) as out:
        t0 = time.perf_counter()
        if engine is None:
            engine = make_video_engine(**(engine_options or {}))
        timings["load_models"] = time.perf_counter() - t0
        cb = (lambda done, total: progress("tracking", done, total)) if progress else None
        t0 = time.perf_counter()
        tracked = track_video(video, engine, pipe, progress=cb)
        timings["tracking"] = time.perf_counter() - t0
        fps = float(tracked.info.fps) if tracked.info.fps > 0 else 30.0
        size = (tracked.info.width, tracked.info.height)
        t0 = time.perf_counter()
        people = _animate_all(tracked.tracks, rig, cfg, fps, size, tracked.frame_count)
        timings["motion"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        blender_error: list = []
        staged = _write_people(out, people, cfg, fps, tracked.timestamps, blender_error)
        timings["export"] = time.perf_counter() - t0
        if cfg.preview:
            t0 = time.perf_counter()
            pcb = (lambda n: progress("preview", n, tracked.frame_count)) if progress else None
            staged["preview.mp4"] = write_rig_preview(
                video, people, out.path("preview.mp4"), fps, size, cfg.fov_deg, pcb)
            timings["preview"] = time.perf_counter() - t0
        if cfg.report:
            staged["report.html"] = out.path("report.html")
            staged["report.html"].write_text(render_report_html(video, people, tracked, cfg),
                                             encoding="utf-8")
        report = _report(video, people, tracked, cfg, timings)
        if blender_error:
            report["message"] = f"FBX/glTF not written: {blender_error[0]}"
        report["files"] = {name: {"size": tmp.stat().st_size, "sha256": sha256_of(tmp)}
                           for name, tmp in staged.items()}
        out.path(REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
        # old outputs that this run does not write would mix two runs: remove them
        written = out.commit()
    for p in old:
        if p not in written:
            p.unlink(missing_ok=True)
    if blender_error:  # raised after publishing everything else
        exc = blender_error[0]
        raise type(exc)(f"{exc} (the BVH and data files are written in {out_dir})")
    return ConvertResult(video, out_dir, people, written, tracked.frame_count, fps,
                         tracked.truncated, timings)


def _animate_all(tracks, rig, cfg: ConvertConfig, fps: float, size, total: int
                 ) -> list[PersonResult]:
    """Place everyone on one ground (one camera), then animate each person's rig."""
    from mocap.motion.world import animate_landmarks, focal_px, scene_world_motion

    placed = scene_world_motion([(t.world, t.image[..., :2], t.visibility) for t in tracks],
                                size, fps, cfg.fov_deg)
    focal = focal_px(size[0], cfg.fov_deg)
    people = []
    for track, wm in zip(tracks, placed, strict=True):
        motion = animate_landmarks(track.world, track.image[..., :2], track.visibility, size,
                                   fps, rig, cfg.fov_deg, cfg.bone_lengths, placed=wm)
        camera = (wm.camera_rotation, wm.camera_translation)
        stats = _person_stats(track, motion, camera, focal, size, total)
        people.append(PersonResult(track.id, track, motion, total, camera, stats))
    return people


def _person_stats(track, motion, camera, focal, size, total) -> dict:
    rig = motion.animation.rig
    lengths = {name: round(float(np.linalg.norm(rig.offsets[j])), 4)
               for j, name in enumerate(rig.joints) if rig.parents[j] >= 0}
    vis = track.visibility[track.observed]
    raw, smooth = track.image_raw[..., :2], track.image[..., :2]
    jr, js = jitter(raw, track.observed), jitter(smooth, track.observed)
    # how far the exported rig lands from the 2D landmarks it was made from (px)
    rig_px = project(motion.animation.positions(), camera, focal, size)
    seen = track.observed
    hips_rig = rig_px[:, 0]
    hips_2d = track.image[:, 23:25, :2].mean(1)
    reproj = float(np.nanmedian(np.linalg.norm(hips_rig - hips_2d, axis=-1)[seen]))
    contacts = motion.world.contacts
    return {
        "first_frame": track.first_frame,
        "last_frame": track.last_frame,
        "frames_observed": track.frames_observed,
        "coverage": round(track.frames_observed / max(total, 1), 4),
        "mean_confidence": round(float(vis.mean()) if vis.size else 0.0, 4),
        "mean_pose_score": round(float(track.score[track.observed].mean())
                                 if track.observed.any() else 0.0, 4),
        "jitter_raw_px": round(jr, 4),
        "jitter_smoothed_px": round(js, 4),
        "jitter_ratio": round(js / jr, 4) if jr > 0 else None,
        "foot_contact_fraction": {"left": round(float(contacts[:, 0].mean()), 4),
                                  "right": round(float(contacts[:, 1].mean()), 4)},
        "foot_skate_m_per_s": round(float(motion.foot_skate), 4),
        "foot_skate_unlocked_m_per_s": round(float(motion.foot_skate_unlocked), 4),
        "hip_reprojection_px_median": round(reproj, 2),
        "root_travel_m": round(float(np.linalg.norm(
            motion.animation.root_translation[-1, [0, 2]]
            - motion.animation.root_translation[0, [0, 2]])), 3),
        "bone_lengths_m": lengths,
    }


def _write_people(out, people: list[PersonResult], cfg: ConvertConfig, fps: float,
                  timestamps: np.ndarray, staged_error: list) -> dict[str, Path]:
    """Stage every per-person file; returns final name -> staged temporary path. A missing
    Blender is appended to ``staged_error`` instead of failing the other outputs."""
    from mocap.export.bvh import bvh_text

    staged: dict[str, Path] = {}
    for p in people:
        name = f"person_{p.id}.bvh"
        staged[name] = out.path(name)
        staged[name].write_text(bvh_text(p.full_animation(), cfg.units), encoding="utf-8")
        arrays = None
        for fmt in cfg.formats:
            if fmt in DATA_FORMATS:
                arrays = arrays if arrays is not None else person_arrays(p, timestamps)
                fname = f"person_{p.id}.{fmt}"
                staged[fname] = out.path(fname)
                _write_data(fmt, staged[fname], p, arrays, fps)
    blender_formats = [f for f in cfg.formats if f in BLENDER_FORMATS]
    if blender_formats and people:
        from mocap.export.blender_env import BlenderUnavailableError

        bvhs = {f"person_{p.id}.bvh": staged[f"person_{p.id}.bvh"] for p in people}
        try:
            staged.update(_export_blender(out, bvhs, blender_formats, cfg))
        except BlenderUnavailableError as exc:
            # the BVH and data files are still written; the caller reports this after
            staged_error.append(exc)
    return staged


def _export_blender(out, bvhs: dict[str, Path], formats: list[str], cfg) -> dict[str, Path]:
    """FBX/GLB of the staged BVH files through Blender, in one Blender process."""
    import tempfile

    from mocap.export.blender import export_bvh_files

    staged = {}
    with tempfile.TemporaryDirectory(prefix="mocap-blender-") as tmp:
        tmp = Path(tmp)
        sources = []
        for name, path in bvhs.items():
            sources.append(tmp / name)
            sources[-1].write_bytes(path.read_bytes())
        for produced in export_bvh_files(sources, formats=tuple(formats), out_dir=tmp,
                                         blender=cfg.blender, units=cfg.units):
            produced = Path(produced)
            staged[produced.name] = out.path(produced.name)
            staged[produced.name].write_bytes(produced.read_bytes())
    return staged


def write_rig_preview(video: Path, people: list[PersonResult], out_path: Path, fps: float,
                      size: tuple[int, int], fov_deg: float,
                      progress: Callable[[int], None] | None = None) -> Path:
    """The video with each person's exported rig projected onto it, with its id."""
    import cv2

    from mocap.app.draw import color_for, draw_label, line_scale
    from mocap.motion.world import focal_px
    from mocap.app.preview import render_video

    focal = focal_px(size[0], fov_deg)
    # each person's rig over their own frames (drawn from first to last appearance)
    drawn = [(p, project(p.animation.positions(), p.camera, focal, size)) for p in people]

    def draw(frame) -> np.ndarray:
        img = np.ascontiguousarray(frame.image)
        scale = line_scale(img)
        for p, px in drawn:
            t = p.track
            if not t.first_frame <= frame.index <= t.last_frame:
                continue
            pts = px[frame.index - t.first_frame]
            if not np.isfinite(pts).all():
                continue
            pts = np.round(pts).astype(np.int32)
            color = color_for(p.id - 1)
            parents = p.animation.rig.parents
            for j in range(1, len(parents)):
                cv2.line(img, tuple(pts[j]), tuple(pts[parents[j]]), color, 2 * scale,
                         cv2.LINE_AA)
            for q in pts:
                cv2.circle(img, tuple(q), 2 * scale, (255, 255, 255), -1, cv2.LINE_AA)
            draw_label(img, pts, f"#{p.id}", color)
        return img

    return render_video(video, out_path, draw, fps=fps, progress=progress)


def _report(video: Path, people: list[PersonResult], tracked, cfg: ConvertConfig,
            timings: dict) -> dict:
    fps = float(tracked.info.fps) if tracked.info.fps > 0 else 30.0
    return {
        "video": str(video),
        "frames": tracked.frame_count,
        "fps": fps,
        "width": tracked.info.width,
        "height": tracked.info.height,
        "truncated": tracked.truncated,
        "rig": cfg.rig,
        "units": cfg.units,
        "fov_deg": cfg.fov_deg,
        "people": [{"id": p.id, "bvh": f"person_{p.id}.bvh", **p.stats} for p in people],
        "message": None if people else "no people found in the video",
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }


def _svg_lines(series: list[tuple[str, np.ndarray, np.ndarray, str]], width=640, height=180,
               ylabel="") -> str:
    """A small line chart as inline SVG (no plotting dependency)."""
    xs = np.concatenate([s[1] for s in series]) if series else np.zeros(1)
    ys = np.concatenate([s[2] for s in series]) if series else np.zeros(1)
    ys = ys[np.isfinite(ys)]
    x0, x1 = float(xs.min()), float(xs.max()) or 1.0
    y0, y1 = (float(ys.min()), float(ys.max())) if ys.size else (0.0, 1.0)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 0.5, y1 + 0.5
    pad = 30
    parts = [f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             f'<rect x="{pad}" y="5" width="{width - pad - 5}" height="{height - pad}" '
             'fill="none" stroke="#ccc"/>',
             f'<text x="2" y="14" font-size="10">{y1:.2f}</text>',
             f'<text x="2" y="{height - pad + 5}" font-size="10">{y0:.2f}</text>',
             f'<text x="{pad}" y="{height - 8}" font-size="10">{html.escape(ylabel)}</text>']
    for label, x, y, color in series:
        ok = np.isfinite(y)
        px = pad + (x[ok] - x0) / max(x1 - x0, 1e-9) * (width - pad - 5)
        py = 5 + (1 - (y[ok] - y0) / (y1 - y0)) * (height - pad)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" '
                     f'points="{pts}"><title>{html.escape(label)}</title></polyline>')
    parts.append("</svg>")
    return "".join(parts)


def render_report_html(video: Path, people: list[PersonResult], tracked,
                       cfg: ConvertConfig) -> str:
    """A self-contained HTML page: a table per person and plots over time."""
    from mocap.app.draw import color_for

    def hexcolor(i):
        r, g, b = color_for(i)
        return f"#{r:02x}{g:02x}{b:02x}"

    rows = []
    for p in people:
        s = p.stats
        rows.append(
            "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                p.id, f"{s['first_frame']}-{s['last_frame']}", s["frames_observed"],
                f"{100 * s['coverage']:.1f}%", s["mean_confidence"], s["jitter_raw_px"],
                s["jitter_smoothed_px"], s["foot_contact_fraction"]["left"],
                s["foot_contact_fraction"]["right"], s["foot_skate_m_per_s"],
                s["root_travel_m"])) + "</tr>")
    conf = [(f"person {p.id}", p.track.frames.astype(float),
             np.where(p.track.observed, p.track.visibility.mean(1), np.nan),
             hexcolor(p.id - 1)) for p in people]
    height = [(f"person {p.id}", np.arange(len(p.motion.animation)) + p.track.first_frame,
               p.motion.animation.root_translation[:, 1], hexcolor(p.id - 1)) for p in people]
    top = [(f"person {p.id}", p.motion.animation.root_translation[:, 0],
            p.motion.animation.root_translation[:, 2], hexcolor(p.id - 1)) for p in people]
    bones = "".join(
        f"<h3>Person {p.id}: bone lengths (m)</h3><p>"
        + ", ".join(f"{html.escape(k)} {v:.3f}" for k, v in p.stats["bone_lengths_m"].items())
        + "</p>" for p in people)
    body = ("<p>No people were found in this video.</p>" if not people else f"""
<table border="1" cellspacing="0" cellpadding="4">
<tr><th>id</th><th>frames</th><th>seen in</th><th>coverage</th><th>mean confidence</th>
<th>jitter raw (px)</th><th>jitter smoothed (px)</th><th>left foot contact</th>
<th>right foot contact</th><th>foot skate (m/s)</th><th>root travel (m)</th></tr>
{''.join(rows)}
</table>
<h2>Mean landmark confidence per frame</h2>{_svg_lines(conf, ylabel="frame")}
<h2>Root height (m) per frame</h2>{_svg_lines(height, ylabel="frame")}
<h2>Root trajectory seen from above (x right, z towards camera; m)</h2>
{_svg_lines(top, ylabel="x (m)")}
{bones}""")
    truncated = ("<b>The video is truncated: only the decodable frames were processed.</b>"
                 if tracked.truncated else "")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>mocap report: {html.escape(video.name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} td,th{{font-size:13px}}</style></head>
<body><h1>mocap report: {html.escape(video.name)}</h1>
<p>{tracked.frame_count} frames at {tracked.info.fps:.3f} fps,
{tracked.info.width}x{tracked.info.height}; rig {html.escape(cfg.rig)}, units {cfg.units},
field of view {cfg.fov_deg:g} deg. {truncated}</p>
{body}
</body></html>
"""
