"""mocap.fileio: the one rule for input files (read_input / check_input: devices, pipes,
sockets and folders are refused in one line before anything is read; reading /dev/zero
never ended, opening a FIFO blocked until someone wrote to it) and the one publish
(OutputDir.commit: a set of files replaced all or nothing, under errors and signals)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mocap.errors import InputError, Interrupted, OutputError
from mocap.fileio import (
    INPUT_KINDS,
    OutputDir,
    check_input,
    read_input,
    remove_stale_temporaries,
    temp_path,
)
from tests.helpers import (
    SMALL_BVH,
    assert_one_line_error,
    cut_video,
    probe_motion,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="devices and FIFOs are POSIX")


def _special(tmp_path: Path, what: str, name: str) -> Path:
    path = tmp_path / name
    if what == "fifo":
        os.mkfifo(path)
    elif what == "socket":
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()  # the socket file stays
    elif what == "dir":
        path.mkdir()
    elif what == "zero":
        path.symlink_to("/dev/zero")  # a link to a device is a device too
    return path


@posix_only
@pytest.mark.parametrize("kind", sorted(INPUT_KINDS))
@pytest.mark.parametrize(("what", "needle"), [("fifo", "is a pipe (FIFO)"),
                                              ("socket", "is a socket"),
                                              ("zero", "is a device"),
                                              ("dir", "is a directory")])
def test_special_files_are_refused_without_reading(tmp_path, kind, what, needle):
    path = _special(tmp_path, what, f"x.{kind}")
    for call in (check_input, read_input):
        with pytest.raises(InputError) as info:
            call(path, kind)
        msg = str(info.value)
        assert msg.startswith(f"{path}: {needle}") and INPUT_KINDS[kind][0] in msg, msg
        assert "\n" not in msg


def test_regular_files_are_read_whole_and_missing_ones_named(tmp_path):
    path = tmp_path / "a.bvh"
    path.write_text(SMALL_BVH)
    assert read_input(path, "bvh") == SMALL_BVH.encode()
    assert check_input(path, "bvh") == len(SMALL_BVH.encode())
    with pytest.raises(InputError, match="no such file"):
        read_input(tmp_path / "missing.bvh", "bvh")


def test_files_over_the_cap_are_refused_by_size(tmp_path, monkeypatch):
    import mocap.fileio as fileio

    path = tmp_path / "big.toml"
    path.write_bytes(b"x" * 100)
    monkeypatch.setitem(fileio.INPUT_KINDS, "rig", ("a rig file", 99))
    with pytest.raises(InputError, match="100 bytes, larger than any rig file"):
        read_input(path, "rig")


@posix_only
@pytest.mark.parametrize("argv", [
    ["retarget", "{zero}", "--rig", "smpl", "-o", "{out}/o.bvh"],
    ["retarget", "/dev/urandom", "--rig", "smpl", "-o", "{out}/o.bvh"],
    ["retarget", "{fifo}.bvh", "--rig", "smpl", "-o", "{out}/o.bvh"],
    ["retarget", "{bvh}", "--rig", "{fifo}.bvh", "-o", "{out}/o.bvh"],
    ["retarget", "{bvh}", "--rig", "{fifo}.toml", "-o", "{out}/o.bvh"],
    ["pose", "{fifo}.png"],
    ["pose", "{zero}"],
    ["convert", "{fifo}.mp4", "-o", "{out}/c"],
    ["convert", "/dev/zero", "-o", "{out}/c"],
    ["export", "{fifo}.bvh", "-o", "{out}/x.fbx"],
], ids=["retarget-dev-zero", "retarget-urandom", "retarget-fifo", "rig-fifo-bvh",
        "rig-fifo-toml", "pose-fifo", "pose-dev-zero", "convert-fifo", "convert-dev-zero",
        "export-fifo"])
def test_commands_refuse_special_files_in_one_line_at_once(tmp_path, argv):
    out = tmp_path / "out"
    out.mkdir()
    bvh = tmp_path / "walk.bvh"
    bvh.write_text(SMALL_BVH)
    for suffix in (".bvh", ".toml", ".png", ".mp4"):
        os.mkfifo(tmp_path / f"fifo{suffix}")
    zero = _special(tmp_path, "zero", "zero.bvh")
    args = [a.format(zero=zero, fifo=tmp_path / "fifo", bvh=bvh, out=out) for a in argv]
    try:  # a hang is a failure, not a stuck suite
        proc = subprocess.run([sys.executable, "-m", "mocap", *args], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mocap {' '.join(args)} did not return within 60 s")
    assert_one_line_error(proc, "not a")
    assert proc.returncode == 2
    assert not any(out.iterdir()), list(out.iterdir())  # nothing written


# --- publishing a set of files: all or nothing, under errors and signals -----------------


def _earlier_run(d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    old = {"person_1.bvh": "old 1", "person_2.bvh": "old 2", "report.json": "old report"}
    for name, text in old.items():
        (d / name).write_text(text)
    return old


def _stage(out: OutputDir) -> None:
    for name in ("person_1.bvh", "person_1.json", "report.json"):
        out.path(name).write_text(f"new {name}")


def _contents(d: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(d.iterdir())}


def test_a_publish_replaces_and_removes_as_one_set(tmp_path):
    d = tmp_path / "out"
    _earlier_run(d)
    with OutputDir(d) as out:
        _stage(out)
        written = out.commit(remove=[d / "person_2.bvh", d / "report.json"])
    assert [p.name for p in written] == ["person_1.bvh", "person_1.json", "report.json"]
    assert _contents(d) == {"person_1.bvh": "new person_1.bvh",
                            "person_1.json": "new person_1.json",
                            "report.json": "new report.json"}


def test_a_failed_rename_half_way_leaves_the_earlier_set_whole(tmp_path, monkeypatch):
    """The rollback unlinked what it had renamed, so a replaced file was lost and the rest
    stayed new: now every replaced or removed file comes back from its backup."""
    d = tmp_path / "out"
    before = _earlier_run(d)
    real = os.replace
    calls = {"n": 0}

    def flaky(src, dst):
        calls["n"] += 1
        if Path(src).name.endswith(".part.json"):  # the second new file
            raise OSError(28, "No space left on device")
        return real(src, dst)

    with OutputDir(d) as out:
        _stage(out)
        monkeypatch.setattr(os, "replace", flaky)
        with pytest.raises(OutputError, match="No space left on device"):
            out.commit(remove=[d / "person_2.bvh"])
        monkeypatch.setattr(os, "replace", real)
    assert calls["n"] >= 4  # it got half way
    assert _contents(d) == before


@posix_only
def test_a_signal_during_the_publish_is_delivered_after_the_whole_set(tmp_path, monkeypatch):
    import signal

    d = tmp_path / "out"
    _earlier_run(d)
    real = os.replace

    def stopped(src, dst):
        if Path(src).name.endswith(".part.json"):
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` from another shell would
        return real(src, dst)

    def handler(signum, frame):
        raise Interrupted

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with OutputDir(d) as out:
            _stage(out)
            monkeypatch.setattr(os, "replace", stopped)
            with pytest.raises(Interrupted):
                out.commit(remove=[d / "person_2.bvh"])
            monkeypatch.setattr(os, "replace", real)
    finally:
        signal.signal(signal.SIGTERM, previous)
    # the new set is whole (no old report.json beside a new person_1.bvh), no backups left
    assert _contents(d) == {"person_1.bvh": "new person_1.bvh",
                            "person_1.json": "new person_1.json",
                            "report.json": "new report.json"}


def test_backups_of_a_publish_killed_outright_are_put_back(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    (d / ".person_2.bvh.0a1b2c3d.old").write_text("old 2")  # moved aside, then kill -9
    (d / ".report.json.0a1b2c3d.old").write_text("old report")
    (d / "report.json").write_text("new report")  # this one made it into place
    remove_stale_temporaries(d)
    assert _contents(d) == {"person_2.bvh": "old 2", "report.json": "new report"}


def test_folders_created_for_the_output_are_removed_when_nothing_is_published(tmp_path):
    """`-o n1/n2/out` left n1/n2 behind after an interruption or a full disk."""
    target = tmp_path / "n1" / "n2" / "out"
    with pytest.raises(Interrupted), OutputDir(target) as out:
        out.path("person_1.bvh").write_text("x")
        raise Interrupted
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    (tmp_path / "n1").mkdir()
    (tmp_path / "n1" / "keep.txt").write_text("mine")
    with OutputDir(target) as out:  # nothing staged, nothing published
        pass
    assert sorted(p.name for p in (tmp_path / "n1").iterdir()) == ["keep.txt"]


@posix_only
def test_the_lock_error_names_the_process_holding_it(tmp_path):
    import subprocess

    d = tmp_path / "out"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from mocap.fileio import OutputDir; o = OutputDir(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"), str(d)], stdout=subprocess.PIPE,
        text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputError, match=rf"in use by another mocap run \(process "
                                              rf"{holder.pid}\)"):
            OutputDir(d)
    finally:
        holder.kill()
        holder.wait()


# --- temporaries of runs killed outright (issue 20, item 14) -----------------------------
_MAKE_TEMP = ("import sys, time; from mocap.fileio import temp_path; "
              "print(temp_path(sys.argv[1], sys.argv[2]), flush=True); "
              "time.sleep(float(sys.argv[3]))")


def _leftovers(folder: Path, name: str) -> tuple[Path, Path, Path, subprocess.Popen]:
    """Beside ``folder/name``: the temporary of a process that is gone (made by
    ``temp_path`` in a process that then exited, half-written), an earlier version's
    (no process id in its name) two hours old, and a live process's."""
    folder.mkdir(parents=True, exist_ok=True)
    dead = Path(subprocess.run([sys.executable, "-c", _MAKE_TEMP, str(folder), name, "0"],
                               capture_output=True, text=True, check=True).stdout.strip())
    dead.write_bytes(b"\0" * 100_000)
    holder = subprocess.Popen([sys.executable, "-c", _MAKE_TEMP, str(folder), name, "600"],
                              stdout=subprocess.PIPE, text=True)
    live = Path(holder.stdout.readline().strip())
    old = folder / f".{Path(name).stem}.ab12CD34.part{Path(name).suffix}"
    old.write_bytes(b"x")
    t = time.time() - 7200
    os.utime(old, (t, t))
    return dead, old, live, holder


