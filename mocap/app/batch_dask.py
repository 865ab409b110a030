"""Batch jobs on a Dask cluster: one task per video, submitted under keys of this run only
(a shared cluster may run others), each worker saying when it starts a job and how far it
got through events on a topic of this run. ``tls://`` addresses connect with the given
certificates and encryption required; plain ``tcp://`` is for trusted networks only.
"""

from __future__ import annotations

import contextlib
import math
import queue
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from mocap.app.batch_manifest import (
    JobPlan,
    JobProgress,
    JobResult,
    Manifest,
    finish_job,
    one_line,
    worker_message,
)
from mocap.app.convert import ConvertConfig
from mocap.errors import MocapError
from mocap.perception.landmarks import EngineOptions


def connect(scheduler: str, tls_ca_file: str | None = None, tls_cert: str | None = None,
            tls_key: str | None = None):
    """A Dask client of ``scheduler`` (a checked address; TLS with the given files for
    ``tls://``, in any case).

    Raises:
        MocapError: Dask is not installed, or the scheduler cannot be reached.
    """
    try:
        from dask.distributed import Client, Security
    except ImportError:
        raise MocapError("--scheduler needs Dask: pip install 'mocap[distributed]'") from None
    kwargs = {}
    if urlsplit(scheduler).scheme.lower() == "tls":
        def path(value):
            return str(Path(value).expanduser()) if value else None

        kwargs["security"] = Security(tls_ca_file=path(tls_ca_file),
                                      tls_client_cert=path(tls_cert),
                                      tls_client_key=path(tls_key),
                                      require_encryption=True)
    try:
        return Client(scheduler, timeout=30, **kwargs)
    except (OSError, TimeoutError, ValueError) as exc:
        raise MocapError(f"cannot reach the Dask scheduler at {scheduler}: "
                         f"{one_line(str(exc)) or type(exc).__name__}") from None


def _dask_job(topic: str, name: str, run: Callable[..., JobResult], video: str,
              out_dir: str, config: ConvertConfig, engine: EngineOptions,
              threads: int | None, options: dict) -> JobResult:
    """One job on a Dask worker: says it started (an event on ``topic``), then converts
    (``run``: :attr:`JobPlan.run`; ``options``: its keyword arguments), saying how far it
    got (events on ``topic`` too)."""
    try:
        from distributed import get_worker

        worker = get_worker()
        worker.log_event(topic, {"job": name, "time": time.time()})
    except Exception:  # not on a worker, or an old scheduler: no reports
        return run(video, out_dir, config, engine, threads, **options)

    def report(p: JobProgress) -> None:
        with contextlib.suppress(Exception):
            worker.log_event(topic, {"job": name, "stage": p.stage, "done": p.done,
                                     "total": p.total})

    return run(video, out_dir, config, engine, threads, report, **options)


def run_dask(manifest: Manifest, todo: list[str], work: JobPlan, threads: int | None,
             on_event, client) -> None:
    """Run the jobs ``todo`` on the cluster of ``client`` (``threads``: CPU threads per
    job; None: the worker's), keeping each job's record up to date in ``manifest``: a job
    is ``running`` when its worker says it started it (an event on a topic of this run
    only), and its progress is passed on as the worker reports it."""
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
        fut = client.submit(_dask_job, topic, name, work.run, *work.job(name, rec, threads),
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
                result = JobResult("failed", one_line(f"worker failed: {exc}"))
            pending.discard(name)
            finish_job(manifest, name, result, on_event)
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
        worker_message(manifest, message, pending, on_event)
