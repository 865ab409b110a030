"""Convert many videos: a local process pool or a Dask cluster, one manifest, resumable.

Each video goes to ``DIR/<name>/``: ``name`` is the file's stem made safe (no path
separator or control character, no leading dot, never empty, ``.`` or ``..``) and unique
(``-2``, ``-3``... against every other name, ignoring case); a job whose name is not its
stem says why in the manifest (``renamed``). The manifest ``DIR/batch.json`` records each
video's status (``pending``, ``running``, ``done``, ``failed``, ``interrupted``: the batch
was stopped, by Ctrl-C or a signal, while converting it), timings, error, people found and
the conversion's quality warnings; it is rewritten atomically after every change, and each
video's outputs are published atomically by :func:`mocap.app.convert.convert_video`. So a
batch killed at any moment leaves finished videos complete and the rest without output, and
:func:`run_batch` with ``resume=True`` redoes exactly what is not complete
(:func:`job_outputs_complete`).

Workers run :func:`convert_one`, the same function locally and on Dask; each gets its own
share of the CPU threads so that ``jobs`` workers do not oversubscribe the cores. A job is
``running`` from the moment a worker reports that it started it, so at most ``jobs`` are
(local pool); local workers die with the batch process (``PR_SET_PDEATHSIG`` on Linux, and
a check of the parent before each job). While a job runs, its worker reports how far it got
(:class:`JobProgress`, thinned by :class:`ProgressThrottle` to a few reports per stage);
the batch passes each on as a ``progress`` event.

Three modules beside this one: :mod:`mocap.app.batch_manifest` (batch.json and its
records), :mod:`mocap.app.batch_local` (the process pool) and :mod:`mocap.app.batch_dask`
(the cluster); this one names the jobs, checks where they may write and runs them.
"""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from mocap import fileio
from mocap.app.batch_dask import connect, run_dask
from mocap.app.batch_local import run_local
from mocap.app.batch_manifest import (
    MANIFEST,
    STATUSES,
    ExcludedInput,
    JobPlan,
    JobProgress,
    JobRecord,
    JobResult,
    Manifest,
    input_identity,
    job_settings,
    jsonable,
    one_line,
    why_redo,
)
from mocap.app.convert import (
    ConvertConfig,
    convert_video,
    existing_outputs,
    outputs_complete,
)
from mocap.errors import InputError, MocapError, OutputError
from mocap.io.video import VIDEO_EXTENSIONS
from mocap.perception.landmarks import EngineOptions, check_threads
from mocap.tracking.loop import make_video_engine

__all__ = ["MANIFEST", "PROGRESS_MAX_S", "PROGRESS_MIN_S", "PROGRESS_STEP", "STATUSES",
           "BatchConfig", "ExcludedInput", "JobProgress", "JobRecord", "JobResult",
           "Manifest", "ProgressThrottle", "check_scheduler_address", "convert_one",
           "exclude_outputs", "expand_inputs", "input_identity", "job_names",
           "job_outputs_complete", "job_settings", "name_jobs", "run_batch", "safe_name"]

#: Scheduler address schemes: ``tcp`` (plain, trusted networks only) and ``tls``.
SCHEDULER_SCHEMES = ("tcp", "tls")

# path separators and control characters (C0, DEL, C1) never reach a folder name ...
_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f-\x9f]")
# ... nor do format characters (bidi overrides such as U+202E, zero-width ones), line and
# paragraph separators (U+2028, U+2029) and surrogates (undecodable bytes of a file name)
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_HOSTNAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_NAME_BYTES = 200  # leaves room for "-N" and the staging names within 255 bytes


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


