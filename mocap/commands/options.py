"""Options shared by several subcommands, and the library values they map onto."""

from __future__ import annotations

import argparse


def add_models_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir", metavar="DIR",
        help="where the model files are cached (default: $MOCAP_MODELS_DIR, else "
        "$XDG_CACHE_HOME/mocap/models)")


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by every command that runs the pose models."""
    g = parser.add_argument_group("inference")
    g.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                   help="where torch runs the models; auto picks a GPU torch can see "
                   "(default: auto)")
    g.add_argument("--backend", default="auto", choices=("auto", "torch", "litert"),
                   help="auto: torch on a GPU; on a CPU LiteRT/XNNPACK when installed "
                   "(pip install 'mocap[litert]'), else torch (default: auto)")
    g.add_argument("--detector", default="movenet", choices=("movenet", "blazepose"),
                   help="who finds people: movenet (MoveNet MultiPose: the whole body, from "
                   "any side, small or crouched; default) or blazepose (BlazePose's "
                   "face-based detector)")
    g.add_argument("--landmarks", default="full", choices=("lite", "full", "heavy"),
                   help="BlazePose landmark model: lite (fastest), full (default) or heavy "
                   "(most precise in 2D, ~5x slower)")
    g.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads for inference (default: all cores)")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the models (torch backend): faster on long runs, "
                   "5-20 s extra at start")
    add_models_dir_option(g)


def engine_options(args: argparse.Namespace):
    """The :class:`~mocap.perception.landmarks.EngineOptions` the CLI options name."""
    from mocap.perception.landmarks import EngineOptions

    return EngineOptions(models_dir=args.models_dir, device=args.device, backend=args.backend,
                         threads=args.threads, compile=args.compile, detector=args.detector,
                         landmarks=args.landmarks)


def make_engine(args: argparse.Namespace, **config):
    """A :class:`~mocap.perception.landmarks.PoseEngine` from the engine options."""
    from dataclasses import asdict

    from mocap.perception.landmarks import EstimatorConfig, PoseEngine

    return PoseEngine(**asdict(engine_options(args)), config=EstimatorConfig(**config))


def add_hands_options(parser) -> None:
    """``--hands`` and ``--hand-model`` (convert, demo, batch, track, pose)."""
    parser.add_argument("--hands", action="store_true",
                        help="also capture the fingers: 21 landmarks per hand (MediaPipe's "
                        "hand model on regions from each person's wrists), retargeted onto "
                        "rigs with finger joints (mixamo); costs a few ms per visible hand")
    parser.add_argument("--hand-model", default="full", choices=("full", "lite"),
                        help="hand landmark model with --hands: full (default, more "
                        "precise) or lite (faster)")


def hand_config(args: argparse.Namespace):
    """The :class:`~mocap.perception.hands.HandConfig` of ``--hands`` (None without it)."""
    if not getattr(args, "hands", False):
        return None
    from mocap.perception.hands import HandConfig

    return HandConfig(model=args.hand_model)


def add_convert_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `convert`, `demo` and `batch`."""
    from mocap.export.formats import DEFAULT_FORMATS, FORMATS, FORMATS_RULE

    g = p.add_argument_group("conversion")
    g.add_argument("--rig", default="mixamo", metavar="RIG",
                   help="target skeleton: cmu, mixamo, smpl, ue5, rigify, vrm, a .bvh/.toml "
                   "file whose hierarchy is the rig, or your own rigged character (.fbx, "
                   ".glb, .gltf, .vrm: read through Blender, then animated itself and "
                   "written as person_<id>.fbx/.glb beside the BVH; it keeps its own "
                   "proportions) (default: mixamo)")
    g.add_argument("--max-people", type=int, metavar="N",
                   help="track at most N people (default: everyone)")
    lens = g.add_mutually_exclusive_group()
    lens.add_argument("--fov", type=float, default=None, metavar="DEG",
                      help="horizontal field of view of the camera in degrees, used to "
                      "place people in 3D (default: measured: from the camera's turning, "
                      "else from the people, else 65 deg on the image's long side; phones "
                      "~65-75 on the long side, GoPro wide ~120)")
    lens.add_argument("--focal-px", type=float, default=None, metavar="PX",
                      help="the camera's focal length in pixels of the video (e.g. fx of "
                      "an OpenCV calibration at this resolution); not with --fov")
    g.add_argument("--camera", default="auto", choices=("auto", "static", "moving"),
                   help="auto: measure how the camera pans, tilts and zooms (from the "
                   "background) and undo it when it moved (default); static: take the "
                   "camera as fixed; moving: always undo the measured motion")
    g.add_argument("--formats", default=",".join(DEFAULT_FORMATS), metavar="LIST",
                   help=f"comma-separated outputs per person from {','.join(FORMATS)}: "
                   f"{FORMATS_RULE} (default: {','.join(DEFAULT_FORMATS)}; e.g. fbx,glb "
                   "writes bvh,json,fbx,glb and npz writes bvh,npz)")
    g.add_argument("--lift", default="blazepose", choices=("blazepose", "learned"),
                   help="where each person's 3D comes from (one video): blazepose, the pose "
                   "model's own (default); learned, corrected over the whole track by "
                   "mocap's temporal network trained on CMU mocap (see the README)")
    g.add_argument("--units", default="m", choices=("m", "cm"),
                   help="BVH units (default: m, imported by Blender at true size)")
    g.add_argument("--bone-lengths", default="actor", choices=("actor", "rig"),
                   help="actor: each person's own proportions (default); rig: the rig's")
    add_root_motion_option(g)
    add_bone_map_option(g)
    add_hands_options(g)
    g.add_argument("--preview", action=argparse.BooleanOptionalAction, default=True,
                   help="write preview.mp4 with the exported rig drawn on the video "
                   "(default: on)")
    add_blender_option(g)
    g.add_argument("--strict", action="store_true",
                   help="exit with status 1 when there are warnings (floating, "
                   "short_track, low_coverage, truncated, ...: see the README; batch: in "
                   "any video), for unattended runs")
    g.add_argument("--force", action="store_true",
                   help="overwrite outputs of an earlier run in the output directory")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def convert_config(args: argparse.Namespace):
    from mocap.app.convert import ConvertConfig

    return ConvertConfig(rig=args.rig, formats=args.formats, fov_deg=args.fov,
                         focal_px=args.focal_px,
                         units=args.units, bone_lengths=args.bone_lengths,
                         max_people=args.max_people, preview=args.preview,
                         blender=args.blender, camera=args.camera, hands=args.hands,
                         hand_model=args.hand_model, lift=args.lift,
                         root_motion=args.root_motion, bone_map=args.bone_map)


