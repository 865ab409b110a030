"""Helpers shared by the end-to-end tests: run the real CLI, check its errors, cut clips."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

# ../shared/data beside the checkout (read-only, real material; see its README). Tests that
# need it skip with a reason when it is absent (the `shared_data` fixture, or skipif).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The real CMU mocap files there, and a mark for tests that need them.
BVH_FILES = sorted((SHARED_DATA / "bvh").glob("*.bvh")) if (SHARED_DATA / "bvh").is_dir() else []
needs_bvh_files = pytest.mark.skipif(not BVH_FILES,
                                     reason=f"shared BVH data not found in {SHARED_DATA}")


def debian_tool(command: str, package: str) -> str:
    """The path of ``command``, installed from Debian's ``package`` with apt-get when missing
    and we are root (as CI is); skips the test with the reason where that cannot be done."""
    found = shutil.which(command)
    if found:
        return found
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip(f"{command} is not installed and installing {package} needs root")
    if not shutil.which("apt-get"):
        pytest.skip(f"{command} is not installed and there is no apt-get to install it")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    proc = subprocess.run(install, capture_output=True, text=True, env=env)
    if proc.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, env=env)
        proc = subprocess.run(install, capture_output=True, text=True, env=env)
    found = shutil.which(command)
    assert found, f"apt-get install {package} failed: {proc.stderr[-500:]}"
    return found


def run_cli(*args, env=None, timeout=900) -> subprocess.CompletedProcess:
    """``python -m mocap ARGS`` in a fresh process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "mocap", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A failed run that printed exactly one ``mocap: error:`` line holding ``needles``."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.startswith("mocap: error:")]
    assert len(err) == 1, proc.stderr
    for needle in needles:
        assert needle in err[0], err[0]


def decoded_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a video file as (H, W, 3) int RGB (ints: differences do not wrap)."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).astype(int))
    cap.release()
    return out


def cut_video(src: Path, dst: Path, frames: int, blank: bool = False,
              fourcc: str = "mp4v") -> Path:
    """The first ``frames`` frames of ``src`` at half size (or grey noise), encoded with
    ``fourcc`` into ``dst`` (its suffix picks the container)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*fourcc), fps, (w // 2, h // 2))
    rng = np.random.default_rng(0)
    for _ in range(frames):
        ok, frame = cap.read()
        assert ok
        if blank:
            frame = rng.integers(100, 140, frame.shape, dtype=np.uint8)
        out.write(cv2.resize(frame, (w // 2, h // 2)))
    out.release()
    cap.release()
    return dst


# A two-joint BVH file with two frames (line 19 is the first motion row).
SMALL_BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation
  JOINT Spine
  {
    OFFSET 0 1 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 1 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
1 2 3 10 20 30 40 50 60
4 5 6 0 0 0 0 0 0
"""


class FuzzStats:
    """How many inputs a fuzz test tried, how they ended and the slowest one."""

    def __init__(self) -> None:
        self.tried = 0
        self.outcomes: dict[str, int] = {}
        self.slowest = 0.0
        self.peak_mb = 0.0

    def add(self, outcome: str, seconds: float, peak_bytes: int) -> None:
        self.tried += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.slowest = max(self.slowest, seconds)
        self.peak_mb = max(self.peak_mb, peak_bytes / 2**20)

    def measure(self, call, size: int) -> str:
        """Run ``call()`` (returns an outcome name) on an input of ``size`` bytes, timing
        it and tracing its memory, which must stay under 64 MiB + 200 bytes per input
        byte; record and return the outcome."""
        tracemalloc.start()
        start = time.perf_counter()
        try:
            outcome = call()
        finally:
            seconds = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 64 * 2**20 + 200 * size, peak
        self.add(outcome, seconds, peak)
        return outcome

    def report(self, what: str) -> str:
        ends = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items()))
        return (f"{what}: {self.tried} inputs tried ({ends}); slowest {self.slowest * 1e3:.1f} ms;"
                f" peak traced memory {self.peak_mb:.1f} MiB")


def stop_processes(procs: list[subprocess.Popen], timeout: float = 20) -> None:
    """Terminate background processes a test started, killing any that do not stop."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()


def view_rotation(yaw_deg: float, pitch_deg: float = 0.0, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) the orientation of a camera turned right by ``yaw``, up by ``pitch`` and
    clockwise by ``roll`` (degrees), in camera axes (x right, y down, z forward): its
    columns are the turned camera's axes."""
    a, b, c = np.radians([yaw_deg, pitch_deg, roll_deg])
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return ry @ rx @ rz


