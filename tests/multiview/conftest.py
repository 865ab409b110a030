"""Fixtures of the multiview tests: the product's own tracks of Pose2Sim's Demo_MultiPerson."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_tracks(multiview_demo):
    """``(calibration Y up, tracks per view)``: :func:`mocap.tracking.loop.track_video` on
    each of the demo's 4 videos (100 frames each, about 6 s a view on 2 cores)."""
    from mocap.multiview.calibration import read_calibration
    from mocap.tracking.loop import track_video

    calib = read_calibration(multiview_demo["Calib.qca.txt"]).to_y_up()
    tracks = [track_video(multiview_demo[f"cam0{v + 1}.mp4"]).tracks
              for v in range(len(calib))]
    return calib, tracks
