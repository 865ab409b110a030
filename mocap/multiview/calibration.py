"""Calibrated cameras: the camera model, and the calibration files mocap reads and writes.

The model is OpenCV's. A world point ``p`` (metres) lies at ``p_cam = R p + t`` in camera
axes (x right, y down, z forward) and is seen at pixel ``K · distort(p_cam[:2] / p_cam[2])``,
with OpenCV's distortion (``k1 k2 p1 p2 [k3 ...]``, or its fisheye model ``k1..k4``). The
world's axes are the file's own (Z up in Pose2Sim's demos and Qualisys labs).

Files, recognised by their content (:func:`read_calibration`) or named (``format=``, a key
of :data:`READERS`):

- ``toml``: Pose2Sim / anipose / FreeMoCap. One table per camera, in file order (any table
  name: Pose2Sim writes ``[cam01]``, anipose ``[cam_0]``; tables with none of the camera
  keys, such as ``[metadata]``, are skipped): ``name``, ``size = [w, h]`` px,
  ``matrix`` (3x3 K), ``distortions``, ``rotation`` (Rodrigues vector, world -> camera;
  a 3x3 matrix is accepted too),
  ``translation`` (metres), ``fisheye`` (optional, false).
- ``qca``: Qualisys ``.qca.txt`` (XML), converted as Pose2Sim converts it: the video
  cameras only (``model`` naming video, or ``none``), in the natural order of their serial
  numbers (the camera name); focal lengths and principal point in 1/64 px, and the
  distortion coefficients (k1 k2 p1 p2; k3 ignored) too, all divided by 64 (Pose2Sim's
  reading, which its own TOML -> qca writer inverts); the principal point shifted by the
  ``fov_video`` crop
  (``left``, ``top``); the image size that crop's (``right - left + 1``,
  ``bottom - top + 1``); ``transform`` the camera's position (mm) and orientation in the
  world, its camera axes turned by 180 degrees about x into OpenCV's.
- ``opencv``: YAML/JSON/XML written by OpenCV's ``cv::FileStorage`` (or plain JSON): one
  camera at the top level or one map per camera, with ``K`` (or ``camera_matrix``, ...),
  ``dist``, ``rvec`` or ``R`` (3 values: Rodrigues; 3x3: matrix), ``tvec`` (metres) and
  the image size (``image_width`` + ``image_height``, or ``image_size``/``size``).

One writer: :func:`write_calibration`, Pose2Sim's TOML.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mocap.errors import InputError, shape_error
from mocap.fileio import read_input, write_text

#: Lengths of an OpenCV distortion vector (pinhole model): k1 k2 p1 p2 [k3 [k4 k5 k6
#: [s1 s2 s3 s4 [tx ty]]]]. The fisheye model takes exactly 4 (k1..k4).
DIST_LENGTHS = (4, 5, 8, 12, 14)
#: How far from orthonormal a rotation matrix read from a file may be (max |R R^T - I|).
ROTATION_TOLERANCE = 1e-5
# OpenCV's undistortion is iterative: enough iterations for strong lenses (the default 5
# leaves tenths of a pixel at the corners of a wide lens).
_UNDISTORT_CRITERIA = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)


def _fail(name: str, expected: str, got: object) -> ValueError:
    return ValueError(f"`{name}` must be {expected}, got {got}")


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated camera (OpenCV's model and axes; see the module docstring).

    Attributes:
        name: unique within a calibration; matched to a video by the caller.
        size: (width, height) px of the images this calibration is for.
        K: (3, 3) float64 px, ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` (no skew: OpenCV's
            projection has none).
        dist: (D,) float64, OpenCV order ``k1 k2 p1 p2 [k3 ...]`` (D in
            :data:`DIST_LENGTHS`), or ``k1 k2 k3 k4`` with ``fisheye``.
        R: (3, 3) float64, world -> camera rotation, det +1.
        t: (3,) float64 metres: ``p_cam = R p + t``.
        fisheye: OpenCV's fisheye model (``cv2.fisheye``) instead of the pinhole one.
    """

    name: str
    size: tuple[int, int]
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray
    fisheye: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not self.name.isprintable():
            raise _fail("name", "a non-empty printable string", repr(self.name))
        size = tuple(self.size) if isinstance(self.size, Sequence | np.ndarray) else ()
        if (len(size) != 2 or not all(isinstance(s, int | np.integer | float | np.floating)
                                      and not isinstance(s, bool) for s in size)
                or not all(math.isfinite(s) and s == int(s) and s >= 1 for s in size)):
            raise _fail("size", "(width, height): two positive whole numbers of pixels",
                        _brief(self.size))
        object.__setattr__(self, "size", (int(size[0]), int(size[1])))
        k = np.array(self.K, np.float64)
        if k.shape != (3, 3):
            raise shape_error("K", "(3, 3)", k.shape)
        fx, fy = k[0, 0], k[1, 1]
        if not (np.isfinite(k).all() and fx > 0 and fy > 0 and k[2, 2] == 1.0
                and k[2, 0] == 0.0 and k[2, 1] == 0.0 and k[1, 0] == 0.0
                and abs(k[0, 1]) <= 1e-6 * fx):
            raise _fail("K", "[[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0",
                        _brief(k.tolist(), 120))
        k[0, 1] = 0.0
        dist = np.array(self.dist, np.float64)
        lengths = (4,) if self.fisheye else DIST_LENGTHS
        if dist.ndim != 1 or len(dist) not in lengths:
            raise shape_error("dist", "(4,)" if self.fisheye else "(D,) with D in "
                              + ", ".join(map(str, DIST_LENGTHS)), dist.shape)
        if not np.isfinite(dist).all():
            raise _fail("dist", "finite", dist.tolist())
        r = np.array(self.R, np.float64)
        if r.shape != (3, 3):
            raise shape_error("R", "(3, 3)", r.shape)
        check_rotation(r)
        t = np.array(self.t, np.float64)
        if t.shape != (3,):
            raise shape_error("t", "(3,)", t.shape)
        if not np.isfinite(t).all():
            raise _fail("t", "finite", t.tolist())
        for name, value in (("K", k), ("dist", dist), ("R", r), ("t", t)):
            value.flags.writeable = False
            object.__setattr__(self, name, value)
        object.__setattr__(self, "fisheye", bool(self.fisheye))

    @property
    def center(self) -> np.ndarray:
        """(3,) float64 metres: the camera's optical centre in the world, ``-R^T t``."""
        return -self.R.T @ self.t

    @property
    def rvec(self) -> np.ndarray:
        """(3,) float64: ``R`` as a Rodrigues vector (axis times angle, radians)."""
        return cv2.Rodrigues(self.R)[0].reshape(3)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points, metres -> (..., 3) the same in camera axes."""
        return np.asarray(points, np.float64) @ self.R.T + self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixels at which the camera sees world points, lens distortion included.

        Args:
            points: (..., 3) metres.

        Returns:
            (..., 2) float64 px; NaN where a point is not finite or not in front of the
            camera (z <= 0 in camera axes). Points outside the image are projected too.
        """
        pts = np.asarray(points, np.float64)
        if pts.shape[-1:] != (3,):
            raise shape_error("points", "(..., 3)", pts.shape)
        flat = pts.reshape(-1, 3)
        out = np.full((len(flat), 2), np.nan)
        ok = np.isfinite(flat).all(-1)
        ok[ok] = self.to_camera(flat[ok])[:, 2] > 0
        if ok.any():
            obj = flat[ok].reshape(-1, 1, 3)
            if self.fisheye:
                img = cv2.fisheye.projectPoints(obj, self.rvec, self.t, self.K, self.dist)[0]
            else:
                img = cv2.projectPoints(obj, self.rvec, self.t, self.K, self.dist)[0]
            out[ok] = img.reshape(-1, 2)
        return out.reshape((*pts.shape[:-1], 2))

    def normalize(self, xy: np.ndarray) -> np.ndarray:
        """Undistorted normalised image coordinates (``x/z``, ``y/z`` in camera axes) of
        pixels: the inverse of :meth:`project` up to depth (iterative, as OpenCV's).

        Args:
            xy: (..., 2) px.

        Returns:
            (..., 2) float64; NaN where ``xy`` is not finite.
        """
        pix = np.asarray(xy, np.float64)
        if pix.shape[-1:] != (2,):
            raise shape_error("xy", "(..., 2)", pix.shape)
        flat = pix.reshape(-1, 2)
        out = np.full(flat.shape, np.nan)
        ok = np.isfinite(flat).all(-1)
        if ok.any():
            src = np.ascontiguousarray(flat[ok]).reshape(-1, 1, 2)
            if self.fisheye:
                und = cv2.fisheye.undistortPoints(src, self.K, self.dist,
                                                  criteria=_UNDISTORT_CRITERIA)
            elif hasattr(cv2, "undistortPointsIter"):  # OpenCV 4
                und = cv2.undistortPointsIter(src, self.K, self.dist, None, None,
                                              _UNDISTORT_CRITERIA)
            else:  # OpenCV 5: undistortPoints takes the criteria
                und = cv2.undistortPoints(src, self.K, self.dist, None, None, None,
                                          _UNDISTORT_CRITERIA)
            out[ok] = und.reshape(-1, 2)
        return out.reshape(pix.shape)

    def transformed(self, rotation=None, translation=None, scale: float = 1.0) -> Camera:
        """The same camera in another world frame, ``p' = scale * rotation @ p + translation``.

        Every world point seen at a pixel is seen at the same pixel once moved into the new
        frame: ``R' = R Rw^T``, ``t' = scale * t - R Rw^T tw``.

        Args:
            rotation: (3, 3) rotation (det +1), old world -> new world; None: identity.
            translation: (3,) in the new frame's units; None: zero.
            scale: new units per old unit (> 0), e.g. 0.001 for a world in mm -> m.
        """
        rw, tw = _world_transform(rotation, translation, scale)
        r = self.R @ rw.T
        return Camera(self.name, self.size, self.K, self.dist, r,
                      scale * self.t - r @ tw, self.fisheye)


