"""Which focal length one video is converted with (mocap.app.lens, `--fov`, `--focal-px`)
and that report.json says so."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from mocap.app.convert import ConvertConfig
from mocap.app.lens import Lens, given_lens, prior_fov, resolve_lens
from mocap.errors import InputError
from mocap.types import CameraPath
from tests.helpers import assert_one_line_error, run_cli


def test_given_options_win_and_are_checked():
    lens = given_lens((1920, 1080), None, 1500.0)
    assert (lens.focal_px, lens.source) == (1500.0, "user")
    assert lens.fov_deg == pytest.approx(2 * np.degrees(np.arctan(960 / 1500)))
    by_fov = given_lens((1920, 1080), 90.0, None)
    assert by_fov.focal_px == pytest.approx(960.0) and by_fov.fov_deg == 90.0
    assert given_lens((1920, 1080), None, None) is None
    with pytest.raises(InputError, match="--focal-px 50 on a video 1920 px wide"):
        given_lens((1920, 1080), None, 50.0)
    with pytest.raises(InputError, match="not both"):
        ConvertConfig(fov_deg=60.0, focal_px=1000.0)
    with pytest.raises(InputError, match="--focal-px must be a positive number"):
        ConvertConfig(focal_px=-3.0)


def test_prior_is_on_the_long_side():
    """65 deg over the long side: a portrait 1080x1920 frame gets 1507 px (a calibrated
    phone's 1675-1682 px: 10 % off), not 60 deg over its width (935 px: 44 % off)."""
    fov = prior_fov((1080, 1920))
    focal = 540 / np.tan(np.radians(fov) / 2)
    assert focal == pytest.approx(960 / np.tan(np.radians(32.5)), rel=1e-6)
    assert prior_fov((1920, 1080)) == pytest.approx(65.0)


def _path(frames=5, moving=True, focal=None, fitted=900.0):
    still = CameraPath.still(frames)
    return replace(still, moving=moving, focal_px=focal, focal_std_px=None if focal is None
                   else 0.05 * focal, focal_source=None if focal is None else "rotation",
                   fitted_focal_px=fitted)


def test_sources_in_order():
    size = (1280, 720)
    user = given_lens((1280, 720), None, 3000.0)
    assert resolve_lens(user, _path(focal=4900.0, fitted=4900.0), True, [], size, 30.0) is user
    rot = resolve_lens(None, _path(focal=4900.0, fitted=4900.0), True, [], size, 30.0)
    assert (rot.source, rot.focal_px) == ("rotation", 4900.0)
    assert rot.uncertainty == pytest.approx(0.05)
    # moved, but the turning did not tell: the focal its rotations were fitted at
    moved = resolve_lens(None, _path(fitted=1100.0), True, [], size, 30.0)
    assert (moved.source, moved.focal_px) == ("assumed", 1100.0)
    # fixed and nobody to measure: the prior
    fixed = resolve_lens(None, _path(moving=False), False, [], size, 30.0)
    assert fixed.source == "prior" and fixed.fov_deg == pytest.approx(65.0)


def test_a_stated_focal_after_the_turning_before_the_lines_and_people():
    """The container's 35 mm equivalent: behind --focal-px and a measured turning, ahead
    of an estimate; a moving camera fitted at another focal keeps that one; the scene's
    lines only for a fixed camera, before the people."""
    size = (1280, 720)
    stated = Lens.measured(1500.0, "metadata", np.nan, size, "35 mm equivalent 50 mm")
    user = given_lens(size, None, 3000.0)
    turned = _path(focal=4900.0, fitted=4900.0)
    assert resolve_lens(user, turned, True, [], size, 30.0, stated) is user
    assert resolve_lens(None, turned, True, [], size, 30.0, stated).source == "rotation"
    assert resolve_lens(None, _path(moving=False), False, [], size, 30.0, stated) is stated
    assert resolve_lens(None, _path(fitted=1500.0), True, [], size, 30.0, stated) is stated
    other = resolve_lens(None, _path(fitted=1100.0), True, [], size, 30.0, stated)
    assert (other.source, other.focal_px) == ("assumed", 1100.0)
    # the scene's lines: a fixed camera's, ahead of the people and the prior
    lines = Lens.measured(1400.0, "lines", 0.02, size, "from the scene's lines")
    assert resolve_lens(None, _path(moving=False), False, [], size, 30.0, None, lines) is lines
    assert resolve_lens(None, _path(moving=False), False, [], size, 30.0, stated,
                        lines) is stated
    assert resolve_lens(None, _path(fitted=1100.0), True, [], size, 30.0, None,
                        lines).source == "assumed"
    assert stated.summary() == "focal 1500 px (metadata)"


def test_cli_refuses_both_and_bad_focal(demo_video_path, tmp_path):
    both = run_cli("convert", demo_video_path, "-o", tmp_path / "a", "--fov", "60",
                   "--focal-px", "1000")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    wide = run_cli("convert", demo_video_path, "-o", tmp_path / "b", "--focal-px", "20")
    assert_one_line_error(wide, "--focal-px 20", "field of view")
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_a_phone_view_is_placed_near_its_calibrated_focal(multiview_demo, tmp_path):
    """Demo_MultiPerson's cam01 (portrait phone, calibrated 1681 px) converted alone: the
    focal length used comes from the lab's lines, within 3 % of the calibration (it was
    935 px, 44 % off, with the old 60 deg horizontal default; 1.5 % from the people
    blended with the prior) and report.json names its source; --focal-px is used as
    given."""
    out = tmp_path / "cam01"
    proc = run_cli("convert", multiview_demo["cam01.mp4"], "-o", out, "--no-preview",
                   "--formats", "bvh,json")
    assert proc.returncode == 0, proc.stderr
    focal = json.loads((out / "report.json").read_text())["camera"]["focal"]
    assert focal["source"] == "lines" and "segments" in focal["detail"]
    assert abs(focal["focal_px"] / 1681.0 - 1) < 0.03
    assert "focal" in proc.stdout
    given = run_cli("convert", multiview_demo["cam01.mp4"], "-o", tmp_path / "given",
                    "--no-preview", "--focal-px", "1681", "--json")
    assert given.returncode == 0, given.stderr
    summary = json.loads(given.stdout)
    assert summary["focal"]["source"] == "user" and summary["focal"]["focal_px"] == 1681.0
    report = json.loads((tmp_path / "given" / "report.json").read_text())
    assert report["camera"]["focal"]["focal_px"] == 1681.0


@pytest.mark.slow
def test_the_lines_estimate_runs_beside_the_tracking_pass(multiview_demo):
    """The middle frame's lines estimate, started on a thread as that frame goes by, is
    the one read by seeking; where the container's frame count was wrong (the frame kept
    is not the middle of those decoded, or never came), the middle is read by seeking."""
    from mocap.app.convert import _MiddleLines
    from mocap.app.lens import lines_lens
    from mocap.io.video import open_video

    video = multiview_demo["cam01.mp4"]
    with open_video(video) as reader:
        size, count = (reader.info.width, reader.info.height), reader.info.frame_count
        frames = list(reader)
    seek = lines_lens(video, size, count // 2)
    assert seek is not None and seek.source == "lines"
    for index in (count // 2, count // 2 - 7, count + 5):
        middle = _MiddleLines(video, size, index)
        for frame in frames:
            middle(frame)
        got = middle.result(len(frames))
        assert got is not None and got.focal_px == seek.focal_px, index
        assert f"frame {count // 2}:" in got.detail
