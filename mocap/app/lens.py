"""Which focal length a one-video conversion places people with, and where it came from.

In order: ``--focal-px`` (``user``); ``--fov`` (``user``, horizontal); a camera that turned
enough: its focal length from the turning (``rotation``,
:mod:`mocap.perception.camera_focal`: it measures the video itself, digital zoom and a
stabiliser's crop included); the 35 mm-equivalent focal length a phone wrote into the
container (``metadata``, :mod:`mocap.io.container`: the lens's own statement, ahead of an
estimate from the people); a camera that moved but could not tell: the focal length its
rotations were fitted at (``assumed``); a fixed camera: from the straight lines of a
man-made scene (``lines``, :mod:`mocap.perception.camera_lines`: three perpendicular
directions' vanishing points), else from the people in it (``people``) or, where they cannot
tell, a 65 deg field of view on the image's long side (``prior``; :mod:`mocap.geometry.focal`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError
from mocap.geometry.camera import FOV_RANGE_DEG, focal_px
from mocap.geometry.focal import estimate_focal, fov_from_focal, prior_focal
from mocap.io.container import lens_metadata
from mocap.io.video import frames_at
from mocap.perception.camera_lines import focal_from_lines
from mocap.types import CameraPath

#: Where a focal length comes from (report.json's ``camera.focal.source``).
SOURCES = ("user", "rotation", "metadata", "assumed", "lines", "people", "prior")


@dataclass(frozen=True)
class Lens:
    """The first frame's focal length of a conversion.

    Attributes:
        focal_px: px of the video (principal point at the image centre).
        source: one of :data:`SOURCES`.
        uncertainty: relative one-sigma uncertainty (0.0 for ``user``; NaN: not known).
        fov_deg: the horizontal field of view it makes, degrees (what the placement, the
            preview and the camera estimate take; a measured focal length beyond
            :data:`mocap.geometry.camera.FOV_RANGE_DEG` is held at its end).
        size: the video's (width, height), px.
        detail: a short note (the people's own estimate, why the prior was used).
    """

    focal_px: float
    source: str
    uncertainty: float
    fov_deg: float
    size: tuple[int, int]
    detail: str = ""

    @classmethod
    def measured(cls, focal: float, source: str, uncertainty: float, size: tuple[int, int],
                 detail: str) -> Lens:
        """A found focal length, its horizontal field of view kept in
        :data:`mocap.geometry.camera.FOV_RANGE_DEG`."""
        fov = float(np.clip(fov_from_focal(size[0], focal), *FOV_RANGE_DEG))
        return cls(float(focal), source, float(uncertainty), fov, tuple(size), detail)

    def report(self) -> dict:
        """report.json's ``camera.focal`` block."""
        long_fov = fov_from_focal(max(self.size), self.focal_px)
        unc = None if not np.isfinite(self.uncertainty) else round(float(self.uncertainty), 3)
        return {"focal_px": round(self.focal_px, 1), "source": self.source,
                "uncertainty": unc, "fov_horizontal_deg": round(self.fov_deg, 2),
                "fov_long_deg": round(float(long_fov), 2), "detail": self.detail}

    def summary(self) -> str:
        """One line for the terminal: ``focal 1507 px (prior, +-35 %)``."""
        unc = (f", +-{100 * self.uncertainty:.0f} %" if np.isfinite(self.uncertainty)
               and self.uncertainty > 0 else "")
        return f"focal {self.focal_px:.0f} px ({self.source}{unc})"


def given_lens(size: tuple[int, int], fov_deg: float | None,
               focal: float | None) -> Lens | None:
    """The user's ``--focal-px`` or ``--fov`` as a :class:`Lens` for a video of ``size``
    (width, height) px (None: neither given).

    Raises:
        InputError: a ``--focal-px`` whose field of view over the width lies outside
            :data:`mocap.geometry.camera.FOV_RANGE_DEG`.
    """
    width = size[0]
    if focal is not None:
        fov = fov_from_focal(width, focal)
        lo, hi = FOV_RANGE_DEG
        if not lo <= fov <= hi:
            raise InputError(f"--focal-px {focal:g} on a video {width} px wide is a "
                             f"{fov:.3g} deg field of view; mocap places people for "
                             f"{lo:g}-{hi:g} deg")
        return Lens(float(focal), "user", 0.0, fov, tuple(size), "--focal-px")
    if fov_deg is not None:
        return Lens(focal_px(width, fov_deg), "user", 0.0, float(fov_deg), tuple(size), "--fov")
    return None


def stated_lens(video, size: tuple[int, int]) -> Lens | None:
    """The focal length the container's metadata states for a video of ``size`` (width,
    height) px, as a ``metadata`` :class:`Lens` (None: it states none mocap believes).

    Its uncertainty is not known (NaN): the 35 mm equivalent is rounded to a whole mm and
    may not include a stabiliser's crop.
    """
    meta = lens_metadata(video)
    if meta is None:
        return None
    lens = f" ({meta.lens_model})" if meta.lens_model else ""
    return Lens.measured(meta.focal_px(size), "metadata", np.nan, size,
                         f"35 mm equivalent {meta.focal_35mm:g} mm in the video's "
                         f"metadata{lens}")


def lines_lens(video, size: tuple[int, int], frame: int,
               image: np.ndarray | None = None) -> Lens | None:
    """A fixed camera's focal length from the straight lines of the scene in one frame of
    ``video``, as a ``lines`` :class:`Lens` (None: the lines do not fix it, or the frame
    cannot be read). ``image``: that frame where the caller kept it (else it is read)."""
    if image is None:
        image = frames_at(video, [frame]).get(int(frame))
    est = None if image is None else focal_from_lines([image], size)
    if est is None:
        return None
    return Lens.measured(est.focal_px, "lines", est.uncertainty, size,
                         f"from the scene's lines in frame {frame}: {est.segments} segments, "
                         f"{100 * est.explained:.0f} % of their length along three "
                         "perpendicular directions")


def prior_fov(size: tuple[int, int]) -> float:
    """The horizontal field of view of the long-side prior for a frame of ``size``: what
    the camera estimate assumes until it finds better."""
    return Lens.measured(prior_focal(size).focal_px, "prior", 0.0, size, "").fov_deg


def resolve_lens(given: Lens | None, camera: CameraPath | None, moving: bool, tracks,
                 size: tuple[int, int], fps: float, stated: Lens | None = None,
                 lines: Lens | None = None) -> Lens:
    """The focal length to place people with (see the module docstring).

    Args:
        given: :func:`given_lens` of the user's options (None: neither given).
        camera: the measured camera path (None: not measured).
        moving: the conversion undoes the camera's motion (placement follows the path).
        tracks: the video's tracks (BlazePose's own 3D: the people's estimate relies on
            it, so pass them before any learned lift).
        size: (width, height) px.
        fps: frames per second.
        stated: :func:`stated_lens` of the video (None: its container states none). A
            camera that moved without fixing its focal length was fitted at it.
        lines: :func:`lines_lens` of the video, for a fixed camera (None: not tried or
            the lines do not fix it).
    """
    if given is not None:
        return given
    if camera is not None and camera.focal_px is not None:
        rel = (camera.focal_std_px or np.nan) / camera.focal_px
        return Lens.measured(camera.focal_px, "rotation", rel, size,
                             "from the camera's turning")
    fitted = camera.fitted_focal_px if moving and camera is not None else np.nan
    if stated is not None and not (np.isfinite(fitted)
                                   and abs(fitted / stated.focal_px - 1) > 0.01):
        return stated  # (unless a moving camera was fitted at another: see fitted)
    if np.isfinite(fitted):
        return Lens.measured(camera.fitted_focal_px, "assumed", np.nan, size,
                             "the camera moved but its turning did not fix the focal length")
    if lines is not None and not moving:
        return lines
    est = estimate_focal(tracks, size, fps)
    return Lens.measured(est.focal_px, est.source, est.uncertainty, size, est.reason)