def safe_name(stem: str) -> str:
    """A folder name made of ``stem``: path separators, control and format characters
    (bidi overrides such as U+202E, zero-width characters), line and paragraph separators
    become ``_``, leading dots and surrounding spaces go, an empty result is ``video``, and
    it is cut to 200 bytes. Never ``.``, ``..``, empty, hidden or more than one path
    component, and it reads on a terminal as it is."""
    name = "".join("_" if unicodedata.category(c) in _UNSAFE_CATEGORIES else c
                   for c in _UNSAFE.sub("_", stem)).strip().lstrip(".").strip()
    raw = name.encode("utf-8")
    if len(raw) > _NAME_BYTES:
        name = raw[:_NAME_BYTES].decode("utf-8", "ignore").rstrip()
    return name or "video"


def name_jobs(videos: list[Path]) -> list[tuple[str, str | None]]:
    """Each video's job name and why it is not the file's stem (None when it is).

    Names are :func:`safe_name` of the stem, made unique with ``-2``, ``-3``... against
    every name given so far (ignoring case, for case-insensitive file systems) and the
    manifest's own name.
    """
    taken = {MANIFEST.casefold()}
    exact = {MANIFEST}
    named: list[tuple[str, str | None]] = []
    for video in videos:
        stem = video.stem
        base = safe_name(stem)
        notes = [] if base == stem else [f"the file name {stem!r} is not a safe folder name"]
        name, k = base, 1
        while name.casefold() in taken:
            k += 1
            name = f"{base}-{k}"
        if name != base:
            case = "" if base in exact else " (names are compared ignoring case)"
            notes.append(f"the name {base!r} is taken by another input{case}")
        taken.add(name.casefold())
        exact.add(name)
        named.append((name, "; ".join(notes) or None))
    return named


def job_names(videos: list[Path]) -> list[str]:
    """Output folder names (:func:`name_jobs` without the reasons)."""
    return [name for name, _ in name_jobs(videos)]


def job_outputs_complete(job_dir: str | os.PathLike) -> bool:
    """:func:`mocap.app.convert.outputs_complete` for a batch job whose folder is a real
    folder: a job folder that is a link (to anywhere) is not trusted as complete."""
    try:
        if not stat.S_ISDIR(os.lstat(job_dir).st_mode):
            return False
    except OSError:
        return False
    return outputs_complete(job_dir)


#: A running job reports progress when its stage advanced by this share of its total ...
PROGRESS_STEP = 0.1
#: ... and at least this many seconds passed since its last report,
PROGRESS_MIN_S = 2.0
#: or when this many seconds passed (a stage of unknown length, or a slow one).
PROGRESS_MAX_S = 10.0


