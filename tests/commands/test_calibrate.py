"""`mocap calibrate`: a calibration file from rendered board videos (checked against the
true cameras), its table and JSON, and every bad input as one line and exit status 2."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from mocap.cli import main
from mocap.errors import InputError
from mocap.multiview.board import Board, detect_board_video
from mocap.multiview.calibration import read_calibration
from tests.multiview.test_board import board_motion, in_board_frame, rig, write_videos

BOARD = Board("charuco", (7, 5), 0.1)
ARGS = ["--board", "charuco", "--squares", "7x5", "--square-m", "0.1", "--every", "1"]


@pytest.fixture(scope="module")
def take(tmp_path_factory):
    truth = rig(2)
    poses = board_motion(BOARD, 30, seed=3)
    folder = tmp_path_factory.mktemp("take")
    return truth, poses, write_videos(folder, BOARD, truth, poses)


def _one_error(capsys, code: int, *needles: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("mocap: error: "), err
    for needle in needles:
        assert needle in err, err
    return err


@pytest.mark.slow
def test_calibrate_writes_the_true_cameras(take, tmp_path, capsys):
    truth, poses, videos = take
    out = tmp_path / "calibration.toml"
    code = main(["calibrate", *map(str, videos), "-o", str(out), *ARGS, "--json", "-q"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert [c["name"] for c in summary["cameras"]] == ["cam1", "cam2"]
    assert all(c["extrinsic_rms_px"] < 0.5 and c["intrinsic_rms_px"] < 0.5
               for c in summary["cameras"])
    got = read_calibration(out)
    ref = in_board_frame(truth, poses[summary["world_frame"]])
    assert got.names == ("cam1", "cam2")
    for g, r in zip(got, ref, strict=True):
        assert abs(g.K[0, 0] / r.K[0, 0] - 1) < 0.01
        assert np.linalg.norm(g.center - r.center) < 0.015
    # the same again without --force: refused, the file kept
    before = out.read_bytes()
    code = main(["calibrate", *map(str, videos), "-o", str(out), *ARGS])
    _one_error(capsys, code, f"{out} exists; use --force")
    assert out.read_bytes() == before
    # with --force: the table
    code = main(["calibrate", *map(str, videos), "-o", str(out), *ARGS, "--force"])
    text = capsys.readouterr().out
    assert code == 0
    lines = text.splitlines()
    assert lines[0].startswith("2 cameras calibrated in ")
    assert "(every frame searched;" in lines[0]
    assert lines[1].split() == ["camera", "size", "views", "lens", "px", "poses", "px",
                                "placed", "from"]
    # the table says what the JSON says
    for line, cam in zip(lines[2:4], summary["cameras"], strict=True):
        cells = line.split()
        assert cells[:3] == [cam["name"], "640x480",
                             f"{cam['views_found']}/{cam['views_used']}"]
        assert abs(float(cells[4]) - cam["extrinsic_rms_px"]) < 0.006
    assert lines[3].split()[-3:] == ["cam1", f"({summary['cameras'][1]['shared_frames']}",
                                     "frames)"]
    assert lines[-1] == f"  wrote {out}"


def test_an_unreadable_video_is_one_line(tmp_path, capsys):
    bad = tmp_path / "cam1.mp4"
    bad.write_text("not a video")
    code = main(["calibrate", str(bad), "-o", str(tmp_path / "c.toml"), *ARGS])
    _one_error(capsys, code, "cam1.mp4", "cannot be opened as a video")
    assert not (tmp_path / "c.toml").exists()


def _blank(path, frames: int = 8, size=(320, 240)) -> None:
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 30, size)
    for _ in range(frames):
        out.write(np.full((size[1], size[0], 3), 120, np.uint8))
    out.release()


def test_a_camera_that_never_sees_the_board_is_named(take, tmp_path, capsys):
    _, _, videos = take
    blank = tmp_path / "cam9.mkv"
    _blank(blank)
    code = main(["calibrate", str(videos[0]), str(blank), "-o", str(tmp_path / "c.toml"),
                 *ARGS])
    _one_error(capsys, code, "no board found in cam9.mkv", "check --board/--squares/"
               "--dictionary")


def test_the_wrong_dictionary_finds_no_board(take, tmp_path, capsys):
    _, _, videos = take
    code = main(["calibrate", str(videos[0]), "-o", str(tmp_path / "c.toml"), *ARGS,
                 "--dictionary", "DICT_5X5_50"])
    _one_error(capsys, code, "no board found in cam1.mkv")


def test_too_few_views_for_the_lens(tmp_path, capsys):
    truth = rig(1)
    poses = board_motion(BOARD, 4, seed=4)
    videos = write_videos(tmp_path, BOARD, truth, poses)
    code = main(["calibrate", str(videos[0]), "-o", str(tmp_path / "c.toml"), *ARGS])
    _one_error(capsys, code, "cam1.mkv: the board was found in only 4 frames",
               "at least 6 views")


@pytest.mark.parametrize(("extra", "needles"), [
    (["--dictionary", "DICT_9X9_1"], ("unknown ArUco dictionary 'DICT_9X9_1'",
                                      "DICT_4X4_50")),
    (["--board", "checkerboard", "--squares", "7x5"],
     ("looks the same turned by 180 degrees", "8x5")),
    (["--square-m", "-1"], ("square side must be a positive number",)),
    (["--every", "0"], ("--every must be >= 1",)),
])
def test_bad_options_are_one_line(take, tmp_path, capsys, extra, needles):
    _, _, videos = take
    code = main(["calibrate", *map(str, videos), "-o", str(tmp_path / "c.toml"), *ARGS,
                 *extra])
    _one_error(capsys, code, *needles)


def test_bad_squares_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", "a.mp4", "-o", "c.toml", "--squares", "7by5"])
    assert exc.value.code == 2
    assert "expected ACROSSxDOWN (e.g. 7x5), got '7by5'" in capsys.readouterr().err


def test_an_output_that_is_a_directory_is_refused(take, tmp_path, capsys):
    _, _, videos = take
    code = main(["calibrate", str(videos[0]), "-o", str(tmp_path), *ARGS])
    _one_error(capsys, code, "is a directory")


def test_two_videos_with_the_same_name_are_refused(take, tmp_path, capsys):
    _, _, videos = take
    other = tmp_path / "sub"
    other.mkdir()
    copy = other / videos[0].name
    copy.write_bytes(videos[0].read_bytes())
    code = main(["calibrate", str(videos[0]), str(copy), "-o", str(tmp_path / "c.toml"),
                 *ARGS])
    _one_error(capsys, code, "two videos are named 'cam1'")


def test_a_frame_size_that_changes_is_refused(monkeypatch, tmp_path):
    """The size check, with a reader whose third frame is smaller (no container mocap can
    write holds such a stream)."""
    from types import SimpleNamespace

    import mocap.multiview.board as board_module

    class Reader:
        info = SimpleNamespace(width=64, height=48, frame_count=4)
        frames_read = 0

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return None

        def __iter__(self):
            for i in range(4):
                shape = (48, 64, 3) if i != 2 else (40, 64, 3)
                yield SimpleNamespace(index=i, timestamp=i / 30, image=np.zeros(shape,
                                                                                np.uint8))

    monkeypatch.setattr(board_module, "open_video", lambda path, **kw: Reader())
    with pytest.raises(InputError, match=r"cam1.mkv: frame 2 is 64x40 px but the video "
                                         r"began at 64x48"):
        detect_board_video(tmp_path / "cam1.mkv", BOARD)
