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
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import hashlib
import ipaddress
import json
import math
import multiprocessing
import os
import queue
import re
import signal
import stat
import sys
import time
import unicodedata
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from mocap import fileio
from mocap.app.convert import (
    MAX_REPORT_BYTES,
    ConvertConfig,
    convert_video,
    existing_outputs,
    outputs_complete,
)
from mocap.errors import InputError, MocapError, OutputError
from mocap.io.video import VIDEO_EXTENSIONS
from mocap.perception.landmarks import EngineOptions, check_threads
from mocap.tracking.loop import make_video_engine

MANIFEST = "batch.json"
STATUSES = ("pending", "running", "done", "failed", "interrupted")
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


@dataclass
class JobRecord:
    """One video's line in the manifest (``renamed``: why the job's name is not the file's
    stem; ``settings``: the conversion settings its outputs are made with,
    :func:`job_settings`; ``source``: the video's identity, :func:`input_identity`).
    ``batch --resume`` skips a ``done`` job only while both are what the batch would use
    now."""

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
    renamed: str | None = None
    warnings: list[dict] = field(default_factory=list)
    settings: dict | None = None
    source: dict | None = None
    # how far the running job got (the last ``progress`` event); not saved in batch.json
    progress: JobProgress | None = field(default=None, compare=False, repr=False)
    # why a job done before is converted again (``redo`` event); not saved either
    redo: str | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        """The job's entry in batch.json."""
        doc = asdict(self)
        del doc["progress"], doc["redo"]
        return doc


@dataclass(frozen=True)
class JobProgress:
    """How far a running job got: ``done`` of ``total`` in its current ``stage``
    (``tracking`` and ``preview`` count frames, ``blender`` people; ``total`` 0: unknown)."""

    stage: str
    done: int
    total: int

    @property
    def unit(self) -> str:
        return "people" if self.stage == "blender" else "frames"


# each field of a JobRecord in batch.json: the JSON types it may hold
_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "input": (str,), "output": (str,), "status": (str,), "error": (str, type(None)),
    "seconds": (int, float, type(None)), "frames": (int, type(None)),
    "people": (int, type(None)), "started": (int, float, type(None)),
    "finished": (int, float, type(None)), "attempts": (int,), "renamed": (str, type(None)),
    "warnings": (list,), "settings": (dict, type(None)), "source": (dict, type(None)),
}
# the counts (non-negative integers) and times (finite numbers; durations non-negative)
_COUNTS = ("frames", "people", "attempts")
_TIMES = ("seconds", "started", "finished")
# each field of a warning in a JobRecord's ``warnings``: the JSON types it may hold
_WARNING_TYPES: dict[str, tuple[type, ...]] = {
    "person": (int, type(None)), "code": (str,), "message": (str,), "frames": (list,),
}
# a job's ``source`` (input_identity): field -> JSON type
_SOURCE_TYPES: dict[str, type] = {"size": int, "mtime_ns": int, "sample_sha256": str}
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_warnings(name: str, warnings: list) -> None:
    """A job's ``warnings``: ``{"person", "code", "message", "frames": [[first, last],
    ...]}`` each; ValueError says what is wrong."""
    for w in warnings:
        if not isinstance(w, dict) or set(w) != set(_WARNING_TYPES):
            raise ValueError(f"job {name!r} has a malformed warning")
        for key, kinds in _WARNING_TYPES.items():
            if isinstance(w[key], bool) or not isinstance(w[key], kinds):
                raise ValueError(f"job {name!r}: a warning's {key!r} has the wrong type")
        if w["person"] is not None and not _count(w["person"]):
            raise ValueError(f"job {name!r}: a warning's 'person' is negative")
        for r in w["frames"]:
            if not (isinstance(r, list) and len(r) == 2 and all(_count(f) for f in r)):
                raise ValueError(f"job {name!r}: a warning's 'frames' are not frame ranges")


