"""BVH reader: real CMU files, channel orders, strict errors, property-based round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from mocap.errors import InputError
from mocap.io.bvh import BvhData, bvh_local_transforms, parse_bvh, read_bvh
from mocap.retarget.bvh_source import bvh_animation
from tests.helpers import BVH_FILES, SHARED_DATA, SMALL_BVH
from tests.helpers import needs_bvh_files as needs_data

DATA = SHARED_DATA

SMALL = SMALL_BVH


def _text_with(lines_replaced: dict[int, str | None]) -> str:
    lines = SMALL.splitlines()
    for i in sorted(lines_replaced, reverse=True):
        if lines_replaced[i] is None:
            del lines[i]
        else:
            lines[i] = lines_replaced[i]
    return "\n".join(lines) + "\n"


def test_small_file_channels_in_their_own_order():
    bvh = parse_bvh(SMALL, "small.bvh")
    assert bvh.names == ("Hips", "Spine")
    assert bvh.channels[0][3:] == ("Zrotation", "Yrotation", "Xrotation")
    assert bvh.channels[1] == ("Zrotation", "Xrotation", "Yrotation")
    assert bvh.frame_time == pytest.approx(0.0333333)
    q, tr = bvh_local_transforms(bvh)
    # BVH Euler angles are intrinsic: uppercase scipy orders, in each joint's own order
    np.testing.assert_allclose(
        Rotation.from_quat(q[0, 0]).as_matrix(),
        Rotation.from_euler("ZYX", [10, 20, 30], degrees=True).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(
        Rotation.from_quat(q[0, 1]).as_matrix(),
        Rotation.from_euler("ZXY", [40, 50, 60], degrees=True).as_matrix(), atol=1e-12)
    # the wrong (extrinsic) convention would differ
    assert not np.allclose(Rotation.from_quat(q[0, 1]).as_matrix(),
                           Rotation.from_euler("zxy", [40, 50, 60], degrees=True).as_matrix())
    np.testing.assert_allclose(tr[:, 0], [[1, 2, 3], [4, 5, 6]])
    np.testing.assert_allclose(tr[:, 1], [[0, 1, 0], [0, 1, 0]])


@pytest.mark.parametrize(
    ("edit", "line", "needle"),
    [
        ({15: None, 16: None, 17: None, 18: None, 19: None}, None, "MOTION"),  # no MOTION
        ({18: "1 2 3 10 20 30 40 50"}, 19, "expected 9"),  # wrong channel count
        ({18: "1 2 3 10 20 abc 40 50 60"}, 19, "'abc'"),  # non-numeric
        ({19: None}, None, "truncated"),  # truncated frames
        ({4: "  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation"}, 5,
         "CHANNELS says 6"),
        ({4: "  CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Wrotation"}, 5,
         "unknown channel"),
        ({16: "Frames: two"}, 17, "Frames"),
        ({17: "Frame Time: 0"}, 18, "positive"),
        ({3: "  OFFSET 0 0"}, 4, "3 numbers"),
        ({0: "HIERARCH"}, 1, "HIERARCHY"),
        ({18: "1 2 3 10 20 nan 40 50 60"}, 19, "non-finite"),
        ({14: None}, None, "MOTION"),  # unbalanced braces
    ],
)
def test_malformed_files_fail_with_file_and_line(tmp_path, edit, line, needle):
    path = tmp_path / "bad.bvh"
    path.write_text(_text_with(edit))
    with pytest.raises(InputError) as info:
        read_bvh(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:")
    if line is not None:
        assert msg.startswith(f"{path}:{line}:"), msg
    assert needle in msg, msg


def test_extra_frames_are_an_error(tmp_path):
    path = tmp_path / "extra.bvh"
    path.write_text(SMALL + "7 8 9 0 0 0 0 0 0\n")
    with pytest.raises(InputError, match=r"extra\.bvh:21: more motion lines"):
        read_bvh(path)


def test_missing_file():
    with pytest.raises(InputError, match="no such BVH file"):
        read_bvh("/nonexistent/x.bvh")


@needs_data
@pytest.mark.parametrize("path", BVH_FILES, ids=lambda p: p.stem)
def test_real_cmu_files(path):
    bvh = read_bvh(path)
    assert len(bvh.names) == 31
    assert bvh.motion.shape[1] == 6 + 30 * 3
    assert bvh.frame_time == pytest.approx(1 / 120, rel=1e-3)
    assert len(bvh) in (344, 2752, 994)


@needs_data
def test_forward_kinematics_matches_bvhio_on_mixed_channel_orders(tmp_path):
    """cmu_131_01 mixes ZYX and ZXY joints; our FK must agree with bvhio's, an independent
    implementation, on world joint positions."""
    import bvhio

    src = DATA / "bvh" / "cmu_131_01_bvh11.bvh"
    text = src.read_text().splitlines()
    m = next(i for i, ln in enumerate(text) if ln.strip() == "MOTION")
    short = [*text[:m + 1], "Frames: 5", text[m + 2], *text[m + 3:m + 3 + 5]]
    path = tmp_path / "short.bvh"
    path.write_text("\n".join(short) + "\n")
    bvh = read_bvh(path)
    assert {c[3:] if len(c) == 6 else c for c in bvh.channels} >= {
        ("Zrotation", "Yrotation", "Xrotation"), ("Zrotation", "Xrotation", "Yrotation")}
    ours = bvh_animation(bvh, unit="in").positions() / 0.0254  # back to file units
    root = bvhio.readAsHierarchy(str(path))
    names = list(bvh.names)
    for f in range(5):
        root.loadPose(f, recursive=True)
        for joint, _, _ in root.layout():
            p = joint.PositionWorld
            np.testing.assert_allclose(ours[f, names.index(joint.Name)], [p.x, p.y, p.z],
                                       atol=1e-3)


# --- property-based ----------------------------------------------------------------------

_ORDERS = ["ZXY", "ZYX", "XYZ", "XZY", "YXZ", "YZX"]


@st.composite
def skeletons(draw):
    n = draw(st.integers(1, 6))
    parents = [-1] + [draw(st.integers(0, k - 1)) for k in range(1, n)]
    orders = [draw(st.sampled_from(_ORDERS)) for _ in range(n)]
    offsets = draw(st.lists(st.lists(st.floats(-50, 50, allow_nan=False), min_size=3,
                                     max_size=3), min_size=n, max_size=n))
    frames = draw(st.integers(0, 4))
    return parents, orders, offsets, frames


def _to_text(parents, orders, offsets, values):
    kids = {k: [c for c in range(len(parents)) if parents[c] == k] for k in range(len(parents))}
    out = ["HIERARCHY"]
    order_seen = []

    def emit(k, depth):
        pad = "  " * depth
        order_seen.append(k)
        out.append(f"{pad}{'ROOT' if k == 0 else 'JOINT'} j{k}")
        out.append(pad + "{")
        out.append(f"{pad}  OFFSET {' '.join(repr(v) for v in offsets[k])}")
        pos = "Xposition Yposition Zposition " if k == 0 else ""
        rot = " ".join(f"{a}rotation" for a in orders[k])
        out.append(f"{pad}  CHANNELS {6 if k == 0 else 3} {pos}{rot}")
        if kids[k]:
            for c in kids[k]:
                emit(c, depth + 1)
        else:
            out.extend([f"{pad}  End Site", pad + "  {", f"{pad}    OFFSET 0 1 0", pad + "  }"])
        out.append(pad + "}")

    emit(0, 0)
    out.extend(["MOTION", f"Frames: {len(values)}", "Frame Time: 0.01"])
    out.extend(" ".join(repr(float(v)) for v in row) for row in values)
    return "\n".join(out) + "\n", order_seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(skeletons(), st.data())
def test_written_skeletons_read_back_exactly(skel, data):
    parents, orders, offsets, frames = skel
    # columns follow the depth-first file order; values are random anyway
    ncols = 3 + 3 * len(parents)
    values = np.array(data.draw(st.lists(
        st.lists(st.floats(-720, 720, allow_nan=False), min_size=ncols, max_size=ncols),
        min_size=frames, max_size=frames)), dtype=float).reshape(frames, ncols)
    text, dfs = _to_text(parents, orders, offsets, values)
    bvh = parse_bvh(text, "gen.bvh")
    assert bvh.names == tuple(f"j{k}" for k in dfs)
    assert isinstance(bvh, BvhData) and len(bvh) == frames
    np.testing.assert_array_equal(bvh.motion, values)
    for i, k in enumerate(dfs):
        np.testing.assert_array_equal(bvh.offsets[i], offsets[k])
        assert "".join(c[0] for c in bvh.channels[i] if c.endswith("rotation")) == orders[k]
        if i:
            assert dfs[bvh.parents[i]] == parents[k]


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["delete", "duplicate", "garble", "cut"]),
       st.integers(0, 10_000))
def test_corrupted_files_raise_input_error_or_parse(pos, how, seed):
    """Any damage to a valid file gives either a valid parse or one InputError line."""
    lines = SMALL.splitlines()
    i = pos % len(lines)
    rng = np.random.default_rng(seed)
    if how == "delete":
        del lines[i]
    elif how == "duplicate":
        lines.insert(i, lines[i])
    elif how == "garble" and lines[i]:
        j = int(rng.integers(len(lines[i])))
        lines[i] = lines[i][:j] + "#x" + lines[i][j + 1:]
    else:
        lines = lines[:i]
    try:
        bvh = parse_bvh("\n".join(lines) + "\n", "c.bvh")
    except InputError as exc:
        assert str(exc).startswith("c.bvh:") and "\n" not in str(exc)
    else:
        assert bvh.motion.shape[1] == sum(len(c) for c in bvh.channels)