def virtual_view(frame: np.ndarray, view: np.ndarray, zoom: float, size: tuple[int, int],
                 src_fov_deg: float = 60.0) -> np.ndarray:
    """What a pinhole camera at the centre of the camera that took ``frame`` sees when
    turned to ``view`` (:func:`view_rotation`) with ``zoom`` times its focal length, in an
    image of ``size`` (width, height) px."""
    sh, sw = frame.shape[:2]
    f_src = 0.5 * sw / np.tan(np.radians(src_fov_deg) / 2)
    k_src = np.array([[f_src, 0, sw / 2], [0, f_src, sh / 2], [0, 0, 1]])
    f = f_src * zoom
    k_out = np.array([[f, 0, size[0] / 2], [0, f, size[1] / 2], [0, 0, 1]])
    return cv2.warpPerspective(frame, k_out @ view.T @ np.linalg.inv(k_src), size,
                               flags=cv2.INTER_LINEAR)


def true_path(views: np.ndarray) -> np.ndarray:
    """(F, 3, 3) camera orientations -> the :class:`mocap.types.CameraPath` rotations
    (first frame's camera axes -> frame i's)."""
    return np.einsum("fji,jk->fik", views, views[0])


def virtual_camera_video(src: Path, dst: Path, yaw_deg, pitch_deg=None, zoom=None,
                         size: tuple[int, int] = (960, 540), src_fov_deg: float = 60.0,
                         frames: int | None = None, fourcc: str = "mp4v"):
    """Film real footage again with a virtual camera that turns and zooms.

    Each output frame is what a pinhole camera at the source camera's centre, turned by
    ``yaw_deg[i]`` / ``pitch_deg[i]`` and with focal length ``zoom[i]`` times the source's,
    sees of source frame ``i`` (a perspective-correct moving crop: exactly the image of a
    camera rotating about its centre, so the true camera motion is known).

    Returns:
        ``(rotation (F, 3, 3), zoom (F,))``: the true camera path in the
        :class:`mocap.types.CameraPath` convention (first output frame's axes -> frame i's).
    """
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS)
    n = len(yaw_deg) if frames is None else frames
    pitch = np.zeros(n) if pitch_deg is None else np.asarray(pitch_deg, float)
    zoom = np.ones(n) if zoom is None else np.asarray(zoom, float)
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*fourcc), fps, size)
    if fourcc == "MJPG":
        out.set(cv2.VIDEOWRITER_PROP_QUALITY, 95)
    views = []
    for i in range(n):
        ok, frame = cap.read()
        assert ok, f"{src} has fewer than {n} frames"
        views.append(view_rotation(yaw_deg[i], pitch[i]))
        out.write(virtual_view(frame, views[-1], zoom[i], size, src_fov_deg))
    out.release()
    cap.release()
    return true_path(np.stack(views)), zoom / zoom[0]


def probe_motion(frames: int = 8):
    """A short, seeded motion (CMU rig, small random turns of every joint, the root
    walking): point tracks to retarget onto rigs under test (``PointTracks``)."""
    from mocap.skeleton.animation import Animation
    from mocap.skeleton.rig import load_rig

    rig = load_rig("cmu")
    rng = np.random.default_rng(0)
    axis = rng.normal(size=(frames, len(rig), 3))
    axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
    half = rng.uniform(0, 0.15, (frames, len(rig), 1))
    quats = np.concatenate([axis * np.sin(half), np.cos(half)], -1)
    root = np.column_stack([np.linspace(0, 0.5, frames), np.full(frames, 0.95),
                            np.zeros(frames)])
    return Animation(rig, root, quats, 30.0).points()


def retarget_onto(rig, points) -> str:
    """Use ``rig`` as a retargeting target, both bone-length modes: every value finite, or
    one short MocapError line. Returns the outcome name."""
    from mocap.errors import MocapError
    from mocap.retarget.solver import retarget

    for mode in ("rig", "actor"):
        try:
            anim = retarget(points, rig, 30.0, mode)
        except MocapError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 800, str(exc)
            return "not a target"
        assert np.isfinite(anim.rotations).all() and np.isfinite(anim.root_translation).all()
        assert np.isfinite(anim.positions()).all()
    return "retargeted"


def start_batch(args: list, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    """``mocap batch ARGS`` as a background process in its own session, so that a test can
    always stop everything it started (:func:`stop_batch`)."""
    return subprocess.Popen([sys.executable, "-m", "mocap", "batch", *map(str, args)],
                            stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                            start_new_session=True)


def stop_batch(proc: subprocess.Popen) -> None:
    """Kill a :func:`start_batch` process and its workers (resumed first if stopped)."""
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGCONT)
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
