"""Convert many videos: a local process pool or a Dask cluster, one manifest, resumable.

Each video goes to ``DIR/<name>/`` (``name``: the file's stem, made unique). The manifest
``DIR/batch.json`` records each video's status (``pending``, ``running``, ``done``,
``failed``), timings, error and people found; it is rewritten atomically after every change,
and each video's outputs are published atomically by :func:`mocap.app.convert.convert_video`.
So a batch killed at any moment leaves finished videos complete and the rest without
output, and :func:`run_batch` with ``resume=True`` redoes exactly what is not complete.

Workers run :func:`convert_one`, the same function locally and on Dask; each gets its own
share of the CPU threads so that ``jobs`` workers do not oversubscribe the cores.
"""

from __future__ import annotations

import glob
import json
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mocap import fileio
from mocap.app.convert import ConvertConfig, convert_video, outputs_complete
from mocap.errors import InputError, MocapError, OutputError
from mocap.perception.landmarks import EngineOptions
from mocap.tracking.loop import make_video_engine

VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".wmv",
                    ".flv", ".ts", ".mts")
MANIFEST = "batch.json"


def expand_inputs(items: list[str]) -> list[Path]:
    """Files, folders (their video files, by extension) and glob patterns -> video paths.

    Raises:
        InputError: an item that is neither an existing path nor a matching pattern.
    """
    found: list[Path] = []
    for item in items:
        path = Path(item).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir()
                            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS)
        elif path.exists():
            found.append(path)
        elif glob.has_magic(item):
            matches = sorted(Path(p) for p in glob.glob(os.path.expanduser(item),
                                                          recursive=True))
            if not matches:
                raise InputError(f"{item}: no file matches this pattern")
            found += [p for p in matches if p.is_file()]
        else:
            raise InputError(f"{item}: no such file or directory")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise InputError("no video files found in the inputs "
                         f"(looked for {', '.join(VIDEO_EXTENSIONS)})")
    return unique


def job_names(videos: list[Path]) -> list[str]:
    """Output folder names: the file stem, with ``-2``, ``-3``... for repeated stems."""
    names, seen = [], {}
    for v in videos:
        stem = v.stem or "video"
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


@dataclass
class JobRecord:
    """One video's line in the manifest."""

    input: str
    output: str
    status: str = "pending"
    error: str | None = None
    seconds: float | None = None
    frames: int | None = None
    people: int | None = None
    started: float | None = None
    finished: float | None = None
    attempts: int = 0


@dataclass
class Manifest:
    """``DIR/batch.json``: every video's status, written atomically on each change."""

    path: Path
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    options: dict = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            jobs = {k: JobRecord(**v) for k, v in doc["jobs"].items()}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a readable batch manifest ({exc})") from None
        return cls(path, jobs, doc.get("options", {}))

    def save(self) -> None:
        counts = {s: sum(j.status == s for j in self.jobs.values())
                  for s in ("pending", "running", "done", "failed")}
        fileio.write_json(self.path, {"version": 1, "updated": time.time(), "counts": counts,
                                      "options": self.options,
                                      "jobs": {k: asdict(v) for k, v in self.jobs.items()}})


@dataclass(frozen=True)
class JobResult:
    """What one worker reports back for one video.

    Attributes:
        status: ``done`` or ``failed``.
        error: the one-line reason of a failure.
        seconds: wall-clock time of the conversion.
        frames: frames decoded.
        people: people exported.
    """

    status: str
    error: str | None = None
    seconds: float = 0.0
    frames: int | None = None
    people: int | None = None


def convert_one(video: str, out_dir: str, config: ConvertConfig, engine: EngineOptions,
                threads: int | None) -> JobResult:
    """Convert one video (runs in a worker process, local or Dask). Never raises.

    Args:
        video: input path.
        out_dir: this video's output directory (earlier partial output is replaced).
        config: the conversion settings.
        engine: how to run the models (its ``threads`` default to ``threads``).
        threads: CPU threads for this worker's inference.
    """
    t0 = time.perf_counter()
    try:
        import torch  # heavy: only in the worker

        if threads:
            torch.set_num_threads(threads)
        if engine.threads is None and threads:
            engine = replace(engine, threads=threads)
        result = convert_video(video, out_dir, config, engine=make_video_engine(engine),
                               force=True)
        return JobResult("done", None, time.perf_counter() - t0, result.frame_count,
                         len(result.people))
    except MocapError as exc:
        return JobResult("failed", str(exc), time.perf_counter() - t0)
    except Exception as exc:  # a bug in one video must not stop the batch
        return JobResult("failed", f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)


