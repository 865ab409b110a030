"""`mocap demo`: the demo video converted, its warnings on the terminal, --strict."""

from __future__ import annotations

import json

import pytest

from mocap.commands.quality import count, warning_line
from tests.helpers import run_cli


@pytest.mark.slow
def test_demo_prints_every_warning_once_and_strict_fails(demo_video_path, model_paths,
                                                          tmp_path):
    out = tmp_path / "demo"
    proc = run_cli("demo", "-o", out, "--no-preview", "--strict")
    report = json.loads((out / "report.json").read_text())
    expected = [warning_line({"person": None, **w}) for w in report["warnings"]]
    expected += [warning_line({"person": p["id"], **w}) for p in report["people"]
                 for w in p["warnings"]]
    warned = [ln for ln in proc.stderr.splitlines() if ln.startswith("mocap: warning:")]
    assert sorted(warned) == sorted(expected), proc.stderr
    # the README: person 1 gets `floating` for the frames he stands on the box
    assert any(ln.startswith("mocap: warning: person 1: floating: ") for ln in warned)
    assert "Done: the files are in" in proc.stdout  # the outputs are still written
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == \
        f"mocap: error: {count(len(expected), 'warning')} (--strict)"


@pytest.mark.slow
def test_demo_quiet_prints_no_summary_but_its_warnings(demo_video_path, model_paths,
                                                        tmp_path):
    """-q: no progress and no summary (the demo printed its summary anyway); warnings still
    show, as the README says for every command."""
    out = tmp_path / "demo"
    proc = run_cli("demo", "-o", out, "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert lines and all(ln.startswith("mocap: warning: ") for ln in lines), lines
    assert (out / "person_1.bvh").is_file()