#: Rotation from a Z-up world (Qualisys, Pose2Sim's demos: x, y on the floor, z up) to
#: mocap's Y-up one: ``(x, y, z) -> (x, z, -y)`` (right-handed, det +1: x stays, the old z
#: becomes up, the old y points away from the new +z).
Z_UP_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
Z_UP_TO_Y_UP.flags.writeable = False


def _world_transform(rotation, translation, scale) -> tuple[np.ndarray, np.ndarray]:
    rw = np.eye(3) if rotation is None else np.array(rotation, np.float64)
    if rw.shape != (3, 3):
        raise shape_error("rotation", "(3, 3)", rw.shape)
    check_rotation(rw, "rotation")
    tw = np.zeros(3) if translation is None else np.array(translation, np.float64)
    if tw.shape != (3,):
        raise shape_error("translation", "(3,)", tw.shape)
    if not np.isfinite(tw).all():
        raise _fail("translation", "finite", tw.tolist())
    if not (isinstance(scale, int | float | np.integer | np.floating)
            and math.isfinite(scale) and scale > 0):
        raise _fail("scale", "a finite number > 0", repr(scale))
    return rw, tw


def check_rotation(r: np.ndarray, name: str = "R") -> None:
    """Raise unless ``r`` (3, 3) is a rotation: finite, orthonormal within
    :data:`ROTATION_TOLERANCE`, determinant +1 (a mirror, det -1, is refused by name)."""
    if not np.isfinite(r).all():
        raise _fail(name, "a finite rotation matrix", _brief(r.tolist(), 120))
    off = float(np.abs(r @ r.T - np.eye(3)).max())
    if off > ROTATION_TOLERANCE:
        raise _fail(name, "a rotation matrix (orthonormal)", f"|R R^T - I| = {off:.3g}")
    det = float(np.linalg.det(r))
    if det < 0:
        raise _fail(name, "a rotation (det +1)", f"det {det:.3f}: a mirror")


