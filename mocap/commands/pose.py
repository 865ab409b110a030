"""`mocap pose IMAGE...`: every person's 33 landmarks (2D + 3D) in still images."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import cv2
import numpy as np

from mocap import fileio
from mocap.commands.options import (
    add_engine_options,
    add_hands_options,
    add_quiet_option,
    engine_options,
    hand_config,
    make_engine,
)
from mocap.errors import InputError, MocapError
from mocap.types import HAND_LANDMARK_NAMES, LANDMARK_NAMES, Hands2D, Poses2D


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pose", help="2D + 3D landmarks of every person in still images",
        description="Detect every person in each image (whole image plus overlapping tiles) "
        "and estimate BlazePose's 33 landmarks: image x, y in pixels with visibility, and "
        "hip-centred world coordinates in metres. Prints one line per image.",
        epilog="example: mocap pose photo.jpg --draw out/ --coco out/coco.json")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (JPEG, PNG, ...)")
    p.add_argument("--coco", metavar="OUT.json",
                   help="write COCO keypoint results: [{file_name, image_id, category_id, "
                   "keypoints [x,y,v]*17, score}]")
    p.add_argument("--json", metavar="OUT.json", dest="json_out",
                   help="write all 33 landmarks (x, y px, z, visibility, presence) and world "
                   "landmarks (m) per person")
    p.add_argument("--draw", metavar="DIR",
                   help="write overlay PNGs (DIR/<image>.png; DIR/<image>-2.png for a second "
                   "input of the same name); never over an input image")
    p.add_argument("--max-people", type=int, metavar="N",
                   help="keep at most N people per image, best first (default: no limit)")
    p.add_argument("--min-score", type=float, default=0.2, metavar="S",
                   help="drop people whose score is below S (default: 0.2; lower finds more "
                   "partly visible people and more false ones)")
    p.add_argument("--keypoints", default="fused", choices=("fused", "movenet", "landmarks"),
                   help="where --coco's 17 joints come from (with --detector movenet): fused "
                   "from both models (default), MoveNet's alone, or BlazePose's landmarks")
    add_hands_options(p)
    add_quiet_option(p)
    add_engine_options(p)
    p.set_defaults(func=run)


def coco_results(file_name: str, image_id: int | str, poses: Poses2D) -> list[dict]:
    """COCO keypoint results of one image (:meth:`Poses2D.coco17`: fused where computed)."""
    out = []
    coco = poses.coco17()
    for k in range(len(poses)):
        v = np.where(coco[k, :, 2] >= 0.5, 2, 1)
        kps = np.column_stack([coco[k, :, :2], v]).ravel()
        out.append({"file_name": file_name, "image_id": image_id, "category_id": 1,
                    "keypoints": [round(float(a), 2) for a in kps],
                    "score": round(float(poses.score[k]), 5)})
    return out


def poses_json(file_name: str, shape: tuple[int, ...], poses: Poses2D,
               hands: Hands2D | None = None) -> dict:
    """One image's ``--json`` entry (``hands`` per person with ``--hands``)."""
    people = []
    for k in range(len(poses)):
        lm = np.column_stack([poses.xy[k], poses.z[k], poses.visibility[k], poses.presence[k]])
        person = {
            "score": round(float(poses.score[k]), 5),
            "roi": dict(zip(("cx", "cy", "size", "rotation", "detection_score"),
                            (round(float(v), 4) for v in poses.roi[k]), strict=True)),
            "landmarks": np.round(lm, 4).tolist(),
            "world_landmarks": np.round(poses.world[k], 5).tolist(),
        }
        if hands is not None:
            person["hands"] = {side: None if hands.score[k, s] <= 0 else {
                "score": round(float(hands.score[k, s]), 4),
                "handedness": round(float(hands.handedness[k, s]), 4),
                "landmarks": np.round(hands.xy[k, s], 2).tolist(),
                "world_landmarks": np.round(hands.world[k, s], 5).tolist(),
            } for s, side in enumerate(("left", "right"))}
        people.append(person)
    return {"file_name": file_name, "width": shape[1], "height": shape[0], "people": people}


