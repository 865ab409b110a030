"""The ``.csv`` trajectory header: RFC 4180 quoting and no spreadsheet formulas."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from mocap.export.data import person_meta, write_person_data
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig

T = 3


def _write(tmp_path, joints: list[str]):
    """A CSV for a mixamo animation whose joints are renamed to ``joints`` (then the rest)."""
    rig = load_rig("mixamo")
    q = np.zeros((T, len(rig), 4))
    q[..., 3] = 1.0
    anim = Animation(rig, np.tile([0.0, 1.0, 0.0], (T, 1)), q, 25.0)
    meta = person_meta(1, anim, 25.0)
    meta["joints"] = [*joints, *meta["joints"][len(joints):]]
    pos = anim.positions()
    arrays = {"frames": np.arange(T), "times": np.arange(T) / 25.0,
              "observed": np.ones(T, bool), "joint_positions": pos}
    path = tmp_path / "person_1.csv"
    write_person_data("csv", path, meta, arrays)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return meta["joints"], pos, rows, path.read_text(encoding="utf-8")


def test_names_with_commas_quotes_and_newlines_keep_their_columns(tmp_path):
    odd = ["Hips, root", 'Spine "1"', "Neck\nbone"]
    joints, pos, rows, text = _write(tmp_path, odd)
    header = rows[0]
    assert len(header) == 3 + 3 * len(joints)
    assert header[3:12] == [f"{j}_{a}" for j in odd for a in "xyz"]
    assert len(rows) == 1 + T and all(len(r) == len(header) for r in rows)
    values = np.array(rows[1:], dtype=float)
    np.testing.assert_allclose(values[:, 3:].reshape(T, -1, 3), pos, rtol=1e-5, atol=1e-9)
    assert text.startswith('frame,time,observed,"Hips, root_x","Hips, root_y"')


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)",
                                  "\tcmd", "=1+1"])
def test_formula_looking_names_are_neutralised(tmp_path, name):
    _, _, rows, _ = _write(tmp_path, [name])
    assert rows[0][3:6] == [f"'{name}_{a}" for a in "xyz"]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t")) for cell in rows[0])


def test_ordinary_names_are_unchanged(tmp_path):
    joints, _, rows, text = _write(tmp_path, [])
    assert rows[0] == ["frame", "time", "observed"] + [f"{j}_{a}" for j in joints for a in "xyz"]
    assert text.splitlines()[0] == ",".join(rows[0])  # nothing quoted that need not be
    assert "\r" not in text
