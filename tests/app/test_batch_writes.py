"""Where `mocap batch` may write (issue 20, items 1-3, 12, 13, 15 and the batch parts of
19): never through a job folder that is a link, never over outputs it did not write, one
batch per directory at a time, never its own outputs as inputs, a resume that notices new
settings or a changed video, a stopped pool that leaves nothing behind, a strict manifest.

The slow tests run the real CLI on 20-frame half-size clips of the demo video.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import unicodedata
from pathlib import Path

import pytest

from mocap.app.batch import (
    BatchConfig,
    JobRecord,
    Manifest,
    exclude_outputs,
    input_identity,
    name_jobs,
    safe_name,
)
from mocap.app.convert import convert_video, outputs_complete
from mocap.errors import InputError, OutputError
from tests.helpers import assert_one_line_error, cut_video, run_cli, start_batch, stop_batch

FRAMES = 20


@pytest.fixture(scope="module")
def demo_clip(demo_video_path, tmp_path_factory) -> Path:
    """20 half-size frames of the demo video."""
    return cut_video(demo_video_path, tmp_path_factory.mktemp("demo") / "demo.mp4", FRAMES)


def _clip(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return dst


def _manifest(out: Path) -> dict:
    return json.loads((out / "batch.json").read_text())


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path below ``root`` (links as links) -> its bytes (None for folders, links)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() and not p.is_symlink()
                                       else None) for p in sorted(root.rglob("*"))}


# --------------------------------------------------------------------------------------
# 1: a job folder that is a link
# --------------------------------------------------------------------------------------
def _linked_job(tmp_path: Path, demo_clip: Path) -> tuple[Path, Path, Path]:
    """The issue's reproducer: in/clip.mp4, b/clip -> outside/, where outside/ holds
    keep.txt and a report.json that lists it."""
    _clip(demo_clip, tmp_path / "in" / "clip.mp4")
    b, outside = tmp_path / "b", tmp_path / "outside"
    b.mkdir()
    outside.mkdir()
    (b / "clip").symlink_to(outside)
    (outside / "keep.txt").write_text("keep\n")
    (outside / "report.json").write_text('{"files":{"keep.txt":{"size":5,"sha256":"0"}}}')
    return tmp_path / "in", b, outside


@pytest.mark.parametrize("flags", [[], ["--resume"], ["--force"]],
                         ids=["plain", "resume", "force"])
def test_a_job_folder_that_is_a_link_is_never_written_through(flags, demo_clip, tmp_path):
    inputs, b, outside = _linked_job(tmp_path, demo_clip)
    before = _tree(outside)
    proc = run_cli("batch", inputs, "-o", b, "--no-preview", *flags)
    assert_one_line_error(proc, f"{b / 'clip'} is a symbolic link", "never writes")
    assert proc.returncode == 2
    assert _tree(outside) == before  # keep.txt is there, nothing landed beside it
    assert sorted(p.name for p in b.iterdir()) == ["clip"]  # no batch.json either


def test_a_link_made_after_the_batch_checked_is_refused_by_the_job(demo_clip, tmp_path):
    """The worker's own check (convert_video(within=...)), for a link that appears after
    the batch looked: nothing is read as an earlier output, written or deleted there."""
    inputs, b, outside = _linked_job(tmp_path, demo_clip)
    before = _tree(outside)
    with pytest.raises(OutputError, match="is a symbolic link"):
        convert_video(inputs / "clip.mp4", b / "clip", force=True, within=b)
    assert _tree(outside) == before
    # a link further up, between the batch directory and the job folder, likewise
    (b / "deep").mkdir()
    (b / "deep" / "er").symlink_to(outside)
    with pytest.raises(OutputError, match="deep/er is a symbolic link"):
        convert_video(inputs / "clip.mp4", b / "deep" / "er" / "clip", force=True, within=b)
    assert _tree(outside) == before


# --------------------------------------------------------------------------------------
# 2: outputs the batch did not write
# --------------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_earlier_converts_outputs_are_not_replaced_without_force(demo_clip, model_paths,
                                                                     tmp_path):
    video = _clip(demo_clip, tmp_path / "in" / "clip.mp4")
    b2 = tmp_path / "b2"
    proc = run_cli("convert", video, "-o", b2 / "clip", "--formats", "bvh,csv",
                   "--no-preview")
    assert proc.returncode == 0, proc.stderr
    before = _tree(b2)
    assert "clip/person_1.csv" in before
    for flags in ([], ["--resume"]):  # --resume: this batch never wrote them either
        proc = run_cli("batch", tmp_path / "in", "-o", b2, "--no-preview", *flags)
        assert_one_line_error(proc, f"{b2 / 'clip'} already holds outputs", "--force")
        assert proc.returncode == 2
        assert _tree(b2) == before  # nothing written, nothing deleted, no batch.json
    proc = run_cli("batch", tmp_path / "in", "-o", b2, "--no-preview", "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (b2 / "clip" / "person_1.csv").exists()  # replaced, as asked
    assert outputs_complete(b2 / "clip")


# --------------------------------------------------------------------------------------
# 3: one batch per directory
# --------------------------------------------------------------------------------------
def _wait_for(what, timeout: float, proc: subprocess.Popen, step: float = 0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, "the batch ended first"
        with contextlib.suppress(OSError, ValueError, KeyError):
            got = what()
            if got:
                return got
        time.sleep(step)
    raise AssertionError("timed out")


@pytest.mark.slow
def test_a_second_batch_into_the_same_directory_is_refused(demo_clip, model_paths, tmp_path):
    d = tmp_path / "in"
    for name in ("one", "two"):
        _clip(demo_clip, d / f"{name}.mp4")
    out = tmp_path / "out"
    first = start_batch([d, "-o", out, "--no-preview"])
    try:
        _wait_for(lambda: _manifest(out)["jobs"], 120, first)
        os.kill(first.pid, signal.SIGSTOP)  # holds its lock, converts nothing meanwhile
        for flags in ([], ["--resume"]):
            proc = run_cli("batch", d, "-o", out, "--no-preview", *flags)
            assert_one_line_error(proc, f"{out} is in use by another mocap batch "
                                  f"(process {first.pid})")
            assert proc.returncode == 2
        proc = run_cli("convert", d / "one.mp4", "-o", out, "--no-preview")
        assert_one_line_error(proc, f"{out} is in use by another mocap run "
                              f"(process {first.pid})")
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0
    finally:
        stop_batch(first)
    jobs = _manifest(out)["jobs"]
    assert all(j["status"] == "done" and j["attempts"] == 1 for j in jobs.values()), jobs
    proc = run_cli("batch", d, "-o", out, "--no-preview", "--resume")  # the lock is gone
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("already complete") == 2


# --------------------------------------------------------------------------------------
# 12: outputs of mocap are not inputs
# --------------------------------------------------------------------------------------
def test_outputs_of_mocap_are_left_out_of_the_inputs(tmp_path):
    clips = tmp_path / "clips"
    video = _clip_bytes(clips / "a.mp4", b"video")
    mine = _clip_bytes(clips / "out" / "a" / "preview.mp4", b"preview")
    conv = _clip_bytes(clips / "conv" / "preview.mp4", b"preview of a convert")
    (clips / "conv" / "report.json").write_text(json.dumps(
        {"files": {"preview.mp4": {"size": 20, "sha256": "0" * 64}}}))
    unlisted = _clip_bytes(clips / "conv" / "raw.mp4", b"a video of the user's")
    tracked = _clip_bytes(clips / "tr" / "preview.mp4", b"a track preview")
    (clips / "tr" / "tracks.json").write_text("{}")
    kept, excluded = exclude_outputs([video, mine, conv, unlisted, tracked], clips / "out")
    assert kept == [video, unlisted]
    why = {Path(e.input): e.reason for e in excluded}
    assert "inside the batch directory" in why[mine]
    assert "listed in" in why[conv] and "report.json" in why[conv]
    assert "mocap track" in why[tracked]


def _clip_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.slow
def test_a_batch_never_converts_its_own_previews(demo_clip, model_paths, tmp_path):
    clips = tmp_path / "clips"
    _clip(demo_clip, clips / "a.mp4")
    proc = run_cli("convert", clips / "a.mp4", "-o", clips / "conv")  # a preview.mp4 too
    assert proc.returncode == 0, proc.stderr
    pattern, out = str(clips / "**" / "*.mp4"), clips / "out"
    proc = run_cli("batch", pattern, "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert list(_manifest(out)["jobs"]) == ["a"]
    assert (out / "a" / "preview.mp4").is_file()
    for _ in range(2):  # before the fix: one more job per resume (preview, preview-2, ...)
        proc = run_cli("batch", pattern, "-o", out, "--resume")
        assert proc.returncode == 0, proc.stderr
        assert list(_manifest(out)["jobs"]) == ["a"]
        assert f"exclude {(out / 'a' / 'preview.mp4').resolve()}: inside the batch " \
               "directory" in proc.stderr
        assert f"exclude {(clips / 'conv' / 'preview.mp4').resolve()}: an output of mocap " \
               "convert" in proc.stderr
        assert "2 inputs left out (outputs of mocap)" in proc.stdout
    proc = run_cli("batch", out / "a" / "preview.mp4", "-o", out, "--resume")
    assert_one_line_error(proc, "every input is an output of mocap")


# --------------------------------------------------------------------------------------
# 13: a resume with other settings, or of a changed video
# --------------------------------------------------------------------------------------
def test_input_identity_sees_a_same_size_change_under_the_old_time(tmp_path):
    path = tmp_path / "v.mp4"
    path.write_bytes(b"a" * 3_000_000)
    first = input_identity(path)
    assert first["size"] == 3_000_000 and len(first["sample_sha256"]) == 64
    info = os.stat(path)
    path.write_bytes(b"a" * 2_999_999 + b"b")  # the last byte differs
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    second = input_identity(path)
    assert second["mtime_ns"] == first["mtime_ns"] and second["size"] == first["size"]
    assert second != first
    assert input_identity(tmp_path / "missing.mp4") is None


@pytest.mark.slow
def test_resume_redoes_jobs_whose_settings_or_video_changed(demo_clip, demo_video_path,
                                                            model_paths, tmp_path):
    d = tmp_path / "in"
    video = _clip(demo_clip, d / "clip.mp4")
    out = tmp_path / "out"
    proc = run_cli("batch", d, "-o", out, "--no-preview")
    assert proc.returncode == 0, proc.stderr
    job = _manifest(out)["jobs"]["clip"]
    assert job["settings"]["rig"] == "mixamo" and job["source"] == input_identity(video)
    # other settings: converted again with them (before: skipped as complete)
    proc = run_cli("batch", d, "-o", out, "--no-preview", "--resume", "--rig", "smpl",
                   "--formats", "bvh,csv")
    assert proc.returncode == 0, proc.stderr
    assert "redo    clip: the settings changed (formats, rig)" in proc.stderr
    job = _manifest(out)["jobs"]["clip"]
    assert job["attempts"] == 2 and job["settings"]["rig"] == "smpl"
    assert json.loads((out / "clip" / "report.json").read_text())["rig"] == "smpl"
    assert (out / "clip" / "person_1.csv").is_file() and outputs_complete(out / "clip")
    # another video at the same path: converted again
    cut_video(demo_video_path, video, 12)
    args = ["batch", d, "-o", out, "--no-preview", "--resume", "--rig", "smpl",
            "--formats", "bvh,csv"]
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "redo    clip: the video changed (size, modification time, content)" in proc.stderr
    job = _manifest(out)["jobs"]["clip"]
    assert job["attempts"] == 3 and job["frames"] == 12
    assert job["source"] == input_identity(video)
    # nothing changed: skipped
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "skip    clip: already complete" in proc.stderr and "redo" not in proc.stderr
    assert _manifest(out)["jobs"]["clip"]["attempts"] == 3


# --------------------------------------------------------------------------------------
# 15: a stopped pool leaves nothing behind
# --------------------------------------------------------------------------------------
def _leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if ".part" in p.name or p.name.endswith(".old")]


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["tracking", "staged"])
def test_sigterm_on_a_pool_batch_leaves_no_temporaries_or_empty_folders(
        moment, demo_video_path, model_paths, tmp_path):
    psutil = pytest.importorskip("psutil")
    d = tmp_path / "in"
    d.mkdir()
    for name in ("one", "two"):
        cut_video(demo_video_path, d / f"{name}.mp4", 48)
    out = tmp_path / "out"
    # "staged": with the preview, files are staged for a while before they are published
    flags = ["--no-preview"] if moment == "tracking" else []
    proc = start_batch([d, "-o", out, "--jobs", "2", *flags], stderr=subprocess.PIPE)
    try:
        if moment == "tracking":  # both job folders made, nothing staged in them yet
            _wait_for(lambda: sum(j["status"] == "running"
                                  for j in _manifest(out)["jobs"].values()) == 2
                      and all((out / n).is_dir() for n in ("one", "two"))
                      and not _leftovers(out), 300, proc)
        else:  # a worker is writing a file (in a job folder: not batch.json's own)
            _wait_for(lambda: [p for p in _leftovers(out) if "probe" not in p.name
                               and p.parent != out], 300, proc, step=0.005)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGTERM)  # the batch process alone
        _, err = proc.communicate(timeout=120)
    finally:
        stop_batch(proc)
    assert proc.returncode == 130, err
    assert not _leftovers(out), _leftovers(out)
    empty = [p for p in out.iterdir() if p.is_dir() and not any(p.iterdir())]
    assert not empty, empty
    deadline = time.time() + 10
    while time.time() < deadline and any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                                         for w in workers if _exists(w)):
        time.sleep(0.1)
    assert not [w for w in workers if _exists(w) and w.status() != psutil.STATUS_ZOMBIE]
    jobs = _manifest(out)["jobs"]
    assert any(j["status"] == "interrupted" for j in jobs.values()), jobs
    for name, job in jobs.items():  # done ones are whole; the others left nothing
        assert (job["status"] == "done") == (out / name).exists(), (name, job)
    proc = run_cli("batch", d, "-o", out, "--resume", *flags)
    assert proc.returncode == 0, proc.stderr
    assert all(outputs_complete(out / n) for n in ("one", "two"))


def _exists(proc) -> bool:
    import psutil

    try:
        return proc.is_running()
    except psutil.NoSuchProcess:
        return False


# --------------------------------------------------------------------------------------
# 19: a strict manifest, safe names, scheduler schemes
# --------------------------------------------------------------------------------------
GOOD = {"input": "/in/a.mp4", "output": "/out/a", "status": "done", "frames": 20,
        "people": 1, "seconds": 1.5, "started": 1.0, "finished": 2.5, "attempts": 1}


@pytest.mark.parametrize(("text", "needle"), [
    (json.dumps({"jobs": {"a": {**GOOD, "frames": -3}}}), "'frames' must be a count"),
    (json.dumps({"jobs": {"a": {**GOOD, "attempts": -1}}}), "'attempts' must be a count"),
    (json.dumps({"jobs": {"a": {**GOOD, "people": -1}}}), "'people' must be a count"),
    (json.dumps({"jobs": {"a": GOOD}}).replace("1.5", "Infinity"), "Infinity is not"),
    (json.dumps({"jobs": {"a": GOOD}}).replace("1.5", "NaN"), "NaN is not"),
    (json.dumps({"jobs": {"a": GOOD}}).replace("1.5", "-Infinity"), "-Infinity is not"),
    (json.dumps({"jobs": {"a": GOOD}}).replace("1.5", "1e999"), "1e999 is not a finite"),
    (json.dumps({"jobs": {"a": {**GOOD, "seconds": -2.0}}}), "'seconds' must be a finite"),
    (json.dumps({"jobs": {"a": {**GOOD, "source": {"size": -1, "mtime_ns": 0,
                                                    "sample_sha256": "0" * 64}}}}),
     "malformed 'source'"),
    (json.dumps({"jobs": {"a": {**GOOD, "warnings": [
        {"person": 1, "code": "c", "message": "m", "frames": [[-5, 2]]}]}}}),
     "not frame ranges"),
])
def test_manifests_with_non_finite_or_negative_numbers_are_refused(text, needle, tmp_path):
    path = tmp_path / "batch.json"
    path.write_text(text)
    with pytest.raises(InputError, match="not a readable batch manifest") as info:
        Manifest.load(path)
    assert needle in str(info.value)


def test_a_manifest_is_written_as_strict_json_or_not_at_all(tmp_path):
    m = Manifest(tmp_path / "batch.json", {"a": JobRecord(**GOOD)})
    m.save()
    json.loads((tmp_path / "batch.json").read_text(), parse_constant=_refuse)
    before = (tmp_path / "batch.json").read_bytes()
    m.jobs["a"].seconds = float("inf")
    with pytest.raises(ValueError, match="JSON"):
        m.save()
    assert (tmp_path / "batch.json").read_bytes() == before


def test_an_infinite_manifest_is_refused_by_the_cli(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    text = json.dumps({"jobs": {"a": GOOD}}).replace("1.5", "Infinity")
    (out / "batch.json").write_text(text)
    video = _clip_bytes(tmp_path / "a.mp4", b"not a video")
    proc = run_cli("batch", video, "-o", out, "--resume")
    assert_one_line_error(proc, "not a readable batch manifest", "Infinity")
    assert (out / "batch.json").read_text() == text


def _refuse(name):
    raise AssertionError(f"{name} written to batch.json")


@pytest.mark.parametrize("stem", ["evil\u202egnp.exe", "two\u2028lines", "par\u2029a",
                                  "zero\u200bwidth", "bom\ufeff", "rlo\u2067iso", "x\udcff"])
def test_job_names_carry_no_format_or_separator_characters(stem):
    name = safe_name(stem)
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in name)
    assert name.replace("_", "") and "_" in name
    (named, why), = name_jobs([Path("/in") / f"{stem}.mp4"])
    assert named == name and "not a safe folder name" in why


@pytest.mark.parametrize("address", ["TLS://127.0.0.1:8786", "Tls://127.0.0.1:8786",
                                     "tls://127.0.0.1:8786"])
def test_scheduler_schemes_are_case_insensitive(address, tmp_path):
    pem = tmp_path / "c.pem"
    pem.write_text("x")
    cfg = BatchConfig(scheduler=address, tls_ca_file=str(pem), tls_cert=str(pem))
    assert cfg.scheduler == "tls://127.0.0.1:8786"  # what _connect gives TLS settings to
    with pytest.raises(InputError, match="a tls:// scheduler needs"):
        BatchConfig(scheduler=address)  # TLS:// needs the certificates as tls:// does
    assert BatchConfig(scheduler="TCP://h:1").scheduler == "tcp://h:1"