class ProgressThrottle:
    """``progress(stage, done, total)`` of :func:`~mocap.app.convert.convert_video`, passed
    on to ``report`` as a :class:`JobProgress` a few times per stage: when the stage
    advanced by :data:`PROGRESS_STEP` of its total and :data:`PROGRESS_MIN_S` seconds passed
    since the last report (the first report of a stage does not wait), or when
    :data:`PROGRESS_MAX_S` seconds passed. At most about 10 reports per stage, one per
    2 s: lines to read, not a flood."""

    def __init__(self, report: Callable[[JobProgress], None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._report, self._clock = report, clock
        self._stage: str | None = None
        self._done = 0
        self._last = clock()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage:
            self._stage, self._done = stage, 0
        if done <= self._done:
            return
        now = self._clock()
        since = now - self._last
        stepped = total > 0 and done - self._done >= PROGRESS_STEP * total
        if (stepped and (self._done == 0 or since >= PROGRESS_MIN_S)) \
                or since >= PROGRESS_MAX_S:
            self._done, self._last = done, now
            self._report(JobProgress(stage, int(done), int(total)))


def convert_one(video: str, out_dir: str, config: ConvertConfig, engine: EngineOptions,
                threads: int | None,
                progress: Callable[[JobProgress], None] | None = None, *,
                force: bool = True, within: str | None = None) -> JobResult:
    """Convert one video (runs in a worker process, local or Dask). Never raises an
    ``Exception`` (a ``KeyboardInterrupt`` goes on: the batch is being stopped).

    Args:
        video: input path.
        out_dir: this video's output directory.
        config: the conversion settings.
        engine: how to run the models (its ``threads`` default to ``threads``).
        threads: CPU threads for this worker's inference.
        progress: called with a :class:`JobProgress` a few times per stage
            (:class:`ProgressThrottle`).
        force: replace the outputs of an earlier conversion in ``out_dir`` (the batch
            allows it for its own earlier jobs, and with ``--force``).
        within: the batch directory: no folder below it may be a link
            (:func:`mocap.fileio.check_write_dir`).
    """
    t0 = time.perf_counter()
    try:
        import torch  # heavy: only in the worker

        if threads:
            torch.set_num_threads(threads)
        if engine.threads is None and threads:
            engine = replace(engine, threads=threads)
        result = convert_video(video, out_dir, config, engine=make_video_engine(engine),
                               force=force, within=within,
                               progress=ProgressThrottle(progress) if progress else None)
        return JobResult("done", None, time.perf_counter() - t0, result.frame_count,
                         len(result.people), tuple(result.warning_records()))
    except MocapError as exc:
        return JobResult("failed", one_line(str(exc)), time.perf_counter() - t0)
    except Exception as exc:  # a bug in one video must not stop the batch
        return JobResult("failed", one_line(f"{type(exc).__name__}: {exc}"),
                         time.perf_counter() - t0)


@dataclass(frozen=True)
class BatchConfig:
    """How to run a batch.

    Attributes:
        jobs: videos converted at once (local worker processes).
        resume: skip videos whose outputs are complete and valid; redo the rest.
        force: start over even if ``DIR`` holds an earlier batch (readable or not).
        scheduler: a Dask scheduler address, ``tcp://HOST:PORT`` or ``tls://HOST:PORT``, to
            run on instead of local processes; ``jobs`` is then ignored (the cluster's
            workers decide). Plain ``tcp://`` is neither encrypted nor authenticated:
            anyone who can reach the scheduler can run code on its workers, so use it on
            trusted networks only.
        threads: CPU threads per job (default: cores // jobs, at least 1).
        tls_ca_file: with a ``tls://`` scheduler: the CA certificate(s) that signed the
            cluster's certificates (PEM).
        tls_cert: with ``tls://``: this client's certificate (PEM).
        tls_key: with ``tls://``: this client's private key (PEM; omit if ``tls_cert``
            holds it).
    """

    jobs: int = 1
    resume: bool = False
    force: bool = False
    scheduler: str | None = None
    threads: int | None = None
    tls_ca_file: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None

    def __post_init__(self) -> None:
        check_threads(self.jobs, "--jobs")
        check_threads(self.threads)
        if self.resume and self.force:
            raise InputError("--resume and --force contradict each other; choose one")
        tls_files = {"--tls-ca-file": self.tls_ca_file, "--tls-cert": self.tls_cert,
                     "--tls-key": self.tls_key}
        scheme = check_scheduler_address(self.scheduler) if self.scheduler else None
        if scheme:  # schemes are case-insensitive: TLS:// is tls://, and is used as such
            object.__setattr__(self, "scheduler",
                               scheme + self.scheduler[self.scheduler.index("://"):])
        if scheme != "tls":
            given = [opt for opt, value in tls_files.items() if value]
            if given:
                raise InputError(f"{given[0]} needs a tls:// --scheduler address")
            return
        missing = [opt for opt in ("--tls-ca-file", "--tls-cert") if not tls_files[opt]]
        if missing:
            raise InputError(f"a tls:// scheduler needs {' and '.join(missing)} (and "
                             "--tls-key unless the certificate file holds the key)")
        for opt, value in tls_files.items():
            if value and not Path(value).expanduser().is_file():
                raise InputError(f"{opt} {value}: no such file")


def check_scheduler_address(address: str) -> str:
    """Check a Dask scheduler address, ``tcp://HOST:PORT`` or ``tls://HOST:PORT`` (an IPv6
    host in brackets); returns its scheme.

    Raises:
        InputError: any other form (one line).
    """
    shown = repr(address)
    expected = "expected tcp://HOST:PORT or tls://HOST:PORT"
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"--scheduler {shown} is not an address ({one_line(str(exc))}; "
                         f"{expected})") from None
    if "://" not in address or not parts.scheme:
        raise InputError(f"--scheduler {shown} is not an address ({expected})")
    if parts.scheme.lower() not in SCHEDULER_SCHEMES:
        raise InputError(f"--scheduler {shown}: unsupported scheme {parts.scheme!r} "
                         f"({expected})")
    host = parts.hostname or ""
    if parts.netloc.startswith("["):
        try:
            valid = ipaddress.ip_address(host).version == 6
        except ValueError:
            valid = False
    else:
        valid = bool(_HOSTNAME.match(host))
    if not valid or parts.username is not None or parts.password is not None:
        raise InputError(f"--scheduler {shown}: not a valid host ({expected})")
    if port is None or not 0 < port < 65536:
        raise InputError(f"--scheduler {shown}: needs a port from 1 to 65535 ({expected})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(f"--scheduler {shown}: unexpected text after the port ({expected})")
    return parts.scheme.lower()


def exclude_outputs(videos: list[Path], out_dir: str | os.PathLike,
                    ) -> tuple[list[Path], list[ExcludedInput]]:
    """Leave out the inputs that are outputs of mocap: a file inside the batch directory
    (its own ``preview.mp4`` files, which ``'clips/**/*.mp4' -o clips/out`` matches), or
    one listed in its folder's ``report.json`` (a ``convert`` output), or a ``preview.mp4``
    beside a ``tracks.json`` (a ``track`` output). Returns (kept, left out with why)."""
    root = Path(out_dir).resolve()
    kept: list[Path] = []
    excluded: list[ExcludedInput] = []
    listed: dict[Path, set[Path]] = {}
    for video in videos:
        path = video.resolve()
        folder = path.parent
        if folder not in listed:
            listed[folder] = set(existing_outputs(folder))
        if path.is_relative_to(root):
            why = f"inside the batch directory {out_dir}"
        elif path in listed[folder]:
            why = f"an output of mocap convert (listed in {folder / 'report.json'})"
        elif path.name == "preview.mp4" and (folder / "tracks.json").is_file():
            why = f"an output of mocap track (beside {folder / 'tracks.json'})"
        else:
            kept.append(video)
            continue
        excluded.append(ExcludedInput(str(video), why))
    return kept, excluded


def _check_job_folders(out: Path, names: list[str], replace_ok: frozenset[str]) -> None:
    """Before anything is converted: no job folder is a link (or below one), and none
    holds outputs that this batch did not write (unless ``replace_ok`` names it).

    Raises:
        OutputError: the first folder that fails, with what to do.
    """
    for name in names:
        job = out / name
        fileio.check_write_dir(job, out)
        if name in replace_ok:
            continue
        old = existing_outputs(job)
        if old:
            raise OutputError(f"{job} already holds outputs ({old[0].name}, ...) that this "
                              "batch did not write; use --force to replace them, or choose "
                              "another directory")


def run_batch(inputs: list[str], out_dir: str | os.PathLike, convert: ConvertConfig,
              engine: EngineOptions | None = None, config: BatchConfig | None = None,
              on_event: Callable[[str, str, JobRecord | ExcludedInput], None] | None = None,
              ) -> Manifest:
    """Convert every input video into ``out_dir/<name>/``.

    The batch holds a lock on ``out_dir`` for the whole run: a second batch (or
    ``convert``) into it fails at once ("DIR is in use by another mocap batch (process
    N)"). Nothing is written before the inputs, the earlier manifest, the job folders and
    (with a scheduler) the connection to the cluster are checked: a job folder that is a
    symbolic link, or that holds outputs this batch did not write (a ``convert`` run
    into it; allowed with ``force``, and for the batch's own jobs with ``resume``), stops
    the batch before any work. With ``resume``, a job done before is skipped only if its
    outputs are intact and its settings (:func:`job_settings`) and video
    (:func:`input_identity`) are those of now; otherwise it is converted again (a
    ``redo`` event says why). Inputs that are outputs of mocap are left out
    (:func:`exclude_outputs`; ``exclude`` events). If the run is stopped, the temporaries
    of the jobs it was running and the job folders it created for them are removed (local
    runs; Dask workers may still be writing).

    Args:
        inputs: files, folders and glob patterns (:func:`expand_inputs`).
        out_dir: batch directory (created if missing).
        convert: the conversion settings of every video.
        engine: how to run the models.
        config: :class:`BatchConfig`.
        on_event: called as ``on_event(event, name, record)`` with ``exclude`` (``name``:
            the input path, ``record``: an :class:`ExcludedInput`), ``skip``, ``redo``
            (``record.redo``: why), ``start`` (a worker began the job), ``progress``
            (``record.progress``: how far it got, a few times per stage), ``done``
            (``record.warnings``: the conversion's quality warnings) or ``failed``.

    Returns:
        The final :class:`Manifest` (``failed`` entries carry their error; ``excluded``
        the inputs left out).

    Raises:
        InputError: no inputs, an unreadable earlier manifest (without ``force``), or
            ``out_dir`` holds an earlier batch and neither ``resume`` nor ``force`` is set.
        OutputError: ``out_dir`` cannot be written, is in use by another batch, or a job
            folder is a link or holds outputs the batch did not write.
        MocapError: the Dask scheduler cannot be reached.
    """
    cfg = config or BatchConfig()
    engine = engine or EngineOptions()
    out = Path(out_dir)
    videos, excluded = exclude_outputs(expand_inputs(inputs), out)
    if not videos:
        raise InputError(f"every input is an output of mocap ({excluded[0].input}: "
                         f"{excluded[0].reason}); nothing to convert")
    fileio.check_write_dir(out)
    created = [p for p in (out, *out.parents) if not os.path.lexists(p)]
    lock = None
    saved = False
    try:
        try:
            out.mkdir(parents=True, exist_ok=True)
            lock = fileio.lock_directory(out, "mocap batch")
        except OSError as exc:
            raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from None
        manifest, old = _plan(videos, out, convert, engine, cfg)
        manifest.excluded = excluded
        replace_ok = frozenset(manifest.jobs) if cfg.force else \
            frozenset(old.jobs if old is not None else ())
        todo = [name for name, rec in manifest.jobs.items() if rec.status != "done"]
        _check_job_folders(out, todo, replace_ok)
        client = connect(cfg.scheduler, cfg.tls_ca_file, cfg.tls_cert, cfg.tls_key) \
            if todo and cfg.scheduler else None
        try:
            fileio.remove_stale_temporaries(out)  # a killed batch's, now that we hold DIR
            try:
                manifest.save()
            except OSError as exc:
                raise OutputError(f"cannot write to {out}: {exc.strerror or exc}") from None
            saved = True
            if on_event:
                for item in excluded:
                    on_event("exclude", item.input, item)
                for name, rec in manifest.jobs.items():
                    if rec.status == "done":
                        on_event("skip", name, rec)
                    elif rec.redo:
                        on_event("redo", name, rec)
            if todo:
                work = JobPlan(convert_one, convert, engine, str(out), replace_ok)
                _run(manifest, todo, work, cfg, on_event, client)
        finally:
            if client is not None:
                client.close()
    finally:
        if lock is not None:
            os.close(lock)
        if not saved:  # nothing of this batch is there: the folders it made go too
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()
    return manifest


def _plan(videos: list[Path], out: Path, convert: ConvertConfig, engine: EngineOptions,
          cfg: BatchConfig) -> tuple[Manifest, Manifest | None]:
    """The run's manifest (each job's record: skipped when done before with the same
    settings and video) and the earlier one (None: a new batch)."""
    manifest_path = out / MANIFEST
    old = None
    if not cfg.force and os.path.lexists(manifest_path):
        old = Manifest.load(manifest_path)
        if not cfg.resume:
            raise OutputError(f"{out} holds an earlier batch ({MANIFEST}); use --resume to "
                              "finish it or --force to start over")
    manifest = Manifest(manifest_path, options=jsonable(
        {"convert": asdict(convert), "engine": asdict(engine)}))
    settings = job_settings(convert, engine)
    for video, (name, note) in zip(videos, name_jobs(videos), strict=True):
        source = input_identity(video)
        rec = JobRecord(str(video), str(out / name), renamed=note, settings=settings,
                        source=source)
        prev = old.jobs.get(name) if old is not None else None
        if prev is not None and prev.input == rec.input:
            rec.attempts = prev.attempts
            if prev.status == "done" and job_outputs_complete(out / name):
                rec.redo = why_redo(prev, settings, source)
                if rec.redo is None:
                    # the old record's own output path is never trusted: it is out/name
                    rec = replace(prev, output=rec.output, renamed=note)
        manifest.jobs[name] = rec
    return manifest, old


def _run(manifest: Manifest, todo: list[str], work: JobPlan, cfg: BatchConfig, on_event,
         client) -> None:
    """Run the jobs; if this process is stopped (Ctrl-C, SIGTERM, SIGHUP: a
    KeyboardInterrupt such as :class:`mocap.errors.Interrupted`), the jobs it was running
    are recorded as ``interrupted`` (anything else that stops it: ``failed``) before the
    exception goes on; ``resume`` redoes them. Local runs then remove what the stopped
    jobs left (:func:`_clean_job_folder`)."""
    fresh = {name for name in todo if not os.path.lexists(Path(work.within) / name)}
    try:
        if client is not None:
            run_dask(manifest, todo, work, cfg.threads, on_event, client)
        else:
            run_local(manifest, todo, work, cfg.jobs, _threads_per_job(cfg), on_event)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            status, error = "interrupted", "the batch was interrupted; --resume redoes it"
        else:
            status, error = "failed", one_line(f"the batch stopped: {type(exc).__name__}: "
                                                f"{exc}")
        stopped = [rec for rec in manifest.jobs.values() if rec.status == "running"]
        for rec in stopped:
            rec.status, rec.error, rec.finished = status, error, time.time()
            rec.progress = None
        if stopped:
            with contextlib.suppress(MocapError, OSError, ValueError):
                manifest.save()
        if client is None:  # local workers are gone by now; Dask's may still write
            for name in todo:
                if manifest.jobs[name].status != "done":
                    _clean_job_folder(Path(work.within) / name, name in fresh)
        raise


def _clean_job_folder(job: Path, created: bool) -> None:
    """What a stopped job left in its folder: the temporaries of its (dead) worker, the
    backups of a publish cut short (put back), and the folder itself if this run created
    it and it is empty. Only a real folder (never a link) whose lock is free."""
    try:
        if not stat.S_ISDIR(os.lstat(job).st_mode):
            return
        fd = fileio.lock_directory(job, follow=False)
    except (OSError, MocapError):
        return  # gone, a link, or in use by a live run
    try:
        fileio.remove_stale_temporaries(job)
    finally:
        if fd is not None:
            os.close(fd)
    if created:
        with contextlib.suppress(OSError):
            job.rmdir()  # only if empty



def _threads_per_job(cfg: BatchConfig) -> int:
    if cfg.threads:
        return cfg.threads
    return max(1, (os.cpu_count() or 1) // cfg.jobs)
