"""The report's charts written as SVG (mocap.app.svgplot)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from mocap.app.svgplot import Axes, figure, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"


def test_nice_ticks_are_round_and_inside():
    np.testing.assert_allclose(nice_ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(nice_ticks(-3.3, 7.9), [-2, 0, 2, 4, 6])
    np.testing.assert_allclose(nice_ticks(1387, 1391), [1387, 1388, 1389, 1390, 1391])
    assert list(nice_ticks(2.0, 2.0)) == [2.0]  # no range: the one value


def test_a_chart_is_valid_svg_with_its_data_labels_and_legend():
    ax = Axes("Hip <height>", "video frame", "height (m)")
    x = np.arange(10.0)
    y = np.where(np.arange(10) == 4, np.nan, np.sin(x))  # a gap breaks the line in two
    ax.plot(x, y, "#ff6347", label="person & 1")
    ax.plot([np.inf, 1], [0, 1], "#4169e1")  # no finite pair: nothing drawn
    ax.marker(x[:1], y[:1], "#ff6347")
    ax.text(2.0, 0.5, "frame 2")
    ax.arrow(0, 0, 1, 1)
    root = ET.fromstring(figure([ax], 640, 260))  # well-formed, escaped text
    assert root.tag == f"{SVG}svg" and root.get("width") == "640"
    lines = root.findall(f".//{SVG}polyline")
    data = [p for p in lines if p.get("stroke") == "#ff6347"]
    assert len(data) == 2 and [len(p.get("points").split()) for p in data] == [4, 5]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Hip <height>" in texts and "person & 1" in texts and "frame 2" in texts
    assert "video frame" in texts and "height (m)" in texts
    for el in root.iter():
        for value in el.attrib.values():
            assert "nan" not in value and "inf" not in value


@pytest.mark.parametrize("invert", [False, True])
def test_equal_axes_keep_a_metre_a_metre(invert):
    ax = Axes("path", "x (m)", "z (m)", equal=True, invert_y=invert)
    ax.plot([0, 4], [0, 1], "#000")  # a 4 m by 1 m path in a wide panel
    root = ET.fromstring(figure([ax], 640, 420))
    (line,) = [p for p in root.iter(f"{SVG}polyline") if p.get("stroke") == "#000"]
    (x0, y0), (x1, y1) = [tuple(map(float, pt.split(","))) for pt in line.get("points").split()]
    assert abs(abs(x1 - x0) / abs(y1 - y0) - 4.0) < 0.01
    assert (y1 > y0) == invert  # up the page, or down it when inverted
