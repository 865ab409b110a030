"""Per-person trajectory files (``.json``, ``.npz``, ``.csv``) read back independently."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.export.data import person_arrays, person_meta, write_person_data
from mocap.export.formats import DATA_FORMATS
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig
from mocap.types import NUM_LANDMARKS, Track

FPS = 25.0
FIRST = 100  # the person appears at frame 100
T = 6


def _animation(rig_name: str) -> Animation:
    rng = np.random.default_rng(0)
    rig = load_rig(rig_name)
    q = rng.normal(size=(T, len(rig), 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    root = rng.normal(size=(T, 3)) + np.array([0.0, 1.0, 0.0])
    return Animation(rig, root, q, FPS)


def _track() -> Track:
    rng = np.random.default_rng(0)
    frames = np.arange(FIRST, FIRST + T)
    observed = np.ones(T, bool)
    observed[2:4] = False  # a gap bridged by the smoother
    image = rng.uniform(0, 640, (T, NUM_LANDMARKS, 3))
    world = rng.normal(scale=0.5, size=(T, NUM_LANDMARKS, 3))
    image_raw = np.where(observed[:, None, None], image, np.nan)
    world_raw = np.where(observed[:, None, None], world, np.nan)
    visibility = np.where(observed[:, None], rng.uniform(size=(T, NUM_LANDMARKS)), 0.0)
    return Track(id=3, frames=frames, times=frames / FPS, observed=observed,
                 image_raw=image_raw, world_raw=world_raw, visibility=visibility,
                 presence=visibility, score=observed * 0.9, image=image, world=world)


@pytest.fixture(params=["smpl", "mixamo"])
def person(request):
    anim = _animation(request.param)
    track = _track()
    landmarks = np.random.default_rng(1).normal(size=(T, NUM_LANDMARKS, 3))
    return anim, track, person_meta(track.id, anim, FPS), person_arrays(anim, track, landmarks)


def test_arrays_and_meta_describe_the_person(person):
    anim, track, meta, arrays = person
    rig = anim.rig
    assert set(arrays) == {"frames", "times", "observed", "root_translation",
                           "joint_positions", "rotations", "landmarks_world",
                           "landmarks_image", "visibility"}
    assert arrays["joint_positions"].shape == (T, len(rig), 3)
    np.testing.assert_array_equal(arrays["joint_positions"], anim.positions())
    np.testing.assert_array_equal(arrays["landmarks_image"], track.image[:, :, :2])
    assert arrays["landmarks_world"].shape == (T, NUM_LANDMARKS, 3)
    assert meta["id"] == 3
    assert meta["fps"] == FPS
    assert meta["frame_time"] == pytest.approx(1 / FPS)
    assert meta["rig"] == rig.name
    assert meta["joints"] == list(rig.joints)
    assert meta["parents"] == rig.parents.tolist()
    assert meta["parents"][0] == -1
    json.dumps(meta)  # plain JSON types only


def test_json_round_trip(person, tmp_path):
    anim, track, meta, arrays = person
    path = tmp_path / "person_3.json"
    write_person_data("json", str(path), meta, arrays)

    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    doc = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constants)
    assert set(doc) == set(meta) | set(arrays)
    for key, value in meta.items():
        assert doc[key] == value
    np.testing.assert_allclose(doc["joint_positions"], anim.positions(), rtol=0, atol=1e-5)
    np.testing.assert_allclose(doc["rotations"], anim.rotations, rtol=0, atol=1e-5)
    np.testing.assert_allclose(doc["root_translation"], anim.root_translation, rtol=0,
                               atol=1e-5)
    np.testing.assert_allclose(doc["times"], track.times, rtol=0, atol=1e-5)
    np.testing.assert_allclose(doc["landmarks_image"], track.image[:, :, :2], rtol=1e-6,
                               atol=1e-5)
    np.testing.assert_allclose(doc["visibility"], track.visibility, rtol=0, atol=1e-5)
    assert doc["frames"] == list(range(FIRST, FIRST + T))
    assert doc["observed"] == track.observed.tolist()
    assert all(isinstance(v, bool) for v in doc["observed"])


def test_npz_round_trip(person, tmp_path):
    anim, track, meta, arrays = person
    path = tmp_path / "person_3.npz"
    write_person_data("npz", path, meta, arrays)
    with np.load(path) as npz:  # no pickles needed
        assert set(npz.files) == set(meta) | set(arrays)
        assert npz["fps"].shape == ()
        assert float(npz["fps"]) == FPS
        assert float(npz["frame_time"]) == pytest.approx(1 / FPS)
        assert int(npz["id"]) == 3
        assert str(npz["rig"]) == anim.rig.name
        assert npz["joints"].tolist() == list(anim.rig.joints)
        np.testing.assert_array_equal(npz["parents"], anim.rig.parents)
        assert npz["parents"].dtype.kind == "i"
        assert json.loads(str(npz["units"])) == meta["units"]
        assert str(npz["axes"]) == meta["axes"]
        for key, value in arrays.items():
            np.testing.assert_array_equal(npz[key], value, err_msg=key)
        np.testing.assert_array_equal(npz["joint_positions"], anim.positions())
        np.testing.assert_array_equal(npz["rotations"], anim.rotations)
        np.testing.assert_array_equal(npz["frames"], track.frames)
        assert npz["observed"].dtype == bool


def test_csv_round_trip(person, tmp_path):
    anim, track, meta, arrays = person
    path = tmp_path / "person_3.csv"
    write_person_data("csv", path, meta, arrays)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    expected = ["frame", "time", "observed"] + [
        f"{j}_{a}" for j in anim.rig.joints for a in "xyz"]
    assert rows[0] == expected
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"frame,time,observed,{anim.rig.joints[0]}_x,")
    assert len(rows) == 1 + T
    assert all(len(r) == len(expected) for r in rows)

    values = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    assert values.shape == (T, 3 + 3 * len(anim.rig))
    np.testing.assert_array_equal(values[:, 0], track.frames)
    np.testing.assert_allclose(values[:, 1], track.times, rtol=1e-5)
    np.testing.assert_array_equal(values[:, 2], track.observed.astype(int))
    np.testing.assert_allclose(values[:, 3:].reshape(T, -1, 3), anim.positions(), rtol=1e-5,
                               atol=1e-12)
    # the first joint columns are the root, i.e. the root translation
    np.testing.assert_allclose(values[:, 3:6], anim.root_translation, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("fmt", ["bvh", "JSON", "", "parquet"])
def test_unknown_format_is_an_input_error(person, tmp_path, fmt):
    _, _, meta, arrays = person
    path = tmp_path / "person_3.out"
    with pytest.raises(InputError, match="unknown data format") as err:
        write_person_data(fmt, path, meta, arrays)
    for name in DATA_FORMATS:
        assert name in str(err.value)
    assert not path.exists()


def test_csv_keeps_frame_indices_and_times_of_long_videos(tmp_path):
    arrays = {"frames": np.array([1234567, 1234568]),
              "times": np.array([10000.0, 10000.0 + 1 / 60]),
              "observed": np.ones(2, bool), "joint_positions": np.zeros((2, 1, 3))}
    path = tmp_path / "p.csv"
    write_person_data("csv", path, {"joints": ["root"]}, arrays)
    rows = np.loadtxt(path, delimiter=",", skiprows=1)
    np.testing.assert_array_equal(rows[:, 0], [1234567, 1234568])
    np.testing.assert_allclose(rows[:, 1], arrays["times"], atol=1e-6)