@dataclass(frozen=True, eq=False)
class Calibration:
    """The calibrated cameras of one take, in order (view ``v`` of the 2D data is camera
    ``v``).

    Attributes:
        cameras: the V cameras, names unique.
    """

    cameras: tuple[Camera, ...]

    def __post_init__(self) -> None:
        cams = tuple(self.cameras)
        if not cams:
            raise ValueError("`cameras` must hold at least one camera, got none")
        for c in cams:
            if not isinstance(c, Camera):
                raise ValueError(f"`cameras` must hold Camera values, got {type(c).__name__}")
        names = [c.name for c in cams]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"camera names must be unique, got {dup!r} twice")
        object.__setattr__(self, "cameras", cams)

    def __len__(self) -> int:
        return len(self.cameras)

    def __iter__(self) -> Iterator[Camera]:
        return iter(self.cameras)

    def __getitem__(self, key: int | str) -> Camera:
        """The camera at an index, or of a name."""
        if isinstance(key, str):
            for c in self.cameras:
                if c.name == key:
                    return c
            raise KeyError(f"no camera named {key!r}; cameras: {', '.join(self.names)}")
        return self.cameras[key]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.cameras)

    @property
    def centers(self) -> np.ndarray:
        """(V, 3) float64 metres: each camera's optical centre in the world."""
        return np.stack([c.center for c in self.cameras])

    def subset(self, views: Sequence[int | str]) -> Calibration:
        """The cameras at these indices or of these names, in that order."""
        return Calibration(tuple(self[v] for v in views))

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points, metres -> (V, ..., 2) px in every camera (see
        :meth:`Camera.project`: NaN behind a camera)."""
        return np.stack([c.project(points) for c in self.cameras])

    def transformed(self, rotation=None, translation=None, scale: float = 1.0
                    ) -> Calibration:
        """Every camera in another world frame, ``p' = scale * rotation @ p + translation``
        (see :meth:`Camera.transformed`; projections of moved points unchanged)."""
        _world_transform(rotation, translation, scale)  # one error, before any camera's
        return Calibration(tuple(c.transformed(rotation, translation, scale)
                                 for c in self.cameras))

    def for_videos(self, names: Sequence[str], sizes: Sequence[tuple[int, int]],
                   source: str = "the calibration") -> tuple[Calibration, bool]:
        """The camera of each video, in the videos' order, checked against its image size.

        A video goes with the camera of its name (its file stem, ``cam01`` for
        ``cam01.mp4``, case aside), so two of four calibrated cameras serve; where no video
        is named after a camera and there are as many videos as cameras, they go in the
        calibration's order.

        Args:
            names: the videos' stems.
            sizes: the videos' (width, height), px (after rotation metadata).
            source: how messages name the calibration (its file name).

        Returns:
            ``(calibration, by_name)``: one camera per video, and whether they were matched
            by name (else by order).

        Raises:
            InputError: a video with no camera of its name (the calibration's are listed),
                or a video whose size is not its camera's.
        """
        by_lower = {c.name.lower(): c for c in self.cameras}
        found = [by_lower.get(str(n).lower()) for n in names]
        by_name = any(c is not None for c in found)
        if not by_name and len(names) == len(self.cameras):
            found = list(self.cameras)
        missing = [n for n, c in zip(names, found, strict=True) if c is None]
        if missing:
            raise InputError(f"{source} has no camera named {missing[0]!r} (its cameras: "
                             f"{', '.join(self.names)}): name each video after its camera "
                             "(cam01.mp4 for cam01), or give one video per camera in the "
                             "calibration's order")
        for n, c, size in zip(names, found, sizes, strict=True):
            if tuple(int(x) for x in size) != tuple(c.size):
                raise InputError(f"{source} is for other image sizes: camera {c.name} is "
                                 f"{c.size[0]}x{c.size[1]} px, its video {n} is "
                                 f"{size[0]}x{size[1]} px (recalibrate, or use the video at "
                                 "the size it was calibrated at)")
        return Calibration(tuple(found)), by_name

    def to_y_up(self) -> Calibration:
        """A Z-up calibration (Qualisys, Pose2Sim's demos) in mocap's Y-up world
        (:data:`Z_UP_TO_Y_UP`: same origin and units)."""
        return self.transformed(Z_UP_TO_Y_UP)


# --- reading -------------------------------------------------------------------------------

def _brief(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters (messages stay one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _camera(path: Path, what: str, **fields) -> Camera:
    """A Camera, its validation error turned into a one-line InputError naming the file."""
    try:
        return Camera(**fields)
    except ValueError as exc:
        raise InputError(f"{path}: {what}: {exc}") from None


def _calibration(path: Path, cameras: list[Camera]) -> Calibration:
    try:
        return Calibration(tuple(cameras))
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def _numbers(path: Path, what: str, key: str, value: object, sizes: tuple[int, ...]
             ) -> np.ndarray:
    """``value`` (nested lists, or an array) as a float64 array of ``sizes`` elements (any
    nesting), finite numbers only; else a one-line InputError."""
    if isinstance(value, np.ndarray):
        arr = value.astype(np.float64).reshape(-1)
    else:
        flat: list[object] = []
        stack = [value]
        while stack:  # iterative: no recursion on deeply nested input
            v = stack.pop()
            if isinstance(v, list | tuple):
                stack.extend(reversed(v))
            else:
                flat.append(v)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in flat):
            raise InputError(f"{path}: {what}: `{key}` must hold numbers, got {_brief(value)}")
        try:
            arr = np.array(flat, np.float64)
        except OverflowError:
            raise InputError(f"{path}: {what}: `{key}` holds a number too large, "
                             f"got {_brief(value)}") from None
    if len(arr) not in sizes:
        want = " or ".join(str(s) for s in sizes)
        raise InputError(f"{path}: {what}: `{key}` must hold {want} numbers, got {len(arr)} "
                         f"({_brief(value)})")
    if not np.isfinite(arr).all():
        raise InputError(f"{path}: {what}: `{key}` must be finite, got {_brief(value)}")
    return arr


def _rotation(path: Path, what: str, key: str, value: object) -> np.ndarray:
    """A Rodrigues vector (3 numbers) or a rotation matrix (9) -> (3, 3)."""
    arr = _numbers(path, what, key, value, (3, 9))
    if len(arr) == 3:
        return cv2.Rodrigues(arr)[0]
    return arr.reshape(3, 3)


#: The keys of a camera table in a TOML calibration, and its non-camera tables.
TOML_KEYS = ("size", "matrix", "distortions", "rotation", "translation")


def _read_toml(path: Path, data: bytes) -> Calibration:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text calibration file ({exc.reason})") from None
    try:
        doc = tomllib.loads(text)
    except ValueError as exc:  # TOMLDecodeError, or an integer too long to convert
        raise InputError(f"{path}: not a TOML calibration ({' '.join(str(exc).split())})"
                         ) from None
    except RecursionError:
        raise InputError(f"{path}: not a TOML calibration (nested too deeply)") from None
    cameras = []
    for key, table in doc.items():
        if not isinstance(table, dict) or not any(k in table for k in TOML_KEYS):
            continue  # [metadata], [capture_volume], [charuco], ...: not a camera
        what = f"camera [{key}]"
        missing = [k for k in TOML_KEYS if k not in table]
        if missing:
            raise InputError(f"{path}: {what} has no {', '.join(missing)} (a camera table "
                             f"needs {', '.join(TOML_KEYS)}); found {', '.join(table)}")
        name = table.get("name", key)
        if not isinstance(name, str):
            raise InputError(f"{path}: {what}: `name` must be a string, got {_brief(name)}")
        fisheye = table.get("fisheye", False)
        if not isinstance(fisheye, bool):
            raise InputError(f"{path}: {what}: `fisheye` must be true or false, got "
                             f"{_brief(fisheye)}")
        cameras.append(_camera(
            path, what, name=name,
            size=tuple(_numbers(path, what, "size", table["size"], (2,))),
            K=_numbers(path, what, "matrix", table["matrix"], (9,)).reshape(3, 3),
            dist=_numbers(path, what, "distortions", table["distortions"],
                          (4,) if fisheye else DIST_LENGTHS),
            R=_rotation(path, what, "rotation", table["rotation"]),
            t=_numbers(path, what, "translation", table["translation"], (3,)),
            fisheye=fisheye))
    if not cameras:
        raise InputError(f"{path}: no camera tables (a table per camera with "
                         f"{', '.join(TOML_KEYS)}); found tables: "
                         f"{', '.join(k for k, v in doc.items() if isinstance(v, dict)) or 'none'}")
    return _calibration(path, cameras)


def _natural_key(text: str) -> list:
    """Sort key putting "cam2" before "cam10"."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p.lower())
            for p in re.split(r"(\d+)", text) if p]


# Qualisys' camera axes (x right, y up, z backward) -> OpenCV's: 180 degrees about x.
_FLIP_YZ = np.diag([1.0, -1.0, -1.0])


def _read_qca(path: Path, data: bytes) -> Calibration:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise InputError(f"{path}: a Qualisys calibration has no DOCTYPE or ENTITY "
                         "declarations; refusing to expand them")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise InputError(f"{path}: not a Qualisys .qca.txt calibration (invalid XML: {exc})"
                         ) from None
    if root.tag != "calibration":
        raise InputError(f"{path}: not a Qualisys .qca.txt calibration (its root element is "
                         f"<{_brief(root.tag, 40)[1:-1]}>, not <calibration>)")
    elems = root.findall("cameras/camera")
    video = [c for c in elems
             if any(m in c.get("model", "").lower() for m in ("video", "none"))]
    if not video:
        models = sorted({c.get("model", "") for c in elems})
        raise InputError(f"{path}: no video camera in this Qualisys calibration (cameras whose "
                         f"model names video, or is 'none'); found {len(elems)} cameras"
                         + (f", models {', '.join(map(repr, models))}" if models else ""))

    def number(elem: ET.Element, what: str, attr: str) -> float:
        raw = elem.get(attr)
        try:
            value = float(raw) if raw is not None else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{path}: {what}: <{elem.tag}> needs a number `{attr}`, got "
                             f"{_brief(raw)}")
        return value

    cameras = []
    for elem in sorted(video, key=lambda c: _natural_key(c.get("serial", ""))):
        name = elem.get("serial") or ""
        what = f"camera {name!r}"
        parts = {}
        for tag in ("fov_video", "intrinsic", "transform"):
            parts[tag] = elem.find(tag)
            if parts[tag] is None:
                raise InputError(f"{path}: {what} has no <{tag}>")
        fov, intr, tr = parts["fov_video"], parts["intrinsic"], parts["transform"]
        left, top = number(fov, what, "left"), number(fov, what, "top")
        size = (number(fov, what, "right") - left + 1, number(fov, what, "bottom") - top + 1)
        # intrinsics in 1/64 px of the full sensor; the video is its fov_video crop
        fu, fv, cu, cv = (number(intr, what, a) / 64 for a in
                          ("focalLengthU", "focalLengthV", "centerPointU", "centerPointV"))
        k = np.array([[fu, 0.0, cu - left], [0.0, fv, cv - top], [0.0, 0.0, 1.0]])
        dist = np.array([number(intr, what, a) / 64 for a in (
            "radialDistortion1", "radialDistortion2", "tangentalDistortion1",
            "tangentalDistortion2")])
        # the camera's orientation (rows r1x, r2x, r3x: its axes in world coordinates) and
        # position, mm; world -> camera is then R (p - position), axes flipped into OpenCV's
        m = np.array([[number(tr, what, f"r{i}{j}") for j in (1, 2, 3)] for i in (1, 2, 3)])
        position = np.array([number(tr, what, a) for a in ("x", "y", "z")]) / 1000.0
        r = _FLIP_YZ @ m
        cameras.append(_camera(path, what, name=name, size=size, K=k, dist=dist, R=r,
                               t=-r @ position))
    return _calibration(path, cameras)


