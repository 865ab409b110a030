"""`mocap batch` under abuse: hostile file names, colliding stems, broken manifests and
reports, bad scheduler addresses, TLS, a killed parent, the running count, plurals.

Each test reproduces one defect found by trying to break the batch; the slow ones run the
real CLI on short half-size clips of the demo video.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from mocap.app.batch import job_names, job_outputs_complete, name_jobs
from mocap.app.convert import outputs_complete
from tests.helpers import (
    assert_one_line_error,
    cut_video,
    run_cli,
    start_batch,
    stop_batch,
    stop_processes,
)

FRAMES = 20


@pytest.fixture(scope="module")
def demo_clip(demo_video_path, tmp_path_factory) -> Path:
    """20 half-size frames of the demo video (the source of the other clips here)."""
    path = tmp_path_factory.mktemp("demo") / "demo.mp4"
    return cut_video(demo_video_path, path, FRAMES)


def _clip(demo_clip: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo_clip, dst)
    return dst


def _manifest(out: Path) -> dict:
    return json.loads((out / "batch.json").read_text())


# --------------------------------------------------------------------------------------
# 1, 2: job names
# --------------------------------------------------------------------------------------
NASTY = ["...mp4", "..mp4", ".mp4.mp4", ".hidden.mp4", "a\nb.mp4", "tab\there.mp4",
         "bell\x07.mp4", "back\\slash.mp4", " .mp4", "batch.json.mp4", "c1\x85.mp4",
         "rlo\u202egnp.mp4", "line\u2028sep.mp4", "para\u2029.mp4", "zw\u200b.mp4"]


def test_job_names_are_never_dots_hidden_or_paths():
    names = job_names([Path("/in") / n for n in NASTY])
    for name in names:
        assert name not in ("", ".", "..")
        assert not name.startswith(".")
        assert "/" not in name and "\\" not in name
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in name), repr(name)
        # nor bidi overrides, zero-width or line/paragraph separators (issue 20, item 19)
        assert not any(unicodedata.category(c) in ("Cf", "Zl", "Zp") for c in name), repr(name)
        assert Path(name).name == name
    assert "batch.json" not in names  # the manifest's own name is never a job folder
    assert len({n.casefold() for n in names}) == len(names)


def test_same_stems_give_unique_names_and_say_why():
    videos = [Path("/in/a-2.mp4"), Path("/in/a.mkv"), Path("/in/a.mp4"), Path("/in/A.mov"),
              Path("/in/sub/a-3.mp4")]
    named = name_jobs(videos)
    names = [n for n, _ in named]
    assert names == job_names(videos)
    assert len({n.casefold() for n in names}) == len(names), names
    assert names[:2] == ["a-2", "a"]
    notes = dict(named)
    assert notes["a-2"] is None and notes["a"] is None
    assert all("taken" in notes[n] for n in names[2:]), named
    assert "ignoring case" in notes[names[3]]
    renamed = dict(name_jobs([Path("/in/...mp4")]))
    assert list(renamed) == ["video"] and "'..' is not a safe folder name" in renamed["video"]


@pytest.mark.slow
def test_video_named_dots_stays_inside_the_batch_directory(demo_clip, model_paths,
                                                           tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    mine = {"person_1.bvh": b"my own animation\n", "report.json": b'{"mine": true}\n'}
    for name, data in mine.items():
        (project / name).write_bytes(data)
    video = _clip(demo_clip, tmp_path / "in" / "...mp4")
    assert video.stem == ".."
    out = project / "batch"
    proc = run_cli("batch", video, "-o", out, "--no-preview")
    assert proc.returncode == 0, proc.stderr
    # nothing landed beside the batch directory, and the user's files are untouched
    assert sorted(p.name for p in project.iterdir()) == ["batch", "person_1.bvh",
                                                         "report.json"]
    for name, data in mine.items():
        assert (project / name).read_bytes() == data
    jobs = _manifest(out)["jobs"]
    assert list(jobs) == ["video"]
    job = jobs["video"]
    assert job["status"] == "done" and Path(job["output"]) == out / "video"
    assert "'..' is not a safe folder name" in job["renamed"]
    assert outputs_complete(out / "video")
    assert "renamed '...mp4' -> video" in proc.stdout
    assert "1 done, 0 failed, 1 renamed" in proc.stdout


@pytest.mark.slow
def test_same_stem_inputs_are_all_converted(demo_clip, demo_video_path, model_paths, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    mkv = cut_video(demo_video_path, d / "a.mkv", FRAMES)
    videos = [_clip(demo_clip, d / "a-2.mp4"), mkv, _clip(demo_clip, d / "a.mp4")]
    out = tmp_path / "out"
    proc = run_cli("batch", d, "-o", out, "--no-preview", "--jobs", "2")
    assert proc.returncode == 0, proc.stderr
    jobs = _manifest(out)["jobs"]
    assert sorted(jobs) == ["a", "a-2", "a-3"]
    assert sorted(j["input"] for j in jobs.values()) == sorted(str(v.resolve())
                                                              for v in videos)
    for name, job in jobs.items():
        assert job["status"] == "done", job
        assert outputs_complete(out / name)
    assert jobs["a-3"]["input"] == str((d / "a.mp4").resolve())
    assert "'a' is taken" in jobs["a-3"]["renamed"]
    assert "3 done, 0 failed, 1 renamed" in proc.stdout
    assert "renamed 'a.mp4' -> a-3" in proc.stdout


# --------------------------------------------------------------------------------------
# 3: manifest and report robustness
# --------------------------------------------------------------------------------------
BAD_MANIFESTS = ['{"jobs": []}', "[]", "null", '"jobs"', '{"jobs": {"x": []}}',
                 '{"jobs": {"x": {"input": 1, "output": "o"}}}',
                 '{"jobs": {"x": {"input": "i", "output": "o", "status": "weird"}}}',
                 '{"jobs": {"x": {"input": "i", "output": "o", "surprise": 1}}}',
                 '{"jobs": {}, "options": []}', '{"jobs": {"x": {"input": "i"}}}', "{oops"]


@pytest.fixture
def broken_video(tmp_path) -> Path:
    path = tmp_path / "broken.mp4"
    path.write_text("not a video")
    return path


@pytest.mark.parametrize("text", BAD_MANIFESTS)
def test_unreadable_manifest_is_a_one_line_error(text, broken_video, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "batch.json").write_text(text)
    for flags in (["--resume"], []) if text == BAD_MANIFESTS[0] else (["--resume"],):
        proc = run_cli("batch", broken_video, "-o", out, *flags)
        assert_one_line_error(proc, "not a readable batch manifest", "--force")
    assert (out / "batch.json").read_text() == text  # left as it was


@pytest.mark.slow
def test_force_starts_over_from_an_unreadable_manifest(broken_video, model_paths, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "batch.json").write_text('{"jobs": []}')
    proc = run_cli("batch", broken_video, "-o", out, "--force")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    jobs = _manifest(out)["jobs"]
    assert jobs["broken"]["status"] == "failed"
    assert "cannot be opened" in jobs["broken"]["error"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _report(job: Path, files: dict) -> None:
    job.mkdir(parents=True, exist_ok=True)
    (job / "report.json").write_text(json.dumps({"files": files}))


def test_job_outputs_complete_only_counts_regular_files_inside_the_job(tmp_path):
    job = tmp_path / "job"
    job.mkdir()
    (job / "person_1.bvh").write_text("HIERARCHY\n")
    good = {"person_1.bvh": {"size": 10, "sha256": _sha256(job / "person_1.bvh")}}
    _report(job, good)
    assert job_outputs_complete(job)  # the guard lets a real, intact output through
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"someone else's file")
    entry = {"size": outside.stat().st_size, "sha256": _sha256(outside)}
    for name in ("../outside.bin", str(outside), "sub/../../outside.bin", "", ".", ".."):
        _report(job, {**good, name: entry})
        assert not job_outputs_complete(job), name
    _report(job, {**good, "/dev/zero": {"size": 0, "sha256": "0" * 64}})
    assert not job_outputs_complete(job)
    (job / "zero.bin").symlink_to("/dev/zero")
    _report(job, {**good, "zero.bin": {"size": 0, "sha256": "0" * 64}})
    assert not job_outputs_complete(job)
    (job / "link.bin").symlink_to(outside)
    _report(job, {**good, "link.bin": entry})
    assert not job_outputs_complete(job)
    # a report that is a pipe or a device is never opened (reading it would block)
    (job / "report.json").unlink()
    os.mkfifo(job / "report.json")
    assert not job_outputs_complete(job)
    (job / "report.json").unlink()
    (job / "report.json").symlink_to("/dev/zero")
    assert not job_outputs_complete(job)
    # nor is a job folder that is a link to somewhere else
    _report(tmp_path / "real", good)
    shutil.copyfile(job / "person_1.bvh", tmp_path / "real" / "person_1.bvh")
    assert job_outputs_complete(tmp_path / "real")
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    assert not job_outputs_complete(tmp_path / "linked")


@pytest.mark.slow
@pytest.mark.parametrize("listed", ["/dev/zero", "../outside.bin", "zero.bin", "fifo"])
def test_resume_ignores_reports_that_point_outside_the_job(listed, broken_video,
                                                           model_paths, tmp_path):
    out = tmp_path / "out"
    job = out / "broken"
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"not an output of this job")
    files = {listed: {"size": 0, "sha256": "0" * 64}}
    if listed == "../outside.bin":
        files = {listed: {"size": outside.stat().st_size, "sha256": _sha256(outside)}}
    _report(job, files)
    if listed == "zero.bin":
        (job / "zero.bin").symlink_to("/dev/zero")
    if listed == "fifo":  # a report.json that is a pipe: reading it waits for a writer
        (job / "report.json").unlink()
        os.mkfifo(job / "report.json")
    record = {"input": str(broken_video.resolve()), "output": str(job), "status": "done",
              "attempts": 1}
    (out / "batch.json").write_text(json.dumps({"version": 1, "jobs": {"broken": record}}))
    # hashing /dev/zero or reading a pipe never ends: before the fix this run hung
    proc = run_cli("batch", broken_video, "-o", out, "--resume", timeout=90)
    assert "skip" not in proc.stderr  # not "already complete": the job was redone
    jobs = _manifest(out)["jobs"]
    assert jobs["broken"]["status"] == "failed" and jobs["broken"]["attempts"] == 2
    assert "cannot be opened" in jobs["broken"]["error"]
    assert outside.read_bytes() == b"not an output of this job"


# --------------------------------------------------------------------------------------
# 4: scheduler addresses and TLS
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("address", "extra", "needle"), [
    ("foo://x", [], "unsupported scheme"),
    ("not an address", [], "not an address"),
    ("tcp://127.0.0.1", [], "needs a port"),
    ("tcp://127.0.0.1:99999", [], "not an address"),
    ("tcp://bad host:8786", [], "not a valid host"),
    ("tls://127.0.0.1:8786", [], "--tls-ca-file"),
    ("tcp://127.0.0.1:8786", ["--tls-cert", "c.pem"], "needs a tls:// --scheduler"),
    ("tls://127.0.0.1:8786", ["--tls-ca-file", "missing.pem", "--tls-cert", "missing.pem"],
     "no such file"),
])
def test_bad_scheduler_is_refused_before_anything_is_written(address, extra, needle,
                                                            broken_video, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("batch", broken_video, "-o", out, "--scheduler", address, *extra)
    assert_one_line_error(proc, needle)
    assert not out.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_unreachable_scheduler_writes_nothing(broken_video, tmp_path):
    pytest.importorskip("distributed", reason="needs mocap[distributed]")
    out = tmp_path / "out"
    proc = run_cli("batch", broken_video, "-o", out, "--scheduler",
                   f"tcp://127.0.0.1:{_free_port()}")
    assert_one_line_error(proc, "cannot reach the Dask scheduler")
    assert not out.exists()  # so the next run does not find a half-made batch


def test_help_warns_that_plain_tcp_is_for_trusted_networks():
    proc = run_cli("batch", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "anyone who can reach the scheduler run code" in text
    assert "trusted networks only" in text
    for option in ("--tls-ca-file", "--tls-cert", "--tls-key"):
        assert option in text


@pytest.mark.slow
def test_dask_cluster_over_tls(demo_clip, model_paths, tmp_path):
    pytest.importorskip("distributed", reason="needs mocap[distributed]")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    tls = ["--tls-ca-file", str(cert), "--tls-cert", str(cert), "--tls-key", str(key)]
    dask = Path(sys.executable).with_name("dask")
    port = _free_port()
    address = f"tls://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    # the client is given the scheme in capitals: TLS:// passed the address check but
    # connected without TLS settings (issue 20, item 19)
    procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port",
                               str(port), "--protocol", "tls", "--no-dashboard", *tls],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        time.sleep(3)
        procs.append(subprocess.Popen(
            [str(dask), "worker", address, "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1", *tls], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        video = _clip(demo_clip, tmp_path / "in" / "clip.mp4")
        out = tmp_path / "out"
        proc = run_cli("batch", video, "-o", out, "--scheduler", address.upper(),
                       "--no-preview", "--threads", "1", *tls)
        assert proc.returncode == 0, proc.stderr + proc.stdout
        jobs = _manifest(out)["jobs"]
        job = jobs["clip"]
        assert job["status"] == "done" and job["attempts"] == 1
        assert outputs_complete(out / "clip")
        # "running" came from the worker as it started (not made up when it finished)
        assert job["finished"] - job["started"] >= 0.5 * job["seconds"] > 0
    finally:
        stop_processes(procs)


# --------------------------------------------------------------------------------------
# 5, 6: the local pool
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_pool_workers_die_with_a_killed_batch(demo_clip, model_paths, tmp_path):
    psutil = pytest.importorskip("psutil")
    d = tmp_path / "in"
    for name in ("one", "two"):
        _clip(demo_clip, d / f"{name}.mp4")
    out = tmp_path / "out"
    proc = start_batch([d, "-o", out, "--jobs", "2", "--no-preview"])
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.time() + 240
        running, workers, others = [], [], []
        while time.time() < deadline:
            time.sleep(0.1)
            assert proc.poll() is None, "the batch ended before it could be killed"
            try:
                running = [j for j in _manifest(out)["jobs"].values()
                           if j["status"] == "running"]
            except (OSError, ValueError):
                continue
            children = parent.children(recursive=True)
            workers = [c for c in children if "spawn_main" in _cmdline(c)]
            others = [c for c in children if c not in workers]  # e.g. the resource tracker
            if running and len(workers) == 2:
                break
        assert running and len(workers) == 2, "no job started in a pool of two workers"
        os.kill(proc.pid, signal.SIGKILL)  # the parent only, not its process group
        proc.wait()
        deadline = time.time() + 10
        alive = workers + others
        while alive and time.time() < deadline:
            time.sleep(0.2)
            alive = [w for w in alive if _alive(w)]
        assert not alive, [_cmdline(w) for w in alive]
    finally:
        stop_batch(proc)


def _cmdline(proc) -> str:
    try:
        return " ".join(proc.cmdline())
    except Exception:  # gone already
        return ""


def _alive(proc) -> bool:
    import psutil

    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_running_jobs_never_exceed_jobs(demo_clip, model_paths, tmp_path):
    d = tmp_path / "in"
    for i in range(3):
        _clip(demo_clip, d / f"clip{i}.mp4")
    out = tmp_path / "out"
    proc = start_batch([d, "-o", out, "--jobs", "2", "--no-preview"],
                        stderr=subprocess.PIPE)
    most, seen_running = 0, set()
    try:
        deadline = time.time() + 400
        while proc.poll() is None and time.time() < deadline:
            try:
                jobs = _manifest(out)["jobs"]
            except (OSError, ValueError):
                time.sleep(0.02)
                continue
            running = {n for n, j in jobs.items() if j["status"] == "running"}
            most = max(most, len(running))
            seen_running |= running
            time.sleep(0.02)
        _, err = proc.communicate(timeout=60)
    finally:
        stop_batch(proc)
    assert proc.returncode == 0, err
    assert 1 <= most <= 2, most
    assert seen_running  # the check above did watch jobs run
    jobs = _manifest(out)["jobs"]
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs.values())
    assert err.count("start   ") == 3
    # a job is started by a worker: no two jobs' started..finished overlap three deep
    spans = sorted((j["started"], j["finished"]) for j in jobs.values())
    assert spans[2][0] >= min(spans[0][1], spans[1][1]) - 0.5


# --------------------------------------------------------------------------------------
# 7: plurals
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_summary_counts_have_correct_plurals(demo_clip, model_paths, tmp_path):
    video = _clip(demo_clip, tmp_path / "in" / "solo.mp4")
    out = tmp_path / "out"
    proc = run_cli("batch", video, "-o", out, "--no-preview", "--max-people", "1")
    assert proc.returncode == 0, proc.stderr
    job = _manifest(out)["jobs"]["solo"]
    assert job["people"] == 1 and job["frames"] == FRAMES
    assert f"done    solo: 1 person, {FRAMES} frames," in proc.stderr
    assert "1 people" not in proc.stderr + proc.stdout
