"""`mocap blender setup`: create (or check) the Blender environment used for FBX/GLB export."""

from __future__ import annotations

import argparse
import sys

from mocap.commands.options import add_quiet_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "blender", help="set up Blender (bpy) for FBX/GLB export",
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
