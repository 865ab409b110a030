"""Which focal length a one-video conversion places people with, and where it came from.

In order: ``--focal-px`` (``user``); ``--fov`` (``user``, horizontal); a camera that turned
enough: its focal length from the turning (``rotation``,
:mod:`mocap.perception.camera_focal`); a camera that moved but could not tell: the focal
length its rotations were fitted at (``assumed``); a fixed camera: from the people in it
(``people``) or, where they cannot tell, a 65 deg field of view on the image's long side
(``prior``; :mod:`mocap.geometry.focal`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mocap.errors import InputError
from mocap.geometry.camera import FOV_RANGE_DEG, focal_px
from mocap.geometry.focal import (
    PRIOR_FOV_LONG_DEG,
    estimate_focal,
    focal_from_fov,
    fov_from_focal,
)
from mocap.types import CameraPath

#: Where a focal length comes from (report.json's ``camera.focal.source``).
SOURCES = ("user", "rotation", "assumed", "people", "prior")


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
        detail: a short note (the people's own estimate, why the prior was used).
    """

    focal_px: float
    source: str
    uncertainty: float
    fov_deg: float
    detail: str = ""

    def report(self, width: int, height: int) -> dict:
        """report.json's ``camera.focal`` block."""
        long_fov = fov_from_focal(max(width, height), self.focal_px)
        unc = None if not np.isfinite(self.uncertainty) else round(float(self.uncertainty), 3)
        return {"focal_px": round(self.focal_px, 1), "source": self.source,
                "uncertainty": unc, "fov_horizontal_deg": round(self.fov_deg, 2),
                "fov_long_deg": round(float(long_fov), 2), "detail": self.detail}

    def summary(self) -> str:
        """One line for the terminal: ``focal 1507 px (prior, +-35 %)``."""
        unc = (f", +-{100 * self.uncertainty:.0f} %" if np.isfinite(self.uncertainty)
               and self.uncertainty > 0 else "")
        return f"focal {self.focal_px:.0f} px ({self.source}{unc})"


def horizontal_fov(width: int, focal: float) -> float:
    """The horizontal field of view, degrees, of ``focal`` px over ``width`` px, kept in
    :data:`mocap.geometry.camera.FOV_RANGE_DEG`."""
    return float(np.clip(fov_from_focal(width, focal), *FOV_RANGE_DEG))


def given_lens(width: int, fov_deg: float | None, focal: float | None) -> Lens | None:
    """The user's ``--focal-px`` or ``--fov`` as a :class:`Lens` (None: neither given).

    Raises:
        InputError: a ``--focal-px`` whose field of view over ``width`` lies outside
            :data:`mocap.geometry.camera.FOV_RANGE_DEG`.
    """
    if focal is not None:
        fov = fov_from_focal(width, focal)
        lo, hi = FOV_RANGE_DEG
        if not lo <= fov <= hi:
            raise InputError(f"--focal-px {focal:g} on a video {width} px wide is a "
                             f"{fov:.3g} deg field of view; mocap places people for "
                             f"{lo:g}-{hi:g} deg")
        return Lens(float(focal), "user", 0.0, fov, "--focal-px")
    if fov_deg is not None:
        return Lens(focal_px(width, fov_deg), "user", 0.0, float(fov_deg), "--fov")
    return None


def prior_fov(size: tuple[int, int]) -> float:
    """The horizontal field of view of the long-side prior for a frame of ``size``: what
    the camera estimate assumes until it finds better."""
    w, h = size
    return horizontal_fov(w, focal_from_fov(max(w, h), PRIOR_FOV_LONG_DEG))


def resolve_lens(given: Lens | None, camera: CameraPath | None, moving: bool, tracks,
                 size: tuple[int, int], fps: float) -> Lens:
    """The focal length to place people with (see the module docstring).

    Args:
        given: :func:`given_lens` of the user's options (None: neither given).
        camera: the measured camera path (None: not measured).
        moving: the conversion undoes the camera's motion (placement follows the path).
        tracks: the video's tracks (BlazePose's own 3D: the people's estimate relies on
            it, so pass them before any learned lift).
        size: (width, height) px.
        fps: frames per second.
    """
    width = size[0]
    if given is not None:
        return given
    if camera is not None and camera.focal_px is not None:
        rel = (camera.focal_std_px or np.nan) / camera.focal_px
        return Lens(float(camera.focal_px), "rotation", float(rel),
                    horizontal_fov(width, camera.focal_px), "from the camera's turning")
    if moving and camera is not None and np.isfinite(camera.fitted_focal_px):
        f = float(camera.fitted_focal_px)
        return Lens(f, "assumed", np.nan, horizontal_fov(width, f),
                    "the camera moved but its turning did not fix the focal length")
    est = estimate_focal(tracks, size, fps)
    return Lens(float(est.focal_px), est.source, float(est.uncertainty),
                horizontal_fov(width, est.focal_px), est.reason)