def test_temporary_names_carry_the_writers_process_id(tmp_path):
    tmp = temp_path(tmp_path, "person_1.bvh")
    assert re.fullmatch(rf"\.person_1\.{os.getpid()}-[0-9a-f]{{8}}\.part\.bvh", tmp.name)
    long = temp_path(tmp_path, "x" * 240 + ".png")  # the name stays a valid file name
    assert len(long.name.encode()) < 255 and long.name.endswith(".part.png")


def test_only_temporaries_of_gone_processes_are_removed(tmp_path):
    d = tmp_path / "out"
    dead, old, live, holder = _leftovers(d, "r.bvh")
    try:
        fresh_old = d / ".r.Zz9Yy8Xx.part.bvh"  # an earlier version's, just written
        fresh_old.write_bytes(b"y")
        pid, tag = re.fullmatch(r"\.r\.(\d+)-([0-9a-f]{4}).*", dead.name).groups()
        other = "ffff" if tag != "ffff" else "0000"
        elsewhere = d / f".r.{pid}-{other}0000.part.bvh"  # another machine's (shared folder)
        elsewhere.write_bytes(b"z")
        (d / ".not.12-abcdabcd.part.bvh").mkdir()  # a folder: never ours
        backup = d / ".r.bvh.0a1b2c3d.old"
        backup.write_text("moved aside by a publish")
        mine = temp_path(d, "r.bvh")  # this process's own
        # without the directory's lock: only what is certainly stale
        assert sorted(remove_stale_temporaries(d, locked=False)) == sorted([dead, old])
        assert all(p.exists() for p in (live, fresh_old, elsewhere, backup, mine))
        # with it: earlier versions' and other machines' too, and backups go back
        removed = remove_stale_temporaries(d)
        assert sorted(removed) == sorted([fresh_old, elsewhere])
        assert (d / "r.bvh").read_text() == "moved aside by a publish"
        assert live.exists() and mine.exists()
    finally:
        holder.kill()
        holder.wait()
    remove_stale_temporaries(d, locked=False)  # now that it is gone, its file goes too
    assert not live.exists() and mine.exists()