def add_bone_map_option(parser) -> None:
    """``--bone-map FILE.toml`` (convert, demo, batch, retarget)."""
    parser.add_argument(
        "--bone-map", metavar="FILE.toml", default=None,
        help="name the joints of a character or BVH rig whose names mocap does not know: "
        'TOML lines role = "joint name" (hips, chest, head, left_shoulder, left_elbow, '
        "left_wrist, left_hip, left_knee, left_ankle, ... and right_)")


def add_root_motion_option(parser) -> None:
    """``--root-motion on|in-place`` (convert, demo, batch, retarget)."""
    from mocap.skeleton.animation import ROOT_MOTION

    parser.add_argument(
        "--root-motion", default="on", choices=ROOT_MOTION,
        help="on: the root travels as the person did (default); in-place: the animation "
        "files (BVH, FBX, GLB) keep the root over the origin, only its height moves (a "
        "game engine's locomotion drives the travel); the data files keep the path")


def add_blender_option(parser: argparse.ArgumentParser) -> None:
    """The ``--blender PATH`` option (shared with the commands that export FBX/GLB)."""
    parser.add_argument(
        "--blender", metavar="PATH",
        help="a Blender executable for FBX/GLB (default: $MOCAP_BLENDER, else the bpy "
        "environment made by `mocap blender setup`, created on first use)")


def add_quiet_option(parser: argparse.ArgumentParser) -> None:
    """``-q/--quiet``: no progress bars and no summary lines (errors and warnings still go
    to stderr; ``--json`` output is still printed)."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress and no summary lines (errors and warnings still "
                        "show)")
