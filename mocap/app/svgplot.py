"""Charts as inline SVG, written directly: the report's plots (lines, markers, labels,
arrows on axes with ticks, a grid, labels and a legend).

A plotting library costs more than the whole report needs: importing matplotlib and
rendering the demo's five figures took ~0.9 s of a 6 s conversion, on the same two cores
as the preview. These charts are a few hundred SVG elements made with string formatting
(milliseconds), text kept as text.

Usage::

    ax = Axes("Hip height per frame", "video frame", "hip height (m)")
    ax.plot(frames, heights, "#ff6347", label="person 1")
    svg = figure([ax])
"""

from __future__ import annotations

import html
import itertools
import math

import numpy as np

__all__ = ["Axes", "figure", "nice_ticks"]

#: Margins of a panel around its plot area, px: left (tick labels and the y label),
#: right, top (the title), bottom (tick labels and the x label).
MARGIN = (62, 12, 26, 42)
GRID = "#b0b0b0"
_CLIP_IDS = itertools.count()  # clip paths are unique in a page
FONT = "font-family:sans-serif"


def nice_ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten apart) covering about
    ``count`` steps of [lo, hi], those inside it."""
    span = hi - lo
    if not (np.isfinite(span) and span > 0):
        return np.array([lo])
    raw = span / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((m * power for m in (1, 2, 2.5, 5, 10)), key=lambda s: abs(s - raw))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.round(ticks / step) * step  # no 0.30000000000000004


def _label(value: float, step: float) -> str:
    """A tick label with the decimals its step needs."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-6:
        decimals += 1  # 2.5, 0.25
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text.replace("-", "\u2212")


