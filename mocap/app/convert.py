"""Video -> one animated rig per person: tracking, 3D motion, retargeting and every output.

:func:`convert_video` composes the stages (``tracking.track_video`` ->
``app.person.animate_scene`` -> ``export``) and writes, into one output directory:

- ``person_<id>.bvh`` per tracked person, covering every frame of the video (frame ``i`` of
  the file is frame ``i`` of the video; before a person appears and after they leave, the
  nearest tracked pose is held), frame time ``1/fps``;
- the trajectories in the chosen data formats (``json``, ``npz``, ``csv``; schema in
  :func:`mocap.export.data.person_arrays`), over the frames from the person's first to last
  appearance (``frames`` holds the video frame indices);
- ``preview.mp4``: the video with the *exported rig* re-projected onto each person;
- ``report.json`` and ``report.html``: per-person quality numbers and plots.

Every file is staged under a temporary name and published only when all are written
(:class:`mocap.fileio.OutputDir`), so a failed or killed run leaves no partial output.
``report.json`` is published last and lists every output with its size and sha256: a
directory whose report checks out is complete (:func:`outputs_complete`).
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

import numpy as np

from mocap.app.checks import QualityWarning, person_warnings, video_warnings
from mocap.app.lens import (
    Lens,
    given_lens,
    lines_lens,
    prior_fov,
    resolve_lens,
    stated_lens,
)
from mocap.app.person import PersonResult, animate_scene
from mocap.app.preview import PreviewFrames, write_rig_preview
from mocap.app.report import build_report, render_report_html, thumbnail_frames
from mocap.errors import InputError, MocapError, OutputError
from mocap.export.blender import check_blender, export_bvh_files
from mocap.export.bvh import bvh_text
from mocap.export.character import Character, export_character, load_target
from mocap.export.data import person_arrays, person_meta, write_person_data
from mocap.export.formats import (
    BLENDER_FORMATS,
    DATA_FORMATS,
    DEFAULT_FORMATS,
    FORMATS,
    convert_formats,
    parse_formats,
)
from mocap.fileio import OutputDir, check_write_dir
from mocap.geometry.camera import check_fov
from mocap.io.assets import sha256_of
from mocap.io.video import open_video
from mocap.lift.stage import ROOT_SMOOTH_S, lift_track
from mocap.perception.camera_motion import CameraMotionConfig
from mocap.perception.hands import HandConfig
from mocap.perception.landmarks import EngineOptions
from mocap.retarget.solver import BONE_LENGTHS
from mocap.skeleton.animation import ROOT_MOTION, Animation, in_place
from mocap.skeleton.rig import Rig
from mocap.tracking.loop import PipelineConfig, make_video_engine, track_video
from mocap.types import CameraPath
from mocap.units import OUTPUT_UNITS

__all__ = ["FORMATS", "REPORT", "ConvertConfig", "ConvertResult", "convert_video",
           "existing_outputs", "outputs_complete", "parse_formats"]

REPORT = "report.json"

#: ``--lift``: where each person's 3D (root-relative) comes from: ``blazepose``, the pose
#: model's own world landmarks, smoothed; ``learned``, those corrected over the whole track
#: by the temporal network trained on CMU mocap (:func:`mocap.lift.stage.lift_track`).
LIFTS = ("blazepose", "learned")

#: ``--camera``: ``auto`` measures the camera's turning and zooming and undoes it when the
#: camera moved; ``static`` takes the camera as fixed (nothing measured); ``moving`` always
#: undoes the measured motion.
CAMERA_MODES = ("auto", "static", "moving")


@dataclass(frozen=True)
class ConvertConfig:
    """Settings of a conversion (validated on construction).

    Attributes:
        rig: rig name (``cmu``, ``mixamo``, ``smpl``) or path to a BVH whose hierarchy is
            the rig.
        formats: outputs per person: ``bvh``, ``json``, ``npz``, ``csv`` (data), ``fbx``,
            ``glb`` (through Blender); BVH and the trajectories are always written, as JSON
            unless a data format is named
            (:func:`mocap.export.formats.convert_formats`).
        fov_deg: horizontal field of view of the camera, degrees (``--fov``); None: the
            focal length is found (:mod:`mocap.app.lens`: from the camera's turning, the
            people, else a 65 deg prior on the long side).
        focal_px: the camera's focal length, px of the video (``--focal-px``; not with
            ``fov_deg``); None: as ``fov_deg``.
        units: BVH units, ``m`` (Blender imports at true size) or ``cm``.
        bone_lengths: ``actor`` (each person's own proportions) or ``rig``.
        root_motion: ``on`` (the root travels) or ``in-place`` (the animation files keep
            the root over the origin: :func:`mocap.skeleton.animation.in_place`).
        bone_map: a ``--bone-map`` file naming a character's or BVH rig's joints by role.
        max_people: track at most this many people (None: everyone).
        preview: write ``preview.mp4``.
        report: write ``report.html`` (``report.json`` is always written).
        pipeline: tracking settings (:class:`mocap.tracking.loop.PipelineConfig`); its
            ``max_people`` is replaced by ``max_people``.
        blender: a Blender executable for FBX/GLB (None: the default one).
        camera: one of :data:`CAMERA_MODES`.
        hands: also capture both hands of every person (21 landmarks each) and retarget
            them onto the rig's fingers (:mod:`mocap.perception.hands`).
        hand_model: the hand landmark model with ``hands``: ``full`` or ``lite``.
        lift: one of :data:`LIFTS` (one video; several cameras triangulate instead).
    """

    rig: str = "mixamo"
    formats: tuple[str, ...] = DEFAULT_FORMATS
    fov_deg: float | None = None
    focal_px: float | None = None
    units: str = "m"
    bone_lengths: str = "actor"
    root_motion: str = "on"
    bone_map: str | None = None
    max_people: int | None = None
    preview: bool = True
    report: bool = True
    pipeline: PipelineConfig | None = None
    blender: str | None = None
    camera: str = "auto"
    hands: bool = False
    hand_model: str = "full"
    lift: str = "blazepose"

    def __post_init__(self) -> None:
        HandConfig(model=self.hand_model)  # checks the name
        if self.lift not in LIFTS:
            raise InputError(f"unknown --lift {self.lift!r}; choose from {', '.join(LIFTS)}")
        if self.camera not in CAMERA_MODES:
            raise InputError(f"unknown camera mode {self.camera!r}; choose from "
                             f"{', '.join(CAMERA_MODES)}")
        object.__setattr__(self, "formats", convert_formats(self.formats))
        if self.fov_deg is not None and self.focal_px is not None:
            raise InputError("give --fov or --focal-px, not both")
        if self.fov_deg is not None:
            check_fov(self.fov_deg)
        if self.focal_px is not None and not (np.isfinite(self.focal_px)
                                              and self.focal_px > 0):
            raise InputError(f"--focal-px must be a positive number of pixels, got "
                             f"{self.focal_px}")
        if self.units not in OUTPUT_UNITS:
            raise InputError(f"unknown units {self.units!r}; choose from "
                             f"{', '.join(OUTPUT_UNITS)}")
        if self.bone_lengths not in BONE_LENGTHS:
            raise InputError(f"unknown bone lengths {self.bone_lengths!r}; choose from "
                             f"{', '.join(BONE_LENGTHS)}")
        if self.root_motion not in ROOT_MOTION:
            raise InputError(f"unknown root motion {self.root_motion!r}; choose from "
                             f"{', '.join(ROOT_MOTION)}")
        if self.max_people is not None and self.max_people < 1:
            raise InputError(f"--max-people must be >= 1, got {self.max_people}")


@dataclass
class ConvertResult:
    """What :func:`convert_video` did: people, written files, timings (seconds), and the
    camera's measured motion (None when ``--camera static``).

    ``timings`` are per stage, seconds (the preview is made while the files are written,
    so they may add up to more than the conversion took); ``wall_s`` is the
    wall-clock time of the whole :func:`convert_video` call, seconds; ``units`` the BVH
    files' units (``m`` or ``cm``). A multi-camera conversion
    (:func:`mocap.app.convert_views.convert_views`) adds ``scene_warnings`` (warnings of
    the take beyond the first video's) and ``views`` (the report's ``views`` block:
    cameras, offsets, reprojection errors); ``video`` is then the first video. ``lens``:
    the focal length people were placed with and its source (one video).
    """

    video: Path
    output_dir: Path
    people: list[PersonResult]
    outputs: list[Path]
    frame_count: int
    fps: float
    truncated: bool
    timings: dict[str, float]
    camera: CameraPath | None = None
    wall_s: float = 0.0
    units: str = "m"
    scene_warnings: list[QualityWarning] = field(default_factory=list)
    views: dict | None = None
    lens: Lens | None = None

    @property
    def warnings(self) -> list[tuple[int | None, QualityWarning]]:
        """Every warning: ``(person id or None for the video, warning)``."""
        out: list[tuple[int | None, QualityWarning]] = [
            (None, w) for w in video_warnings(self.truncated, self.frame_count,
                                              len(self.people), self.camera)]
        out += [(None, w) for w in self.scene_warnings]
        return out + [(p.id, w) for p in self.people for w in p.warnings]

    def warning_records(self) -> list[dict]:
        """:attr:`warnings` as JSON: ``{"person": id or None, "code", "message",
        "frames"}`` each (the summary's, batch.json's)."""
        return [{"person": pid, **w.to_json()} for pid, w in self.warnings]

    def summary(self) -> dict:
        return {
            "video": str(self.video),
            "output_dir": str(self.output_dir),
            "frames": self.frame_count,
            "fps": self.fps,
            "truncated": self.truncated,
            "people": [{"id": p.id, "first_frame": p.stats.first_frame,
                        "last_frame": p.stats.last_frame,
                        "frames_observed": p.stats.frames_observed,
                        "coverage_span": p.stats.coverage_span,
                        "coverage_video": p.stats.coverage_video} for p in self.people],
            "warnings": self.warning_records(),
            "outputs": [str(p) for p in self.outputs],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "wall_s": round(self.wall_s, 3),
            **({} if self.views is None else {"views": self.views}),
            **({} if self.lens is None else {"focal": self.lens.report()}),
        }


#: A report.json larger than this is nobody's (never read).
MAX_REPORT_BYTES = 64 * 1024 * 1024


def plain_file_name(name) -> bool:
    """A single path component naming a file in its folder, on POSIX and on Windows (not
    empty, ``.``, ``..``, a path, or a name with a NUL)."""
    if not isinstance(name, str) or name in ("", ".", "..") or "\x00" in name:
        return False
    return PurePosixPath(name).name == name and PureWindowsPath(name).name == name


def _regular(path: Path) -> bool:
    """A regular file itself (not a link, a device, a pipe or a folder)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _listed(out_dir: Path) -> dict[str, dict] | None:
    """``report.json``'s ``files`` (name -> {size, sha256}); None without a readable
    report. The report is read only when it is a regular file of a sensible size (a pipe
    or a device would block)."""
    path = out_dir / REPORT
    try:
        if not _regular(path) or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files if isinstance(files, dict) else None


def existing_outputs(out_dir: Path) -> list[Path]:
    """The files of an earlier conversion in ``out_dir``: those its ``report.json`` lists,
    and the report itself. Nothing else in the directory is ever counted as ours."""
    if not out_dir.is_dir():
        return []
    listed = _listed(out_dir) or {}
    paths = [out_dir / n for n in listed if plain_file_name(n)] + [out_dir / REPORT]
    return sorted(p for p in paths if _regular(p))


def outputs_complete(out_dir: str | os.PathLike) -> bool:
    """True when ``out_dir/report.json`` exists and every file it lists is intact: a plain
    name of a regular file in ``out_dir`` (an absolute path, ``..``, a link or a device
    means not complete, and is never hashed) with the listed size and sha256."""
    out_dir = Path(out_dir)
    listed = _listed(out_dir)
    if not listed:
        return False
    for name, info in listed.items():
        path = out_dir / name
        if not plain_file_name(name) or not _regular(path):
            return False
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
                  engine_options: EngineOptions | None = None,
                  within: str | os.PathLike | None = None) -> ConvertResult:
    """Convert one video into per-person animations and their outputs in ``out_dir``.

    Args:
        video: input video file.
        out_dir: output directory (created if missing).
        config: :class:`ConvertConfig`.
        engine: a pose engine (default: :func:`mocap.tracking.loop.make_video_engine`).
        force: overwrite outputs of an earlier conversion in ``out_dir``.
        progress: ``progress(stage, done, total)`` for long stages (``"tracking"`` and
            ``"preview"`` in frames, ``"blender"`` in people exported to FBX/GLB).
        engine_options: how to run the models when ``engine`` is None.
        within: a folder mocap manages that holds ``out_dir`` (a batch directory): no
            folder below it, ``out_dir`` included, may be a symbolic link
            (:func:`mocap.fileio.check_write_dir`), so nothing is read as an earlier
            output, written, replaced or deleted through a link.

    Returns:
        :class:`ConvertResult`. A video with nobody in it gives no person files and a
        report saying so.

    Raises:
        InputError: unreadable video, unknown rig or format.
        OutputError: ``out_dir`` holds earlier outputs (without ``force``), cannot be
            written, or is a link below ``within``.
    """
    start = time.perf_counter()
    cfg = config or ConvertConfig()
    video, out_dir = Path(video), Path(out_dir)
    cfg, rig, character = conversion_target(cfg)  # a bad rig fails before any work
    reader = open_video(video, prefetch=0)  # so does a bad video
    reader.close()
    frame_size = (reader.info.width, reader.info.height)
    given = given_lens(frame_size, cfg.fov_deg, cfg.focal_px)  # checks --focal-px
    stated = None if given else stated_lens(video, frame_size)  # the phone's own word
    if any(f in BLENDER_FORMATS for f in cfg.formats):
        check_blender(cfg.blender)  # and a Blender that is not there
    old = prepare_output(out_dir, within, force)
    pipe = pipeline_config(cfg)
    timings: dict[str, float] = {}
    try:
        result = _convert(video, out_dir, cfg, (rig, character), pipe, old, engine, progress,
                          engine_options, timings, within, given, stated, reader.info)
    except OSError as exc:  # e.g. the disk filled up: nothing staged is left behind
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    result.wall_s = time.perf_counter() - start
    return result


