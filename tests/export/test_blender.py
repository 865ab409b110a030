"""FBX and GLB export through Blender, checked by reading the files back independently.

* Blender itself: the FBX re-imported with ``bpy.ops.import_scene.fbx(anim_offset=0)`` (and
  the GLB with the glTF importer) gives our world joint positions on every frame, the rig's
  T-pose as rest pose, the same frame count and fps.
* Assimp (Debian ``assimp-utils``): ``assimp info`` and ``assimp dump`` read the FBX; the
  bones are the rig's joints (counted as "Bones" through the stick-figure mesh skinned to
  them), one key per frame, and world positions composed from assimp's keys equal ours.
* The same for files exported without the mesh (``mesh=False``), whose FBX has no bind
  pose: there the rest pose comes from the rest key at frame 0 alone.
* The Khronos glTF validator (npm ``gltf-validator``, through its Node API): 0 errors on the
  GLB; the GLB's own nodes and samplers, decoded here, give our positions too.

The readers are installed once per test session when missing (``apt-get install -y
assimp-utils`` as root; ``npm install --prefix <cache>/node gltf-validator``); tests skip
only where that cannot be done (not root, no apt-get, no npm/node).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from mocap.cli import main
from mocap.errors import InputError, MocapError
from mocap.export.blender import (
    SCRIPT,
    export_bvh,
    export_bvh_files,
    parse_formats,
    run_blender_json,
)
from mocap.io.bvh import read_bvh
from mocap.retarget.bvh_source import bvh_animation
from tests.helpers import SHARED_DATA, SMALL_BVH, cut_video, debian_tool

GLTF_VALIDATOR = "gltf-validator@2.0.0-dev.3.10"
RIGS = ("mixamo", "smpl", "cmu")
REPORT = SCRIPT.parent / "anim_report.py"

# ---------------------------------------------------------------------------- readers


@pytest.fixture(scope="session")
def assimp() -> str:
    """The ``assimp`` command, installed with apt-get when missing and we are root."""
    return debian_tool("assimp", "assimp-utils")


VALIDATE_JS = """\
const fs = require('fs');
const validator = require(process.argv[2]);
const data = new Uint8Array(fs.readFileSync(process.argv[3]));
validator.validateBytes(data, {uri: process.argv[3], maxIssues: 0, writeTimestamp: false})
  .then((report) => { process.stdout.write(JSON.stringify(report)); })
  .catch((error) => { process.stderr.write(String(error)); process.exit(1); });
