"""`mocap blender setup`: create (or check) the Blender environment used for FBX/GLB export."""

from __future__ import annotations

import argparse
import os
import sys

from mocap.commands.options import add_quiet_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "blender", help="set up Blender (bpy) for FBX/GLB export; write the Blender add-on",
        description="Blender runs in its own virtual environment (bpy==5.0.1 needs Python "
        "3.11 and numpy<2). `mocap blender setup` creates it once (about 400 MB from PyPI, "
        "about 1 GB on disk) in $MOCAP_BLENDER_VENV, else the mocap cache folder, and prints "
        "its Python. Alternatively name a Blender executable with --blender PATH or "
        "$MOCAP_BLENDER.")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    setup = actions.add_parser("setup", help="create the Blender environment if missing and "
                               "print its Python and Blender version")
    add_quiet_option(setup)
    setup.set_defaults(func=run_setup)
    addon = actions.add_parser(
        "addon", help="write the mocap Blender add-on as a zip to install in Blender",
        description="Write the Blender add-on (Edit > Preferences > Add-ons > Install from "
        "Disk, pick the zip, enable 'mocap: animate from video'; then View3D > Sidebar > "
        "mocap: pick a video, select an armature, 'Animate from video'). The add-on runs "
        "this mocap (the Python that writes the zip, `python -m mocap`; changeable in the "
        "add-on's preferences) in the background.",
        epilog="example: mocap blender addon -o mocap_addon.zip")
    addon.add_argument("-o", "--output", default="mocap_addon.zip", metavar="FILE.zip",
                       help="the zip to write (default: mocap_addon.zip)")
    addon.add_argument("--force", action="store_true", help="replace an existing file")
    add_quiet_option(addon)
    addon.set_defaults(func=run_addon)


def run_setup(args: argparse.Namespace) -> int:
    import subprocess

    from mocap.export.blender_env import ensure_blender

    python = ensure_blender(progress=None if args.quiet else
                            lambda msg: print(msg, file=sys.stderr))
    proc = subprocess.run([str(python), "-c", "import bpy; print(bpy.app.version_string)"],
                          capture_output=True, text=True, timeout=300)
    version = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else "unknown"
    if not args.quiet:
        print(f"{python} (Blender {version})")
    return 0


def run_addon(args: argparse.Namespace) -> int:
    import json
    import zipfile
    from pathlib import Path

    from mocap.errors import OutputError
    from mocap.fileio import atomic_path

    out = Path(args.output)
    if out.suffix.lower() != ".zip":
        raise OutputError(f"{out}: the add-on is written as a .zip file")
    if os.path.lexists(out) and not args.force:
        raise OutputError(f"{out} exists; use --force to replace it or choose another name")
    from mocap.export.blender import SCRIPTS_DIR

    source = (SCRIPTS_DIR / "addon.py").read_text()
    command = json.dumps([sys.executable, "-m", "mocap"])
    marker = 'MOCAP_COMMAND = ["mocap"]'
    assert marker in source, "addon.py lost its MOCAP_COMMAND line"
    source = source.replace(marker, f"MOCAP_COMMAND = {command}")
    with atomic_path(out) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mocap_addon/__init__.py", source)
    if not args.quiet:
        print(f"{out}: the mocap add-on (runs {' '.join(json.loads(command))}); install it "
              "in Blender: Edit > Preferences > Add-ons > Install from Disk")
    return 0