def conversion_target(cfg: ConvertConfig) -> tuple[ConvertConfig, Rig, Character | None]:
    """The rig a conversion retargets onto, and the character when ``cfg.rig`` is a
    character file (read through Blender): it is exported itself, so its own format is
    added to the formats, and at its own proportions (bone lengths ``rig``)."""
    rig, character = load_target(cfg.rig, cfg.blender, cfg.bone_map)
    if character is not None:
        cfg = replace(cfg, bone_lengths="rig", formats=tuple(dict.fromkeys(
            (*cfg.formats, character.kind))))
    return cfg, rig, character


def prepare_output(out_dir: Path, within, force: bool) -> list[Path]:
    """Check ``out_dir`` before any work: writable without links where none may be
    (:func:`mocap.fileio.check_write_dir`), and holding no earlier outputs unless
    ``force``. Returns the earlier outputs (replaced by the run's publish)."""
    check_write_dir(out_dir, within)  # a file, or a link where none may be
    old = existing_outputs(out_dir)
    if old and not force:
        raise OutputError(f"{out_dir} already holds outputs ({old[0].name}, ...); use --force "
                          "to overwrite or choose another directory")
    return old


def pipeline_config(cfg: ConvertConfig) -> PipelineConfig:
    """The tracking settings of a conversion (its ``max_people`` applied)."""
    pipe = cfg.pipeline or PipelineConfig()
    return pipe if cfg.max_people is None else replace(pipe, max_people=cfg.max_people)


