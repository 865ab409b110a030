"""Helpers shared by the end-to-end tests: run the real CLI, check its errors, cut clips."""

from __future__ import annotations

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
