"""`mocap convert` never touches what it did not write, locks its directory, cleans up after
signals and kills, keeps file modes by the umask, and sees a person in a very short clip."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from mocap.app.convert import outputs_complete
from mocap.fileio import OutputDir
from tests.helpers import assert_one_line_error, cut_video, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip(demo_video_path, tmp_path_factory):
    return cut_video(demo_video_path, tmp_path_factory.mktemp("clip") / "clip.mp4", 24)


@pytest.fixture(scope="module")
def converted(clip, model_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("conv") / "out"
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    return out


def test_force_only_replaces_files_its_report_lists(clip, converted, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for p in converted.iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    mine = {"person_notes.txt": b"my notes", "person_cv.pdf": b"%PDF", "notes.txt": b"x"}
    for name, data in mine.items():
        (out / name).write_bytes(data)
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "--force", "-q")
    assert proc.returncode == 0, proc.stderr
    for name, data in mine.items():
        assert (out / name).read_bytes() == data
    assert outputs_complete(out)


def test_a_person_file_mocap_did_not_write_is_never_overwritten(clip, model_paths, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "person_1.bvh").write_text("my own animation")
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "--force", "-q")
    assert_one_line_error(proc, "person_1.bvh exists and was not written by mocap")
    assert (out / "person_1.bvh").read_text() == "my own animation"
    assert sorted(p.name for p in out.iterdir()) == ["person_1.bvh"]  # no temporaries


@pytest.mark.parametrize("force", [False, True])
def test_a_dangling_link_named_like_an_output_is_never_replaced(clip, model_paths, tmp_path,
                                                                 force):
    """Path.exists() follows links, so a dangling `person_1.bvh` link was replaced."""
    import os

    out = tmp_path / "out"
    out.mkdir()
    (out / "person_1.bvh").symlink_to(tmp_path / "nowhere.bvh")
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "-q",
                   *(["--force"] if force else []))
    assert_one_line_error(proc, "person_1.bvh exists and was not written by mocap")
    assert os.readlink(out / "person_1.bvh") == str(tmp_path / "nowhere.bvh")
    assert sorted(p.name for p in out.iterdir()) == ["person_1.bvh"]


def test_a_second_run_into_the_same_directory_is_refused(clip, model_paths, tmp_path):
    import os

    out = tmp_path / "busy"
    with OutputDir(out):
        proc = run_cli("convert", clip, "-o", out, "--no-preview", "-q")
        assert_one_line_error(proc, "is in use by another mocap run",
                              f"(process {os.getpid()})")
        assert proc.returncode == 2
    assert not out.exists()  # the holder created it and left it empty: removed


def _wait_for(predicate, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_removes_the_temporaries_and_the_new_directory(demo_video_path, model_paths,
                                                                tmp_path, sig):
    out = tmp_path / "new"
    # the whole demo: a conversion of several seconds (a short clip can be done before
    # the signal lands)
    proc = subprocess.Popen([sys.executable, "-m", "mocap", "convert", str(demo_video_path),
                             "-o", str(out), "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    # the output directory exists once the run holds it; stop it during the work
    assert _wait_for(out.exists, 60)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not out.exists()


def test_temporaries_of_a_killed_run_are_removed_by_the_next(clip, model_paths, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".person_1.ab12cd34.part.bvh", out / ".report.x9Y_zz00.part.json"]
    for p in stale:
        p.write_text("left by kill -9")
    keep = out / ".my-hidden-file"
    keep.write_text("mine")
    proc = run_cli("convert", clip, "-o", out, "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    assert not any(p.exists() for p in stale)
    assert keep.read_text() == "mine"
    assert not [p for p in out.iterdir() if ".part" in p.name]


def test_a_clip_shorter_than_ten_frames_still_finds_the_person(demo_video_path, model_paths,
                                                               tmp_path):
    short = cut_video(demo_video_path, tmp_path / "short.mp4", 8)
    proc = run_cli("convert", short, "-o", tmp_path / "out", "--no-preview", "--json")
    assert proc.returncode == 0, proc.stderr
    people = json.loads(proc.stdout)["people"]
    assert len(people) >= 1 and people[0]["frames_observed"] >= 4


def test_report_listing_devices_or_paths_outside_is_not_complete(converted, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for p in converted.iterdir():
        (out / p.name).write_bytes(p.read_bytes())
    report = json.loads((out / "report.json").read_text())
    for evil in ({"/dev/zero": {"size": 0, "sha256": "0"}},
                 {"../report.json": report["files"][next(iter(report["files"]))]}):
        doctored = dict(report, files={**evil})
        (out / "report.json").write_text(json.dumps(doctored))
        t0 = time.perf_counter()
        assert not outputs_complete(out)
        assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize("existing", [False, True])
def test_retarget_output_mode_follows_the_umask(tmp_path, existing):
    import numpy as np

    from mocap.export.bvh import bvh_text
    from mocap.skeleton.animation import Animation
    from mocap.skeleton.rig import load_rig

    rig = load_rig("mixamo")
    src = tmp_path / "src.bvh"
    src.write_text(bvh_text(Animation(rig, np.tile([0.0, 1.0, 0.0], (3, 1)),
                                      np.tile([0, 0, 0, 1.0], (3, len(rig), 1)), 30)))
    out = tmp_path / "out.bvh"
    if existing:
        out.write_text("old")
        out.chmod(0o644)
    code = ("import os, sys; os.umask(0o022); from mocap.cli import main; "
            f"sys.exit(main(['retarget', {str(src)!r}, '--rig', 'smpl', '-o', {str(out)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (out.stat().st_mode & 0o777) == 0o644
