"""mocap.fileio.read_input / check_input: the one rule for input files. Devices, pipes,
sockets and folders are refused in one line, before anything is read (reading /dev/zero
never ended; opening a FIFO blocked until someone wrote to it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mocap.errors import InputError
from mocap.fileio import INPUT_KINDS, check_input, read_input
from tests.helpers import SMALL_BVH, assert_one_line_error

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
