"""`mocap batch`: inputs, manifest, failures, parallel jobs, kill + resume, Dask."""

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

from mocap.app.batch import expand_inputs, job_names
from mocap.app.convert import outputs_complete
from mocap.errors import InputError
from tests.helpers import cut_video, run_cli, stop_processes


@pytest.fixture(scope="module")
def clips(demo_video_path, tmp_path_factory):
    d = tmp_path_factory.mktemp("clips")
    src = demo_video_path
    for i in range(3):
        cut_video(src, d / f"clip{i}.mp4", 30)
    return d


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
def test_dask_cluster_on_loopback(clips, model_paths, tmp_path):
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
        proc = run_cli("batch", clips, "-o", out, "--scheduler", address, "--no-preview",
                       "--threads", "1")
        assert proc.returncode == 0, proc.stderr + proc.stdout
        jobs = _manifest(out)["jobs"]
        assert len(jobs) == 3 and all(j["status"] == "done" for j in jobs.values())
        for name in jobs:
            assert outputs_complete(out / name)
    finally:
        stop_processes(procs)