#: Spellings accepted in OpenCV YAML/JSON files, compared without case or underscores.
OPENCV_KEYS = {
    "K": ("k", "cameramatrix", "intrinsicmatrix", "intrinsics", "intrinsic", "mtx", "matrix"),
    "dist": ("dist", "d", "distcoeffs", "distcoeff", "distortion", "distortions",
             "distortioncoefficients", "distortioncoeffs"),
    "rotation": ("rvec", "r", "rotation", "rotationvector", "rotationmatrix", "rot", "rmat"),
    "translation": ("tvec", "t", "translation", "translationvector"),
    "size": ("imagesize", "size", "resolution"),
    "width": ("imagewidth", "width", "w"),
    "height": ("imageheight", "height", "h"),
}


def _norm_key(key: str) -> str:
    return key.lower().replace("_", "").replace("-", "")


def _node_value(node, depth: int = 0):
    """A cv2.FileNode as Python values: a matrix as an array, maps as dicts, sequences as
    lists, numbers, strings."""
    if depth > 32:
        raise ValueError("nested too deeply")
    if node.isMap():
        keys = node.keys()
        if {"dt", "data"} <= set(keys):  # an opencv-matrix (rows, cols) or -nd-matrix (sizes)
            try:
                return node.mat()
            except (cv2.error, SystemError):
                pass
        return {k: _node_value(node.getNode(k), depth + 1) for k in keys}
    if node.isSeq():
        return [_node_value(node.at(i), depth + 1) for i in range(node.size())]
    if node.isInt() or node.isReal():
        return node.real()
    if node.isString():
        return node.string()
    return None


