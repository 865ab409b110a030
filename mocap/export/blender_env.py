"""Blender as a Python module (``bpy``), in its own virtual environment, run as a subprocess.

``bpy==5.0.1`` (the newest for Python 3.11) needs ``numpy<2`` while mocap uses numpy 2, so
Blender never shares mocap's interpreter: :func:`ensure_blender` creates (once) a virtual
environment with ``bpy==5.0.1`` and ``numpy<2`` from PyPI, and :func:`run_script` runs a
script inside it. Scripts talk JSON: they get their arguments on the command line and write
results to a file (see ``mocap/blender_scripts/``).

Location: ``$MOCAP_BLENDER_VENV``, else ``<cache>/blender-venv`` (cache: see
:func:`mocap.io.assets.cache_dir`). The environment is about 1 GB; it is created in a temporary
folder and renamed into place, so an interrupted install is never used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mocap.errors import MocapError

BPY_REQUIREMENT = "bpy==5.0.1"
NUMPY_REQUIREMENT = "numpy<2"
BPY_PYTHON = (3, 11)
SCRIPTS_DIR = Path(__file__).resolve().parent / "blender_scripts"


class BlenderUnavailableError(MocapError):
    """The Blender (bpy) environment cannot be created or used."""

    exit_code = 3


def venv_dir() -> Path:
    """Where the Blender environment lives (``$MOCAP_BLENDER_VENV`` or the cache)."""
    if env := os.environ.get("MOCAP_BLENDER_VENV"):
        return Path(env).expanduser()
    from mocap.io.assets import cache_dir

    return cache_dir() / "blender-venv"


def _venv_python(root: Path) -> Path:
    return root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _base_python() -> str:
    """A Python 3.11 interpreter to build the environment from."""
    if sys.version_info[:2] == BPY_PYTHON:
        return sys.executable
    for name in ("python3.11",):
        found = shutil.which(name)
        if found:
            return found
    raise BlenderUnavailableError(
        f"{BPY_REQUIREMENT} needs Python 3.11 and none was found (this is Python "
        f"{sys.version_info[0]}.{sys.version_info[1]}; install python3.11)")


def _works(python: Path) -> bool:
    if not python.exists():
        return False
    proc = subprocess.run([str(python), "-c", "import bpy, numpy; print(bpy.app.version_string)"],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode == 0


def ensure_blender(progress=None) -> Path:
    """Return the Python of a working Blender environment, creating it if needed.

    Args:
        progress: optional callable taking a message (the CLI prints it); library code
            stays silent otherwise.

    Raises:
        BlenderUnavailableError: the environment cannot be made (no Python 3.11, no access
            to PyPI, no disk space); the message says why.
    """
    root = venv_dir()
    python = _venv_python(root)
    marker = root / ".mocap-ok"
    if marker.exists() and python.exists():
        return python
    if _works(python):
        marker.write_text(BPY_REQUIREMENT + "\n")
        return python
    base = _base_python()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        if progress:
            progress(f"creating the Blender environment in {root} ({BPY_REQUIREMENT}, "
                     "about 400 MB to download)")
        steps = [
            [base, "-m", "venv", str(tmp)],
            [str(_venv_python(tmp)), "-m", "pip", "install", "--disable-pip-version-check",
             "--quiet", BPY_REQUIREMENT, NUMPY_REQUIREMENT],
        ]
        for cmd in steps:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                lines = (proc.stderr or proc.stdout).strip().splitlines()
                raise BlenderUnavailableError(
                    f"cannot create the Blender environment ({' '.join(cmd[-3:])}): "
                    f"{lines[-1] if lines else 'exit code ' + str(proc.returncode)}")
        if not _works(_venv_python(tmp)):
            raise BlenderUnavailableError("the Blender environment was installed but "
                                          "`import bpy` fails in it")
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
        marker.write_text(BPY_REQUIREMENT + "\n")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return python


def run_script(script: str | os.PathLike, args: list[str] | tuple[str, ...] = (),
               timeout: float = 600.0) -> subprocess.CompletedProcess:
    """Run a Python script inside the Blender environment.

    Args:
        script: path of the script, or the name of one in ``mocap/blender_scripts``
            (e.g. ``"bvh_report"``).
        args: command-line arguments for the script.
        timeout: seconds.

    Returns:
        The finished process (stdout/stderr captured as text).

    Raises:
        BlenderUnavailableError: no environment could be made.
        MocapError: the script failed (the message carries the last line of its error).
    """
    path = Path(script)
    if not path.suffix:
        path = SCRIPTS_DIR / f"{script}.py"
    if not path.exists():
        raise MocapError(f"no Blender script {path}")
    python = ensure_blender()
    proc = subprocess.run([str(python), str(path), *map(str, args)], capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise MocapError(f"Blender script {path.name} failed: "
                         f"{lines[-1] if lines else 'exit code ' + str(proc.returncode)}")
    return proc


def run_json(script: str | os.PathLike, request: dict, timeout: float = 600.0) -> dict:
    """Run a Blender script that reads a JSON request file and writes a JSON result file
    (``script REQUEST.json RESULT.json``); return the result."""
    with tempfile.TemporaryDirectory(prefix="mocap-blender-") as tmp:
        req = Path(tmp) / "request.json"
        res = Path(tmp) / "result.json"
        req.write_text(json.dumps(request))
        run_script(script, [str(req), str(res)], timeout)
        return json.loads(res.read_text())


def bvh_report(path: str | os.PathLike, frames: list[int] | None = None) -> dict:
    """Import a BVH file in Blender and describe what Blender made of it.

    Args:
        path: the ``.bvh`` file.
        frames: 0-based frames whose bone positions to report (default: first and last).

    Returns:
        A dict: ``bones`` (names, armature order), ``rest_heads``/``rest_tails`` (J, 3)
        (Blender world, metres, Z up), ``frame_range`` of the action, ``scene_fps``,
        ``scene_frame_start``/``scene_frame_end``, ``frames`` and ``heads`` (F, J, 3) world
        positions of each bone's head at those frames.
    """
    return run_json("bvh_report", {"path": str(Path(path).resolve()), "frames": frames})