def publish(out: OutputDir, out_dir: Path, staged: dict[str, Path], report: dict,
            old: list[Path]) -> list[Path]:
    """Write ``report.json`` (listing every staged file with its size and sha256) and
    publish everything at once; refuses to replace a file of the same name that no
    earlier run of mocap listed. Returns the published paths."""
    report["files"] = {name: {"size": tmp.stat().st_size, "sha256": sha256_of(tmp)}
                       for name, tmp in staged.items()}
    out.path(REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    # lexists: a link named like an output, even a dangling one, is not replaced
    foreign = [name for name in [*staged, REPORT] if os.path.lexists(out_dir / name)
               and (out_dir / name) not in old]
    if foreign:
        raise OutputError(f"{out_dir / foreign[0]} exists and was not written by mocap "
                          "(it is not in the directory's report.json); move it away or "
                          "choose another directory")
    # an earlier run's outputs that this run does not write would mix two runs: they go
    # in the same all-or-nothing publish (only files that run listed in its report.json
    # are ever removed)
    return out.commit(remove=old)


def _convert(video, out_dir, cfg, target, pipe, old, engine, progress, engine_options,
             timings, within, given, stated, info) -> ConvertResult:
    rig, character = target
    with OutputDir(out_dir, within) as out:
        t0 = time.perf_counter()
        if engine is None:
            engine = make_video_engine(engine_options)
        timings["load_models"] = time.perf_counter() - t0
        cb = (lambda done, total: progress("tracking", done, total)) if progress else None
        t0 = time.perf_counter()
        # the camera estimate fits its turning at the given focal length, or finds one;
        # until it does, it assumes the stated one or the long-side prior
        start = given or stated
        measure = None if cfg.camera == "static" else CameraMotionConfig(
            fov_deg=start.fov_deg if start else prior_fov((info.width, info.height)),
            focal_px=given.focal_px if given else None)
        hands = HandConfig(model=cfg.hand_model) if cfg.hands else None
        # no focal length given or stated: the scene's lines in the middle frame may tell
        # (used if the camera turns out fixed)
        middle = (_MiddleLines(video, (info.width, info.height),
                               info.frame_count // 2 if info.frame_count > 0 else -1)
                  if given is None and stated is None else None)
        # the preview's frames, kept at its size as they are decoded (a short video)
        frames = PreviewFrames((info.width, info.height)) if cfg.preview else None
        taps = [t for t in (middle, frames) if t is not None]
        tracked = track_video(video, engine, pipe, progress=cb, camera=measure, hands=hands,
                              engine_options=engine_options,
                              on_frame=(lambda f: [t(f) for t in taps]) if taps else None)
        taps = []  # (the kept frames go with `frames` alone from here)
        timings["tracking"] = time.perf_counter() - t0
        fps = tracked.info.rate
        size = (tracked.info.width, tracked.info.height)
        path = tracked.camera
        undo = path if path is not None and (cfg.camera == "moving" or path.moving) else None
        t0 = time.perf_counter()
        # from BlazePose's own 3D (the people's estimate relies on it), before any lift
        # a fixed camera with no focal length stated: the scene's lines, if they tell
        lines = (middle.result(tracked.frame_count) if middle is not None and undo is None
                 else None)
        lens = resolve_lens(given, path, undo is not None, tracked.tracks, size, fps, stated,
                            lines)
        timings["focal"] = time.perf_counter() - t0
        if cfg.lift == "learned":  # each person's 3D re-estimated over their whole track
            t0 = time.perf_counter()
            tracked.tracks = [replace(t, world=lift_track(t, size, fps))
                              for t in tracked.tracks]
            timings["lift"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        people = animate_scene(tracked.tracks, rig, size, fps, tracked.frame_count,
                               lens.fov_deg, cfg.bone_lengths, undo,
                               ROOT_SMOOTH_S if cfg.lift == "learned" else 0.0)
        for p in people:
            p.warnings = person_warnings(p, fps, size)
        timings["motion"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        blender_error: list = []
        kept: dict = {}  # the report's thumbnail frames, kept while the preview is made
        preview, stop = None, threading.Event()
        if cfg.preview:
            pcb = (lambda n: progress("preview", n, tracked.frame_count)) if progress else None
            short = frames.complete(tracked.frame_count)  # its frames kept: a short video
            preview = _Timed(write_rig_preview, video, people, out.path("preview.mp4"), fps,
                             size, lens.fov_deg, pcb,
                             keep=thumbnail_frames(people).values() if cfg.report else (),
                             kept=kept, frames=frames if short else None, stop=stop)
            frames = None  # (the preview holds them while it needs them)
            # a short video's preview waits on its encoder (one thread): the files are
            # written beside it (not a long video's: their memory would add up; nor beside
            # Blender's export, which has its own progress)
            if short and not any(f in BLENDER_FORMATS for f in cfg.formats):
                preview.start("mocap-preview")
        t0 = time.perf_counter()
        try:
            staged = write_people(out, people, cfg, fps, blender_error, progress, character)
            timings["export"] = time.perf_counter() - t0
            if preview is not None:
                staged["preview.mp4"] = preview.result()
                timings["preview"] = preview.seconds
        finally:  # stopped (a signal, a full disk): the preview ends at its next frame,
            # and nothing is left writing when the staging is cleared
            stop.set()
            if preview is not None:
                preview.wait()
        if cfg.report:
            t0 = time.perf_counter()
            staged["report.html"] = out.path("report.html")
            staged["report.html"].write_text(render_report_html(
                video, people, tracked, conversion_settings(cfg, lens),
                frames=kept if cfg.preview else None), encoding="utf-8")
            timings["report"] = time.perf_counter() - t0
        report = build_report(video, people, tracked, conversion_settings(cfg, lens), timings,
                              undo is not None)
        if blender_error:
            report["message"] = f"FBX/glTF not written: {blender_error[0]}"
        written = publish(out, out_dir, staged, report, old)
    if blender_error:  # raised after publishing everything else
        exc = blender_error[0]
        raise type(exc)(f"{exc} (the BVH and data files are written in {out_dir})")
    return ConvertResult(video, out_dir, people, written, tracked.frame_count, fps,
                         tracked.truncated, timings, tracked.camera, units=cfg.units,
                         lens=lens)


class _MiddleLines:
    """The lines estimate (:func:`mocap.app.lens.lines_lens`) of the video's middle frame,
    started on a thread as that frame goes by in the tracking pass, so it runs beside the
    loop instead of after it and the frame is not read again.

    Args:
        video: the video.
        size: (width, height) px.
        index: the middle frame by the container's count (-1: count unknown).
    """

    def __init__(self, video: Path, size: tuple[int, int], index: int) -> None:
        self.video, self.size, self.index = video, size, index
        self._estimate: _Timed | None = None

    def __call__(self, frame) -> None:
        if frame.index == self.index and self._estimate is None:
            self._estimate = _Timed(lines_lens, self.video, self.size, self.index,
                                    frame.image)
            self._estimate.start("mocap-lines")

    def result(self, frame_count: int) -> Lens | None:
        """The estimate for the middle of ``frame_count`` decoded frames (read by seeking
        where the container's count was wrong or missing)."""
        found = self._estimate.result() if self._estimate is not None else None
        if self._estimate is None or self.index != frame_count // 2:
            return lines_lens(self.video, self.size, frame_count // 2)
        return found


class _Timed:
    """``fn(*args, **kwargs)``, on a thread once :meth:`start` is called, else in
    :meth:`result`; ``seconds``: how long it took."""

    def __init__(self, fn, *args, **kwargs) -> None:
        self._call = lambda: fn(*args, **kwargs)
        self._thread: threading.Thread | None = None
        self._value = self._error = None
        self.seconds = 0.0

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self._value = self._call()
        except BaseException as exc:  # re-raised on the caller's thread
            self._error = exc
        self._call = None  # (lets go of the arguments: kept frames)
        self.seconds = time.perf_counter() - t0

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Wait for a started call to end (its result or error left unread); the waiting
        goes on through a signal (the call is asked to stop first)."""
        while self._thread is not None and self._thread.is_alive():
            with contextlib.suppress(BaseException):
                self._thread.join()

    def result(self):
        if self._thread is None:
            self._run()
        else:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def write_people(out: OutputDir, people: list[PersonResult], cfg: ConvertConfig,
                  fps: float, staged_error: list, progress=None,
                  character: Character | None = None) -> dict[str, Path]:
    """Stage every per-person file; returns final name -> staged temporary path. A failed
    FBX/GLB export (no Blender, a program that is not Blender, Blender's own error) is
    appended to ``staged_error`` instead of failing the other outputs. With a
    ``character``, the FBX/GLB files are the character itself, animated."""
    staged: dict[str, Path] = {}
    def animation(p: PersonResult) -> Animation:  # what the animation files hold
        anim = p.full_animation()
        return in_place(anim) if cfg.root_motion == "in-place" else anim

    for p in people:
        name = f"person_{p.id}.bvh"
        staged[name] = out.path(name)
        staged[name].write_text(bvh_text(animation(p), cfg.units), encoding="utf-8")
        data_formats = [f for f in cfg.formats if f in DATA_FORMATS]
        if data_formats:
            wm = p.motion.world  # placed by animate_scene: its focal length is known
            arrays = person_arrays(p.animation, p.track, wm.landmarks, (*p.camera, wm.focal))
            meta = person_meta(p.id, p.animation, fps)
            for fmt in data_formats:
                fname = f"person_{p.id}.{fmt}"
                staged[fname] = out.path(fname)
                write_person_data(fmt, staged[fname], meta, arrays)
    blender_formats = [f for f in cfg.formats if f in BLENDER_FORMATS]
    if blender_formats and people:
        bvhs = {f"person_{p.id}.bvh": staged[f"person_{p.id}.bvh"] for p in people}
        try:
            steps = (lambda done, total: progress("blender", done, total)) if progress else None
            if character is not None:
                clips = {f"person_{p.id}": animation(p) for p in people}
                staged.update(_export_character(out, character, clips, blender_formats, cfg,
                                                steps))
            else:
                staged.update(_export_blender(out, bvhs, blender_formats, cfg, steps))
        except MocapError as exc:  # no Blender, not a Blender (/bin/true), or it failed:
            # the BVH and data files are still written; the caller reports this after
            staged_error.append(exc)
    return staged


def _export_character(out, character: Character, clips: dict, formats: list[str], cfg,
                      steps=None) -> dict[str, Path]:
    """The character animated by each clip, written in a temporary folder first and staged
    only when Blender succeeded for all (a failure stages nothing)."""
    staged = {}
    with tempfile.TemporaryDirectory(prefix="mocap-character-") as tmp:
        outputs = {name: {f: Path(tmp) / f"{name}.{f}" for f in formats} for name in clips}
        export_character(character, clips, outputs, cfg.blender, steps)
        for files in outputs.values():
            for path in files.values():
                staged[path.name] = out.path(path.name)
                staged[path.name].write_bytes(path.read_bytes())
    return staged


def _export_blender(out, bvhs: dict[str, Path], formats: list[str], cfg,
                    steps=None) -> dict[str, Path]:
    """FBX/GLB of the staged BVH files through Blender, in one Blender process."""
    staged = {}
    with tempfile.TemporaryDirectory(prefix="mocap-blender-") as tmp:
        tmp = Path(tmp)
        sources = []
        for name, path in bvhs.items():
            sources.append(tmp / name)
            sources[-1].write_bytes(path.read_bytes())
        for produced in export_bvh_files(sources, formats=tuple(formats), out_dir=tmp,
                                         blender=cfg.blender, units=cfg.units,
                                         steps=steps):
            produced = Path(produced)
            staged[produced.name] = out.path(produced.name)
            staged[produced.name].write_bytes(produced.read_bytes())
    return staged


def conversion_settings(cfg: ConvertConfig, lens: Lens | None = None) -> dict:
    """The conversion settings the report states (``lens``: the focal length used; its
    horizontal field of view is the report's ``fov_deg``)."""
    return {"rig": cfg.rig, "units": cfg.units,
            "fov_deg": lens.fov_deg if lens is not None else cfg.fov_deg,
            "focal": lens.report() if lens is not None else None,
            "bone_lengths": cfg.bone_lengths, "root_motion": cfg.root_motion,
            "camera_mode": cfg.camera,
            "hands": cfg.hand_model if cfg.hands else None, "lift": cfg.lift}
