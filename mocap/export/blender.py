"""FBX and glTF (GLB) export of BVH clips through Blender, many files in one Blender process.

Blender is started once per call (its start-up costs 0.5 s warm, seconds cold) and runs
``mocap/blender_scripts/export_anim.py``, which for each BVH file imports it with Blender's
BVH importer and exports a binary FBX with baked animation (one key per frame, the rig's
T-pose as the bones' rest transforms) and/or a GLB (one glTF animation, the rig's rest pose
as the joints' rest transforms), by default with a stick-figure mesh skinned to the bones.
Axes are those of Blender's importers and exporters at their defaults (Y up, the BVH's
axes); outputs are in metres whatever the BVH's unit.

Which Blender: the ``blender`` argument, else ``$MOCAP_BLENDER`` (a Blender executable, run
as ``blender --background --factory-startup --python SCRIPT -- ARGS``), else the ``bpy``
virtual environment of :mod:`mocap.export.blender_env` (created on first use, about 400 MB
from PyPI, about 1 GB on disk).

Every output is written under a temporary name beside its target and renamed into place
only when Blender succeeded, so a failure leaves no partial FBX/GLB (and never touches the
BVH files).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mocap.errors import InputError, MocapError
from mocap.export.blender_env import BPY_REQUIREMENT, BlenderUnavailableError, ensure_blender
from mocap.export.formats import BLENDER_FORMATS
from mocap.export.formats import parse_formats as _parse_formats
from mocap.fileio import atomic_path
from mocap.io.bvh import read_bvh
from mocap.skeleton.rig import bvh_unit_scale
from mocap.units import METRES_PER_UNIT, metres_per

FORMATS = BLENDER_FORMATS
BLENDER_ENV = "MOCAP_BLENDER"
SCRIPTS_DIR = Path(__file__).resolve().parent / "blender_scripts"
SCRIPT = SCRIPTS_DIR / "export_anim.py"


@dataclass(frozen=True)
class ExportedClip:
    """What Blender made of one BVH file.

    Attributes:
        bvh: the source BVH file.
        outputs: format name (``"fbx"``, ``"glb"``) -> written file.
        bones: number of bones of the armature (the rig's joints).
        frames: number of animation frames (one key per frame in each output).
        fps: frames per second (the BVH's ``1 / Frame Time``).
        seconds: Blender's time for this clip (import + exports), start-up excluded.
    """

    bvh: Path
    outputs: dict[str, Path]
    bones: int
    frames: int
    fps: float
    seconds: float


def parse_formats(formats: str | Sequence[str]) -> tuple[str, ...]:
    """``"fbx,glb"``, ``"GLTF"`` or ``[".fbx"]`` -> the Blender formats named
    (:func:`mocap.export.formats.parse_formats` over :data:`FORMATS`)."""
    return _parse_formats(formats, FORMATS)


def _not_available(reason: str) -> MocapError:
    return BlenderUnavailableError(
        f"FBX/GLB export needs Blender: {reason}. Run `mocap blender setup` (creates a "
        f"{BPY_REQUIREMENT} environment from PyPI) or name a Blender executable with "
        f"--blender PATH or ${BLENDER_ENV}")


def check_blender(blender: str | os.PathLike | None = None) -> None:
    """Fail early when ``blender`` (or ``$MOCAP_BLENDER``) names no executable (the ``bpy``
    environment, made on first use, is not checked here).

    Raises:
        BlenderUnavailableError: the named executable does not exist.
    """
    exe = str(blender) if blender else os.environ.get(BLENDER_ENV)
    if exe and shutil.which(exe) is None:
        origin = "--blender" if blender else f"${BLENDER_ENV}"
        raise _not_available(f"{origin} {exe} is not an executable file")


def blender_command(script: str | os.PathLike, args: Sequence[str],
                    blender: str | os.PathLike | None = None,
                    progress: Callable[[str], None] | None = None) -> list[str]:
    """The command line that runs a Blender script.

    Args:
        script: the Python script to run inside Blender.
        args: its arguments (after ``--`` for a Blender executable).
        blender: a Blender executable (path or name on ``PATH``); default
            ``$MOCAP_BLENDER``, else the ``bpy`` environment (created if missing).
        progress: optional callable taking a message, used while creating the environment.

    Raises:
        BlenderUnavailableError: the named executable does not exist, or no ``bpy``
            environment can be made; the message says how to get one.
    """
    exe = str(blender) if blender else os.environ.get(BLENDER_ENV)
    if exe:
        found = shutil.which(exe)
        if found is None:
            origin = "--blender" if blender else f"${BLENDER_ENV}"
            raise _not_available(f"{origin} {exe} is not an executable file")
        return [found, "--background", "--factory-startup", "--python-exit-code", "1",
                "--python", str(script), "--", *map(str, args)]
    try:
        python = ensure_blender(progress)
    except BlenderUnavailableError as exc:
        raise _not_available(str(exc)) from None
    except OSError as exc:
        raise _not_available(f"cannot create the Blender environment: "
                             f"{exc.strerror or exc}") from None
    return [str(python), str(script), *map(str, args)]


_PROGRESS = re.compile(r"^mocap-progress (\d+) (\d+)$")


def run_blender_json(script: str | os.PathLike, request: dict,
                     blender: str | os.PathLike | None = None,
                     progress: Callable[[str], None] | None = None,
                     timeout: float = 3600.0,
                     steps: Callable[[int, int], None] | None = None) -> dict:
    """Run a Blender script taking ``REQUEST.json RESULT.json`` and return the result.

    Works with the ``bpy`` environment and with a Blender executable (see
    :func:`blender_command`). ``steps(done, total)`` is called for each
    ``mocap-progress DONE TOTAL`` line the script prints, as it prints it.

    Raises:
        BlenderUnavailableError: no Blender (see :func:`blender_command`), or the program
            ran but did not run the script (exit code 0, no result: not a Blender).
        MocapError: the script failed or timed out; the message carries its last error line.
    """
    with tempfile.TemporaryDirectory(prefix="mocap-blender-") as tmp:
        req = Path(tmp) / "request.json"
        res = Path(tmp) / "result.json"
        req.write_text(json.dumps(request))
        cmd = blender_command(script, [str(req), str(res)], blender, progress)
        try:
            code, stdout, stderr = _run_streaming(cmd, timeout, steps, Path(tmp))
        except subprocess.TimeoutExpired:
            raise MocapError(f"Blender ({Path(script).name}) did not finish within "
                             f"{timeout:.0f} s") from None
        except OSError as exc:
            raise _not_available(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
        if code == 0 and not res.exists():  # e.g. --blender /bin/true: not a Blender
            raise _not_available(f"{cmd[0]} exited without running the script (exit code "
                                 "0, no result): not a Blender executable")
        if code != 0 or not res.exists():
            raise MocapError(f"Blender ({Path(script).name}) failed: "
                             f"{error_line(stdout, stderr, code)}")
        return json.loads(res.read_text())


def _run_streaming(cmd: list[str], timeout: float,
                   steps: Callable[[int, int], None] | None, tmp: Path):
    """Run ``cmd``; pass its progress lines to ``steps`` as they come; (code, stdout,
    stderr). stderr goes to a file, so a chatty Blender never blocks on a full pipe."""
    if steps is None:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout, proc.stderr
    err_path = tmp / "stderr.txt"
    with open(err_path, "w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True,
                                errors="replace")
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, expire)
        timer.start()
        lines = []
        try:
            for line in proc.stdout:
                m = _PROGRESS.match(line.strip())
                if m:
                    steps(int(m.group(1)), int(m.group(2)))
                else:
                    lines.append(line)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:  # the caller was interrupted: Blender goes too
                proc.kill()
                proc.wait()
        if expired.is_set():
            raise subprocess.TimeoutExpired(cmd, timeout)
        err.seek(0)
        return code, "".join(lines), err.read()


_EXCEPTION = re.compile(r"^[\w.]*(Error|Exception|Exit): ")


def error_line(stdout: str, stderr: str, code: int) -> str:
    """The most telling line of a failed Blender run: the last Python exception line (a
    Blender executable ends with its own "Error: script failed, ..." line), with the
    Blender version where it printed one."""
    lines = [ln.strip() for ln in (stdout + "\n" + stderr).splitlines() if ln.strip()]
    version = next((ln for ln in lines if re.match(r"^Blender \d+\.\d+", ln)), None)
    found = [ln for ln in lines if _EXCEPTION.match(ln) and "script failed" not in ln]
    line = (found or [ln for ln in lines if "rror" in ln] or lines
            or [f"exit code {code}"])[-1]
    return f"{line} ({version})" if version else line


def export_bvh_files(bvh_paths: Sequence[str | os.PathLike],
                     formats: str | Sequence[str] = FORMATS,
                     out_dir: str | os.PathLike | None = None,
                     blender: str | os.PathLike | None = None,
                     progress: Callable[[str], None] | None = None,
                     timeout: float = 3600.0, units: str | None = "m",
                     mesh: bool = True,
                     steps: Callable[[int, int], None] | None = None) -> list[Path]:
    """Export BVH files as FBX and/or GLB, all in one Blender process.

    Each ``<dir>/<stem>.bvh`` becomes ``<out_dir>/<stem>.fbx`` and/or ``<stem>.glb``
    (``out_dir`` defaults to the BVH file's folder).

    Args:
        bvh_paths: BVH files (e.g. ``person_1.bvh``, ``person_2.bvh`` from one video).
        formats: ``("fbx", "glb")`` (default), a subset, or a comma list ``"fbx,glb"``.
        out_dir: folder for the outputs; created if missing.
        blender: a Blender executable; default ``$MOCAP_BLENDER``, else the ``bpy``
            environment (see :mod:`mocap.export.blender_env`).
        progress: optional callable taking a message (used while creating the environment).
        timeout: seconds for the whole Blender run.
        units: unit of the BVH files, a key of :data:`mocap.units.METRES_PER_UNIT` (``"m"``,
            default, as :func:`mocap.export.bvh.write_bvh` writes by default; ``"cm"``...),
            or None to recognise it from the skeleton's height. Outputs are in metres.
        mesh: add a stick figure skinned to the bones (one octahedron per bone, each
            vertex weighted 1 to its bone), so viewers show the motion and game engines
            import a skeletal mesh; False writes the armature alone.
        steps: ``steps(done, total)`` after each BVH file is exported (a progress bar).

    Returns:
        The written files, for each BVH file in order, in the order of ``formats``.

    Raises:
        InputError: a BVH file is missing, an unknown format, or two outputs would collide.
        BlenderUnavailableError: no Blender available (the message says how to get one).
            Nothing is written; the BVH files are only read.
        MocapError: Blender failed on a file.
        OutputError: an output cannot be written.
    """
    fmts = parse_formats(formats)
    jobs = []
    for p in bvh_paths:
        bvh = Path(p)
        folder = Path(out_dir) if out_dir is not None else bvh.parent
        jobs.append((bvh, {f: folder / f"{bvh.stem}.{f}" for f in fmts}))
    clips = export_clips(jobs, blender=blender, progress=progress, timeout=timeout,
                         units=units, mesh=mesh, steps=steps)
    return [path for clip in clips for path in clip.outputs.values()]


def export_bvh(bvh_path: str | os.PathLike, output: str | os.PathLike,
               fmt: str | None = None, blender: str | os.PathLike | None = None,
               progress: Callable[[str], None] | None = None,
               timeout: float = 3600.0, units: str | None = "m",
               mesh: bool = True) -> ExportedClip:
    """Export one BVH file as ``output`` (FBX or GLB; format from ``fmt`` or the suffix).

    Raises:
        InputError, BlenderUnavailableError, MocapError, OutputError: see
            :func:`export_bvh_files`.
    """
    output = Path(output)
    if fmt is None:
        if not output.suffix:
            raise InputError(f"cannot tell the format of {output} (no suffix); choose "
                             f"from {', '.join(FORMATS)}")
        fmt = output.suffix
    (name,) = parse_formats([fmt])
    return export_clips([(Path(bvh_path), {name: output})], blender=blender,
                        progress=progress, timeout=timeout, units=units, mesh=mesh)[0]


def export_clips(jobs: Sequence[tuple[str | os.PathLike, dict[str, str | os.PathLike]]],
                 blender: str | os.PathLike | None = None,
                 progress: Callable[[str], None] | None = None,
                 timeout: float = 3600.0, units: str | None = "m",
                 mesh: bool = True,
                 steps: Callable[[int, int], None] | None = None) -> list[ExportedClip]:
    """The general form: ``[(bvh, {"fbx": out.fbx, "glb": out.glb}), ...]`` in one Blender
    (``steps(done, total)`` after each job).

    Returns:
        One :class:`ExportedClip` per job, in order.

    Raises:
        See :func:`export_bvh_files`.
    """

    if units is not None:
        metres_per(units)  # an unknown unit fails before Blender starts
    check_blender(blender)  # so does a named Blender that is not there, before any reading
    norm: list[tuple[Path, dict[str, Path]]] = []
    scales: list[float] = []
    seen: set[Path] = set()
    for bvh, outs in jobs:
        bvh = Path(bvh)
        # a missing, special (a pipe Blender would block on) or malformed file fails here,
        # in one line, not in Blender
        data = read_bvh(bvh)
        if len(data.motion) == 0:
            raise InputError(f"{bvh}: has no frames of motion (Frames: 0); nothing to export")
        scales.append(METRES_PER_UNIT[units] if units is not None else bvh_unit_scale(data))
        paths = {parse_formats([f])[0]: Path(o) for f, o in outs.items()}
        for out in paths.values():
            key = out.resolve()
            if key in seen or key == bvh.resolve():
                raise InputError(f"output {out} is written twice or overwrites an input")
            seen.add(key)
        norm.append((bvh, paths))
    if not norm:
        return []
    with contextlib.ExitStack() as stack:
        tmp_of = {}
        for _, outs in norm:
            for f, out in outs.items():
                # Blender's exporters replace any other extension than the format's
                tmp_of[(out, f)] = stack.enter_context(atomic_path(out, suffix=f".{f}"))
        request = {"jobs": [{"bvh": str(bvh.resolve()), "scale": scale, "mesh": bool(mesh),
                             **{f: str(tmp_of[(out, f)]) for f, out in outs.items()}}
                            for (bvh, outs), scale in zip(norm, scales, strict=True)]}
        result = run_blender_json(SCRIPT, request, blender, progress, timeout, steps)
        for (out, _), tmp in tmp_of.items():
            if not tmp.exists() or tmp.stat().st_size == 0:
                raise MocapError(f"Blender wrote nothing for {out}")
    return [ExportedClip(bvh=bvh, outputs=outs, bones=int(r["bones"]),
                         frames=int(r["frames"]), fps=float(r["fps"]),
                         seconds=float(r["seconds"]))
            for (bvh, outs), r in zip(norm, result["jobs"], strict=True)]


def bvh_report(path: str | os.PathLike, frames: list[int] | None = None,
               blender: str | os.PathLike | None = None, scale: float = 1.0) -> dict:
    """Import a BVH file in Blender and describe what Blender made of it.

    Args:
        path: the ``.bvh`` file.
        frames: 0-based frames whose bone positions to report (default: first and last).
        blender: which Blender (see :func:`blender_command`).
        scale: the importer's Scale (``global_scale``: every offset and root position is
            multiplied by it).

    Returns:
        A dict: ``bones`` (names, armature order), ``rest_heads``/``rest_tails`` (J, 3)
        (Blender world, metres, Z up), ``frame_range`` of the action, ``scene_fps``,
        ``scene_frame_start``/``scene_frame_end``, ``frames`` and ``heads`` (F, J, 3) world
        positions of each bone's head at those frames.
    """
    return run_blender_json(SCRIPTS_DIR / "bvh_report.py",
                            {"path": str(Path(path).resolve()), "frames": frames,
                             "scale": float(scale)},
                            blender, timeout=600.0)
