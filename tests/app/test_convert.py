"""`mocap convert` / `mocap demo` end to end on real video, and every bad input."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from mocap.app.convert import ConvertConfig, outputs_complete, parse_formats
from mocap.app.draw import color_for
from mocap.errors import InputError
from mocap.io.bvh import read_bvh
from tests.helpers import assert_one_line_error, cut_video, run_cli


@pytest.fixture(scope="module")
def demo_video(demo_video_path):
    """The demo video, obtained as `mocap demo` obtains it (no ../shared needed)."""
    return demo_video_path


@pytest.fixture(scope="module")
def short_clip(demo_video, tmp_path_factory):
    return cut_video(demo_video, tmp_path_factory.mktemp("clip") / "clip.mp4", 60)


@pytest.fixture(scope="module")
def demo_run(demo_video, model_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("convert") / "out"
    proc = run_cli("convert", demo_video, "-o", out, "--formats", "bvh,json,npz,csv", "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


@pytest.mark.slow
def test_demo_video_gives_one_bvh_per_person_over_every_frame(demo_run):
    out, summary = demo_run
    assert len(summary["people"]) == 2
    for p in summary["people"]:
        bvh = read_bvh(out / f"person_{p['id']}.bvh")
        assert len(bvh.motion) == 230
        assert bvh.frame_time == pytest.approx(1 / 30, abs=1e-7)
        assert p["frames_observed"] >= 100  # each person is in view for most of the clip
    assert summary["frames"] == 230 and summary["fps"] == pytest.approx(30)
    assert outputs_complete(out)


@pytest.mark.slow
def test_data_formats_share_one_schema(demo_run):
    out, summary = demo_run
    person = summary["people"][-1]  # the one who appears after the first frame
    pid = person["id"]
    npz = np.load(out / f"person_{pid}.npz")
    doc = json.loads((out / f"person_{pid}.json").read_text())
    # the npz holds fps, joints and parents as arrays of their own (as the README says)
    joints = npz["joints"].tolist()
    assert doc["joints"] == joints and float(npz["fps"]) == pytest.approx(30)
    assert npz["parents"].tolist() == doc["parents"] and npz["parents"][0] == -1
    # data cover the person's own frames, named by video frame index
    frames = npz["frames"]
    np.testing.assert_array_equal(
        frames, np.arange(person["first_frame"], person["last_frame"] + 1))
    assert npz["observed"].sum() == person["frames_observed"]
    pos = npz["joint_positions"]
    assert pos.shape == (len(frames), len(joints), 3)
    assert npz["rotations"].shape == (len(frames), len(joints), 4)
    np.testing.assert_allclose(np.linalg.norm(npz["rotations"], axis=-1), 1, atol=1e-6)
    np.testing.assert_allclose(np.array(doc["joint_positions"]), pos, atol=1e-5)
    csv = np.loadtxt(out / f"person_{pid}.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(csv[:, 0], frames)
    np.testing.assert_allclose(csv[:, 3:].reshape(pos.shape), pos, atol=1e-5)
    # BVH (every video frame) and npz describe the same motion: the root translation in
    # the person's frames matches (metres), and the ends are held outside them
    root = read_bvh(out / f"person_{pid}.bvh").motion[:, :3]
    np.testing.assert_allclose(root[frames], npz["root_translation"], atol=1e-4)
    np.testing.assert_allclose(root[: frames[0]], np.broadcast_to(root[frames[0]],
                                                                   (frames[0], 3)))


@pytest.mark.slow
def test_report_and_preview(demo_run):
    out, _ = demo_run
    report = json.loads((out / "report.json").read_text())
    for p in report["people"]:
        assert p["jitter_smoothed_px"] < p["jitter_raw_px"]
        assert 0 < p["mean_confidence"] <= 1
        assert p["hip_reprojection_px_median"] < 25  # the exported rig lands on the person
    page = (out / "report.html").read_text()
    assert "<svg" in page
    # each person's thumbnail, taken from the preview's frames as it was made: a JPEG 220
    # px high of that person (not of the other one, not a blank crop)
    thumbs = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', page)
    assert len(thumbs) == len(report["people"]) == 2
    for b64, p in zip(thumbs, report["people"], strict=True):
        img = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[0] == 220 and 40 < img.shape[1] < 400 and img.std() > 20
        # the person's own colour (their rig) is drawn on it
        r, g, b = color_for(p["id"] - 1)
        near = np.abs(img.astype(int) - [b, g, r]).max(axis=-1) < 40
        assert near.sum() > 50
    cap = cv2.VideoCapture(str(out / "preview.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 230
    # at most 960 px on its longer side (1768 x 994 scaled, even sides)
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) \
        == (960, 540)
    cap.release()


@pytest.mark.slow
@pytest.mark.blender
def test_demo_bvh_imports_upright_in_blender_and_walks(demo_run):
    from mocap.export.blender import bvh_report
    from mocap.export.blender_env import BlenderUnavailableError

    out, summary = demo_run
    people = []
    for p in summary["people"]:
        try:
            rep = bvh_report(out / f"person_{p['id']}.bvh", frames=list(range(0, 230, 5)))
        except BlenderUnavailableError as exc:
            pytest.skip(f"no Blender environment: {exc}")
        assert rep["frame_range"][1] - rep["frame_range"][0] == 229
        assert rep["scene_fps"] == pytest.approx(30)
        heads = np.array(rep["heads"])  # (F, bones, 3), Blender Z up
        bones = rep["bones"]
        hips, head = bones.index("mixamorig:Hips"), bones.index("mixamorig:Head")
        toes = [bones.index(n) for n in ("mixamorig:LeftToeBase", "mixamorig:RightToeBase")]
        people.append({
            "upright": heads[:, head, 2] > heads[:, hips, 2] + 0.3,
            "lowest": heads[:, toes, 2].min(axis=1),
            "travel": np.linalg.norm(heads[-1, hips, :2] - heads[0, hips, :2]),
        })
    # One person stands on a tall box, somersaults off it and lands in a crouch; the other
    # walks across the scene. Both are upright most of the time and reach the ground.
    for person in people:
        assert person["upright"].mean() >= 0.8
        assert abs(person["lowest"].min()) < 0.35
    walker = max(people, key=lambda person: person["travel"])
    assert walker["travel"] > 1.5
    assert walker["upright"].all()
    assert abs(np.median(walker["lowest"])) < 0.15  # feet on the ground


@pytest.mark.slow
def test_existing_outputs_need_force(short_clip, model_paths, tmp_path):
    out = tmp_path / "o"
    assert run_cli("convert", short_clip, "-o", out, "--no-preview").returncode == 0
    before = (out / "report.json").read_bytes()
    proc = run_cli("convert", short_clip, "-o", out, "--no-preview")
    assert_one_line_error(proc, "already holds outputs", "--force")
    assert (out / "report.json").read_bytes() == before
    proc = run_cli("convert", short_clip, "-o", out, "--no-preview", "--force",
                   "--formats", "npz")
    assert proc.returncode == 0, proc.stderr
    assert outputs_complete(out)
    assert list(out.glob("person_*.npz"))
    assert not list(out.glob("person_*.json"))  # outputs of the old run do not linger


@pytest.mark.slow
def test_video_with_nobody_is_an_explained_empty_result(demo_video, model_paths, tmp_path):
    empty = cut_video(demo_video, tmp_path / "nobody.mp4", 20, blank=True)
    out = tmp_path / "o"
    proc = run_cli("convert", empty, "-o", out)
    assert proc.returncode == 0, proc.stderr
    warned = [ln for ln in proc.stderr.splitlines() if ln.startswith("mocap: warning:")]
    assert warned == ["mocap: warning: nobody_found: no person was found in 20 frames"]
    report = json.loads((out / "report.json").read_text())
    assert report["people"] == [] and report["message"] == "no people found in the video"
    assert not list(out.glob("person_*"))


def _wrote(stdout: str) -> list[str]:
    """The names of the files the summary says it wrote."""
    return [Path(ln.split("wrote ", 1)[1]).name for ln in stdout.splitlines()
            if ln.startswith("  wrote ")]


@pytest.mark.slow
@pytest.mark.blender
def test_formats_rule_and_the_summary_lists_every_file(short_clip, model_paths,
                                                       blender_python, tmp_path):
    """`--formats fbx,glb` keeps the JSON trajectories; naming data formats chooses them;
    either way the summary names every file in the directory, once."""
    runs = {"fbx,glb": (["--no-preview"], ["bvh", "json", "fbx", "glb"], []),
            "npz,csv": ([], ["bvh", "npz", "csv"], ["preview.mp4"])}
    for formats, (extra, per_person, also) in runs.items():
        out = tmp_path / formats.replace(",", "_")
        proc = run_cli("convert", short_clip, "-o", out, "--formats", formats, *extra)
        assert proc.returncode == 0, proc.stderr
        ids = [p["id"] for p in json.loads((out / "report.json").read_text())["people"]]
        assert ids
        expected = sorted([f"person_{i}.{ext}" for i in ids for ext in per_person]
                          + also + ["report.html", "report.json"])
        assert sorted(p.name for p in out.iterdir()) == expected
        assert sorted(_wrote(proc.stdout)) == expected, proc.stdout
    assert "person_1.json" not in _wrote(proc.stdout)


def test_formats_resolve_by_name():
    assert parse_formats("json,csv", required=("bvh",)) == ("bvh", "json", "csv")
    assert parse_formats("GLTF,Json") == ("glb", "json")
    with pytest.raises(InputError, match="unknown format 'xml'; choose from bvh, json"):
        parse_formats("bvh,xml")


def _no_write_dir(tmp_path: Path) -> Path:
    if os.geteuid() == 0:  # root writes anywhere it can; /proc refuses new directories
        return Path("/proc/mocap-test-out")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    return locked / "out"


@pytest.mark.parametrize(("case", "needle"), [
    ("missing", "no such file"),
    ("zero_bytes", "empty"),
    ("not_video", "not a video"),
    ("unknown_rig", "unknown rig"),
    ("bad_formats", "unknown format"),
    ("output_is_file", "not a directory"),
    ("no_permission", "cannot write"),
    ("zero_people", "--max-people must be >= 1"),
])
def test_bad_inputs_are_one_line_errors(case, needle, short_clip, model_paths, tmp_path):
    video, out, extra = short_clip, tmp_path / "out", []
    if case == "missing":
        video = tmp_path / "nope.mp4"
    elif case == "zero_bytes":
        video = tmp_path / "zero.mp4"
        video.write_bytes(b"")
    elif case == "not_video":
        video = tmp_path / "notes.mp4"
        video.write_text("this is not a video\n" * 100)
    elif case == "unknown_rig":
        extra = ["--rig", "gorilla"]
    elif case == "bad_formats":
        extra = ["--formats", "bvh,xml"]
    elif case == "output_is_file":
        out = tmp_path / "file.txt"
        out.write_text("x")
    elif case == "no_permission":
        out = _no_write_dir(tmp_path)
    elif case == "zero_people":
        extra = ["--max-people", "0"]
    proc = run_cli("convert", video, "-o", out, *extra)
    assert_one_line_error(proc, needle)
    if case != "output_is_file":
        assert not out.exists() or not any(out.iterdir())


@pytest.mark.slow
def test_disk_full_leaves_nothing_behind(short_clip, model_paths, tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mnt)],
                             capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root) to fill a disk")
    try:
        proc = run_cli("convert", short_clip, "-o", mnt / "out")
        assert_one_line_error(proc, "No space left on device")
        leftovers = list((mnt / "out").iterdir()) if (mnt / "out").exists() else []
        assert leftovers == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_models_unavailable_offline_is_a_one_line_error(short_clip, tmp_path):
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_CONFIG_FILE=os.devnull,
               PIP_FIND_LINKS=str(tmp_path), MOCAP_MODELS_DIR=str(tmp_path / "models"))
    proc = run_cli("convert", short_clip, "-o", tmp_path / "out", env=env)
    assert_one_line_error(proc, "movenet_multipose_lightning_fp16.tflite", "by hand")
    assert proc.returncode == 3


@pytest.mark.slow
def test_no_blender_still_writes_the_bvh(short_clip, model_paths, tmp_path):
    env = dict(os.environ, MOCAP_BLENDER_VENV=str(tmp_path / "no-blender"), PIP_NO_INDEX="1",
               PIP_CONFIG_FILE=os.devnull, PIP_FIND_LINKS=str(tmp_path))
    env.pop("MOCAP_BLENDER", None)
    out = tmp_path / "out"
    proc = run_cli("convert", short_clip, "-o", out, "--formats", "bvh,fbx", "--no-preview",
                   env=env)
    assert_one_line_error(proc, "mocap blender setup", "--blender", "BVH and data files")
    assert proc.returncode == 3
    assert list(out.glob("person_*.bvh")) and not list(out.glob("*.fbx"))
    report = json.loads((out / "report.json").read_text())
    assert report["message"].startswith("FBX/glTF not written")
    assert outputs_complete(out)


@pytest.mark.slow
def test_a_program_that_is_not_blender_still_writes_the_bvh(short_clip, model_paths,
                                                            tmp_path):
    """`--formats fbx --blender /bin/true` (it runs, exits 0 and writes nothing) exited 2
    with no BVH; the README says the BVH and data files are written, then exit 3."""
    out = tmp_path / "out"
    proc = run_cli("convert", short_clip, "-o", out, "--formats", "bvh,csv,fbx",
                   "--blender", "/bin/true", "--no-preview")
    assert_one_line_error(proc, "not a Blender executable", "BVH and data files")
    assert proc.returncode == 3
    assert list(out.glob("person_*.bvh")) and list(out.glob("person_*.csv"))
    assert not list(out.glob("*.fbx"))
    report = json.loads((out / "report.json").read_text())
    assert report["message"].startswith("FBX/glTF not written")
    assert outputs_complete(out)


@pytest.mark.slow
def test_truncated_video_converts_the_decodable_frames(demo_video, model_paths, tmp_path):
    # AVI (MJPG): frames precede the index, so a file cut short keeps decodable frames
    avi = cut_video(demo_video, tmp_path / "clip.avi", 60, fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    data = avi.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.6)])
    out = tmp_path / "out"
    proc = run_cli("convert", cut, "-o", out, "--no-preview", "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    assert 0 < summary["frames"] < 60
    if summary["truncated"]:  # known only where the header declares the frame count
        warned = [ln for ln in proc.stderr.splitlines()
                  if ln.startswith("mocap: warning: truncated: ")]
        assert len(warned) == 1 and "truncated or corrupt" in warned[0], proc.stderr
    assert outputs_complete(out)
    assert summary["people"]
    for p in summary["people"]:
        assert len(read_bvh(out / f"person_{p['id']}.bvh").motion) == summary["frames"]


@pytest.fixture(scope="module")
def demo_run_smpl(demo_video, model_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("convert_smpl") / "out"
    proc = run_cli("convert", demo_video, "-o", out, "--rig", "smpl", "--no-preview",
                   "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


# per rig: foot point -> the Blender bone whose head (h) or tail (t: an End Site) it is
FOOT_POINTS = {
    "mixamo": {f"{s}_{part}": (f"mixamorig:{side}{bone}", "h")
               for s, side in (("left", "Left"), ("right", "Right"))
               for part, bone in (("ankle", "Foot"), ("toe", "ToeBase"), ("toe_end", "Toe_End"))},
    "smpl": {f"{s}_{part}": (f"{s}_{bone}", end) for s in ("left", "right")
             for part, bone, end in (("ankle", "ankle", "h"), ("toe", "foot", "h"),
                                     ("toe_end", "foot", "t"))},
}


@pytest.mark.slow
@pytest.mark.blender
@pytest.mark.parametrize("rig", ["mixamo", "smpl"])
def test_demo_walker_stands_on_the_floor_in_blender(rig, request):
    """Imported in real Blender: over the frames a foot is planted, the side-on walker's
    lowest foot point (ankle, toe, toe tip of either foot) is within 1 cm of the floor, and
    no foot point is ever more than 2 cm below it (Mixamo, and SMPL whose toe tips are End
    Sites)."""
    from mocap.export.blender import bvh_report
    from mocap.export.blender_env import BlenderUnavailableError
    from mocap.motion.contacts import foot_contacts

    out, summary = request.getfixturevalue("demo_run" if rig == "mixamo" else "demo_run_smpl")
    walker = max(summary["people"], key=lambda p: p["last_frame"] - p["first_frame"]
                 if p["first_frame"] > 0 else 0)  # the one who enters later and walks
    first, last = walker["first_frame"], walker["last_frame"]
    try:
        rep = bvh_report(out / f"person_{walker['id']}.bvh", frames=list(range(first, last)))
    except BlenderUnavailableError as exc:
        pytest.skip(f"no Blender environment: {exc}")
    ends = {"h": np.array(rep["heads"]), "t": np.array(rep["tails"])}  # Blender Z up
    bones = rep["bones"]
    feet = {point: ends[end][:, bones.index(name)][:, [0, 2, 1]] * [1, 1, -1]
            for point, (name, end) in FOOT_POINTS[rig].items()}
    contacts = foot_contacts(feet, 30.0, 0.08, 1.0)
    planted = contacts["left"] | contacts["right"]
    lowest = np.min([p[:, 1] for p in feet.values()], axis=0)
    print(f"{rig} walker: planted in {planted.sum()} of {len(planted)} frames; lowest foot "
          f"point median {np.median(lowest[planted]) * 100:.1f} cm, min "
          f"{lowest.min() * 100:.1f} cm")
    assert planted.sum() > 0.3 * len(planted)
    assert abs(np.median(lowest[planted])) < 0.01
    assert lowest.min() > -0.02


@pytest.fixture(scope="module")
def hands_run(demo_video, model_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("hands") / "out"
    proc = run_cli("convert", demo_video, "-o", out, "--hands", "--formats", "bvh,json,npz",
                   "--no-preview", "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


@pytest.mark.slow
def test_convert_with_hands_writes_fingers_everywhere(hands_run):
    """`convert --hands` on the demo: the data files hold both hands (NaN / null where
    unseen), the report gives hand coverage, and the BVH's finger joints move."""
    out, summary = hands_run
    report = json.loads((out / "report.json").read_text())
    assert report["hands"] == "full"
    seen_any = False
    for person in summary["people"]:
        pid = person["id"]
        npz = np.load(out / f"person_{pid}.npz")
        f = len(npz["frames"])
        assert npz["hands_image"].shape == (f, 2, 21, 2)
        assert npz["hands_world"].shape == (f, 2, 21, 3)
        assert npz["hands_score"].shape == (f, 2)
        seen = npz["hands_score"] > 0
        assert np.isnan(npz["hands_image"][~seen]).all()
        assert np.isfinite(npz["hands_image"][seen]).all()
        doc = json.loads((out / f"person_{pid}.json").read_text(),
                         parse_constant=lambda c: pytest.fail(f"{c} in person JSON"))
        k = int(np.argmin(seen.sum(1)))  # a frame with the fewest hands: nulls
        if not seen[k].all():
            side = int(np.argmin(seen[k]))
            assert doc["hands_image"][k][side][0] == [None, None]
        stats = next(p for p in report["people"] if p["id"] == pid)
        share = seen[npz["observed"]].mean(0)
        assert stats["hand_coverage"]["left"] == pytest.approx(share[0], abs=1e-3)
        assert stats["hand_coverage"]["right"] == pytest.approx(share[1], abs=1e-3)
        bvh = read_bvh(out / f"person_{pid}.bvh")
        for side in ("Left", "Right"):
            j = bvh.names.index(f"mixamorig:{side}HandIndex2")
            s = bvh.channel_starts[j]
            swing = np.ptp(bvh.motion[:, s:s + 3], axis=0).max()
            seen_any |= swing > 10  # degrees over the clip
    assert seen_any
    # person 2 stands on the lawn facing the camera: both hands are found in most frames
    assert min(report["people"][1]["hand_coverage"].values()) > 0.4


