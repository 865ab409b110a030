"""preview.mp4: the exported rig drawn on the video, bridged frames drawn differently."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.app.draw import PALETTE, draw_rig
from mocap.app.person import PersonMotion, PersonResult, person_stats
from mocap.app.preview import write_rig_preview
from mocap.motion.world import WorldMotion
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from mocap.types import NUM_LANDMARKS, Track
from tests.helpers import decoded_frames

FPS = 30.0
SIZE = (640, 480)
FOCAL = 500.0


def _video(path: Path, n: int) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    for _ in range(n):
        writer.write(np.full((SIZE[1], SIZE[0], 3), 128, np.uint8))
    writer.release()
    return path


def _person(first: int, observed: np.ndarray, total: int) -> PersonResult:
    """A T-posed mixamo rig 3 m in front of the default camera, seen where ``observed``."""
    rig = load_rig("mixamo")
    n = len(observed)
    root = np.tile([0.0, 0.0, -3.0], (n, 1))
    anim = Animation(rig, root, np.tile([0, 0, 0, 1.0], (n, len(rig), 1)), FPS)
    image = np.full((n, NUM_LANDMARKS, 3), 100.0)
    vis = np.where(observed[:, None], 0.9, 0.0) * np.ones((n, NUM_LANDMARKS))
    frames = first + np.arange(n)
    track = Track(1, frames, frames / FPS, observed, image, np.zeros_like(image), vis, vis,
                  np.where(observed, 0.9, 0.0), image, np.zeros_like(image))
    wm = WorldMotion(np.zeros((n, NUM_LANDMARKS, 3)), root, np.zeros((n, 2), bool), FPS,
                     None, focal=FOCAL)
    motion = PersonMotion(anim, wm, None, None)
    camera = (wm.camera_rotation, wm.camera_translation)
    stats = person_stats(track, motion, camera, FOCAL, SIZE, total)
    return PersonResult(1, track, motion, total, camera, stats)


def test_bridged_frames_are_drawn_dashed_without_joint_dots(tmp_path):
    observed = np.array([True, True, False, False, True])
    person = _person(1, observed, 7)
    out = write_rig_preview(_video(tmp_path / "v.avi", 7), [person], tmp_path / "p.mp4", FPS,
                            SIZE, 60.0)
    frames = decoded_frames(out)
    assert len(frames) == 7
    red = np.array(PALETTE[0])
    coloured = [int((np.abs(img - red).sum(-1) < 90).sum()) for img in frames]
    white = [int((img.min(-1) > 220).sum()) for img in frames]
    # nobody before the first and after the last appearance
    assert coloured[0] == coloured[6] == 0 and white[0] == white[6] == 0
    seen, bridged = [coloured[i] for i in (1, 2, 5)], [coloured[i] for i in (3, 4)]
    # the rig is drawn in every frame of the span, in the bridged ones too ...
    assert min(bridged) > 100
    # ... but dashed and thinner (well under the seen frames' ink), without joint dots
    assert max(bridged) < 0.6 * min(seen)
    assert min(white[i] for i in (1, 2, 5)) > 30 and max(white[i] for i in (3, 4)) == 0


def test_draw_rig_unseen_draws_less_in_the_same_place():
    rig = load_rig("mixamo")
    pts = rig.rest_positions()[:, :2] * [200, -200] + [320, 300]
    seen = draw_rig(np.zeros((480, 640, 3), np.uint8), pts, rig.parents, (255, 0, 0))
    unseen = draw_rig(np.zeros((480, 640, 3), np.uint8), pts, rig.parents, (255, 0, 0),
                      seen=False)
    ink_seen, ink_unseen = seen.any(-1), unseen.any(-1)
    assert ink_unseen.sum() > 0.1 * ink_seen.sum()
    assert ink_unseen.sum() < 0.6 * ink_seen.sum()
    # the dashes lie on the bones the solid drawing has (no ink anywhere else)
    assert (ink_unseen & ~ink_seen).sum() == 0
    assert (unseen.min(-1) > 220).sum() == 0  # no white joint dots


def _moving_video(path: Path, n: int, size=(1280, 720)) -> Path:
    """A textured picture with a bright square moving across (frame k: square at 20 k px)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 255, (size[1], size[0], 3), np.uint8), (9, 9), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, size)
    for k in range(n):
        img = base.copy()
        cv2.rectangle(img, (20 * k, 100), (20 * k + 80, 300), (250, 250, 250), -1)
        writer.write(img)
    writer.release()
    return path


def test_the_preview_from_kept_frames_is_the_preview_read_again(tmp_path):
    """Frames kept by the tracking pass (at the preview's size, YUV 4:2:0) give the preview
    the decoded-again one gives (within the colour format's rounding), and each its own
    frame; past the budget or out of order nothing is kept (the video is read again)."""
    from mocap.app.preview import PreviewFrames, preview_size, render_video
    from mocap.io.video import open_video

    video = _moving_video(tmp_path / "v.avi", 12)
    kept = PreviewFrames((1280, 720))
    with open_video(video, on_frame=kept) as reader:
        count = sum(1 for _ in reader)
    assert kept.complete(count) and kept.size == preview_size((1280, 720)) == (960, 540)
    scales = []

    def draw(frame, scale):
        scales.append(scale)
        return np.ascontiguousarray(frame.image)

    a = render_video(video, tmp_path / "kept.mp4", draw, frames=kept)
    b = render_video(video, tmp_path / "again.mp4", draw)
    assert scales == [0.75] * 24
    fa, fb = decoded_frames(a), decoded_frames(b)
    assert len(fa) == len(fb) == 12
    for k, (x, y) in enumerate(zip(fa, fb, strict=True)):
        assert np.abs(x.astype(int) - y.astype(int)).mean() < 3
        assert x[150, int(0.75 * (20 * k + 40))].min() > 200  # its own square, in place
    # a budget for 5 frames: let go at the 6th; frames out of order: let go
    small = PreviewFrames((1280, 720), budget=5 * 960 * 540 * 3 // 2)
    with open_video(video, on_frame=small) as reader:
        assert sum(1 for _ in reader) == 12
    assert small.frames is None and not small.complete(12)
    skipped = PreviewFrames((1280, 720))
    with open_video(video) as reader:
        for frame in reader:
            if frame.index != 3:
                skipped(frame)
    assert skipped.frames is None


@pytest.mark.parametrize("width, height", [(480, 853), (100, 962), (1280, 721)])
def test_kept_frames_of_odd_sizes_are_the_frames_at_the_previews_size(width, height):
    """A side that only the even rounding changes (853 -> 852 high at the same width) is
    still resized: every kept frame is the picture at the preview's size."""
    from mocap.app.preview import PreviewFrames, preview_size
    from mocap.io.video import Frame

    kept = PreviewFrames((width, height))
    for k in range(3):
        image = np.full((height, width, 3), 60 + 60 * k, np.uint8)
        image[: height // 2, :, 0] = 250
        kept(Frame(k, k / FPS, image))
    assert kept.complete(3)
    w, h = preview_size((width, height))
    for k, frame in enumerate(kept):
        assert frame.image.shape == (h, w, 3)
        assert abs(int(frame.image[-5, w // 2, 1]) - (60 + 60 * k)) <= 3
        assert frame.image[5, w // 2, 0] >= 245
