"""A batch's manifest, ``DIR/batch.json``, and the records in it: one per video, with its
status, timings, people, warnings, the settings its outputs are made with and the video's
identity; how a job's record changes as a worker starts it, reports progress and finishes
(:func:`start_job`, :func:`job_progress`, :func:`finish_job`, events for ``on_event``);
and what every job of a run shares (:class:`JobPlan`).

The manifest is strict JSON, rewritten atomically after every change; :meth:`Manifest.load`
checks every field (types, statuses, counts that are not negative, finite times) and
refuses ``NaN``, ``Infinity`` and numbers too large for a float.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mocap import fileio
from mocap.app.convert import MAX_REPORT_BYTES, ConvertConfig
from mocap.errors import InputError
from mocap.perception.landmarks import EngineOptions

MANIFEST = "batch.json"
STATUSES = ("pending", "running", "done", "failed", "interrupted")


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


@dataclass(frozen=True)
class JobPlan:
    """What every job of a run shares: the function that converts one video (``run``:
    :func:`mocap.app.batch.convert_one`, run by the workers), the settings, the batch
    directory (``within``: no link below it is followed) and the jobs allowed to replace
    earlier outputs in their folder (``replace``: this batch's own earlier jobs, or all
    with ``--force``)."""

    run: Callable[..., JobResult]
    convert: ConvertConfig
    engine: EngineOptions
    within: str
    replace: frozenset[str]

    def job(self, name: str, rec: JobRecord, threads: int | None) -> tuple:
        """``run``'s positional arguments for job ``name``."""
        return rec.input, rec.output, self.convert, self.engine, threads

    def options(self, name: str) -> dict:
        """``run``'s keyword arguments for job ``name``."""
        return {"force": name in self.replace, "within": self.within}


def job_settings(convert: ConvertConfig, engine: EngineOptions) -> dict:
    """The settings that decide a job's outputs, as JSON: the conversion's (every field of
    :class:`ConvertConfig` but the Blender executable) and the models chosen (detector,
    landmark model); how they run (device, backend, threads) does not change them."""
    doc = asdict(convert)
    del doc["blender"]
    doc["engine"] = {"detector": engine.detector, "landmarks": engine.landmarks}
    return jsonable(doc)


#: input_identity hashes this much of a video's start and end (bytes).
SAMPLE_BYTES = 1 << 20


def input_identity(path: str | os.PathLike) -> dict | None:
    """A video's identity as batch.json records it: ``size`` (bytes), ``mtime_ns`` and
    ``sample_sha256``, the sha256 of its first and last MiB (of the whole file when it is
    under 2 MiB): a video replaced or re-encoded at the same path differs in at least one.
    None when the file cannot be read (its job then fails on its own)."""
    try:  # opened without blocking (a FIFO with no writer would block open() for good)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as f:
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


def why_redo(prev: JobRecord, settings: dict, source: dict | None) -> str | None:
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


def one_line(text: str) -> str:
    """``text`` on one line (runs of white space, newlines included, become one space)."""
    return " ".join(text.split())


def jsonable(options: dict) -> dict:
    """``options`` as plain JSON values (anything else as its ``str``)."""
    return json.loads(json.dumps(options, default=str))


def start_job(manifest: Manifest, name: str, on_event, when: float | None = None) -> None:
    rec = manifest.jobs[name]
    rec.status, rec.started, rec.finished, rec.error = "running", when or time.time(), None, None
    rec.warnings, rec.progress = [], None
    rec.attempts += 1
    manifest.save()
    if on_event:
        on_event("start", name, rec)


def finish_job(manifest: Manifest, name: str, result: JobResult, on_event) -> None:
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


def worker_message(manifest: Manifest, message: tuple, running: set[str],
                   on_event) -> None:
    """One report from a worker: ``("start", name, time)`` or ``("progress", name,
    JobProgress)``."""
    kind, name, value = message
    if name not in running:
        return
    if kind == "start" and manifest.jobs[name].status != "running":
        start_job(manifest, name, on_event, value)
    elif kind == "progress":
        job_progress(manifest, name, value, on_event)


def job_progress(manifest: Manifest, name: str, progress: JobProgress, on_event) -> None:
    rec = manifest.jobs[name]
    if rec.status == "running":
        rec.progress = progress
        if on_event:
            on_event("progress", name, rec)