def _finite_runs(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Index runs where both coordinates are finite (a NaN breaks a line)."""
    ok = np.isfinite(x) & np.isfinite(y)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    return [np.arange(a, b) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class Axes:
    """One panel: data added with :meth:`plot`, :meth:`marker`, :meth:`text` and
    :meth:`arrow`, drawn by :func:`figure`.

    Args:
        title: above the plot.
        xlabel, ylabel: the axes' labels.
        equal: one data unit is as long across as up (the limits widened to fit).
        ylim: fixed y limits (None: from the data).
        invert_y: y grows downwards.
    """

    def __init__(self, title: str = "", xlabel: str = "", ylabel: str = "", *,
                 equal: bool = False, ylim: tuple[float, float] | None = None,
                 invert_y: bool = False) -> None:
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.equal, self.ylim, self.invert_y = equal, ylim, invert_y
        self._items: list[tuple] = []
        self._legend: list[tuple[str, str]] = []

    def plot(self, x, y, color: str, width: float = 1.4, label: str | None = None,
             opacity: float = 1.0) -> None:
        """A line through the points (broken where a coordinate is not finite)."""
        x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
        self._items.append(("line", x, y, color, width, opacity))
        if label is not None:
            self._legend.append((label, color))

    def marker(self, x, y, color: str, shape: str = "o", size: float = 4.0) -> None:
        """Markers (``o`` a dot, ``s`` a square) ``size`` px across at the points."""
        x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
        self._items.append(("marker", x, y, color, shape, size))

    def text(self, x: float, y: float, text: str, size: float = 8.0) -> None:
        """``text`` starting at the point."""
        self._items.append(("text", np.array([x], float), np.array([y], float), text, size))

    def arrow(self, x0: float, y0: float, x1: float, y1: float, color: str = "#000") -> None:
        """An arrow from (x0, y0) to (x1, y1)."""
        self._items.append(("arrow", np.array([x0, x1], float), np.array([y0, y1], float),
                            color))

    # -- drawing ------------------------------------------------------------------------
    def _limits(self, w: float, h: float) -> tuple[float, float, float, float]:
        xs = [it[1][np.isfinite(it[1])] for it in self._items]
        ys = [it[2][np.isfinite(it[2])] for it in self._items]
        xs = np.concatenate(xs) if xs else np.zeros(0)
        ys = np.concatenate(ys) if ys else np.zeros(0)
        x0, x1 = (float(xs.min()), float(xs.max())) if len(xs) else (0.0, 1.0)
        y0, y1 = (float(ys.min()), float(ys.max())) if len(ys) else (0.0, 1.0)
        if self.ylim is not None:
            y0, y1 = map(float, self.ylim)
        x0, x1 = _padded(x0, x1)
        if self.ylim is None:
            y0, y1 = _padded(y0, y1)
        if self.equal:  # the shorter side widened so that a metre is a metre both ways
            scale = min(w / (x1 - x0), h / (y1 - y0))
            cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
            x0, x1 = cx - w / scale / 2, cx + w / scale / 2
            y0, y1 = cy - h / scale / 2, cy + h / scale / 2
        return x0, x1, y0, y1

    def svg(self, ox: float, oy: float, width: float, height: float) -> list[str]:
        """SVG elements of the panel in the box at (ox, oy) of ``width`` x ``height`` px."""
        left, right, top, bottom = MARGIN
        px0, py0 = ox + left, oy + top
        w, h = width - left - right, height - top - bottom
        x0, x1, y0, y1 = self._limits(w, h)

        def sx(v):
            return px0 + (np.asarray(v) - x0) / (x1 - x0) * w

        def sy(v):
            t = (np.asarray(v) - y0) / (y1 - y0)
            return py0 + (t if self.invert_y else 1 - t) * h

        out = [f'<rect x="{px0:.1f}" y="{py0:.1f}" width="{w:.1f}" height="{h:.1f}" '
               'fill="none" stroke="#000" stroke-width="0.8"/>']
        xt, yt = nice_ticks(x0, x1), nice_ticks(y0, y1)
        xs = float(xt[1] - xt[0]) if len(xt) > 1 else 1.0
        ys = float(yt[1] - yt[0]) if len(yt) > 1 else 1.0
        for v in xt:  # grid lines and tick labels
            x = float(sx(v))
            out += [_grid(x, py0, x, py0 + h), _text(x, py0 + h + 14, _label(v, xs), "middle")]
        for v in yt:
            y = float(sy(v))
            out += [_grid(px0, y, px0 + w, y), _text(px0 - 5, y + 3, _label(v, ys), "end")]
        out.append(f'<text x="{px0 + w / 2:.1f}" y="{oy + height - 8:.1f}" font-size="10" '
                   f'text-anchor="middle" style="{FONT}">{html.escape(self.xlabel)}</text>')
        cy = py0 + h / 2
        out.append(f'<text x="{ox + 14:.1f}" y="{cy:.1f}" font-size="10" '
                   f'text-anchor="middle" transform="rotate(-90 {ox + 14:.1f} {cy:.1f})" '
                   f'style="{FONT}">{html.escape(self.ylabel)}</text>')
        out.append(f'<text x="{px0 + w / 2:.1f}" y="{oy + 16:.1f}" font-size="11" '
                   f'text-anchor="middle" style="{FONT}">{html.escape(self.title)}</text>')
        # the data, clipped to the plot area
        clip = f"mocap-clip-{next(_CLIP_IDS)}"
        out.append(f'<clipPath id="{clip}"><rect x="{px0:.1f}" y="{py0:.1f}" '
                   f'width="{w:.1f}" height="{h:.1f}"/></clipPath><g clip-path="url(#{clip})">')
        for item in self._items:
            out += _draw(item, sx, sy)
        out.append("</g>")
        out += self._legend_svg(px0 + w, py0)
        return out

    def _legend_svg(self, right: float, top: float) -> list[str]:
        if not self._legend:
            return []
        width = 30 + 6.2 * max(len(label) for label, _ in self._legend)
        x0, y0 = right - width - 6, top + 6
        out = [f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{width:.1f}" '
               f'height="{6 + 14 * len(self._legend):.1f}" fill="#fff" fill-opacity="0.8" '
               'stroke="#ccc" stroke-width="0.6"/>']
        for k, (label, color) in enumerate(self._legend):
            y = y0 + 12 + 14 * k
            out.append(f'<line x1="{x0 + 5:.1f}" y1="{y - 3:.1f}" x2="{x0 + 22:.1f}" '
                       f'y2="{y - 3:.1f}" stroke="{color}" stroke-width="1.6"/>')
            out.append(f'<text x="{x0 + 26:.1f}" y="{y:.1f}" font-size="8" style="{FONT}">'
                       f"{html.escape(label)}</text>")
        return out


def _grid(x0: float, y0: float, x1: float, y1: float) -> str:
    return (f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" '
            f'stroke="{GRID}" stroke-width="0.6" stroke-opacity="0.5"/>')


def _text(x: float, y: float, text: str, anchor: str, size: float = 9) -> str:
    """A tick label (``text`` already safe: digits and a minus sign)."""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'style="{FONT}">{text}</text>')


def _padded(lo: float, hi: float) -> tuple[float, float]:
    """[lo, hi] widened by 5 % a side (a degenerate range by one unit)."""
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1.0):
        return lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def _draw(item: tuple, sx, sy) -> list[str]:
    kind, x, y = item[:3]
    out = []
    if kind == "line":
        _, _, _, color, width, opacity = item
        px, py = sx(x), sy(y)
        for run in _finite_runs(px, py):
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px[run], py[run], strict=True))
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" '
                       f'stroke-width="{width}" stroke-opacity="{opacity:.2f}" '
                       'stroke-linejoin="round"/>')
    elif kind == "marker":
        _, _, _, color, shape, size = item
        for a, b in zip(sx(x), sy(y), strict=True):
            if not (np.isfinite(a) and np.isfinite(b)):
                continue
            if shape == "s":
                out.append(f'<rect x="{a - size / 2:.1f}" y="{b - size / 2:.1f}" '
                           f'width="{size}" height="{size}" fill="{color}"/>')
            else:
                out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{size / 2}" '
                           f'fill="{color}"/>')
    elif kind == "text":
        _, _, _, text, size = item
        a, b = float(sx(x)[0]), float(sy(y)[0])
        if np.isfinite(a) and np.isfinite(b):
            out.append(f'<text x="{a:.1f}" y="{b:.1f}" font-size="{size}" style="{FONT}">'
                       f"{html.escape(text)}</text>")
    elif kind == "arrow":
        color = item[3]
        (a0, a1), (b0, b1) = sx(x), sy(y)
        if np.isfinite([a0, a1, b0, b1]).all():
            ang = math.atan2(b1 - b0, a1 - a0)
            head = [(a1 - 7 * math.cos(ang + s), b1 - 7 * math.sin(ang + s))
                    for s in (0.4, -0.4)]
            out.append(f'<line x1="{a0:.1f}" y1="{b0:.1f}" x2="{a1:.1f}" y2="{b1:.1f}" '
                       f'stroke="{color}" stroke-width="1"/>')
            out.append(f'<polyline points="{head[0][0]:.1f},{head[0][1]:.1f} {a1:.1f},'
                       f'{b1:.1f} {head[1][0]:.1f},{head[1][1]:.1f}" fill="none" '
                       f'stroke="{color}" stroke-width="1"/>')
    return out


def figure(axes: list[Axes], width: int = 640, height: int = 260) -> str:
    """One ``<svg>`` of the panels side by side, ``width`` x ``height`` px in all."""
    cell = width / max(len(axes), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}">',
             f'<rect width="{width}" height="{height}" fill="#fff"/>']
    for k, ax in enumerate(axes):
        parts += ax.svg(k * cell, 0, cell, height)
    parts.append("</svg>")
    return "\n".join(parts)