def _image_id(stem: str) -> int | str:
    return int(stem) if stem.isdigit() else stem


def unique_stems(paths: list[Path]) -> list[str]:
    """One name per input for its overlay (``DIR/<name>.png``) and its image id: the file's
    stem, with ``-2``, ``-3`` ... for a stem given before (``a/x.jpg`` and ``b/x.jpg`` leave
    two overlays, not one)."""
    taken: set[str] = set()
    out = []
    for path in paths:
        stem, k = path.stem, 2
        while stem.casefold() in taken:  # case-insensitive file systems too
            stem, k = f"{path.stem}-{k}", k + 1
        taken.add(stem.casefold())
        out.append(stem)
    return out


def _check_overlays(draw: Path, paths: list[Path], stems: list[str]) -> None:
    """Refuse (before any work) an overlay that would replace one of the inputs."""
    inputs = set()
    for p in paths:
        with contextlib.suppress(OSError):
            inputs.add(p.resolve())
    for stem in stems:
        target = draw / f"{stem}.png"
        with contextlib.suppress(OSError):
            if target.resolve() in inputs:
                raise MocapError(f"--draw {draw}: the overlay {target} would replace the input "
                                 f"image of that name; choose another --draw folder")


def run(args: argparse.Namespace) -> int:
    from mocap.app.draw import draw_poses
    from mocap.io.images import load_image
    from mocap.perception.hands import make_hand_engine

    if args.max_people is not None and args.max_people < 1:
        raise MocapError(f"--max-people must be >= 1, got {args.max_people}")
    if not 0.0 <= args.min_score <= 1.0:
        raise MocapError(f"--min-score must be in [0, 1], got {args.min_score}")
    for opt in ("coco", "json_out"):
        target = getattr(args, opt)
        if target and Path(target).is_dir():
            raise MocapError(f"{target}: is a directory; give a file name ending in .json")
    if args.draw and Path(args.draw).exists() and not Path(args.draw).is_dir():
        raise MocapError(f"--draw {args.draw}: exists and is not a directory")
    paths = [Path(name) for name in args.images]
    stems = unique_stems(paths)
    if args.draw:
        _check_overlays(Path(args.draw), paths, stems)
    engine = make_engine(args, max_people=args.max_people, min_pose_score=args.min_score,
                         keypoints=args.keypoints)
    hands_cfg = hand_config(args)
    hand_engine = (make_hand_engine(hands_cfg, engine_options(args), engine)
                   if hands_cfg is not None else None)
    coco, full, failed = [], [], 0
    for path, stem in zip(paths, stems, strict=True):
        try:
            image = load_image(path)
        except InputError as exc:
            print(f"mocap: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        poses = engine.estimate(image)
        hands = hand_engine.estimate(image, poses) if hand_engine is not None else None
        if not args.quiet:
            found = "" if hands is None else f", {int((hands.score > 0).sum())} hands"
            print(f"{path}: {len(poses)} {'person' if len(poses) == 1 else 'people'}{found}")
        coco += coco_results(path.name, _image_id(stem), poses)
        full.append({**poses_json(path.name, image.shape, poses, hands), "path": str(path),
                     "image_id": _image_id(stem)})
        if args.draw:
            overlay = draw_poses(image, poses, labels=[f"{s:.2f}" for s in poses.score],
                                 hands=hands)
            _, png = cv2.imencode(".png", cv2.cvtColor(overlay, cv2.COLOR_RGB2BGR))
            fileio.write_bytes(Path(args.draw) / f"{stem}.png", png.tobytes())
    if failed < len(args.images):
        if args.coco:
            fileio.write_json(args.coco, coco)
        if args.json_out:
            names = {"hand_landmark_names": list(HAND_LANDMARK_NAMES)} if hand_engine else {}
            fileio.write_json(args.json_out, {"landmark_names": list(LANDMARK_NAMES), **names,
                                              "units": {"landmarks": "px (x, y), z px-scaled "
                                                        "relative to hips", "world": "m"},
                                              "images": full})
    # bad input exits 2 (as everywhere); some images done and some not: 1
    return 2 if failed == len(args.images) else (1 if failed else 0)