def _check_source(name: str, source: dict) -> None:
    if set(source) != set(_SOURCE_TYPES) or any(
            isinstance(source[k], bool) or not isinstance(source[k], t)
            for k, t in _SOURCE_TYPES.items()):
        raise ValueError(f"job {name!r} has a malformed 'source'")
    if not _count(source["size"]) or not _SHA256.match(source["sample_sha256"]):
        raise ValueError(f"job {name!r} has a malformed 'source'")


def _record(name, value) -> JobRecord:
    """A manifest entry checked field by field; ValueError says what is wrong."""
    if not isinstance(name, str) or not isinstance(value, dict):
        raise ValueError(f"job {name!r} is not an object")
    for key, item in value.items():
        kinds = _RECORD_TYPES.get(key)
        if kinds is None:
            raise ValueError(f"job {name!r} has an unknown field {key!r}")
        if isinstance(item, bool) or not isinstance(item, kinds):
            raise ValueError(f"job {name!r}: {key!r} has the wrong type")
        if key in _COUNTS and item is not None and not _count(item):
            raise ValueError(f"job {name!r}: {key!r} must be a count (0 or more), got {item}")
        if key in _TIMES and item is not None and not (
                math.isfinite(item) and (key != "seconds" or item >= 0)):
            raise ValueError(f"job {name!r}: {key!r} must be a finite time, got {item}")
    missing = [k for k in ("input", "output") if k not in value]
    if missing:
        raise ValueError(f"job {name!r} has no {missing[0]!r}")
    if value.get("status", "pending") not in STATUSES:
        raise ValueError(f"job {name!r} has an unknown status {value['status']!r}")
    _check_warnings(name, value.get("warnings", []))
    if value.get("source") is not None:
        _check_source(name, value["source"])
    return JobRecord(**value)