def _frame_png(video: Path, path: Path) -> Path:
    import cv2

    cap = cv2.VideoCapture(str(video))
    ok, frame = cap.read()
    cap.release()
    assert ok
    cv2.imwrite(str(path), frame)
    return path


def _walk_bvh(path: Path) -> Path:
    """A short CMU-rig BVH (tests.helpers.probe_motion), so a plain clone runs these too."""
    from mocap.export.bvh import write_bvh
    from mocap.retarget.solver import retarget
    from mocap.skeleton.rig import load_rig

    return write_bvh(retarget(probe_motion(), load_rig("cmu"), 30.0), path)


@pytest.mark.parametrize(("argv", "name", "code"), [
    (["retarget", "{bvh}", "--rig", "mixamo", "-o", "{out}/r.bvh"], "r.bvh", 0),
    (["export", "{bvh}", "-o", "{out}/e.fbx", "--blender", "/bin/true"], "e.fbx", 3),
    pytest.param(["pose", "{image}", "--json", "{out}/p.json"], "p.json", 0,
                 marks=pytest.mark.slow),
    pytest.param(["convert", "{clip}", "-o", "{out}", "--no-preview"], "person_1.bvh", 0,
                 marks=pytest.mark.slow),
    pytest.param(["track", "{clip}", "-o", "{out}"], "tracks.npz", 0,
                 marks=pytest.mark.slow),
    pytest.param(["batch", "{clip}", "-o", "{out}", "--no-preview"], "batch.json", 0,
                 marks=pytest.mark.slow),
], ids=["retarget", "export", "pose", "convert", "track", "batch"])
def test_every_writing_command_removes_what_killed_runs_left(argv, name, code, tmp_path,
                                                             demo_video_path):
    """`retarget`, `pose`, `export` and the batch directory kept the `.part` files of a
    run killed outright (96 MB seen); a live run's temporaries are never touched."""
    out = tmp_path / "out"
    dead, old, live, holder = _leftovers(out, name)
    try:
        clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 12)
        image = _frame_png(clip, tmp_path / "frame.png")
        bvh = _walk_bvh(tmp_path / "walk.bvh")
        args = [a.format(bvh=bvh, out=out, clip=clip, image=image) for a in argv]
        proc = subprocess.run([sys.executable, "-m", "mocap", *args], capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == code, proc.stderr
        assert not dead.exists() and not old.exists()
        assert live.exists()  # still being written by a live process
    finally:
        holder.kill()
        holder.wait()


def test_reading_a_small_file_reserves_no_more_than_it_needs(tmp_path):
    """read(cap + 1) reserved the kind's whole cap (1 GiB for a BVH) for every read."""
    import tracemalloc

    path = tmp_path / "a.bvh"
    path.write_text(SMALL_BVH * 100)
    tracemalloc.start()
    try:
        data = read_input(path, "bvh")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(data) == path.stat().st_size
    assert peak < 4 * len(data) + (1 << 16), peak


@posix_only
def test_batch_given_a_fifo_does_not_hang(tmp_path):
    """batch hashed each input's first MiB with a plain open(), which blocks on a FIFO
    with no writer, while it held the batch's lock."""
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    try:
        proc = subprocess.run([sys.executable, "-m", "mocap", "batch", str(fifo), "-o",
                               str(tmp_path / "out"), "--no-preview"], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail("mocap batch on a FIFO did not return within 60 s")
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    assert "is a pipe (FIFO)" in proc.stderr + proc.stdout
