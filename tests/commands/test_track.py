"""`mocap track`: its warnings on the terminal, from the track alone, once each."""

from __future__ import annotations

import json

import pytest

from mocap.app.checks import track_warnings
from mocap.commands.quality import warning_line
from mocap.tracking.tracks_io import load_tracks
from tests.helpers import cut_video, run_cli


@pytest.mark.slow
def test_track_prints_each_persons_warnings_once(demo_video_path, model_paths, tmp_path):
    # 60 frames: the walker enters at frame 40, so he is seen for under a second
    clip = cut_video(demo_video_path, tmp_path / "clip.mp4", 60)
    out = tmp_path / "t"
    proc = run_cli("track", clip, "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    warned = [ln for ln in proc.stderr.splitlines() if ln.startswith("mocap: warning:")]
    assert len(warned) == len(set(warned)) and warned == proc.stderr.splitlines()
    short = [t for t in summary["tracks"] if t["frames"] < summary["fps"]]
    assert short, summary  # the clip has someone seen under 1 s
    for t in short:
        assert any(ln.startswith(f"mocap: warning: person {t['id']}: short_track: seen in "
                                 f"only {t['frames']} frames") for ln in warned), warned
    # the lines are the warnings of the tracks written, nothing more
    tracks, _, fps = load_tracks(out / "tracks.npz")
    expected = [warning_line({"person": tr.id, **w.to_json()})
                for tr in tracks for w in track_warnings(tr, fps)]
    assert warned == expected