def _no_constant(name: str):
    """``json.loads``' hook for ``NaN``, ``Infinity``, ``-Infinity``: not JSON."""
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    """``json.loads``' hook for numbers with a fraction or exponent: ``1e999`` is valid
    JSON but no finite float, and would be written back as ``Infinity``."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is not a finite number")
    return value


@dataclass
class Manifest:
    """``DIR/batch.json``: every video's status, written atomically on each change
    (strict JSON: no ``NaN`` or ``Infinity``; :meth:`load` refuses them, negative counts
    and non-finite times)."""

    path: Path
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    #: inputs left out of this run, each with why (:func:`exclude_outputs`); not saved
    excluded: list[ExcludedInput] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        """Read and check a manifest.

        Raises:
            InputError: the file is not a readable manifest (one line, naming ``--force``).
        """
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_REPORT_BYTES:
                raise ValueError("not a regular file of a sensible size")
            doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant,
                             parse_float=_finite)
            if not isinstance(doc, dict):
                raise ValueError("not a JSON object")
            if not isinstance(doc.get("jobs"), dict):
                raise ValueError("'jobs' is not an object")
            options = doc.get("options", {})
            if not isinstance(options, dict):
                raise ValueError("'options' is not an object")
            jobs = {k: _record(k, v) for k, v in doc["jobs"].items()}
        except (OSError, ValueError, RecursionError) as exc:
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise InputError(f"{path}: not a readable batch manifest ({reason}); use --force "
                             "to start the batch over") from None
        return cls(path, jobs, options)

    def save(self) -> None:
        """Write batch.json atomically (strict JSON: a value that is not finite is a bug,
        raised as ValueError, never written)."""
        counts = {s: sum(j.status == s for j in self.jobs.values()) for s in STATUSES}
        doc = {"version": 1, "updated": time.time(), "counts": counts,
               "options": self.options,
               "jobs": {k: v.to_json() for k, v in self.jobs.items()}}
        fileio.write_text(self.path, json.dumps(doc, indent=1, allow_nan=False) + "\n")


@dataclass(frozen=True)
class ExcludedInput:
    """An input file the batch leaves out: ``reason`` says why (it is an output of mocap:
    inside the batch directory, or listed in its folder's ``report.json``)."""

    input: str
    reason: str


@dataclass(frozen=True)
class JobResult:
    """What one worker reports back for one video.

    Attributes:
        status: ``done`` or ``failed``.
        error: the one-line reason of a failure.
        seconds: wall-clock time of the conversion.
        frames: frames decoded.
        people: people exported.
        warnings: the conversion's quality warnings, as JSON
            (:meth:`mocap.app.convert.ConvertResult.warning_records`).
    """

    status: str
    error: str | None = None
    seconds: float = 0.0
    frames: int | None = None
    people: int | None = None
    warnings: tuple[dict, ...] = ()


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
        return JobResult("failed", _one_line(str(exc)), time.perf_counter() - t0)
    except Exception as exc:  # a bug in one video must not stop the batch
        return JobResult("failed", _one_line(f"{type(exc).__name__}: {exc}"),
                         time.perf_counter() - t0)


def _one_line(text: str) -> str:
    return " ".join(text.split())


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
        raise InputError(f"--scheduler {shown} is not an address ({_one_line(str(exc))}; "
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


@dataclass(frozen=True)
class _Work:
    """What every job of a run shares: the settings, the batch directory (``within``: no
    link below it is followed) and the jobs allowed to replace earlier outputs in their
    folder (``replace``: this batch's own earlier jobs, or all with ``--force``)."""

    convert: ConvertConfig
    engine: EngineOptions
    within: str
    replace: frozenset[str]

    def job(self, name: str, rec: JobRecord, threads: int | None) -> tuple:
        """:func:`convert_one`'s positional arguments for job ``name``."""
        return rec.input, rec.output, self.convert, self.engine, threads

    def options(self, name: str) -> dict:
        """:func:`convert_one`'s keyword arguments for job ``name``."""
        return {"force": name in self.replace, "within": self.within}


def job_settings(convert: ConvertConfig, engine: EngineOptions) -> dict:
    """The settings that decide a job's outputs, as JSON: the conversion's (every field of
    :class:`ConvertConfig` but the Blender executable) and the models chosen (detector,
    landmark model); how they run (device, backend, threads) does not change them."""
    doc = asdict(convert)
    del doc["blender"]
    doc["engine"] = {"detector": engine.detector, "landmarks": engine.landmarks}
    return _jsonable(doc)


#: input_identity hashes this much of a video's start and end (bytes).
SAMPLE_BYTES = 1 << 20


def input_identity(path: str | os.PathLike) -> dict | None:
    """A video's identity as batch.json records it: ``size`` (bytes), ``mtime_ns`` and
    ``sample_sha256``, the sha256 of its first and last MiB (of the whole file when it is
    under 2 MiB): a video replaced or re-encoded at the same path differs in at least one.
    None when the file cannot be read (its job then fails on its own)."""
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            h = hashlib.sha256()
            h.update(f.read(SAMPLE_BYTES))
            if info.st_size > SAMPLE_BYTES:
                f.seek(max(SAMPLE_BYTES, info.st_size - SAMPLE_BYTES))
                h.update(f.read(SAMPLE_BYTES))
    except OSError:
        return None
    return {"size": int(info.st_size), "mtime_ns": int(info.st_mtime_ns),
            "sample_sha256": h.hexdigest()}


def _why_redo(prev: JobRecord, settings: dict, source: dict | None) -> str | None:
    """Why a job done in an earlier run must be converted again (None: it need not)."""
    if prev.settings is None:
        return "the earlier run did not record its settings"
    if prev.settings != settings:
        keys = sorted(k for k in {*prev.settings, *settings}
                      if prev.settings.get(k) != settings.get(k))
        return f"the settings changed ({', '.join(keys)})"
    if prev.source is None or source is None:
        return "the earlier run did not record the video's size and hash"
    if prev.source != source:
        words = {"size": "size", "mtime_ns": "modification time", "sample_sha256": "content"}
        return "the video changed (" + ", ".join(
            word for k, word in words.items() if prev.source[k] != source[k]) + ")"
    return None


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
        client = _connect(cfg) if todo and cfg.scheduler else None
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
                work = _Work(convert, engine, str(out), replace_ok)
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
    manifest = Manifest(manifest_path, options=_jsonable(
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
                rec.redo = _why_redo(prev, settings, source)
                if rec.redo is None:
                    # the old record's own output path is never trusted: it is out/name
                    rec = replace(prev, output=rec.output, renamed=note)
        manifest.jobs[name] = rec
    return manifest, old


def _run(manifest: Manifest, todo: list[str], work: _Work, cfg: BatchConfig, on_event,
         client) -> None:
    """Run the jobs; if this process is stopped (Ctrl-C, SIGTERM, SIGHUP: a
    KeyboardInterrupt such as :class:`mocap.errors.Interrupted`), the jobs it was running
    are recorded as ``interrupted`` (anything else that stops it: ``failed``) before the
    exception goes on; ``resume`` redoes them. Local runs then remove what the stopped
    jobs left (:func:`_clean_job_folder`)."""
    fresh = {name for name in todo if not os.path.lexists(Path(work.within) / name)}
    try:
        if client is not None:
            _run_dask(manifest, todo, work, cfg, on_event, client)
        else:
            _run_local(manifest, todo, work, cfg, on_event)
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            status, error = "interrupted", "the batch was interrupted; --resume redoes it"
        else:
            status, error = "failed", _one_line(f"the batch stopped: {type(exc).__name__}: "
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


def _jsonable(options: dict) -> dict:
    return json.loads(json.dumps(options, default=str))


def _threads_per_job(cfg: BatchConfig) -> int:
    if cfg.threads:
        return cfg.threads
    return max(1, (os.cpu_count() or 1) // cfg.jobs)


def _start(manifest: Manifest, name: str, on_event, when: float | None = None) -> None:
    rec = manifest.jobs[name]
    rec.status, rec.started, rec.finished, rec.error = "running", when or time.time(), None, None
    rec.warnings, rec.progress = [], None
    rec.attempts += 1
    manifest.save()
    if on_event:
        on_event("start", name, rec)


def _finish(manifest: Manifest, name: str, result: JobResult, on_event) -> None:
    rec = manifest.jobs[name]
    if rec.status != "running":  # its start was not reported (e.g. the worker died first)
        rec.started, rec.attempts = time.time(), rec.attempts + 1
    rec.status = result.status
    rec.error = result.error
    rec.seconds = round(result.seconds or 0.0, 3)
    rec.frames = result.frames
    rec.people = result.people
    rec.warnings = list(result.warnings)
    rec.progress = None
    rec.finished = time.time()
    manifest.save()
    if on_event:
        on_event(rec.status, name, rec)


# --------------------------------------------------------------------------------------
# local process pool
# --------------------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# this worker process's batch: the parent's pid and where to say that a job started
_WORKER: dict = {}


def _die_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent dies; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _init_worker(parent: int, started) -> None:
    """Pool initializer: die with the batch process, and remember where to report."""
    _die_with_parent()
    if os.getppid() != parent:  # the batch died before the line above took effect
        os._exit(1)
    _WORKER.update(parent=parent, started=started)


def _pool_job(name: str, video: str, out_dir: str, config: ConvertConfig,
              engine: EngineOptions, threads: int | None, options: dict) -> JobResult:
    """One job in a pool worker: only while the batch process lives, reported as started
    and as it progresses (``options``: :func:`convert_one`'s keyword arguments)."""
    parent = _WORKER.get("parent")
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the batch is gone: nobody would record this job, so do not run it
    messages = _WORKER.get("started")
    if messages is None:
        return convert_one(video, out_dir, config, engine, threads, **options)
    messages.put(("start", name, time.time()))
    return convert_one(video, out_dir, config, engine, threads,
                       lambda p: messages.put(("progress", name, p)), **options)


def _run_local(manifest: Manifest, todo: list[str], work: _Work, cfg: BatchConfig,
               on_event) -> None:
    threads = _threads_per_job(cfg)
    if cfg.jobs == 1:  # no pool: one process, one set of models
        for name in todo:
            _start(manifest, name, on_event)
            rec = manifest.jobs[name]
            _finish(manifest, name, convert_one(
                *work.job(name, rec, threads),
                lambda p, name=name: _progress(manifest, name, p, on_event),
                **work.options(name)), on_event)
        return
    # spawn: workers start clean (no inherited torch/OpenMP thread state from this process)
    ctx = multiprocessing.get_context("spawn")
    waiting = deque(todo)
    requeued: dict[str, int] = {}
    while waiting:
        # a pool whose worker died (out of memory, killed) is broken: its jobs in flight
        # fail, the ones it never started go back in line, and a new pool takes the rest
        _run_pool(manifest, waiting, requeued, work, cfg, threads, ctx, on_event)


def _run_pool(manifest: Manifest, waiting: deque, requeued: dict[str, int], work: _Work,
              cfg: BatchConfig, threads: int, ctx, on_event) -> None:
    """Run jobs from ``waiting`` in one pool, at most ``cfg.jobs`` submitted at a time, until
    none is left or the pool breaks (``requeued``: how often each job went back in line)."""
    # ("start", name, time) from a worker as it starts a job, ("progress", name,
    # JobProgress) as it goes on; one queue per pool, since a worker killed while writing to
    # it could leave its lock held
    started = ctx.SimpleQueue()
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=cfg.jobs, mp_context=ctx,
                               initializer=_init_worker, initargs=(os.getpid(), started))
    running: dict[Future, str] = {}
    broken = False
    finished_normally = False
    try:
        while (waiting and not broken) or running:
            while waiting and not broken and len(running) < cfg.jobs:
                name = waiting[0]
                try:
                    fut = pool.submit(_pool_job, name,
                                      *work.job(name, manifest.jobs[name], threads),
                                      work.options(name))
                except BrokenProcessPool:
                    broken = True
                    break
                running[fut] = waiting.popleft()
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            _record_starts(manifest, started, set(running.values()), on_event)
            for fut in done:
                name = running.pop(fut)
                try:
                    result = fut.result()
                except BrokenProcessPool:
                    broken = True
                    if manifest.jobs[name].status == "running":
                        result = JobResult("failed", "the worker process died while "
                                           "converting this video (out of memory?); --resume "
                                           "redoes it")
                    elif requeued.get(name, 0) < 2:  # never started: not this job's fault
                        requeued[name] = requeued.get(name, 0) + 1
                        waiting.appendleft(name)
                        continue
                    else:
                        result = JobResult("failed", "worker processes keep dying before "
                                           "they start (out of memory?)")
                except Exception as exc:
                    result = JobResult("failed", _one_line(f"worker failed: {exc}"))
                _finish(manifest, name, result, on_event)
        finished_normally = True
    finally:
        if not finished_normally:  # this process is being stopped: so are its workers
            for proc in set(multiprocessing.active_children()) - before:
                with contextlib.suppress(OSError):
                    proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)


def _record_starts(manifest: Manifest, started, running: set[str], on_event) -> None:
    """Mark the jobs that workers reported starting as running, and pass their progress on
    (a late report of a job already finished is ignored)."""
    while not started.empty():
        _message(manifest, started.get(), running, on_event)


def _message(manifest: Manifest, message: tuple, running: set[str], on_event) -> None:
    """One report from a worker: ``("start", name, time)`` or ``("progress", name,
    JobProgress)``."""
    kind, name, value = message
    if name not in running:
        return
    if kind == "start" and manifest.jobs[name].status != "running":
        _start(manifest, name, on_event, value)
    elif kind == "progress":
        _progress(manifest, name, value, on_event)


def _progress(manifest: Manifest, name: str, progress: JobProgress, on_event) -> None:
    rec = manifest.jobs[name]
    if rec.status == "running":
        rec.progress = progress
        if on_event:
            on_event("progress", name, rec)


# --------------------------------------------------------------------------------------
# Dask
# --------------------------------------------------------------------------------------
def _connect(cfg: BatchConfig):
    """A Dask client of ``cfg.scheduler`` (TLS with the given files for ``tls://``)."""
    try:
        from dask.distributed import Client, Security
    except ImportError:
        raise MocapError("--scheduler needs Dask: pip install 'mocap[distributed]'") from None
    kwargs = {}
    if urlsplit(cfg.scheduler).scheme.lower() == "tls":
        def path(value):
            return str(Path(value).expanduser()) if value else None

        kwargs["security"] = Security(tls_ca_file=path(cfg.tls_ca_file),
                                      tls_client_cert=path(cfg.tls_cert),
                                      tls_client_key=path(cfg.tls_key),
                                      require_encryption=True)
    try:
        return Client(cfg.scheduler, timeout=30, **kwargs)
    except (OSError, TimeoutError, ValueError) as exc:
        raise MocapError(f"cannot reach the Dask scheduler at {cfg.scheduler}: "
                         f"{_one_line(str(exc)) or type(exc).__name__}") from None


def _dask_job(topic: str, name: str, video: str, out_dir: str, config: ConvertConfig,
              engine: EngineOptions, threads: int | None, options: dict) -> JobResult:
    """One job on a Dask worker: says it started (an event on ``topic``), then converts,
    saying how far it got (events on ``topic`` too; ``options``: :func:`convert_one`'s
    keyword arguments)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        worker.log_event(topic, {"job": name, "time": time.time()})
    except Exception:  # not on a worker, or an old scheduler: no reports
        return convert_one(video, out_dir, config, engine, threads, **options)

    def report(p: JobProgress) -> None:
        with contextlib.suppress(Exception):
            worker.log_event(topic, {"job": name, "stage": p.stage, "done": p.done,
                                     "total": p.total})

    return convert_one(video, out_dir, config, engine, threads, report, **options)


def _run_dask(manifest: Manifest, todo: list[str], work: _Work, cfg: BatchConfig,
              on_event, client) -> None:
    from dask.distributed import as_completed as dask_completed

    run_id = uuid.uuid4().hex  # keys and events of this run only, on a shared cluster
    topic = f"mocap-batch-{run_id}"
    started: queue.SimpleQueue = queue.SimpleQueue()

    def on_start(event) -> None:  # in the client's event loop thread
        with contextlib.suppress(Exception):
            msg = event[1]
            if "stage" in msg:
                started.put(("progress", str(msg["job"]), JobProgress(
                    str(msg["stage"]), int(msg["done"]), int(msg["total"]))))
            else:
                when = float(msg["time"])
                started.put(("start", str(msg["job"]), when if math.isfinite(when) else None))

    with contextlib.suppress(Exception):
        client.subscribe_topic(topic, on_start)
    futures = {}
    for name in todo:
        rec = manifest.jobs[name]
        fut = client.submit(_dask_job, topic, name, *work.job(name, rec, cfg.threads),
                            work.options(name), key=f"mocap-{run_id}-{len(futures)}",
                            pure=False)
        futures[fut] = name
    pending = set(todo)
    ready = dask_completed(list(futures))
    while not ready.is_empty():
        batch = ready.next_batch(block=False)
        _drain_dask_starts(manifest, started, pending, on_event)
        for fut in batch:
            name = futures[fut]
            try:
                result = fut.result()
            except Exception as exc:
                result = JobResult("failed", _one_line(f"worker failed: {exc}"))
            pending.discard(name)
            _finish(manifest, name, result, on_event)
        if not batch:
            time.sleep(0.2)
    with contextlib.suppress(Exception):
        client.unsubscribe_topic(topic)


def _drain_dask_starts(manifest: Manifest, started: queue.SimpleQueue, pending: set[str],
                       on_event) -> None:
    while True:
        try:
            message = started.get_nowait()
        except queue.Empty:
            return
        _message(manifest, message, pending, on_event)
