"""`mocap batch`: inputs, manifest, failures, parallel jobs, kill + resume, Dask, progress
lines, warnings from the workers, interrupted jobs."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mocap.app.batch import (
    PROGRESS_MAX_S,
    JobProgress,
    JobRecord,
    Manifest,
    ProgressThrottle,
    expand_inputs,
    job_names,
)
from mocap.app.convert import outputs_complete
from mocap.commands.quality import warning_line
from mocap.errors import InputError
from tests.helpers import cut_video, run_cli, stop_processes


@pytest.fixture(scope="module")
def clips(demo_video_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    src = demo_video_path
    for i in range(3):
        cut_video(src, d / f"clip{i}.mp4", 30)
    return d


@pytest.fixture(scope="module")
def warned_clips(demo_video_path, tmp_path_factory):
    """Two 60-frame clips: the walker enters at frame 40, so each has a `short_track`."""
    d = tmp_path_factory.mktemp("warned")
    for name in ("one", "two"):
        cut_video(demo_video_path, d / f"{name}.mp4", 60)
    return d


def _report_warnings(job_dir: Path) -> list[dict]:
    """A job's warnings as its report.json holds them, in batch.json's form."""
    report = json.loads((job_dir / "report.json").read_text())
    return [{"person": None, **w} for w in report["warnings"]] + \
        [{"person": p["id"], **w} for p in report["people"] for w in p["warnings"]]


def test_expand_inputs_takes_files_folders_and_globs(tmp_path):
    (tmp_path / "a.mp4").write_bytes(b"x")
    (tmp_path / "b.MOV").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "a.mp4").write_bytes(b"x")
    got = expand_inputs([str(tmp_path), str(tmp_path / "*.mp4"), str(sub / "a.mp4")])
    assert got == [(tmp_path / "a.mp4").resolve(), (tmp_path / "b.MOV").resolve(),
                   (sub / "a.mp4").resolve()]
    assert job_names(got) == ["a", "b", "a-2"]
    with pytest.raises(InputError, match="no such file"):
        expand_inputs([str(tmp_path / "missing.mp4")])
    with pytest.raises(InputError, match="no file matches"):
        expand_inputs([str(tmp_path / "*.mkv")])


def _manifest(out: Path) -> dict:
    return json.loads((out / "batch.json").read_text())


@pytest.mark.slow
def test_one_bad_video_does_not_stop_the_others(clips, model_paths, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    out = tmp_path / "out"
    proc = run_cli("batch", clips, bad, "-o", out, "--jobs", "2", "--no-preview")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "moov atom" not in proc.stderr
    jobs = _manifest(out)["jobs"]
    assert jobs["broken"]["status"] == "failed" and "cannot be opened" in jobs["broken"]["error"]
    for i in range(3):
        assert jobs[f"clip{i}"]["status"] == "done" and jobs[f"clip{i}"]["people"] >= 1
        assert outputs_complete(out / f"clip{i}")
    assert "3 done, 1 failed" in proc.stdout
    # an earlier batch is not overwritten by accident
    again = run_cli("batch", clips, "-o", out)
    assert again.returncode != 0 and "--resume" in again.stderr


@pytest.mark.slow
def test_killed_batch_resumes_and_keeps_finished_work(clips, model_paths, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "mocap", "batch", str(clips), "-o",
                             str(out), "--no-preview"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    first = None
    while time.time() < deadline and first is None:
        time.sleep(0.2)
        try:
            jobs = _manifest(out)["jobs"]
        except (OSError, ValueError):
            continue
        done = [n for n, j in jobs.items() if j["status"] == "done"]
        first = done[0] if done else None
        assert proc.poll() is None, "the batch ended before it could be killed"
    assert first is not None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / first).iterdir()}
    assert outputs_complete(out / first)
    # nothing half-written anywhere: every other video folder is empty or complete
    for d in out.iterdir():
        if d.is_dir() and d.name != first:
            assert not any(d.iterdir()) or outputs_complete(d)
    proc = run_cli("batch", clips, "-o", out, "--resume", "--no-preview")
    assert proc.returncode == 0, proc.stderr
    assert f"skip    {first}: already complete" in proc.stderr
    jobs = _manifest(out)["jobs"]
    assert all(j["status"] == "done" for j in jobs.values())
    for name in jobs:
        assert outputs_complete(out / name)
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in (out / first).iterdir()}
    assert after == finished  # the finished video was not touched


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_dask_cluster_on_loopback(clips, warned_clips, model_paths, tmp_path):
    pytest.importorskip("distributed", reason="needs mocap[distributed]")
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        for _ in range(2):
            procs.append(subprocess.Popen(
                [str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        out = tmp_path / "out"
        proc = run_cli("batch", clips, warned_clips / "one.mp4", "-o", out, "--scheduler",
                       address, "--no-preview", "--threads", "1")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        jobs = _manifest(out)["jobs"]
        assert len(jobs) == 4 and all(j["status"] == "done" for j in jobs.values())
        for name in jobs:
            assert outputs_complete(out / name)
            # each worker's warnings came back into the manifest and onto the terminal
            assert jobs[name]["warnings"] == _report_warnings(out / name)
            for w in jobs[name]["warnings"]:
                assert proc.stderr.count(warning_line(w, name) + "\n") == 1
        assert any(w["code"] == "short_track" for w in jobs["one"]["warnings"])
    finally:
        stop_processes(procs)


# --------------------------------------------------------------------------------------
# progress, warnings, interrupted jobs
# --------------------------------------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_a_few_lines_per_stage_not_a_flood():
    clock, got = _Clock(), []  # steps of binary fractions of a second: exact times
    throttle = ProgressThrottle(got.append, clock)
    for done in range(1, 301):  # 300 frames at 8 fps: a line every 10 %
        clock.now += 1 / 8
        throttle("tracking", done, 300)
    assert [p.done for p in got] == list(range(30, 301, 30))
    assert all(p.stage == "tracking" and p.total == 300 and p.unit == "frames" for p in got)
    got.clear()
    for done in range(1, 1001):  # 1000 fast frames: the stage's first line at 10 %, then
        clock.now += 1 / 128     # at most one line per 2 s
        throttle("preview", done, 1000)
    assert [p.done for p in got] == [100, 356, 612, 868]
    got.clear()
    for done in range(1, 101):  # a stage of unknown length: a line every 10 s
        clock.now += 1.0
        throttle("tracking", done, 0)
    assert [p.done for p in got] == list(range(9, 100, int(PROGRESS_MAX_S)))
    assert JobProgress("blender", 1, 2).unit == "people"


def test_manifest_keeps_warnings_and_interrupted_jobs(tmp_path):
    path = tmp_path / "batch.json"
    warning = {"person": 2, "code": "short_track", "message": "seen in 20 frames",
               "frames": [[40, 59]]}
    m = Manifest(path, {"a": JobRecord("/in/a.mp4", "/out/a", "done", warnings=[warning]),
                        "b": JobRecord("/in/b.mp4", "/out/b", "interrupted")})
    m.jobs["a"].progress = JobProgress("tracking", 3, 60)  # passed on, never saved
    m.save()
    doc = json.loads(path.read_text())
    assert "progress" not in doc["jobs"]["a"]
    assert doc["counts"]["interrupted"] == 1
    back = Manifest.load(path)
    assert back.jobs["a"].warnings == [warning] and back.jobs["b"].status == "interrupted"
    for bad in ([{"code": "x"}], [dict(warning, person=True)], [dict(warning, frames=[[1]])],
                ["short_track"]):
        doc["jobs"]["a"]["warnings"] = bad
        path.write_text(json.dumps(doc))
        with pytest.raises(InputError, match="not a readable batch manifest"):
            Manifest.load(path)


@pytest.mark.slow
def test_batch_prints_progress_and_each_videos_warnings(warned_clips, model_paths, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("batch", warned_clips, "-o", out, "--jobs", "2", "--no-preview")
    assert proc.returncode == 0, proc.stderr
    jobs = _manifest(out)["jobs"]
    total = 0
    for name in ("one", "two"):
        # per-job progress from the pool's worker processes: frames done, a few lines
        lines = [ln for ln in proc.stderr.splitlines()
                 if ln.startswith(f"running {name}: tracking ")]
        assert 1 <= len(lines) <= 11, proc.stderr
        done = [int(ln.split()[3].split("/")[0]) for ln in lines]
        assert done == sorted(set(done)) and all(ln.split()[3].endswith("/60") for ln in lines)
        # the worker's warnings reach the manifest, and are printed once each
        warnings = jobs[name]["warnings"]
        assert warnings == _report_warnings(out / name)
        assert any(w["code"] == "short_track" for w in warnings)
        for w in warnings:
            assert proc.stderr.count(warning_line(w, name) + "\n") == 1
        row = next(ln for ln in proc.stdout.splitlines() if ln.startswith(f"{name} "))
        assert row.split()[5] == str(len(warnings))  # the table's warnings column
        total += len(warnings)
    assert "warnings" in proc.stdout.splitlines()[0]
    assert f"2 done, 0 failed, {total} warnings in 2 videos; manifest" in proc.stdout
    # --strict: a batch with warnings exits 1; a resumed batch still shows (and counts)
    # the warnings of the videos it skips
    again = run_cli("batch", warned_clips, "-o", out, "--resume", "--strict", "-q")
    assert again.returncode == 1, again.stderr
    for name in ("one", "two"):
        for w in jobs[name]["warnings"]:
            assert again.stderr.count(warning_line(w, name) + "\n") == 1
    assert again.stderr.strip().splitlines()[-1] == \
        f"mocap: error: {total} warnings in 2 videos (--strict)"


@pytest.mark.slow
@pytest.mark.parametrize(("jobs", "sig"), [(1, signal.SIGINT), (2, signal.SIGTERM)],
                         ids=["one-process-SIGINT", "pool-SIGTERM"])
def test_interrupted_jobs_are_recorded_and_resumed(warned_clips, model_paths, tmp_path,
                                                   jobs, sig):
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "mocap", "batch", str(warned_clips), "-o",
                             str(out), "--no-preview", "--jobs", str(jobs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline, running = time.time() + 300, []
        while time.time() < deadline and not running:
            time.sleep(0.2)
            assert proc.poll() is None, "the batch ended before it could be stopped"
            try:
                running = [n for n, j in _manifest(out)["jobs"].items()
                           if j["status"] == "running"]
            except (OSError, ValueError):
                continue
        assert running
        os.kill(proc.pid, sig)  # the batch process alone, as Ctrl-C or a scheduler would
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    assert "mocap: interrupted" in err
    jobs_after = _manifest(out)["jobs"]
    stopped = [n for n, j in jobs_after.items() if j["status"] == "interrupted"]
    assert stopped, jobs_after  # what was running when the batch was stopped
    assert all(j["status"] in ("done", "interrupted", "pending")
               for j in jobs_after.values()), jobs_after  # not failed, nor left running
    assert all("--resume" in jobs_after[n]["error"] for n in stopped)
    resumed = run_cli("batch", warned_clips, "-o", out, "--resume", "--no-preview")
    assert resumed.returncode == 0, resumed.stderr
    final = _manifest(out)["jobs"]
    for name in stopped:
        assert final[name]["status"] == "done" and final[name]["attempts"] == 2
        assert f"start   {name}" in resumed.stderr
        assert outputs_complete(out / name)
