"""Quality warnings: what a user should look at before trusting a conversion unattended.

Each warning is ``{code, message, frames}`` (``frames``: ``[first, last]`` video frame
ranges it concerns, empty for the whole clip). Thresholds (also in the README):

- ``short_track``: a person seen in fewer than :data:`SHORT_TRACK_S` seconds of frames;
- ``low_coverage``: seen in less than :data:`LOW_COVERAGE` of their own span (first to last
  appearance; the rest is bridged by the smoother);
- ``id_gap``: a gap of :data:`ID_GAP_S` seconds or more inside that span (the person not
  seen, their motion bridged by the smoother: marked ``observed`` false in the data and
  drawn dashed, without joint dots, in the preview), one frame range per gap;
- ``low_confidence``: mean landmark confidence under :data:`LOW_CONFIDENCE`;
- ``floating``: the lowest joint more than :data:`FLOATING_M` above the ground in at least
  half of the frames;
- ``feet_off_ground``: no foot contact in any frame of a track of at least
  :data:`FEET_OFF_GROUND_S` seconds;
- ``feet_out_of_view``: every foot landmark (ankles, heels, toes) outside the picture in at
  least :data:`FEET_OUT_OF_VIEW` of the frames the person was seen in (a close-up, a
  telephoto framing the upper body): placement there rests on the body above the feet, so
  heights and travel are less sure; one frame range per stretch;
- per video: ``truncated`` (only the decodable frames were read), ``nobody_found``;
  ``camera_moving`` (the camera turned or zoomed; people are placed through the estimate),
  ``camera_translating`` (the background moves in ways no turn or zoom explains in at
  least :data:`~mocap.perception.camera_motion.CameraMotionConfig` ``translating_share``
  of the frames: the camera travels, so positions and heights may be wrong),
  ``camera_unreliable`` (the camera moved, and its motion could not be measured, too
  little background, in more than :data:`CAMERA_UNRELIABLE` of the frames; interpolated
  there: a camera with no sign of moving is taken as fixed, not as unreliable).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from mocap.app.person import PersonResult
from mocap.geometry.camera import outside_image
from mocap.geometry.series import segments
from mocap.perception.camera_motion import CameraMotionConfig
from mocap.types import CameraPath, Track

SHORT_TRACK_S = 1.0
LOW_COVERAGE = 0.6
ID_GAP_S = 0.3
LOW_CONFIDENCE = 0.5
FLOATING_M = 0.25
FEET_OFF_GROUND_S = 2.0
FEET_OUT_OF_VIEW = 0.3
#: The foot landmarks (ankles, heels, foot tips) ``feet_out_of_view`` looks at.
FOOT_LANDMARKS = tuple(range(27, 33))
CAMERA_UNRELIABLE = 0.1


@dataclass(frozen=True)
class QualityWarning:
    """One warning: a code from the module docstring, a sentence, the frames concerned."""

    code: str
    message: str
    frames: list[list[int]] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def frame_ranges(mask: np.ndarray, first: int = 0) -> list[list[int]]:
    """``[first, last]`` video frame ranges where ``mask`` (frames from ``first``) holds."""
    return [[int(first + s), int(first + e - 1)] for s, e in segments(mask)]


def person_warnings(p: PersonResult, fps: float,
                    size: tuple[int, int] | None = None) -> list[QualityWarning]:
    """The warnings of one exported person: :func:`track_warnings` of their track, then
    ``floating``, ``feet_off_ground`` and, given the video's (width, height) ``size``,
    ``feet_out_of_view``."""
    s = p.stats
    out = track_warnings(p.track, fps)
    lowest = p.animation.points().positions[..., 1].min(axis=1)  # joints and End Sites
    high = lowest > FLOATING_M
    if high.mean() >= 0.5:
        out.append(QualityWarning("floating", f"the lowest joint is more than {FLOATING_M} m "
                                  f"above the ground in {100 * high.mean():.0f} % of the "
                                  f"frames (median {np.median(lowest):.2f} m)",
                                  frame_ranges(high, s.first_frame)))
    contacts = p.motion.world.contacts
    if not contacts.any() and s.frames_observed >= FEET_OFF_GROUND_S * fps:
        out.append(QualityWarning("feet_off_ground", "no foot contact in any frame (jumping, "
                                  "sitting, or placed above the floor)",
                                  [[s.first_frame, s.last_frame]]))
    if size is not None:
        out += _feet_out_of_view(p.track, size)
    return out


def _feet_out_of_view(t: Track, size: tuple[int, int]) -> list[QualityWarning]:
    out = outside_image(t.image[:, list(FOOT_LANDMARKS), :2], *size).all(axis=1) & t.observed
    seen = int(t.observed.sum())
    if not seen or out.sum() < FEET_OUT_OF_VIEW * seen:
        return []
    ranges = frame_ranges(out, t.first_frame)
    return [QualityWarning("feet_out_of_view", f"the feet are outside the picture in "
                           f"{100 * out.sum() / seen:.0f} % of the frames the person was seen "
                           "in: placed there from the body above them, so heights and travel "
                           "are less sure", ranges)]


def track_warnings(t: Track, fps: float) -> list[QualityWarning]:
    """The warnings of one tracked person that need no 3D (``short_track``,
    ``low_coverage``, ``id_gap``, ``low_confidence``): ``mocap track`` prints these, and
    :func:`person_warnings` starts from them. Coverage and confidence as
    :class:`~mocap.app.person.PersonStats` gives them (``coverage_span``,
    ``mean_confidence``)."""
    first, last, seen = t.first_frame, t.last_frame, t.frames_observed
    span = last - first + 1
    out = []
    if seen < SHORT_TRACK_S * fps:
        out.append(QualityWarning("short_track", f"seen in only {seen} frames "
                                  f"({seen / fps:.1f} s)", [[first, last]]))
    own = round(seen / max(span, 1), 4)
    if own < LOW_COVERAGE:
        out.append(QualityWarning("low_coverage", f"seen in {100 * own:.0f} % of the frames "
                                  f"from first to last appearance ({seen} of "
                                  f"{span}); the rest is interpolated",
                                  frame_ranges(~t.observed, first)))
    # a frame short of the threshold by float rounding (0.3 s at 30 fps: 9 frames) counts
    gaps = [g for g in frame_ranges(~t.observed, first)
            if g[1] - g[0] + 1 >= ID_GAP_S * fps - 1e-6]
    if gaps:
        longest = max(g[1] - g[0] + 1 for g in gaps)
        where = ", ".join(f"{a}-{b}" for a, b in gaps[:5]) + (", ..." if len(gaps) > 5 else "")
        out.append(QualityWarning(
            "id_gap", f"not seen in {len(gaps)} gap{'s' if len(gaps) != 1 else ''} of "
            f"{ID_GAP_S:g} s or more inside the track, up to {longest / fps:.2f} s (frames "
            f"{where}; hidden, or lost and found again): the motion there is bridged", gaps))
    vis = t.visibility[t.observed]
    confidence = round(float(vis.mean()) if vis.size else 0.0, 4)
    if confidence < LOW_CONFIDENCE:
        out.append(QualityWarning("low_confidence", f"mean landmark confidence "
                                  f"{confidence:.2f} (under {LOW_CONFIDENCE})"))
    return out


def video_warnings(truncated: bool, frames: int, people: int,
                   camera: CameraPath | None = None) -> list[QualityWarning]:
    """The warnings of the whole video (``camera``: the camera's estimated motion, when it
    was estimated)."""
    out = []
    if camera is not None and len(camera):
        out += camera_warnings(camera)
    if truncated:
        out.append(QualityWarning("truncated", f"the video is truncated or corrupt: only the "
                                  f"{frames} decodable frames were processed"))
    if not people:
        out.append(QualityWarning("nobody_found", f"no person was found in {frames} frames"))
    return out


def camera_warnings(camera: CameraPath) -> list[QualityWarning]:
    """``camera_moving``, ``camera_translating``, ``camera_unreliable`` (module docstring)."""
    out = []
    angles = camera.angles_deg()
    if camera.moving:
        pan, tilt = angles[:, 0], angles[:, 1]
        zoom = (f", zoomed x{camera.zoom.min():.2f}-{camera.zoom.max():.2f}"
                if np.abs(camera.zoom - 1).max() > CameraMotionConfig().moving_zoom else "")
        out.append(QualityWarning(
            "camera_moving", f"the camera turned (pan {pan.min():+.1f} to {pan.max():+.1f} "
            f"deg, tilt {tilt.min():+.1f} to {tilt.max():+.1f} deg{zoom}); people are placed "
            "in the world of the first frame's view"))
    if camera.translating:
        low = np.isfinite(camera.inlier_share) & \
            (camera.inlier_share < CameraMotionConfig().translating_inliers)
        out.append(QualityWarning(
            "camera_translating", "the background moves in ways no turn or zoom of the "
            f"camera explains in {100 * low.mean():.0f} % of the frames (the camera travels, "
            "e.g. carried while walking): positions and heights may be wrong there",
            frame_ranges(low)))
    bad = ~camera.reliable
    # too few features on a camera that shows no sign of moving is a fixed camera (a tripod
    # before a plain wall), not a failure: the estimate was needed only if it moved
    if camera.moving and bad.mean() > CAMERA_UNRELIABLE:
        out.append(QualityWarning(
            "camera_unreliable", f"the camera's motion could not be measured in "
            f"{100 * bad.mean():.0f} % of the frames (too little still background); it is "
            "interpolated there", frame_ranges(bad)))
    return out
