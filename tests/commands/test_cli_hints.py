"""The CLI forgives small mistakes: close matches for subcommands, options and values,
case-insensitive rig names, hints between `pose` and `convert`, `-q` on every command, and a
missing Blender found before any work."""

from __future__ import annotations

import pytest

from mocap.cli import build_parser, main
from mocap.errors import InputError
from mocap.skeleton.rig import load_rig
from tests.helpers import assert_one_line_error, cut_video, run_cli


def _err(capsys, argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return exc.value.code, capsys.readouterr().err


def test_a_mistyped_subcommand_gets_a_suggestion(capsys):
    code, err = _err(capsys, ["covert", "x.mp4"])
    assert code == 2 and "did you mean 'convert'?" in err


def test_a_mistyped_option_gets_the_subcommands_usage_and_a_suggestion(capsys):
    code, err = _err(capsys, ["convert", "x.mp4", "-o", "out", "--rigs", "smpl"])
    assert code == 2
    assert "usage: mocap convert" in err and "did you mean --rig?" in err


def test_a_mistyped_choice_gets_a_suggestion(capsys):
    code, err = _err(capsys, ["convert", "x.mp4", "-o", "out", "--detector", "movnet"])
    assert code == 2 and "did you mean 'movenet'?" in err


@pytest.mark.parametrize("name", ["SMPL", "Mixamo", " cmu "])
def test_rig_names_are_case_insensitive(name):
    assert load_rig(name).name == name.strip().lower()


def test_an_unknown_rig_suggests_the_closest():
    with pytest.raises(InputError, match=r"unknown rig 'smlp' \(did you mean 'smpl'\?\)"):
        load_rig("smlp")


@pytest.mark.parametrize("command", ["convert", "batch", "demo", "pose", "track", "models",
                                     "retarget", "export", "calibrate"])
def test_every_command_takes_quiet(command):
    parser = build_parser()
    sub = next(a for a in parser._subparsers._group_actions).choices[command]
    assert "-q" in [o for a in sub._actions for o in a.option_strings]


def test_a_photo_given_to_convert_points_to_pose(tmp_path):
    import cv2
    import numpy as np

    photo = tmp_path / "photo.jpg"
    cv2.imwrite(str(photo), np.zeros((64, 64, 3), np.uint8))
    proc = run_cli("convert", photo, "-o", tmp_path / "out")
    assert_one_line_error(proc, "is a still image", f"mocap pose {photo}")
    assert proc.returncode == 2 and not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_video_given_to_pose_points_to_convert(demo_video_path, model_paths, tmp_path):
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 3)
    proc = run_cli("pose", clip)
    assert_one_line_error(proc, "it looks like a video", f"mocap convert {clip} -o DIR")
    assert proc.returncode == 2  # every input was bad input


@pytest.mark.slow
def test_a_missing_blender_is_found_before_any_work(demo_video_path, model_paths, tmp_path):
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 3)
    out = tmp_path / "out"
    proc = run_cli("convert", clip, "-o", out, "--formats", "bvh,fbx", "--blender",
                   tmp_path / "no-such-blender")
    assert_one_line_error(proc, "--blender", "is not an executable file")
    assert proc.returncode == 3 and not out.exists()


@pytest.mark.slow
def test_quiet_track_prints_nothing_but_json_and_warnings(demo_video_path, model_paths,
                                                          tmp_path):
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 12)
    proc = run_cli("track", clip, "-o", tmp_path / "t", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    # a 12-frame clip: everyone is a short_track, and warnings still show with -q
    warned = proc.stderr.splitlines()
    assert warned and all(ln.startswith("mocap: warning: person ") for ln in warned)
    proc = run_cli("track", clip, "-o", tmp_path / "t2", "-q", "--json")
    assert proc.stdout.startswith("{") and proc.stderr.splitlines() == warned


@pytest.mark.slow
def test_warnings_are_printed_and_strict_makes_them_fail(demo_video_path, model_paths,
                                                         tmp_path):
    import json

    # 60 frames: the walker enters at frame 40, so he is seen for under a second
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 60)
    proc = run_cli("convert", clip, "-o", tmp_path / "a", "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("mocap: warning: person")]
    assert any("short_track" in ln for ln in lines), proc.stderr
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    codes = [w["code"] for p in report["people"] for w in p["warnings"]]
    assert "short_track" in codes and len(codes) == len(lines)
    strict = run_cli("convert", clip, "-o", tmp_path / "b", "--no-preview", "-q", "--strict")
    assert strict.returncode == 1
    assert strict.stderr.strip().splitlines()[-1].startswith("mocap: error: ")
    assert "(--strict)" in strict.stderr
    assert (tmp_path / "b" / "report.json").exists()  # the outputs are still written


@pytest.mark.parametrize("command", ["convert", "demo", "batch", "track", "pose"])
def test_every_capturing_command_takes_hands(command):
    """`--hands` / `--hand-model` on every command that captures people; the conversion's
    settings (what a batch worker receives) carry them."""
    from mocap.commands.options import convert_config, hand_config

    argv = {"convert": ["convert", "x.mp4", "-o", "out"], "demo": ["demo"],
            "batch": ["batch", "clips/", "-o", "out"], "track": ["track", "x.mp4", "-o", "o"],
            "pose": ["pose", "x.jpg"]}[command]
    args = build_parser().parse_args([*argv, "--hands", "--hand-model", "lite"])
    assert hand_config(args).model == "lite"
    if command in ("convert", "demo", "batch"):
        cfg = convert_config(args)
        assert cfg.hands and cfg.hand_model == "lite"
    plain = build_parser().parse_args(argv)
    assert hand_config(plain) is None


def test_an_unknown_hand_model_is_refused(capsys):
    code, err = _err(capsys, ["convert", "x.mp4", "-o", "out", "--hands", "--hand-model",
                              "heavy"])
    assert code == 2 and "--hand-model" in err


@pytest.mark.parametrize("argv", [
    ["convert", "{video}", "-o", "{out}", "--threads", "30000"],
    ["convert", "{video}", "-o", "{out}", "--threads", "99999999999"],
    ["track", "{video}", "-o", "{out}", "--threads", "100000"],
    ["pose", "{video}", "--threads", "0"],
    ["batch", "{video}", "-o", "{out}", "--threads", "30000"],
    ["batch", "{video}", "-o", "{out}", "--jobs", "30000"],
], ids=["convert-30000", "convert-1e11", "track-1e5", "pose-0", "batch-threads", "batch-jobs"])
def test_thread_and_job_counts_out_of_range_are_one_line_errors(tmp_path, argv):
    """`--threads 30000` crashed torch's pool then segfaulted, 1e11 was a TypeError: every
    command refuses counts outside 1..256 before any work, writing nothing."""
    out = tmp_path / "out"
    args = [a.format(video=tmp_path / "v.mp4", out=out) for a in argv]
    (tmp_path / "v.mp4").write_bytes(b"\0" * 100)
    proc = run_cli(*args, timeout=120)
    option = "--jobs" if "--jobs" in args else "--threads"
    assert_one_line_error(proc, f"{option} must be between 1 and 256, got {args[-1]}")
    assert proc.returncode == 2 and not out.exists()
