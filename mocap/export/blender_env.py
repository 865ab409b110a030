"""Blender as a Python module (``bpy``), in its own virtual environment, run as a subprocess.

``bpy==5.0.1`` (the newest for Python 3.11) needs ``numpy<2`` while mocap uses numpy 2, so
Blender never shares mocap's interpreter: :func:`ensure_blender` creates (once) a virtual
environment with ``bpy==5.0.1`` and exactly the versions of its dependencies in
:data:`BLENDER_REQUIREMENTS` (so every machine gets the same Blender environment) from PyPI;
:mod:`mocap.export.blender` runs scripts inside it (``mocap/export/blender_scripts/``).

Location: ``$MOCAP_BLENDER_VENV``, else ``<cache>/blender-venv`` (cache: see
:func:`mocap.io.assets.cache_dir`). About 400 MB are downloaded (the bpy wheel: 374 MB)
and the environment takes about 1 GB on disk (968 MB measured); it is created in a temporary
folder and renamed into place, so an interrupted install is never used.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from mocap.errors import MocapError
from mocap.io.assets import cache_dir

BPY_REQUIREMENT = "bpy==5.0.1"
#: Everything the Blender environment holds, pinned (``pip freeze`` of a working one; bpy
#: pins ``numpy<2``, whose last release is 1.26.4). Refreshed by hand with bpy.
BLENDER_REQUIREMENTS = (
    BPY_REQUIREMENT, "numpy==1.26.4", "Cython==3.3.1", "certifi==2026.10.19.post1",
    "charset-normalizer==3.5.3", "idna==3.20", "requests==2.34.2", "urllib3==2.8.0",
    "zstandard==0.25.0",
)
#: What creating it costs, said before it starts.
BLENDER_DOWNLOAD = "about 400 MB to download, about 1 GB on disk"
BPY_PYTHON = (3, 11)


class BlenderUnavailableError(MocapError):
    """The Blender (bpy) environment cannot be created or used."""

    exit_code = 3


def venv_dir() -> Path:
    """Where the Blender environment lives (``$MOCAP_BLENDER_VENV`` or the cache)."""
    if env := os.environ.get("MOCAP_BLENDER_VENV"):
        return Path(env).expanduser()
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
                     f"{BLENDER_DOWNLOAD})")
        steps = [
            [base, "-m", "venv", str(tmp)],
            [str(_venv_python(tmp)), "-m", "pip", "install", "--disable-pip-version-check",
             "--quiet", *BLENDER_REQUIREMENTS],
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
