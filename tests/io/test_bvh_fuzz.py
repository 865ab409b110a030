"""BVH reader against hostile input: numbers outside ASCII, overflowing values, a byte order
mark, and a hypothesis fuzzer that mutates real (or generated) files."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocap.errors import InputError, MocapError
from mocap.export.bvh import bvh_text
from mocap.io.bvh import bvh_local_transforms, parse_bvh, read_bvh
from mocap.retarget.bvh_source import bvh_animation
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import load_rig, rig_from_bvh
from tests.helpers import BVH_FILES, SMALL_BVH, FuzzStats, probe_motion, retarget_onto

SMALL = SMALL_BVH


@cache
def _probe():
    return probe_motion()


@cache
def _mixamo():
    return load_rig("mixamo")
ROW = "1 2 3 {} 20 30 40 50 60"  # line 19 with its fourth value replaced


def _with_line(line: int, text: str) -> str:
    """SMALL with its 1-based ``line`` replaced by ``text``."""
    lines = SMALL.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("line", "text", "needle"),
    [
        (17, "Frames: \u00b2", "Frames"),  # superscript two: str.isdigit() says yes
        (17, "Frames: \u0662", "Frames"),  # Arabic-Indic two
        (17, "Frames: " + "9" * 5000, "Frames"),  # past int()'s 4300-digit limit
        (9, "    CHANNELS \u00b3 Zrotation Xrotation Yrotation", "CHANNELS"),
        (9, "    CHANNELS \u0663 Zrotation Xrotation Yrotation", "CHANNELS"),
        (8, "    OFFSET 0 1e999 0", "OFFSET"),  # inf
        (8, "    OFFSET 0 1e300 0", "OFFSET"),  # finite but overflows any later sum
        (8, "    OFFSET 0 \u0661 0", "OFFSET"),
        (12, "      OFFSET 0 -1e999 0", "OFFSET"),  # End Site
        (18, "Frame Time: 1e999", "Frame Time"),
        (18, "Frame Time: 5e-324", "Frame Time"),
        (18, "Frame Time: 1e-300", "Frame Time"),
        (18, "Frame Time: 3600", "Frame Time"),  # an hour per frame
        (18, "Frame Time: \u0660.\u0660\u0663", "Frame Time"),
        (19, ROW.format("1_0"), "'1_0'"),  # float() reads it as 10
        (19, ROW.format("\u0661\u0660"), "frame 0"),  # float() reads it as 10
        (19, ROW.format("1e300"), "frame 0"),
        (20, "4 5 6 0 0 0 0 0 -2e7", "frame 1"),
    ],
)
def test_odd_numbers_are_one_line_input_errors(tmp_path, line, text, needle):
    path = tmp_path / "odd.bvh"
    path.write_text(_with_line(line, text), encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_bvh(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:{line}: "), msg
    assert needle in msg, msg
    assert "\n" not in msg
    assert len(msg) < len(str(path)) + 200, msg


def test_sane_frame_times_and_values_still_read():
    bvh = parse_bvh(_with_line(18, "Frame Time: 0.0001").replace("1 2 3 10", "1 2 3 -1e7"))
    assert bvh.frame_time == 1e-4
    assert bvh.fps == pytest.approx(10_000)
    assert bvh.motion[0, 3] == -1e7
    assert parse_bvh(_with_line(18, "Frame Time: 10")).fps == pytest.approx(0.1)


def test_byte_order_mark_is_skipped(tmp_path):
    path = tmp_path / "bom.bvh"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.encode())
    bvh = read_bvh(path)
    plain = parse_bvh(SMALL)
    assert bvh.names == plain.names == ("Hips", "Spine")
    np.testing.assert_array_equal(bvh.motion, plain.motion)
    assert parse_bvh("\ufeff" + SMALL).names == ("Hips", "Spine")


def test_long_tokens_are_cut_in_messages(tmp_path):
    path = tmp_path / "long.bvh"
    path.write_text(_with_line(8, "    OFFSET 0 " + "x" * 100_000 + " 0"), encoding="utf-8")
    with pytest.raises(InputError, match=r"long\.bvh:8: OFFSET value must be a number") as info:
        read_bvh(path)
    assert len(str(info.value)) < len(str(path)) + 200


# --- fuzzing -----------------------------------------------------------------------------

FUZZ_EXAMPLES = 1000
FUZZ_FRAMES = 12  # real files are cut to their first frames (the hierarchy is what matters)
ODD_TOKENS = (
    "1e999", "-1e999", "nan", "-nan", "inf", "Infinity", "\u00b2", "\u0661\u0660", "1_0",
    "-0", "", "5e-324", "1e-300", "1e308", "0x10", "+", "-", ".", "1e", "1e+", "--1", "1.5.5",
    "99999999999999999999", "9" * 5000, "\ufeff", "\x00", "\u00a0", "0", "-1", "10000000.5",
    "{", "}", "End Site", "JOINT x", "ROOT x", "MOTION", "Frames:", "Frame Time:",
    "CHANNELS 3 Xrotation Yrotation Zrotation", "OFFSET 0 0 0", "JOINT mixamorig:Hips",
    # and ordinary numbers, so that many mutants still parse and reach the rig code
    "0.5", "1e3", "2", "-3.25", "1e-5", ".5", "+7", "9999999", "0.0001",
)
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _cut(text: str, frames: int) -> str:
    lines = text.splitlines()
    m = next(i for i, line in enumerate(lines) if line.strip().upper() == "MOTION")
    return "\n".join([*lines[:m + 1], f"Frames: {frames}", lines[m + 2],
                      *lines[m + 3:m + 3 + frames]]) + "\n"


@cache
def _seeds() -> tuple[bytes, ...]:
    """Real files (cut short) when ../shared is there, and always two generated ones."""
    rig = load_rig("mixamo")
    rng = np.random.default_rng(0)
    q = rng.normal(size=(FUZZ_FRAMES, len(rig), 4))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    root = rng.normal(size=(FUZZ_FRAMES, 3)) + np.array([0.0, 1.0, 0.0])
    anim = Animation(rig, root, q, 30.0)
    texts = [bvh_text(anim), bvh_text(anim, units="cm", rotation_order="XYZ")]
    texts += [_cut(p.read_text(encoding="utf-8"), FUZZ_FRAMES) for p in BVH_FILES]
    return tuple(t.encode() for t in texts)


_index = st.integers(0, 2**20)
_mutation = st.one_of(
    st.tuples(st.just("flip"), _index, st.integers(0, 255)),
    st.tuples(st.just("delete"), _index),
    st.tuples(st.just("duplicate"), _index),
    st.tuples(st.just("swap"), _index, _index),
    st.tuples(st.just("number"), _index, st.sampled_from(ODD_TOKENS), st.booleans()),
    st.tuples(st.just("insert"), _index, st.sampled_from(ODD_TOKENS)),
    st.tuples(st.just("header"), st.sampled_from([b"Frames:", b"Frame Time:"]),
              st.sampled_from(ODD_TOKENS)),
    st.tuples(st.just("cut"), _index),
    st.tuples(st.just("bom")),
)


def _mutate(data: bytes, mutations: list[tuple]) -> bytes:
    for how, *args in mutations:
        lines = data.split(b"\n")
        if how == "flip" and data:
            k = args[0] % len(data)
            data = data[:k] + bytes([args[1]]) + data[k + 1:]
        elif how == "delete":
            del lines[args[0] % len(lines)]
            data = b"\n".join(lines)
        elif how == "duplicate":
            k = args[0] % len(lines)
            lines.insert(k, lines[k])
            data = b"\n".join(lines)
        elif how == "swap":
            a, b = args[0] % len(lines), args[1] % len(lines)
            lines[a], lines[b] = lines[b], lines[a]
            data = b"\n".join(lines)
        elif how == "number":
            # header numbers (offsets, counts, frame time) or any number, motion included
            motion = data.find(b"MOTION")
            head = data[:motion + 60] if args[2] and motion >= 0 else data
            spans = [m.span() for m in _NUMBER.finditer(head)]
            if spans:
                a, b = spans[args[0] % len(spans)]
                data = data[:a] + args[1].encode() + data[b:]
        elif how == "header":  # the value after "Frames:" or "Frame Time:"
            k = data.find(args[0])
            if k >= 0:
                end = data.find(b"\n", k)
                end = len(data) if end < 0 else end
                data = data[:k + len(args[0])] + b" " + args[1].encode() + data[end:]
        elif how == "insert":
            lines.insert(args[0] % (len(lines) + 1), args[1].encode())
            data = b"\n".join(lines)
        elif how == "cut":
            data = data[:args[0] % (len(data) + 1)]
        elif how == "bom":
            data = b"\xef\xbb\xbf" + data
    return data


def _read_and_use(path) -> str:
    """Read ``path`` as the product does: the reader, then the file as a rig and as an
    animation (what ``load_rig`` and ``convert`` do with a BVH file)."""
    try:
        bvh = read_bvh(path)
    except MocapError as exc:
        msg = str(exc)
        assert msg.startswith(f"{path}"), msg
        assert "\n" not in msg and len(msg) < len(str(path)) + 400, msg
        return "input error"
    assert np.isfinite(bvh.offsets).all() and np.isfinite(bvh.motion).all()
    assert np.abs(bvh.motion).max(initial=0.0) <= 1e7
    assert 1e-4 <= bvh.frame_time <= 10
    quats, trans = bvh_local_transforms(bvh, 0.01)
    assert np.isfinite(quats).all() and np.isfinite(trans).all()
    try:
        rig, scale = rig_from_bvh(bvh)
    except MocapError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < len(str(path)) + 800, str(exc)
        return "parsed, not a rig"
    assert len(rig) == len(bvh.names) and scale > 0
    assert np.isfinite(rig.rest_positions()).all()
    anim = bvh_animation(bvh)
    assert np.isfinite(anim.positions()).all()
    # the file as a retargeting target, and as a source onto mixamo (a source whose
    # offsets were all 0 once divided by a leg length of 0: ZeroDivisionError)
    as_target = retarget_onto(rig, _probe())
    as_source = retarget_onto(_mixamo(), anim.points())
    return f"parsed, target: {as_target}, source: {as_source}"


@pytest.mark.slow
def test_fuzzed_bvh_files_parse_or_fail_cleanly(tmp_path):
    """Every mutated file reads, or fails with one MocapError line; never another exception,
    never longer than the deadline, never more than a bounded amount of memory."""
    stats = FuzzStats()
    path = tmp_path / "fuzz.bvh"
    seeds = _seeds()

    @settings(max_examples=FUZZ_EXAMPLES, deadline=3000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.integers(0, len(seeds) - 1), st.lists(_mutation, min_size=1, max_size=3))
    def fuzz(seed, mutations):
        data = _mutate(seeds[seed], mutations)
        path.write_bytes(data)
        stats.measure(lambda: _read_and_use(path), len(data))

    fuzz()
    print(stats.report(f"BVH fuzz over {len(seeds)} seed files"))
    assert stats.tried >= FUZZ_EXAMPLES
    assert stats.outcomes.get("input error", 0) > 0
    assert any(k.startswith("parsed, target: retargeted") for k in stats.outcomes)