def _find(table: dict, field: str) -> tuple[str, object] | None:
    for key, value in table.items():
        if _norm_key(key) in OPENCV_KEYS[field]:
            return key, value
    return None


def _opencv_camera(path: Path, name: str, table: dict) -> Camera:
    what = f"camera {name!r}"
    found = ", ".join(table) or "none"
    got = {f: _find(table, f) for f in OPENCV_KEYS}

    def need(field: str, spellings: str):
        if got[field] is None:
            raise InputError(f"{path}: {what}: no {spellings}; found keys: {found}")
        return got[field]

    k_key, k_val = need("K", "camera matrix (K, camera_matrix, cameraMatrix, mtx)")
    d_key, d_val = need("dist", "distortion (dist, D, dist_coeffs, distCoeffs, "
                        "distortion_coefficients)")
    r_key, r_val = need("rotation", "rotation (rvec: Rodrigues, or R: 3x3)")
    t_key, t_val = need("translation", "translation (tvec, T, translation)")
    if got["size"] is not None:
        s_key, s_val = got["size"]
        size = _numbers(path, what, s_key, s_val, (2,))
    elif got["width"] is not None and got["height"] is not None:
        size = np.concatenate([_numbers(path, what, *got["width"], (1,)),
                               _numbers(path, what, *got["height"], (1,))])
    else:
        raise InputError(f"{path}: {what}: no image size (image_width and image_height, or "
                         f"image_size); found keys: {found}")
    fisheye = table.get("fisheye", False)
    dist = _numbers(path, what, d_key, d_val, (4,) if fisheye else DIST_LENGTHS)
    return _camera(path, what, name=str(table.get("name", name)), size=tuple(size),
                   K=_numbers(path, what, k_key, k_val, (9,)).reshape(3, 3), dist=dist,
                   R=_rotation(path, what, r_key, r_val),
                   t=_numbers(path, what, t_key, t_val, (3,)), fisheye=bool(fisheye))


