"""A one-line progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    """A one-line progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled = label, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int, total: int = -1) -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last < 0.2 and done != total):
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        if total > 0:
            frac = min(done / total, 1.0)
            bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
            msg = f"\r{self.label} [{bar}] {done}/{total} frames {rate:5.1f} fps"
        else:
            msg = f"\r{self.label} {done} frames {rate:5.1f} fps"
        sys.stderr.write(msg)
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
