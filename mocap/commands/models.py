"""`mocap models`: obtain, verify and list the BlazePose model files."""

from __future__ import annotations

import argparse

from mocap.commands.options import add_models_dir_option
from mocap.io import assets


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "models", help="download/verify the BlazePose models and print their paths",
        description="Obtain pose_detection.tflite and pose_landmark_full.tflite from the "
        "mediapipe==0.10.21 wheel on PyPI (pip download, then extract and verify sha256), "
        "cache them, and print one line per model: NAME PATH SHA256. Cached files that "
        "fail verification are fetched again.")
    add_models_dir_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = assets.ensure_models(args.models_dir)
    for asset in assets.MODELS:
        print(f"{asset.name} {paths[asset.name]} {asset.sha256}")
    return 0