def _read_opencv(path: Path, data: bytes) -> Calibration:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not a UTF-8 text calibration file ({exc.reason})") from None
    if not text.strip() or "\x00" in text:
        raise InputError(f"{path}: not an OpenCV YAML/JSON calibration (empty or binary)")
    try:
        fs = cv2.FileStorage(text, cv2.FILE_STORAGE_READ | cv2.FILE_STORAGE_MEMORY)
        doc = _node_value(fs.root())
        fs.release()
    except (cv2.error, SystemError, ValueError) as exc:
        # OpenCV's message quotes the text parsed; keep "(line): what" only
        msg = str(exc.__cause__ or exc).strip() or type(exc).__name__
        where = re.search(r"\((\d+)\): ([^\n]*)$", msg)
        detail = f"line {where[1]}: {where[2]}" if where else msg.splitlines()[-1][-200:]
        raise InputError(f"{path}: not an OpenCV YAML/JSON calibration ({detail})") from None
    if not isinstance(doc, dict):
        raise InputError(f"{path}: not an OpenCV YAML/JSON calibration (no map at the top)")
    if _find(doc, "K") is not None and not isinstance(_find(doc, "K")[1], dict):
        cameras = [_opencv_camera(path, Path(path).name.split(".")[0] or "cam", doc)]
    else:
        cameras = [_opencv_camera(path, key, value) for key, value in doc.items()
                   if isinstance(value, dict) and _find(value, "K") is not None]
    if not cameras:
        raise InputError(
            f"{path}: no camera found (a camera matrix K or camera_matrix, dist, rvec or R, "
            "tvec and the image size, at the top level or in one map per camera); found "
            f"keys: {', '.join(doc) or 'none'}")
    return _calibration(path, cameras)


