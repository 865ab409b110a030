"""Batch jobs in local worker processes: a ``spawn`` process pool (workers start clean, with
no inherited torch/OpenMP thread state) that runs at most ``jobs`` videos at a time. Workers
die with the batch process (``PR_SET_PDEATHSIG`` on Linux, and a check of the parent before
each job) and report when they start a job and how far it got; a pool broken by a dying
worker fails the jobs it was running and a new pool takes the rest.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from mocap.app.batch_manifest import (
    JobPlan,
    JobResult,
    Manifest,
    finish_job,
    job_progress,
    one_line,
    start_job,
    worker_message,
)
from mocap.app.convert import ConvertConfig
from mocap.perception.landmarks import EngineOptions

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


def _pool_job(name: str, run: Callable[..., JobResult], video: str, out_dir: str,
              config: ConvertConfig, engine: EngineOptions, threads: int | None,
              options: dict) -> JobResult:
    """One job in a pool worker: only while the batch process lives, reported as started
    and as it progresses (``run``: :attr:`JobPlan.run`; ``options``: its keyword
    arguments)."""
    parent = _WORKER.get("parent")
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the batch is gone: nobody would record this job, so do not run it
    messages = _WORKER.get("started")
    if messages is None:
        return run(video, out_dir, config, engine, threads, **options)
    messages.put(("start", name, time.time()))
    return run(video, out_dir, config, engine, threads,
               lambda p: messages.put(("progress", name, p)), **options)


def run_local(manifest: Manifest, todo: list[str], work: JobPlan, jobs: int, threads: int,
              on_event) -> None:
    """Run the jobs ``todo``, ``jobs`` at a time with ``threads`` CPU threads each: in this
    process when ``jobs`` is 1, else in a pool of worker processes that die with this one;
    each job's record is kept up to date in ``manifest`` (and ``on_event`` told)."""
    if jobs == 1:  # no pool: one process, one set of models
        for name in todo:
            start_job(manifest, name, on_event)
            rec = manifest.jobs[name]
            finish_job(manifest, name, work.run(
                *work.job(name, rec, threads),
                lambda p, name=name: job_progress(manifest, name, p, on_event),
                **work.options(name)), on_event)
        return
    # spawn: workers start clean (no inherited torch/OpenMP thread state from this process)
    ctx = multiprocessing.get_context("spawn")
    waiting = deque(todo)
    requeued: dict[str, int] = {}
    while waiting:
        # a pool whose worker died (out of memory, killed) is broken: its jobs in flight
        # fail, the ones it never started go back in line, and a new pool takes the rest
        _run_pool(manifest, waiting, requeued, work, jobs, threads, ctx, on_event)


def _run_pool(manifest: Manifest, waiting: deque, requeued: dict[str, int], work: JobPlan,
              jobs: int, threads: int, ctx, on_event) -> None:
    """Run jobs from ``waiting`` in one pool, at most ``jobs`` submitted at a time, until
    none is left or the pool breaks (``requeued``: how often each job went back in line)."""
    # ("start", name, time) from a worker as it starts a job, ("progress", name,
    # JobProgress) as it goes on; one queue per pool, since a worker killed while writing to
    # it could leave its lock held
    started = ctx.SimpleQueue()
    before = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=ctx,
                               initializer=_init_worker, initargs=(os.getpid(), started))
    running: dict[Future, str] = {}
    broken = False
    finished_normally = False
    try:
        while (waiting and not broken) or running:
            while waiting and not broken and len(running) < jobs:
                name = waiting[0]
                try:
                    fut = pool.submit(_pool_job, name, work.run,
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
                    result = JobResult("failed", one_line(f"worker failed: {exc}"))
                finish_job(manifest, name, result, on_event)
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
        worker_message(manifest, started.get(), running, on_event)
