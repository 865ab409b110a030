"""Progress bars: frames and a frame rate, nothing when disabled."""

from __future__ import annotations

from mocap.commands.progress import ProgressBar


def test_bar_shows_frames_and_rate(capsys):
    bar = ProgressBar("tracking ", True)
    for i in range(1, 31):
        bar(i, 30)
    bar.close()
    err = capsys.readouterr().err
    assert "tracking: 100%" in err and "30/30" in err and "frames/s" in err
    assert "fpss" not in err


def test_disabled_bar_writes_nothing(capsys):
    bar = ProgressBar("preview", False)
    bar(5, 10)
    bar.close()
    assert capsys.readouterr().err == ""


def test_unknown_total_counts_frames(capsys):
    bar = ProgressBar("tracking", True)
    bar(7)
    bar.close()
    err = capsys.readouterr().err
    assert "7 frames" in err and "%" not in err