@dataclass(frozen=True)
class BatchConfig:
    """How to run a batch.

    Attributes:
        jobs: videos converted at once (local worker processes).
        resume: skip videos whose outputs are complete and valid; redo the rest.
        force: start over even if ``DIR`` holds an earlier batch.
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run on instead of
            local processes; ``jobs`` is then ignored (the cluster's workers decide).
        threads: CPU threads per job (default: cores // jobs, at least 1).
    """

    jobs: int = 1
    resume: bool = False
    force: bool = False
    scheduler: str | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise InputError(f"--jobs must be >= 1, got {self.jobs}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"--threads must be >= 1, got {self.threads}")
        if self.resume and self.force:
            raise InputError("--resume and --force contradict each other; choose one")


def run_batch(inputs: list[str], out_dir: str | os.PathLike, convert: ConvertConfig,
              engine: EngineOptions | None = None, config: BatchConfig | None = None,
              on_event: Callable[[str, str, JobRecord], None] | None = None) -> Manifest:
    """Convert every input video into ``out_dir/<name>/``.

    Args:
        inputs: files, folders and glob patterns (:func:`expand_inputs`).
        out_dir: batch directory (created if missing).
        convert: the conversion settings of every video.
        engine: how to run the models.
        config: :class:`BatchConfig`.
        on_event: called as ``on_event(event, name, record)`` with ``skip``, ``start``,
            ``done`` or ``failed``.

    Returns:
        The final :class:`Manifest` (``failed`` entries carry their error).

    Raises:
        InputError: no inputs, or ``out_dir`` holds an earlier batch and neither
            ``resume`` nor ``force`` is set.
        OutputError: ``out_dir`` cannot be written.
    """
    cfg = config or BatchConfig()
    engine = engine or EngineOptions()
    videos = expand_inputs(inputs)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    manifest_path = out / MANIFEST
    old = Manifest.load(manifest_path) if manifest_path.exists() else None
    if old is not None and not (cfg.resume or cfg.force):
        raise OutputError(f"{out} holds an earlier batch ({MANIFEST}); use --resume to finish "
                          "it or --force to start over")
    manifest = Manifest(manifest_path, options=_jsonable(
        {"convert": asdict(convert), "engine": asdict(engine)}))
    for video, name in zip(videos, job_names(videos), strict=True):
        rec = JobRecord(str(video), str(out / name))
        prev = old.jobs.get(name) if old is not None else None
        if cfg.resume and prev is not None and prev.input == rec.input:
            rec.attempts = prev.attempts
            if prev.status == "done" and outputs_complete(rec.output):
                rec = prev
        manifest.jobs[name] = rec
    try:
        out.mkdir(parents=True, exist_ok=True)
        manifest.save()
    except OSError as exc:
        raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from None
    todo = []
    for name, rec in manifest.jobs.items():
        if rec.status == "done":
            if on_event:
                on_event("skip", name, rec)
        else:
            todo.append(name)
    if todo:
        if cfg.scheduler:
            _run_dask(manifest, todo, (convert, engine), cfg, on_event)
        else:
            _run_local(manifest, todo, (convert, engine), cfg, on_event)
    return manifest


def _jsonable(options: dict) -> dict:
    return json.loads(json.dumps(options, default=str))


def _threads_per_job(cfg: BatchConfig) -> int:
    if cfg.threads:
        return cfg.threads
    return max(1, (os.cpu_count() or 1) // cfg.jobs)


def _start(manifest: Manifest, name: str, on_event) -> None:
    rec = manifest.jobs[name]
    rec.status, rec.started, rec.finished, rec.error = "running", time.time(), None, None
    rec.attempts += 1
    manifest.save()
    if on_event:
        on_event("start", name, rec)


def _finish(manifest: Manifest, name: str, result: JobResult, on_event) -> None:
    rec = manifest.jobs[name]
    rec.status = result.status
    rec.error = result.error
    rec.seconds = round(result.seconds or 0.0, 3)
    rec.frames = result.frames
    rec.people = result.people
    rec.finished = time.time()
    manifest.save()
    if on_event:
        on_event(rec.status, name, rec)


def _run_local(manifest: Manifest, todo: list[str],
               options: tuple[ConvertConfig, EngineOptions], cfg: BatchConfig,
               on_event) -> None:
    threads = _threads_per_job(cfg)
    if cfg.jobs == 1:  # no pool: one process, one set of models
        for name in todo:
            _start(manifest, name, on_event)
            rec = manifest.jobs[name]
            _finish(manifest, name, convert_one(rec.input, rec.output, *options, threads),
                    on_event)
        return
    # spawn: workers start clean (no inherited torch/OpenMP thread state from this process)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=ctx) as pool:
        futures = {}
        for name in todo:
            _start(manifest, name, on_event)
            rec = manifest.jobs[name]
            futures[pool.submit(convert_one, rec.input, rec.output, *options, threads)] = name
        for fut in as_completed(futures):
            name = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:  # the worker process died (e.g. out of memory)
                result = JobResult("failed", f"worker died: {exc}")
            _finish(manifest, name, result, on_event)


def _run_dask(manifest: Manifest, todo: list[str],
              options: tuple[ConvertConfig, EngineOptions], cfg: BatchConfig,
              on_event) -> None:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise MocapError("--scheduler needs Dask: pip install 'mocap[distributed]'") from None
    try:
        client = Client(cfg.scheduler, timeout=30)
    except (OSError, TimeoutError) as exc:
        raise MocapError(f"cannot reach the Dask scheduler at {cfg.scheduler}: {exc}") from None
    try:
        threads = cfg.threads
        futures = {}
        for name in todo:
            _start(manifest, name, on_event)
            rec = manifest.jobs[name]
            fut = client.submit(convert_one, rec.input, rec.output, *options, threads,
                                key=f"mocap-{name}-{rec.attempts}", pure=False)
            futures[fut] = name
        for fut in dask_completed(list(futures)):
            name = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:
                result = JobResult("failed", f"worker failed: {exc}")
            _finish(manifest, name, result, on_event)
    finally:
        client.close()