"""


@pytest.fixture(scope="session")
def gltf_validate():
    """A function ``path -> validation report (dict)`` running the Khronos validator."""
    from mocap.io.assets import cache_dir

    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("node/npm not found: cannot run the Khronos glTF validator")
    prefix = cache_dir() / "node"
    module = prefix / "node_modules" / "gltf-validator"
    if not (module / "package.json").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-save", "--prefix", str(prefix),
                               GLTF_VALIDATOR], capture_output=True, text=True)
        assert proc.returncode == 0, f"npm install {GLTF_VALIDATOR} failed: {proc.stderr}"
    script = prefix / "validate_gltf.js"
    script.write_text(VALIDATE_JS)

    def validate(path: Path) -> dict:
        proc = subprocess.run([node, str(script), str(module), str(path)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return validate


# ---------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def blender(blender_python):
    return blender_python


@pytest.fixture(scope="module")
def clips(blender, tmp_path_factory, request):
    """Three rig-retargeted BVH files, all exported to FBX and GLB in one Blender process:
    from the CMU mocap in ../shared/data (mixamo walk, smpl jump, cmu walk) where it is, else
    from the demo video (obtained as `mocap demo` does): its walker on mixamo, retargeted onto
    smpl and cmu, so a plain clone runs the real export tests too."""
    from mocap.export.bvh import write_bvh
    from mocap.retarget.bvh_source import retarget_bvh
    from mocap.skeleton.rig import load_rig

    tmp = tmp_path_factory.mktemp("export")
    bvhs = {"mixamo": tmp / "person_1.bvh", "smpl": tmp / "person_2.bvh",
            "cmu": tmp / "person_3.bvh"}
    if (SHARED_DATA / "bvh").is_dir():
        walk = SHARED_DATA / "bvh" / "cmu_walk_delfem2.bvh"
        jump = SHARED_DATA / "bvh" / "cmu_01_01_jump_fairmotion.bvh"
        assert main(["retarget", str(walk), "--rig", "mixamo", "-o", str(bvhs["mixamo"])]) == 0
        _, anim = retarget_bvh(read_bvh(jump), load_rig("smpl"))
        write_bvh(anim[:300], bvhs["smpl"])
        assert main(["retarget", str(walk), "--rig", "cmu", "-o", str(bvhs["cmu"])]) == 0
    else:
        request.getfixturevalue("model_paths")
        clip = cut_video(request.getfixturevalue("demo_video_path"), tmp / "clip.mp4", 150)
        assert main(["convert", str(clip), "-o", str(tmp / "demo"), "--no-preview",
                     "--max-people", "1", "-q"]) == 0
        src = tmp / "demo" / "person_1.bvh"
        bvhs["mixamo"].write_bytes(src.read_bytes())
        for rig in ("smpl", "cmu"):
            assert main(["retarget", str(src), "--rig", rig, "-o", str(bvhs[rig])]) == 0
    out = tmp / "out"
    steps = []
    paths = export_bvh_files(list(bvhs.values()), "fbx,glb", out,
                             steps=lambda done, total: steps.append((done, total)))
    assert paths == [out / f"person_{i}.{f}" for i in (1, 2, 3) for f in ("fbx", "glb")]
    assert steps == [(1, 3), (2, 3), (3, 3)]  # as Blender finishes each file (a progress bar)
    return {rig: (bvh, out / f"{bvh.stem}.fbx", out / f"{bvh.stem}.glb")
            for rig, bvh in bvhs.items()}


def _ours(bvh_path: Path):
    """(names, positions (T, J, 3) m in the BVH's axes, rest (J, 3) m, fps) of our file."""
    bvh = read_bvh(bvh_path)
    anim = bvh_animation(bvh, unit="m")
    rest = np.zeros((len(bvh.names), 3))
    for j, p in enumerate(anim.rig.parents):
        rest[j] = anim.rig.offsets[j] + (rest[p] if p >= 0 else 0.0)
    return list(bvh.names), anim.positions(), rest, bvh.fps


def _to_blender(p: np.ndarray) -> np.ndarray:
    """BVH/FBX/glTF axes (Y up, facing +Z) -> Blender's (Z up): (x, y, z) -> (x, -z, y)."""
    return np.stack([p[..., 0], -p[..., 2], p[..., 1]], axis=-1)


def _report(path: Path, fps: float | None = None) -> dict:
    return run_blender_json(REPORT, {"path": str(path), "frames": None, "fps": fps})


def _t_pose(rest: np.ndarray, names: list[str], rig: str) -> None:
    """Arms sideways and horizontal, legs straight down, head above hips (Blender axes)."""
    from mocap.skeleton.rig import load_rig

    r = load_rig(rig)
    role = {ro: r.joints[j] for j, ro in enumerate(r.roles) if ro}
    at = {n: rest[names.index(n)] for n in names}
    for side, sx in (("left", 1), ("right", -1)):
        arm = at[role[f"{side}_wrist"]] - at[role[f"{side}_shoulder"]]
        assert arm[0] * sx / np.linalg.norm(arm) > 0.98, f"{side} arm not sideways: {arm}"
        leg = at[role[f"{side}_ankle"]] - at[role[f"{side}_hip"]]
        assert leg[2] / np.linalg.norm(leg) < -0.98, f"{side} leg not down: {leg}"
    assert at[role["head"]][2] > at[role["hips"]][2] + 0.3


# ---------------------------------------------------------------------------- Blender round trip


def _check_fbx_in_blender(bvh_path: Path, fbx: Path, rig: str, label: str) -> None:
    names, ours, rest, fps = _ours(bvh_path)
    rep = _report(fbx)
    t = len(ours)
    assert rep["bones"] == names, "no leaf bones added, none lost, same order"
    # imported with Blender's defaults, the FBX spans frames 1..T, as the BVH does
    assert rep["frame_range"] == [1, t], "FBX keys on frames 1..T, like the BVH"
    assert rep["keys"] == [t], "one key per frame on every F-curve (no rest key in the clip)"
    # Blender keeps fps_base in float32: the rate agrees to ~1e-8 relative
    assert rep["scene_fps"] == pytest.approx(fps, rel=1e-7)
    heads = np.array(rep["heads"])
    err = np.linalg.norm(heads - _to_blender(ours), axis=-1)
    # rest pose: the rig's T-pose, not a frame of the animation
    rest_err = np.linalg.norm(np.array(rep["rest_heads"]) - _to_blender(rest), axis=-1)
    print(f"FBX in Blender {label}: {len(names)} bones, frames {rep['frame_range']}, keys "
          f"{rep['keys']}, fps {rep['scene_fps']:.8g} (BVH {fps:.8g}); world joints max "
          f"{err.max() * 1000:.4f} mm; rest pose vs the rig's T-pose max "
          f"{rest_err.max() * 1000:.4f} mm")
    assert err.max() <= 1e-3, f"max world joint error {err.max() * 1000:.3f} mm"
    assert rest_err.max() <= 1e-3, f"rest pose off the rig by {rest_err.max() * 1000:.3f} mm"
    if rig != "cmu":  # the CMU rig's "hip" joints sit at the pelvis centre: no leg line
        _t_pose(np.array(rep["rest_heads"]), names, rig)


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("rig", RIGS)
def test_fbx_round_trip_in_blender(clips, rig):
    bvh_path, fbx, _ = clips[rig]
    _check_fbx_in_blender(bvh_path, fbx, rig, rig)


@pytest.fixture(scope="module")
def bare(clips):
    """The mixamo clip exported without the mesh: an armature alone has no FBX bind pose,
    so its rest pose rests on the rest key at frame 0 (see export_anim.py)."""
    bvh_path = clips["mixamo"][0]
    out = bvh_path.parent / "bare"
    paths = export_bvh_files([bvh_path], "fbx,glb", out, mesh=False)
    return bvh_path, *paths


@pytest.mark.blender
@pytest.mark.slow
def test_armature_only_fbx_round_trip_in_blender(bare):
    bvh_path, fbx, _ = bare
    _check_fbx_in_blender(bvh_path, fbx, "mixamo", "mixamo, no mesh")


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
def test_glb_round_trip_in_blender(clips, rig):
    bvh_path, _, glb = clips[rig]
    names, ours, rest, fps = _ours(bvh_path)
    rep = _report(glb, fps)  # glTF stores seconds: read back at the source fps
    t = len(ours)
    assert rep["bones"] == names
    assert rep["frame_range"][1] - rep["frame_range"][0] + 1 == t
    heads = np.array(rep["heads"])
    err = np.linalg.norm(heads - _to_blender(ours), axis=-1)
    rest_err = np.linalg.norm(np.array(rep["rest_heads"]) - _to_blender(rest), axis=-1)
    print(f"GLB in Blender {rig}: {t} frames, world joints max {err.max() * 1000:.4f} mm, "
          f"rest max {rest_err.max() * 1000:.4f} mm")
    assert err.max() <= 1e-3, f"max world joint error {err.max() * 1000:.3f} mm"
    assert rest_err.max() <= 1e-3
    _t_pose(np.array(rep["rest_heads"]), names, rig)


def fbx_take(path: Path) -> str:
    """The name of a binary FBX's animation stack (its take: what Unity, Maya or Unreal list
    as the clip), read from the file's bytes: the ``S`` string property ``NAME\\x00\\x01
    AnimStack`` with its length."""
    data = path.read_bytes()
    found = re.findall(rb"S(.{4})([^\x00]*)\x00\x01AnimStack", data, re.S)
    assert len(found) == 1, found
    size, name = found[0]
    assert struct.unpack("<I", size)[0] == len(name) + len(b"\x00\x01AnimStack")
    return name.decode()


def glb_animations(path: Path) -> list[str]:
    """The names of a GLB's animations, from its JSON chunk."""
    data = path.read_bytes()
    size = struct.unpack("<I", data[12:16])[0]
    return [a.get("name") for a in json.loads(data[20:20 + size])["animations"]]


@pytest.mark.blender
@pytest.mark.slow
def test_fbx_take_is_named_after_the_person_like_the_glb_animation(clips):
    for bvh_path, fbx, glb in clips.values():
        person = bvh_path.stem  # person_1, ...
        assert fbx_take(fbx) == person  # was "Scene"
        assert glb_animations(glb) == [person]
        # Blender names the action it imports "<armature>|<take>"
        assert _report(fbx)["action"].split("|")[-1] == person
        assert _report(glb, 30.0)["action"] == person


# ---------------------------------------------------------------------------- assimp


def _quat_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 4) x, y, z, w -> (..., 3, 3)."""
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def _trs(t: np.ndarray, q: np.ndarray, s: np.ndarray) -> np.ndarray:
    m = np.zeros((*t.shape[:-1], 4, 4))
    m[..., :3, :3] = _quat_matrix(q) * s[..., None, :]
    m[..., :3, 3] = t
    m[..., 3, 3] = 1.0
    return m


def _world(nodes: dict[str, tuple[str | None, np.ndarray]], anim: dict[str, np.ndarray],
           names: list[str], t: int) -> np.ndarray:
    """(T, J, 3) world positions of ``names`` from parent links, static local matrices and
    animated local matrices (T, 4, 4)."""
    cache: dict[str, np.ndarray] = {}

    def world(name: str) -> np.ndarray:
        if name not in cache:
            parent, local = nodes[name]
            local = anim.get(name, np.broadcast_to(local, (t, 4, 4)))
            cache[name] = local if parent is None else world(parent) @ local
        return cache[name]

    return np.stack([world(n)[:, :3, 3] for n in names], axis=1)


def _assimp_dump(assimp: str, fbx: Path, tmp_path: Path):
    xml = tmp_path / f"{fbx.stem}.assxml"
    proc = subprocess.run([assimp, "dump", str(fbx), str(xml)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0 and xml.exists(), proc.stdout[-500:] + proc.stderr[-500:]
    scene = ET.parse(xml).getroot().find("Scene")
    nodes: dict[str, tuple[str | None, np.ndarray]] = {}

    def visit(node, parent):
        m = np.array(node.find("Matrix4").text.split(), float).reshape(4, 4)
        nodes[node.get("name")] = (parent, m)
        for child in node.findall("NodeList/Node"):
            visit(child, node.get("name"))

    visit(scene.find("Node"), None)
    (animation,) = scene.findall("AnimationList/Animation")
    channels = {}
    for na in animation.findall("NodeAnimList/NodeAnim"):
        channels[na.get("node")] = [
            np.array([[float(k.get("time")), *map(float, k.text.split())]
                      for k in na.findall(f"{kind}KeyList/{kind}Key")])
            for kind in ("Position", "Rotation", "Scaling")]
    return nodes, animation.attrib, channels


def _check_assimp(assimp: str, bvh_path: Path, fbx: Path, mesh: bool, label: str,
                  tmp_path: Path) -> None:
    names, ours, _, fps = _ours(bvh_path)
    t = len(ours)
    info = subprocess.run([assimp, "info", str(fbx)], capture_output=True, text=True,
                          timeout=300)
    assert info.returncode == 0, info.stderr
    stats: dict[str, str] = {}
    for ln in info.stdout.splitlines():  # the first "Name: value" of each name
        if ":" in ln and not ln.startswith(" "):
            stats.setdefault(*(part.strip() for part in ln.split(":", 1)))
    # assimp's root node, the armature object, its bones (and the mesh object); the bones
    # count as "Bones" only where a mesh is skinned to them
    assert int(stats["Nodes"]) == len(names) + 2 + mesh
    assert int(stats["Meshes"]) == int(mesh)
    assert int(stats["Bones"]) == (len(names) if mesh else 0)
    assert int(stats["Animations"]) == 1
    assert int(stats["Animation Channels"]) == len(names) + 1
    for n in names:
        assert n in info.stdout, f"bone {n} missing from assimp's node hierarchy"

    nodes, attrib, channels = _assimp_dump(assimp, fbx, tmp_path)
    # bones: exactly the rig's joints (no leaf bones), under one armature node
    arm = nodes[names[0]][0]
    assert nodes[arm][0] == "RootNode"
    bones = [n for n in nodes if n != arm and nodes[n][0] not in (None, "RootNode")]
    assert sorted(bones) == sorted(names)
    # one key per frame, on every bone channel, at 1/fps spacing
    assert float(attrib["tick_cnt"]) == pytest.approx(fps, rel=1e-5)
    assert float(attrib["duration"]) == pytest.approx(t - 1)
    anim = {}
    for n in names:
        pos, rot, scl = channels[n]
        for keys in (pos, rot, scl):
            assert len(keys) == t, f"{n}: {len(keys)} keys for {t} frames"
            np.testing.assert_allclose(keys[:, 0], np.arange(t), atol=1e-6)
        anim[n] = _trs(pos[:, 1:], rot[:, 1:], scl[:, 1:])
    # and assimp's keys put the joints where we do, on every frame
    got = _world(nodes, anim, names, t)
    err = np.linalg.norm(got - ours, axis=-1)
    print(f"assimp FBX {label}: {stats['Nodes'].strip()} nodes, {stats['Bones'].strip()} "
          f"bones (skinned), {len(bones)} bone nodes, "
          f"{stats['Animation Channels'].strip()} channels x {t} keys at "
          f"{float(attrib['tick_cnt']):.6g} ticks/s; world joints max {err.max() * 1000:.4f} mm")
    assert err.max() <= 1e-3, f"assimp world joint error {err.max() * 1000:.3f} mm"



@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
def test_assimp_reads_fbx(clips, assimp, rig, tmp_path):
    bvh_path, fbx, _ = clips[rig]
    _check_assimp(assimp, bvh_path, fbx, True, rig, tmp_path)


@pytest.mark.blender
@pytest.mark.slow
def test_assimp_reads_armature_only_fbx(bare, assimp, tmp_path):
    bvh_path, fbx, _ = bare
    _check_assimp(assimp, bvh_path, fbx, False, "mixamo, no mesh", tmp_path)


# ---------------------------------------------------------------------------- glTF


def _read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    magic, version, length = struct.unpack_from("<4sII", data, 0)
    assert magic == b"glTF" and version == 2 and length == len(data)
    n, kind = struct.unpack_from("<I4s", data, 12)
    assert kind == b"JSON"
    doc = json.loads(data[20:20 + n])
    m, kind = struct.unpack_from("<I4s", data, 20 + n)
    assert kind == b"BIN\x00"
    return doc, data[28 + n:28 + n + m]


def _accessor(doc: dict, binary: bytes, i: int) -> np.ndarray:
    acc = doc["accessors"][i]
    assert acc["componentType"] == 5126, "float accessors"
    view = doc["bufferViews"][acc["bufferView"]]
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    start = view.get("byteOffset", 0) + acc.get("byteOffset", 0)
    assert view.get("byteStride", 4 * width) == 4 * width
    return np.frombuffer(binary, "<f4", acc["count"] * width, start).reshape(
        acc["count"], width).astype(np.float64)


def _check_glb(validate, bvh_path: Path, glb: Path, mesh: bool, label: str) -> None:
    names, ours, _, fps = _ours(bvh_path)
    t = len(ours)
    report = validate(glb)
    issues = report["issues"]
    errors = [m for m in issues["messages"] if m["severity"] == 0]
    assert issues["numErrors"] == 0, errors
    assert issues["numWarnings"] == 0, issues["messages"]
    assert report["info"]["animationCount"] == 1
    # the stick figure: an octahedron (8 flat triangles) per bone, skinned
    assert report["info"]["totalTriangleCount"] == (8 * len(names) if mesh else 0)
    assert report["info"]["hasSkins"]

    doc, binary = _read_glb(glb)
    (skin,) = doc["skins"]
    joints = [doc["nodes"][j]["name"] for j in skin["joints"]]
    assert sorted(joints) == sorted(names)
    parent_of = {c: i for i, nd in enumerate(doc["nodes"]) for c in nd.get("children", [])}
    nodes = {}
    for i, nd in enumerate(doc["nodes"]):
        m = _trs(np.array(nd.get("translation", [0.0, 0.0, 0.0])),
                 np.array(nd.get("rotation", [0.0, 0.0, 0.0, 1.0])),
                 np.array(nd.get("scale", [1.0, 1.0, 1.0])))
        p = parent_of.get(i)
        nodes[nd["name"]] = (doc["nodes"][p]["name"] if p is not None else None, m)
    (animation,) = doc["animations"]
    local: dict[str, dict[str, np.ndarray]] = {}
    for ch in animation["channels"]:
        sampler = animation["samplers"][ch["sampler"]]
        times = _accessor(doc, binary, sampler["input"])[:, 0]
        assert len(times) == t, "one key per frame"
        np.testing.assert_allclose(times, np.arange(t) / fps, rtol=1e-6, atol=1e-7)
        name = doc["nodes"][ch["target"]["node"]]["name"]
        local.setdefault(name, {})[ch["target"]["path"]] = _accessor(
            doc, binary, sampler["output"])
    anim = {}
    for name, paths in local.items():
        _, rest = nodes[name]
        tr = paths.get("translation", np.broadcast_to(rest[:3, 3], (t, 3)))
        rot = paths["rotation"]
        scl = paths.get("scale", np.ones((t, 3)))
        anim[name] = _trs(tr, rot, scl)
    assert set(names) <= set(anim), "every joint animated"
    got = _world(nodes, anim, names, t)
    err = np.linalg.norm(got - ours, axis=-1)
    print(f"GLB {label}: {len(names)} joints, {t} keys per channel, validator "
          f"{issues['numErrors']} errors {issues['numWarnings']} warnings; world joints "
          f"max {err.max() * 1000:.4f} mm")
    assert err.max() <= 1e-3, f"GLB world joint error {err.max() * 1000:.3f} mm"


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("rig", RIGS)
def test_gltf_validator_and_contents(clips, gltf_validate, rig):
    bvh_path, _, glb = clips[rig]
    _check_glb(gltf_validate, bvh_path, glb, True, rig)


@pytest.mark.blender
@pytest.mark.slow
def test_gltf_validator_armature_only(bare, gltf_validate):
    bvh_path, _, glb = bare
    _check_glb(gltf_validate, bvh_path, glb, False, "mixamo, no mesh")


# ---------------------------------------------------------------------------- CLI and errors


@pytest.mark.blender
@pytest.mark.slow
def test_export_command(clips, tmp_path, capsys):
    bvh_path = clips["mixamo"][0]
    out = tmp_path / "a" / "walk.fbx"
    assert main(["export", str(bvh_path), "-o", str(out)]) == 0
    line = capsys.readouterr().out
    bvh = read_bvh(bvh_path)
    assert f"{out}: FBX, {len(bvh.names)} bones, {len(bvh.motion)} frames" in line
    assert out.read_bytes()[:18] == b"Kaydara FBX Binary"
    glb = tmp_path / "walk.bin"
    assert main(["export", str(bvh_path), "--to", "glb", "-o", str(glb)]) == 0
    assert glb.read_bytes()[:4] == b"glTF"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "walk.bin", "walk.fbx"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.blender
@pytest.mark.slow
def test_blender_executable_option(clips, blender, tmp_path, monkeypatch):
    """``--blender PATH`` runs ``PATH --background --factory-startup ... --python SCRIPT --
    ARGS``: here PATH is a stand-in that checks those options and runs the script in the
    bpy environment (Blender's own argument handling, which a real executable does)."""
    shim = tmp_path / "blender"
    shim.write_text(
        "#!/bin/sh\n"
        '[ "$1" = --background ] && [ "$2" = --factory-startup ] || exit 9\n'
        'while [ "$1" != --python ]; do shift; done\n'
        'shift; script="$1"; shift\n'
        f'[ "$1" = -- ] || exit 8\nexec "{blender}" "$script" "$@"\n')
    shim.chmod(0o755)
    bvh_path = clips["cmu"][0]
    clip = export_bvh(bvh_path, tmp_path / "x.glb", blender=shim)
    assert (tmp_path / "x.glb").stat().st_size > 1000
    bvh = read_bvh(bvh_path)
    assert clip.frames == len(bvh.motion) and clip.bones == len(bvh.names)
    monkeypatch.setenv("MOCAP_BLENDER", str(shim))
    assert export_bvh_files([bvh_path], ["fbx"], tmp_path / "env") == [
        tmp_path / "env" / "person_3.fbx"]


@pytest.mark.blender
@pytest.mark.slow
@pytest.mark.parametrize("units", [None, "cm"])
def test_centimetre_bvh_exports_in_metres(clips, tmp_path, units):
    from mocap.export.bvh import write_bvh

    bvh_path = clips["smpl"][0]
    _, ours, _, _ = _ours(bvh_path)
    cm = write_bvh(bvh_animation(read_bvh(bvh_path), unit="m"), tmp_path / "cm.bvh",
                   units="cm")
    assert np.abs(read_bvh(cm).offsets[1:]).max() > 5, "the file really is in cm"
    fbx = export_bvh(cm, tmp_path / "cm.fbx", units=units).outputs["fbx"]
    heads = np.array(_report(fbx)["heads"])
    err = np.linalg.norm(heads - _to_blender(ours), axis=-1)
    assert err.max() <= 1e-3, f"max world joint error {err.max() * 1000:.3f} mm"


@pytest.mark.blender
@pytest.mark.slow
def test_blender_setup_command(blender, capsys):
    assert main(["blender", "setup"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == f"{blender} (Blender 5.0.1)"


def test_no_blender_named_executable(tmp_path, capsys):
    bvh_path = tmp_path / "in.bvh"
    bvh_path.write_text("HIERARCHY\n")
    out = tmp_path / "out.fbx"
    rc = main(["export", str(bvh_path), "-o", str(out), "--units", "m", "--blender",
               str(tmp_path / "no-blender")])
    err = capsys.readouterr().err
    assert rc == 3
    assert err.count("\n") == 1 and err.startswith("mocap: error: FBX/GLB export needs Blender")
    assert "mocap blender setup" in err and "--blender PATH" in err and "no-blender" in err
    assert not out.exists() and bvh_path.read_text() == "HIERARCHY\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.bvh"]


def test_no_blender_env_variable(tmp_path, monkeypatch):
    from mocap.export.blender_env import BlenderUnavailableError

    monkeypatch.setenv("MOCAP_BLENDER", str(tmp_path / "blender-9"))
    bvh_path = tmp_path / "a.bvh"
    bvh_path.write_text("")
    with pytest.raises(BlenderUnavailableError, match=r"\$MOCAP_BLENDER .*blender-9 is not"):
        export_bvh(bvh_path, tmp_path / "a.glb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bvh"]


def test_no_blender_environment(tmp_path, monkeypatch):
    """No executable named and the bpy environment cannot be created (its folder would
    be inside a file): the same one-line error, and no download is attempted."""
    from mocap.export.blender_env import BlenderUnavailableError

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MOCAP_BLENDER_VENV", str(blocker / "venv"))
    monkeypatch.delenv("MOCAP_BLENDER", raising=False)
    bvh_path = tmp_path / "person_1.bvh"
    bvh_path.write_text(SMALL_BVH)  # a valid file: export reads it before Blender starts
    with pytest.raises(BlenderUnavailableError, match="mocap blender setup") as exc:
        export_bvh_files([bvh_path], "fbx,glb", tmp_path / "out")
    assert "\n" not in str(exc.value) and "cannot create the Blender environment" in str(
        exc.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.blender
@pytest.mark.slow
def test_blender_failure_leaves_no_output(blender, tmp_path):
    """A Blender that fails leaves nothing behind; a malformed BVH never reaches Blender
    (one line from mocap's reader, with the file and line)."""
    bad = tmp_path / "bad.bvh"
    bad.write_text("HIERARCHY\nROOT Hips\n{\n")
    with pytest.raises(InputError, match=r"bad\.bvh:3: unexpected end of file"):
        export_bvh_files([bad], "fbx,glb", tmp_path)
    good = tmp_path / "good.bvh"
    good.write_text(SMALL_BVH)
    failing = shutil.which("false")
    assert failing
    with pytest.raises(MocapError, match="Blender"):
        export_bvh_files([good], "fbx,glb", tmp_path, blender=failing)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.bvh", "good.bvh"]


@pytest.mark.parametrize(("given", "expected"), [
    ("fbx,glb", ("fbx", "glb")), ("GLB", ("glb",)), (["gltf", "fbx", "glb"], ("glb", "fbx")),
    (".fbx", ("fbx",)),
])
def test_parse_formats(given, expected):
    assert parse_formats(given) == expected


@pytest.mark.parametrize("given", ["obj", "", "fbx,usd", []])
def test_parse_formats_rejects(given):
    with pytest.raises(InputError, match="choose from fbx, glb"):
        parse_formats(given)


def test_export_rejects_bad_jobs(tmp_path):
    with pytest.raises(InputError, match="no such BVH file"):
        export_bvh_files([tmp_path / "missing.bvh"], "fbx")
    a = tmp_path / "x" / "p.bvh"
    b = tmp_path / "y" / "p.bvh"
    for p in (a, b):
        p.parent.mkdir()
        p.write_text(SMALL_BVH)
    with pytest.raises(InputError, match="written twice"):
        export_bvh_files([a, b], "fbx", tmp_path / "out")
    with pytest.raises(InputError, match="no suffix"):
        export_bvh(a, tmp_path / "noext")


BLENDER_34_STDERR = """\
Error: Python: Traceback (most recent call last):
  File "/usr/share/blender/scripts/addons/io_anim_bvh/import_bvh.py", line 101, in read_bvh
    file = open(file_path, 'rU')
ValueError: invalid mode: 'rU'
Location: /usr/share/blender/scripts/modules/bpy/ops.py:113

Error: script failed, file: '/work/main/mocap/blender_scripts/export_anim.py', exiting.
"""


@pytest.mark.parametrize(("stdout", "stderr", "expected"), [
    # a Blender executable (Debian's 3.4.1, whose BVH importer fails on Python 3.11)
    ("Blender 3.4.1\n\tparsing bvh 'x.bvh'...", BLENDER_34_STDERR,
     "ValueError: invalid mode: 'rU' (Blender 3.4.1)"),
    ("", "Traceback (most recent call last):\nRuntimeError: Blender 5.0.1: x has no option y\n",
     "RuntimeError: Blender 5.0.1: x has no option y"),
    ("", "", "exit code 1"),
])
def test_blender_error_line(stdout, stderr, expected):
    from mocap.export.blender import error_line

    assert error_line(stdout, stderr, 1) == expected
