"""Burned-in overlays: what stays put on the screen while the scene behind it moves.

Timers, scoreboards, logos and watermarks are drawn on the picture after the camera, so they
do not move when the camera turns: a background feature on them would pull the camera's
estimate towards standing still. :class:`OverlayMask` collects the places where features
stayed put while the background around them was seen to move (a feature can only be found
out while the camera moves; on a fixed camera an overlay is harmless). Letterbox bars are
found by their flat darkness at the borders (:func:`border_bars`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["OverlayMask", "border_bars"]


class OverlayMask:
    """Cells of the image where features stayed put while the background moved.

    Args:
        size: (width, height) of the measured image, px.
        cell: side of a cell, px.
        votes: frames in which a cell must be seen still before it is an overlay.
    """

    def __init__(self, size: tuple[int, int], cell: int = 8, votes: int = 3) -> None:
        self.size, self.cell, self.votes = size, int(cell), int(votes)
        self._count = np.zeros((-(-size[1] // cell), -(-size[0] // cell)), np.int32)
        self._mask = np.zeros_like(self._count, bool)

    def _cells(self, px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = self._count.shape
        c = np.clip((px[:, 0] // self.cell).astype(int), 0, cols - 1)
        r = np.clip((px[:, 1] // self.cell).astype(int), 0, rows - 1)
        return r, c

    def vote(self, px: np.ndarray, still: np.ndarray) -> None:
        """Count the cells of the features ``px`` (N, 2) px that stayed put (``still`` (N,)
        bool) while the background around them moved."""
        if not still.any():
            return
        r, c = self._cells(px[still])
        hit = np.zeros_like(self._count, bool)
        hit[r, c] = True  # one vote per cell and frame
        self._count += hit
        new = self._count >= self.votes
        if new.any():
            # one cell around each found cell: an overlay's features sit on its edges
            grown = new.copy()
            grown[1:] |= new[:-1]
            grown[:-1] |= new[1:]
            grown[:, 1:] |= grown[:, :-1]
            grown[:, :-1] |= grown[:, 1:]
            self._mask = grown

    def covers(self, px: np.ndarray) -> np.ndarray:
        """(N,) bool: the positions ``px`` (N, 2) px lie on a found overlay."""
        if not len(px) or not self._mask.any():
            return np.zeros(len(px), bool)
        r, c = self._cells(px)
        return self._mask[r, c]

    def image_mask(self) -> np.ndarray:
        """(H, W) bool of the measured image: True on the found overlays."""
        big = np.repeat(np.repeat(self._mask, self.cell, axis=0), self.cell, axis=1)
        return big[:self.size[1], :self.size[0]]


def border_bars(grey: np.ndarray, dark: float = 24.0, flat: float = 6.0) -> np.ndarray:
    """(H, W) bool: the letterbox (and pillarbox) bars of a grey frame: whole rows or
    columns at the borders, dark (mean under ``dark``) and flat (standard deviation under
    ``flat``), and a few pixels of the picture's edge beside them (the edge is not the
    scene's)."""
    h, w = grey.shape
    out = np.zeros((h, w), bool)
    g = grey.astype(np.float32)

    def run(mean: np.ndarray, std: np.ndarray) -> int:
        bar = (mean < dark) & (std < flat)
        n = int(np.argmin(bar)) if not bar.all() else len(bar)
        return n if n >= 2 else 0  # one dark line is not a bar

    rows_m, rows_s = g.mean(axis=1), g.std(axis=1)
    cols_m, cols_s = g.mean(axis=0), g.std(axis=0)
    top, bottom = run(rows_m, rows_s), run(rows_m[::-1], rows_s[::-1])
    left, right = run(cols_m, cols_s), run(cols_m[::-1], cols_s[::-1])
    pad = 4
    if top:
        out[:top + pad] = True
    if bottom:
        out[h - bottom - pad:] = True
    if left:
        out[:, :left + pad] = True
    if right:
        out[:, w - right - pad:] = True
    return out
