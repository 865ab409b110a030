"""Progress bars on stderr (tqdm), shown only when stderr is a terminal; or, with
``MOCAP_PROGRESS=lines`` in the environment (the Blender add-on reads them), one line
``mocap-progress STAGE DONE TOTAL`` per percent on stderr, terminal or not."""

from __future__ import annotations

import os
import sys

#: The environment variable that asks for progress lines instead of bars.
PROGRESS_ENV = "MOCAP_PROGRESS"


def progress_lines() -> bool:
    """Whether ``MOCAP_PROGRESS=lines`` asks for machine-readable progress."""
    return os.environ.get(PROGRESS_ENV) == "lines"


class ProgressBar:
    """One stage's progress: ``bar(done, total)`` after each frame, ``bar.close()`` at the end.

    A thin shell over tqdm, made on the first update (when the total is known): frames and
    the rate in frames per second, shown once a few frames are done.
    """

    def __init__(self, label: str, enabled: bool, unit: str = "frames") -> None:
        self.label, self.enabled, self.unit = label.strip(), enabled, unit
        self._bar = None
        self._lines = enabled and progress_lines()
        self._said = -1

    def __call__(self, done: int, total: int = -1) -> None:
        if not self.enabled:
            return
        if self._lines:
            step = int(100 * done / total) if total > 0 else done
            if step != self._said:
                self._said = step
                print(f"mocap-progress {self.label} {done} {total}", file=sys.stderr,
                      flush=True)
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total if total > 0 else None, desc=self.label,
                             unit=f" {self.unit}", file=sys.stderr, mininterval=0.2,
                             dynamic_ncols=True, leave=True)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