#: Calibration readers by format name: ``reader(path, bytes) -> Calibration``.
READERS: dict[str, Callable[[Path, bytes], Calibration]] = {
    "toml": _read_toml, "qca": _read_qca, "opencv": _read_opencv}


def detect_format(data: bytes, path: str | os.PathLike = "") -> str:
    """The :data:`READERS` name for a file's bytes: XML is Qualisys (OpenCV's own XML,
    ``<opencv_storage>``, is ``opencv``), ``%YAML``/``{`` or a ``.yml``/``.yaml``/``.json``
    name is ``opencv``, anything else ``toml``."""
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    if head.startswith(b"<"):
        return "opencv" if b"<opencv_storage" in data[:4096] else "qca"
    if head.startswith((b"%YAML", b"{")):
        return "opencv"
    if Path(path).suffix.lower() in (".yml", ".yaml", ".json"):
        return "opencv"
    return "toml"


def read_calibration(path: str | os.PathLike, format: str | None = None) -> Calibration:
    """Read a calibration file (see the module docstring for the formats).

    Args:
        path: the file.
        format: a key of :data:`READERS`; None recognises the file by its content.

    Raises:
        InputError: unreadable, malformed, or an unknown ``format``; one line naming the
            file and what is wrong.
    """
    p = Path(path)
    if format is not None and format not in READERS:
        raise InputError(f"unknown calibration format {format!r}; valid formats: "
                         f"{', '.join(READERS)}")
    data = read_input(p, "calibration")
    return READERS[format or detect_format(data, p)](p, data)


