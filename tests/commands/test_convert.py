"""`mocap convert`'s printed summary: wall-clock time, the two coverage shares, path length
and net displacement, "no contact", and the Blender hint for the files' units."""

from __future__ import annotations

import json
import re
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mocap.app.convert import ConvertResult
from mocap.commands.convert import blender_import_hint, print_result
from tests.app.test_checks import person
from tests.helpers import cut_video, run_cli


def _result(people, units: str = "m") -> ConvertResult:
    # the stages overlap (the report page is made while the preview is written): their sum
    # is more than the wall clock
    return ConvertResult(Path("clip.mp4"), Path("out"), people, [Path("out/person_1.bvh")],
                         120, 30.0, False, {"tracking": 9.0, "preview": 3.9, "report": 2.0},
                         wall_s=13.0, units=units)


def test_summary_time_is_the_wall_clock_not_the_sum_of_stages(capsys):
    print_result(_result([]))
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("120 frames at 30 fps in 13.0 s (9.2 fps)"), first
    assert "14.9" not in first


def test_summary_names_both_coverages_path_and_no_contact(capsys):
    seen = np.array([i < 60 or i >= 90 for i in range(120)])  # 90 of the 120 frames
    p = person(observed=seen)
    p.stats = replace(p.stats, first_frame=30, last_frame=149, foot_skate_m_per_s=None,
                      root_path_length_m=10.04, root_net_displacement_m=0.22,
                      coverage_span=0.75, coverage_video=0.5)
    print_result(_result([p], units="cm"))
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("  person 1:"))
    assert "seen in 90 (75% of their span, 50% of the video)" in line
    assert "foot skate no contact" in line and "0.0 cm/s" not in line
    assert "root path 10.0 m (net 0.2 m)" in line
    assert out.rstrip().splitlines()[-1] == blender_import_hint("cm")


@pytest.mark.parametrize(("units", "scale"), [("m", "Scale 1:"), ("cm", "Scale 0.01:")])
def test_the_blender_hint_follows_the_units(units, scale):
    hint = blender_import_hint(units)
    assert scale in hint
    assert "scale 1.0 for metres" not in hint
    # (that this Scale gives true size in Blender: tests/export/test_bvh_in_blender.py)


@pytest.mark.slow
def test_convert_prints_wall_clock_time_and_the_hint_for_its_units(demo_video_path,
                                                                  model_paths, tmp_path):
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 60)
    t0 = time.perf_counter()
    proc = run_cli("convert", clip, "-o", tmp_path / "out", "--units", "cm")
    elapsed = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    seconds = float(re.match(r"60 frames at [0-9.]+ fps in ([0-9.]+) s", lines[0]).group(1))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    # the wall clock of the conversion: within the process's own, at least its longest stage
    assert max(report["timings_s"].values()) - 0.05 <= seconds <= elapsed
    assert lines[-1] == blender_import_hint("cm") and "Scale 0.01" in lines[-1]
    assert report["units"] == "cm"
    for p in report["people"]:
        span = p["last_frame"] - p["first_frame"] + 1
        assert p["coverage_span"] == pytest.approx(p["frames_observed"] / span, abs=1e-4)
        assert p["coverage_video"] == pytest.approx(p["frames_observed"] / 60, abs=1e-4)
        assert p["root_path_length_m"] >= p["root_net_displacement_m"] - 1e-3
        assert "coverage" not in p and "root_travel_m" not in p