@pytest.mark.slow
def test_without_hands_the_fingers_rest_and_files_have_no_hand_keys(demo_run):
    out, summary = demo_run
    pid = summary["people"][0]["id"]
    assert "hands_image" not in np.load(out / f"person_{pid}.npz").files
    report = json.loads((out / "report.json").read_text())
    assert "hand_coverage" not in report["people"][0]
    bvh = read_bvh(out / f"person_{pid}.bvh")
    j = bvh.names.index("mixamorig:LeftHandIndex2")
    s = bvh.channel_starts[j]
    assert np.abs(bvh.motion[:, s:s + 3]).max() < 1e-6


@pytest.mark.slow
def test_demo_numbers_mean_what_they_say(demo_run):
    """The demo's report and summary: both coverage shares (the walker is seen in all of
    his own span, 70 % of the video), the wall clock, path length against net displacement,
    and an id_gap warning with its frames for every gap of 0.3 s or more in the data."""
    out, summary = demo_run
    report = json.loads((out / "report.json").read_text())
    assert summary["wall_s"] >= max(summary["timings"].values()) > 0
    for p, s in zip(report["people"], summary["people"], strict=True):
        span = p["last_frame"] - p["first_frame"] + 1
        assert p["coverage_span"] == s["coverage_span"] == pytest.approx(
            p["frames_observed"] / span, abs=1e-4)
        assert p["coverage_video"] == s["coverage_video"] == pytest.approx(
            p["frames_observed"] / 230, abs=1e-4)
        assert p["root_path_length_m"] >= p["root_net_displacement_m"] - 1e-3
        observed = np.load(out / f"person_{p['id']}.npz")["observed"]
        gaps = [[p["first_frame"] + a, p["first_frame"] + b - 1]
                for a, b in _runs(~observed) if b - a >= 9]  # 0.3 s at 30 fps
        warned = [f for w in p["warnings"] if w["code"] == "id_gap" for f in w["frames"]]
        assert warned == gaps
    walker = min(report["people"], key=lambda p: p["coverage_video"])
    assert walker["coverage_span"] == 1.0 and walker["coverage_video"] < 0.75
    # he walks one way: a path barely longer than the displacement (measured 5.90 m against
    # 5.83 m; the same path summed frame by frame: 7.64 m)
    assert walker["root_net_displacement_m"] > 3.0
    assert walker["root_path_length_m"] < 1.1 * walker["root_net_displacement_m"]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))


@pytest.mark.slow
def test_lift_learned_replaces_the_3d_and_says_so(short_clip, model_paths, tmp_path):
    """--lift learned: each person's 3D comes from the temporal network (mocap.lift) and
    differs from BlazePose's; the report names the source and times the stage."""
    runs = {}
    for lift in ("blazepose", "learned"):
        out = tmp_path / lift
        proc = run_cli("convert", short_clip, "-o", out, "--no-preview", "--formats", "npz",
                       "--lift", lift, "--camera", "static")
        assert proc.returncode == 0, proc.stderr[-2000:]
        report = json.loads((out / "report.json").read_text())
        assert report["lift"] == lift
        assert ("lift" in report["timings_s"]) == (lift == "learned")
        runs[lift] = np.load(out / "person_1.npz")["landmarks_world"]
    a, b = runs["blazepose"], runs["learned"]
    assert a.shape == b.shape and np.isfinite(b).all()
    moved = np.linalg.norm(a - b, axis=-1).mean()
    assert 0.005 < moved < 0.5, moved  # corrected, not replaced by something else


def test_an_unknown_lift_is_refused():
    with pytest.raises(InputError, match="blazepose, learned"):
        ConvertConfig(lift="magic")