# --- writing -------------------------------------------------------------------------------

def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's (names are printable: no control characters to escape)
    return json.dumps(text, ensure_ascii=False)


def _toml_list(values) -> str:
    return "[ " + ", ".join(repr(float(v)) for v in values) + "]"


def calibration_toml(calibration: Calibration) -> str:
    """The calibration as Pose2Sim's TOML text (``[cam_01]``, ... then ``[metadata]``, the
    keys anipose writes too): read by Pose2Sim and :func:`read_calibration`; floats written
    exactly (``repr``)."""
    width = max(2, len(str(len(calibration))))
    out = []
    for i, cam in enumerate(calibration, 1):
        k = cam.K
        out += [f"[cam_{i:0{width}d}]",
                f"name = {_toml_string(cam.name)}",
                f"size = [ {cam.size[0]}, {cam.size[1]}]",
                "matrix = [ " + ", ".join(_toml_list(row) for row in k) + "]",
                f"distortions = {_toml_list(cam.dist)}",
                f"rotation = {_toml_list(cam.rvec)}",
                f"translation = {_toml_list(cam.t)}",
                f"fisheye = {'true' if cam.fisheye else 'false'}",
                ""]
    out += ["[metadata]", "adjusted = false", "error = 0.0", ""]
    return "\n".join(out)


def write_calibration(calibration: Calibration, path: str | os.PathLike) -> Path:
    """Write ``calibration`` as Pose2Sim's TOML (:func:`calibration_toml`), atomically.

    Raises:
        OutputError: the file cannot be written.
    """
    write_text(path, calibration_toml(calibration))
    return Path(path)
