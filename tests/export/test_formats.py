"""The one rule of `--formats`: BVH and the trajectories are always written; naming a data
format chooses it, naming none keeps JSON; fbx/glb are added."""

from __future__ import annotations

import pytest

from mocap.app.convert import ConvertConfig
from mocap.errors import InputError
from mocap.export.formats import DEFAULT_FORMATS, FORMATS_RULE, convert_formats


@pytest.mark.parametrize(("given", "written"), [
    ("bvh,json", ("bvh", "json")),
    ("fbx,glb", ("bvh", "json", "fbx", "glb")),  # asking for more keeps the trajectories
    ("glb", ("bvh", "json", "glb")),
    ("bvh", ("bvh", "json")),
    ("npz", ("bvh", "npz")),  # naming a data format chooses it
    ("csv,fbx", ("bvh", "csv", "fbx")),
    ("json,npz,csv,fbx,glb", ("bvh", "json", "npz", "csv", "fbx", "glb")),
    (["GLTF", ".Npz"], ("bvh", "glb", "npz")),
])
def test_bvh_and_trajectories_are_always_written(given, written):
    assert convert_formats(given) == written
    assert ConvertConfig(formats=given).formats == written


def test_the_default_is_what_the_rule_gives_for_it():
    assert convert_formats(DEFAULT_FORMATS) == DEFAULT_FORMATS


@pytest.mark.parametrize("given", ["xml", "bvh,obj"])
def test_unknown_formats_are_refused(given):
    with pytest.raises(InputError, match="choose from bvh, json, npz, csv, fbx, glb"):
        convert_formats(given)


@pytest.mark.parametrize("command", ["convert", "batch", "demo"])
def test_help_states_the_rule(command, capsys):
    from mocap.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert " ".join(FORMATS_RULE.split()) in text
    assert "fbx,glb writes bvh,json,fbx,glb" in text
