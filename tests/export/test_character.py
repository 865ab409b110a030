"""The user's own character as the target (``--rig hero.glb|fbx|vrm``), in real Blender.

Characters are made by a Blender script (``make_character.py``: an armature with a mesh
skinned to it and a material, UE5 / Rigify / VRoid bone names, A- or T-pose) and exported
as GLB, FBX and VRM (a GLB by another name). The demo video converted onto each must give
the character itself animated: every bone keyed on every frame, the mesh deforming with it,
the bind pose untouched, the limbs pointing where the same run on the mixamo rig points
them, the toe tips on the floor; the FBX read by assimp, the GLB passing the Khronos
validator. Bad character files are refused in one line, with nothing written.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mocap.export.blender import run_blender_json
from mocap.export.character import AXES, read_character
from mocap.io.bvh import read_bvh
from mocap.retarget.bvh_source import bvh_animation
from tests.export.test_blender import REPORT, assimp, gltf_validate  # noqa: F401
from tests.helpers import assert_one_line_error, run_cli

pytestmark = [pytest.mark.slow, pytest.mark.blender]
MAKE = Path(__file__).with_name("make_character.py")
FRAMES = 230  # the demo video's
LIMBS = [("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
         ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
         ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
         ("right_hip", "right_knee"), ("right_knee", "right_ankle")]


def make_character(path: Path, naming: str, pose: str, **options) -> dict:
    out = path.with_suffix(".glb") if path.suffix == ".vrm" else path
    res = run_blender_json(MAKE, {"naming": naming, "pose": pose, "outputs": [str(out)],
                                  **options})
    if out != path:
        out.rename(path)
    return res


@pytest.fixture(scope="module")
def runs(blender_python, demo_video_path, model_paths, tmp_path_factory):
    """The demo converted onto mixamo and onto each test character."""
    root = tmp_path_factory.mktemp("characters")
    chars = {"ue5_A.glb": ("ue5", "A"), "ue5_A.fbx": ("ue5", "A"),
             "rigify_T.glb": ("rigify", "T"), "vroid_A.vrm": ("vrm", "A")}
    out = {"root": root, "made": {}}
    for name, (naming, pose) in chars.items():
        out["made"][name] = make_character(root / name, naming, pose)
    for name in ("mixamo", *chars):
        rig = name if name == "mixamo" else str(root / name)
        dest = root / f"out_{name}"
        proc = run_cli("convert", demo_video_path, "-o", dest, "--rig", rig, "--no-preview",
                       "--formats", "json")
        assert proc.returncode == 0, proc.stderr
        out[name] = dest
    return out


def _walker(dest: Path) -> int:
    """The id of the person who walks across (the longest root path sideways)."""
    spans = {int(p.stem.split("_")[1]): np.ptp(np.array(
        json.loads(p.read_text())["root_translation"])[:, 0])
        for p in dest.glob("person_*.json")}
    return max(spans, key=spans.get)


def _role_points(dest: Path, pid: int) -> dict[str, np.ndarray]:
    """The person's BVH read back by mocap's reader: role -> (T, 3) metres, Y up (End
    Sites included)."""
    pts = bvh_animation(read_bvh(dest / f"person_{pid}.bvh")).points()
    return {k: pts[k] for k in pts}


@pytest.mark.parametrize("name", ["ue5_A.glb", "ue5_A.fbx", "rigify_T.glb", "vroid_A.vrm"])
def test_the_character_itself_is_animated(runs, name):
    dest, character_file = runs[name], runs["root"] / name
    kind = "fbx" if name.endswith(".fbx") else "glb"
    character = read_character(character_file)
    report = json.loads((dest / "report.json").read_text())
    assert report["rig"] == str(character_file)
    people = [p["id"] for p in report["people"]]
    assert len(people) == 2
    for pid in people:
        assert (dest / f"person_{pid}.{kind}").is_file()
        assert (dest / f"person_{pid}.bvh").is_file()
    pid = _walker(dest)
    back = run_blender_json(REPORT, {"path": str(dest / f"person_{pid}.{kind}"),
                                     "frames": None, "fps": 30.0, "mesh": True})
    # every bone of the character, one key per frame
    assert len(back["bones"]) == character.bones
    assert set(character.rig.joints) <= set(back["bones"])
    assert back["keys"] == [FRAMES]
    # the bind pose is the file's: rest heads where the character file has them
    heads = dict(zip(back["bones"], back["rest_heads"], strict=True))
    for j, bone in enumerate(character.rig.joints):
        np.testing.assert_allclose(heads[bone], character.heads[j], atol=1e-3)
    # the mesh and its material came along, and it deforms with the walk
    (mesh,) = back["meshes"]
    assert mesh["vertices"] > 0 and "Skin" in mesh["materials"]
    cent, ext = np.array(mesh["centroids"]), np.array(mesh["extents"])
    assert np.linalg.norm(cent[-1] - cent[0]) > 2.0  # walked metres across
    assert np.ptp(ext, axis=0).max() > 0.1  # limbs swing: the body's extent changes


@pytest.mark.parametrize("name", ["ue5_A.glb", "ue5_A.fbx", "rigify_T.glb", "vroid_A.vrm"])
def test_limbs_follow_the_mixamo_run_and_feet_stay_on_the_floor(runs, name):
    """In the exported character (read back by Blender's importer), the joints are where
    its BVH puts them (within 1 cm), the limbs' directions within 8 degrees (mean over
    frames) of the same video on the mixamo rig; the toe tips on the floor (median of the
    lowest foot point within 5 cm)."""
    pid = _walker(runs["mixamo"])
    assert _walker(runs[name]) == pid
    character = read_character(runs["root"] / name)
    kind = "fbx" if name.endswith(".fbx") else "glb"
    back = run_blender_json(REPORT, {"path": str(runs[name] / f"person_{pid}.{kind}"),
                                     "frames": None, "fps": 30.0})
    heads = np.array(back["heads"]) @ character.axes.T  # mocap's axes, Y up
    index = {b: i for i, b in enumerate(back["bones"])}
    got = {r: heads[:, index[character.rig.joints[j]]]
           for j, r in enumerate(character.rig.roles) if r}
    bvh = _role_points(runs[name], pid)
    for role, track in got.items():
        err = np.linalg.norm(track - bvh[role], axis=1)
        assert err.max() < 0.01, (name, role, err.max())
    ref = _role_points(runs["mixamo"], pid)
    for a, b in LIMBS:
        u, v = ref[b] - ref[a], got[b] - got[a]
        cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        assert angle.mean() < 8.0, (name, a, b, angle.mean())
    feet = [k for k in bvh if k.split("_", 1)[-1] in ("ankle", "toe", "toe_end", "heel")]
    lowest = np.min([bvh[k][:, 1] for k in feet], axis=0)
    assert -0.03 < np.median(lowest) < 0.05, (name, np.median(lowest))


def test_exports_read_by_assimp_and_the_khronos_validator(runs, assimp, gltf_validate):  # noqa: F811
    pid = _walker(runs["ue5_A.fbx"])
    fbx = runs["ue5_A.fbx"] / f"person_{pid}.fbx"
    info = subprocess.run([assimp, "info", str(fbx)], capture_output=True, text=True,
                          timeout=300)
    assert info.returncode == 0, info.stderr
    stats = {}
    for ln in info.stdout.splitlines():
        if ":" in ln and not ln.startswith(" "):
            stats.setdefault(*(part.strip() for part in ln.split(":", 1)))
    assert int(stats["Meshes"]) >= 1 and int(stats["Animations"]) == 1
    assert int(stats["Bones"]) >= 20  # the bones the mesh is skinned to
    for bone in ("pelvis", "upperarm_l", "calf_r", "hand_l"):
        assert bone in info.stdout
    report = gltf_validate(runs["ue5_A.glb"] / f"person_{pid}.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    assert report["info"]["animationCount"] == 1 and report["info"]["hasSkins"]


def test_a_character_facing_the_other_way_is_turned(blender_python, tmp_path):
    """A character facing +Y in Blender (its left at -X) is read facing +Z all the same."""
    path = tmp_path / "back.glb"
    make_character(path, "ue5", "T", facing="+Y")
    rig = read_character(path).rig
    pts = rig.points()
    assert pts["left_hip"][0] > pts["right_hip"][0] and pts["head"][1] > pts["hips"][1]
    assert (pts["left_toe"] - pts["left_ankle"])[2] > 0
    np.testing.assert_allclose(AXES @ np.array([0.0, -1.0, 0.0]), [0, 0, 1])


@pytest.mark.parametrize(("options", "expected"), [
    ({"armature": False}, "no armature in the file"),
    ({"extra_armature": True}, "2 armatures"),
    ({"naming": "generic"}, "cannot recognise the body joints"),
    (None, "not a character file Blender can read"),
])
def test_bad_character_files_are_refused_in_one_line(blender_python, demo_video_path,
                                                     tmp_path, options, expected):
    path = tmp_path / "bad.glb"
    if options is None:
        path.write_bytes(b"glTF" + bytes(range(256)) * 4)  # a corrupt file
    else:
        make_character(path, options.pop("naming", "ue5"), "T", **options)
    out = tmp_path / "out"
    proc = run_cli("convert", demo_video_path, "-o", out, "--rig", path, "--no-preview")
    assert_one_line_error(proc, str(path), expected)
    assert not out.exists()


def test_retarget_onto_a_character(runs, tmp_path):
    """`mocap retarget clip.bvh --rig hero.glb -o out.glb`: the character animated by a BVH
    clip (every bone, one key per frame); an FBX/GLB output without a character is refused
    in one line, nothing written."""
    clip = runs["mixamo"] / f"person_{_walker(runs['mixamo'])}.bvh"
    out = tmp_path / "hero_walk.glb"
    proc = run_cli("retarget", clip, "--rig", runs["root"] / "ue5_A.glb", "-o", out)
    assert proc.returncode == 0, proc.stderr
    back = run_blender_json(REPORT, {"path": str(out), "frames": [0, 100], "fps": 30.0,
                                     "mesh": True})
    assert back["keys"] == [FRAMES] and len(back["bones"]) == runs["made"]["ue5_A.glb"]["bones"]
    assert back["meshes"] and back["meshes"][0]["vertices"] > 0
    bvh = tmp_path / "hero_walk.bvh"
    assert run_cli("retarget", clip, "--rig", runs["root"] / "ue5_A.fbx", "-o",
                   bvh).returncode == 0
    assert "ROOT root" in bvh.read_text()
    bad = run_cli("retarget", clip, "--rig", "mixamo", "-o", tmp_path / "no.glb")
    assert_one_line_error(bad, "no.glb", "give a character file as --rig")
    assert not (tmp_path / "no.glb").exists()


GENERIC_MAP = {"hips": "bone_01", "spine": "bone_02", "chest": "bone_03", "neck": "bone_04",
               "head": "bone_05",
               **{f"{side}_{part}": f"bone_{base + i:02d}"
                  for side, base in (("left", 6), ("right", 14))
                  for i, part in enumerate(("collar", "shoulder", "elbow", "wrist", "hip",
                                            "knee", "ankle", "toe"))}}


def test_a_bone_map_names_an_unknown_skeleton(blender_python, demo_video_path, tmp_path):
    """A character whose bones are bone_00 ... bone_21: refused without a map (the message
    points to --bone-map), animated with one; a map naming a bone it lacks, or an unknown
    role, is refused in one line."""
    path = tmp_path / "generic.glb"
    make_character(path, "generic", "A")
    bone_map = tmp_path / "map.toml"
    bone_map.write_text("".join(f'{role} = "{name}"\n' for role, name in GENERIC_MAP.items()))
    refused = run_cli("convert", demo_video_path, "-o", tmp_path / "no", "--rig", path,
                      "--no-preview")
    assert_one_line_error(refused, "cannot recognise the body joints", "--bone-map")
    out = tmp_path / "out"
    proc = run_cli("convert", demo_video_path, "-o", out, "--rig", path, "--bone-map",
                   bone_map, "--no-preview", "--formats", "json")
    assert proc.returncode == 0, proc.stderr
    pid = _walker(out)
    back = run_blender_json(REPORT, {"path": str(out / f"person_{pid}.glb"),
                                     "frames": [0, 120], "fps": 30.0})
    assert back["keys"] == [FRAMES] and "bone_10" in back["bones"]
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('hips = "bone_01"\nleft_knee = "shin"\n')
    bad = run_cli("convert", demo_video_path, "-o", tmp_path / "w", "--rig", path,
                  "--bone-map", wrong, "--no-preview")
    assert_one_line_error(bad, "left_knee = 'shin'", "does not have")
    wrong.write_text('hipz = "bone_01"\n')
    bad = run_cli("convert", demo_video_path, "-o", tmp_path / "w", "--rig", path,
                  "--bone-map", wrong, "--no-preview")
    assert_one_line_error(bad, "unknown role 'hipz'", "did you mean 'hips'")
    assert not (tmp_path / "w").exists() and not (tmp_path / "no").exists()


def test_the_blender_addon_animates_a_character(runs, demo_video_path, tmp_path,
                                                 monkeypatch):
    """`mocap blender addon` writes a zip that Blender installs and enables (headless, in a
    scripts folder of the test's own); run from its operator on a scripted UE5 character
    and the demo video, it puts the first person's walk on that armature (every bone keyed
    on every frame) and brings the other person in as a new armature; a missing video is
    an error in Blender, nothing changed."""
    zip_path = tmp_path / "mocap_addon.zip"
    proc = run_cli("blender", "addon", "-o", zip_path)
    assert proc.returncode == 0, proc.stderr
    again = run_cli("blender", "addon", "-o", zip_path)
    assert_one_line_error(again, "exists", "--force")
    for var in ("BLENDER_USER_SCRIPTS", "BLENDER_USER_RESOURCES", "BLENDER_USER_CONFIG"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    res = run_blender_json(Path(__file__).with_name("run_addon.py"), {
        "zip": str(zip_path), "character": str(runs["root"] / "ue5_A.glb"),
        "video": str(demo_video_path), "missing_video": str(tmp_path / "nope.mp4")},
        timeout=1800)
    assert res["enabled"]
    assert res["bad"][0] == "ERROR" and "no video at" in res["bad"][1]
    assert res["result"] == ["FINISHED"]
    assert res["keys"] == [FRAMES] and res["frame_range"] == [1, FRAMES]
    assert res["bones_keyed"] == runs["made"]["ue5_A.glb"]["bones"]
    assert res["action"].startswith("mocap person")
    assert len(res["armatures"]) == 2  # the character and the other person


def test_fingers_where_the_character_has_them(blender_python, demo_video_path, model_paths,
                                              tmp_path):
    """A UE5 character with three-bone fingers (thumb_01_l ... pinky_03_r) and --hands:
    the finger bones bend relative to their hand in the exported file (by tens of degrees
    over the walk), every bone keyed on every frame."""
    path = tmp_path / "hands.glb"
    made = make_character(path, "ue5", "A", fingers=True)
    out = tmp_path / "out"
    proc = run_cli("convert", demo_video_path, "-o", out, "--rig", path, "--hands",
                   "--no-preview", "--formats", "json")
    assert proc.returncode == 0, proc.stderr
    pid = _walker(out)
    back = run_blender_json(REPORT, {"path": str(out / f"person_{pid}.glb"), "frames": None,
                                     "fps": 30.0})
    assert back["keys"] == [FRAMES] and len(back["bones"]) == made["bones"]
    rot = np.array(back["rotations"])
    index = {b: i for i, b in enumerate(back["bones"])}
    bends = []
    for side in ("l", "r"):
        hand = rot[:, index[f"hand_{side}"]]
        for finger in ("index_02", "middle_02", "thumb_02"):
            rel = np.einsum("fba,fbc->fac", hand, rot[:, index[f"{finger}_{side}"]])
            turn = np.einsum("ba,fbc->fac", rel[0], rel)  # from the first frame's
            cos = (np.trace(turn, axis1=1, axis2=2) - 1) / 2
            bends.append(np.degrees(np.arccos(np.clip(cos, -1, 1))).max())
    assert max(bends) > 20.0, bends


def test_a_failed_character_export_leaves_no_file(runs, demo_video_path, tmp_path,
                                                  monkeypatch):
    """Blender failing while it exports the character: the BVH and data files are written,
    no person_<id>.glb (not even an empty one), and the next run into the folder works."""
    import mocap.app.convert as convert_module
    from mocap.app.convert import ConvertConfig, convert_video
    from mocap.errors import MocapError

    def fail(*args, **kwargs):
        raise MocapError("Blender (character.py) failed: a test's failure")

    out = tmp_path / "out"
    cfg = ConvertConfig(rig=str(runs["root"] / "ue5_A.glb"), preview=False, report=False)
    monkeypatch.setattr(convert_module, "export_character", fail)
    with pytest.raises(MocapError, match="a test's failure"):
        convert_video(demo_video_path, out, cfg)
    assert sorted(p.suffix for p in out.glob("person_*")) == [".bvh", ".bvh", ".json", ".json"]
    monkeypatch.undo()
    convert_video(demo_video_path, out, cfg, force=True)
    assert len(list(out.glob("person_*.glb"))) == 2


def test_batch_and_retarget_take_a_character(runs, demo_video_path, tmp_path):
    """`mocap batch --rig hero.glb` animates the character for every video; `mocap
    retarget` never writes over its source or its character."""
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "demo.mp4").symlink_to(demo_video_path)
    out = tmp_path / "batch"
    proc = run_cli("batch", clips, "-o", out, "--rig", runs["root"] / "ue5_A.glb",
                   "--no-preview", "-q")
    assert proc.returncode == 0, proc.stderr
    assert len(list(out.glob("*/person_*.glb"))) == 2  # the job folder: the video's stem
    character = runs["root"] / "ue5_A.glb"
    before = character.read_bytes()
    clip = runs["mixamo"] / f"person_{_walker(runs['mixamo'])}.bvh"
    proc = run_cli("retarget", clip, "--rig", character, "-o", character)
    assert_one_line_error(proc, "would replace an input")
    assert character.read_bytes() == before
