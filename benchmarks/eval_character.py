"""Your own character as the target (issue 24's must-shows), measured on the demo video.

Characters are made by ``tests/export/make_character.py`` in mocap's Blender environment (a
1.78 m armature with a mesh skinned to it and a material): UE5 names in an A-pose as GLB and
as FBX, Rigify names in a T-pose (GLB), VRoid names in an A-pose (.vrm). The demo is
converted onto the mixamo rig and onto each (``mocap convert --rig FILE``, defaults, no
preview). Per character and person: the exported file read back by Blender's importer
(``anim_report.py``): bones, keys per F-curve, mesh vertices and how far the posed mesh's
centroid travels; the largest distance between the exported joints and the BVH's (mocap
axes); per limb (upper arm, forearm, thigh, shin, both sides) the mean angle over frames to
the same limb on the mixamo run; the median over frames of the lowest foot point (toe tips
included) above the floor; the conversion's seconds. Then the demo's side-on walker's
shoulder height on ``--rig cmu`` and ``--rig mixamo`` and from her own landmarks.

Usage::

    .venv/bin/python benchmarks/eval_character.py [--out /tmp/eval_character]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mocap.app.convert import ConvertConfig, convert_video  # noqa: E402
from mocap.export.blender import SCRIPTS_DIR, run_blender_json  # noqa: E402
from mocap.export.character import read_character  # noqa: E402
from mocap.io import assets  # noqa: E402
from mocap.io.bvh import read_bvh  # noqa: E402
from mocap.retarget.bvh_source import bvh_animation  # noqa: E402
from mocap.skeleton.rig import load_rig  # noqa: E402

MAKE = ROOT / "tests" / "export" / "make_character.py"
REPORT = SCRIPTS_DIR / "anim_report.py"
CHARACTERS = {"ue5_A.glb": ("ue5", "A"), "ue5_A.fbx": ("ue5", "A"),
              "rigify_T.glb": ("rigify", "T"), "vroid_A.vrm": ("vrm", "A")}
LIMBS = {"upper arm": ("shoulder", "elbow"), "forearm": ("elbow", "wrist"),
         "thigh": ("hip", "knee"), "shin": ("knee", "ankle")}


def convert(video: Path, out: Path, rig: str) -> float:
    t0 = time.perf_counter()
    convert_video(video, out, ConvertConfig(rig=rig, preview=False, report=True,
                                            formats=("json",)), force=True)
    return time.perf_counter() - t0


def role_points(path: Path) -> dict[str, np.ndarray]:
    pts = bvh_animation(read_bvh(path)).points()
    return {k: pts[k] for k in pts}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/eval_character"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    demo = assets.ensure_demo_video()
    seconds = {"mixamo": convert(demo, args.out / "mixamo", "mixamo")}
    for name, (naming, pose) in CHARACTERS.items():
        path = args.out / name
        made = path.with_suffix(".glb") if path.suffix == ".vrm" else path
        run_blender_json(MAKE, {"naming": naming, "pose": pose, "outputs": [str(made)]})
        if made != path:
            made.replace(path)
        seconds[name] = convert(demo, args.out / f"out_{name}", str(path))
    people = sorted(int(p.stem.split("_")[1]) for p in (args.out / "mixamo").glob("*.bvh"))
    print(f"{'character':<14}{'person':>7}{'bones':>6}{'keys':>6}{'verts':>7}{'travel m':>9}"
          f"{'joint err mm':>13}" + "".join(f"{k + ' deg':>14}" for k in LIMBS)
          + f"{'feet m':>8}{'s':>6}")
    for name in CHARACTERS:
        character = read_character(args.out / name)
        kind = "fbx" if name.endswith(".fbx") else "glb"
        dest = args.out / f"out_{name}"
        for pid in people:
            back = run_blender_json(REPORT, {"path": str(dest / f"person_{pid}.{kind}"),
                                             "frames": None, "fps": 30.0, "mesh": True})
            heads = np.array(back["heads"]) @ character.axes.T
            index = {b: i for i, b in enumerate(back["bones"])}
            bvh = role_points(dest / f"person_{pid}.bvh")
            got = {r: heads[:, index[character.rig.joints[j]]]
                   for j, r in enumerate(character.rig.roles) if r}
            err = max(np.linalg.norm(got[r] - bvh[r], axis=1).max() for r in got)
            ref = role_points(args.out / "mixamo" / f"person_{pid}.bvh")
            angles = []
            for a, b in LIMBS.values():
                per_side = []
                for s in ("left", "right"):
                    u, v = ref[f"{s}_{b}"] - ref[f"{s}_{a}"], got[f"{s}_{b}"] - got[f"{s}_{a}"]
                    cos = (u * v).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(v, axis=1)
                    per_side.append(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())
                angles.append("/".join(f"{x:.1f}" for x in per_side))
            feet = [k for k in bvh if k.split("_", 1)[-1] in ("ankle", "toe", "toe_end")]
            lowest = np.median(np.min([bvh[k][:, 1] for k in feet], axis=0))
            mesh = back["meshes"][0]
            cent = np.array(mesh["centroids"])
            keys = ",".join(map(str, back["keys"]))
            print(f"{name:<14}{pid:>7}{len(back['bones']):>6}{keys:>6}"
                  f"{mesh['vertices']:>7}{np.linalg.norm(cent[-1] - cent[0]):>9.2f}"
                  f"{1000 * err:>13.2f}" + "".join(f"{a:>14}" for a in angles)
                  + f"{lowest:>8.3f}{seconds[name]:>6.0f}")
    print("limbs: mean angle over frames to the mixamo run, left/right; feet: median lowest "
          "foot point (toe tips included) above the floor")
    # the CMU torso: the side-on walker's shoulders
    convert(demo, args.out / "cmu", "cmu")
    heights = {}
    for rig_name in ("cmu", "mixamo"):
        rig = load_rig(rig_name)
        runs = [json.loads(p.read_text()) for p in (args.out / rig_name).glob("person_*.json")]
        walker = max(runs, key=lambda d: np.ptp(np.array(d["root_translation"])[:, 0]))
        joints = np.array(walker["joint_positions"])
        sides = [rig.role_index("left_shoulder"), rig.role_index("right_shoulder")]
        heights[rig_name] = np.nanmedian(joints[:, sides, 1].mean(axis=1))
        own = np.nanmedian(np.array(walker["landmarks_world"])[:, [11, 12], 1].mean(axis=1))
    print(f"walker's shoulders: cmu {heights['cmu']:.3f} m, mixamo {heights['mixamo']:.3f} m "
          f"({100 * (heights['cmu'] / heights['mixamo'] - 1):+.1f} %), her landmarks "
          f"{own:.3f} m")


if __name__ == "__main__":
    main()
