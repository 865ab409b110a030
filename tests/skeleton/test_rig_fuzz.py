"""Rig loading against hostile input: wrong types in rig TOML files, huge hierarchies, and a
hypothesis fuzzer that mutates the shipped rig files."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocap.errors import InputError, MocapError
from mocap.export.bvh import bvh_text
from mocap.skeleton.animation import Animation
from mocap.skeleton.rig import available_rigs, load_rig, rigs_dir
from tests.helpers import FuzzStats, probe_motion, retarget_onto

MIXAMO = (rigs_dir() / "mixamo.toml").read_text(encoding="utf-8")
PROBE = probe_motion()


def _edit(old: str, new: str, text: str = MIXAMO) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


_TOP = 'units = "m"\n'  # the last top-level key of mixamo.toml: top-level edits go after it
_HEAD_END = "end = [0.0000, 0.0500, 0.0000]"
_SPINE_OFFSET = "offset = [0.0000, 0.1000, 0.0100]"


def _wrong_type_cases():
    yield "joints ints", re.sub(r"(?s)\n\[\[joints\]\].*", "\njoints = [1, 2, 3]\n", MIXAMO), \
        "joints"
    yield "joints strings", re.sub(r"(?s)\n\[\[joints\]\].*", '\njoints = ["a"]\n', MIXAMO), \
        "joints"
    yield "end strings", _edit(_HEAD_END, 'end = ["a", "b", "c"]'), "end"
    yield "end two numbers", _edit(_HEAD_END, "end = [0.0, 1.0]"), "end"
    yield "end nan", _edit(_HEAD_END, "end = [0.0, nan, 0.0]"), "end"
    yield "landmarks int", _edit(_TOP, _TOP + "landmarks = 5\n"), "landmarks"
    yield "landmark int", MIXAMO + "\n[landmarks]\nchest = 5\n", "chest"
    yield "landmark bad t", MIXAMO + '\n[landmarks]\nchest = "lerp(hips_mid, nose, x)"\n', \
        "chest"
    yield "landmark unknown", MIXAMO + '\n[landmarks]\nchest = "belly_button"\n', "chest"
    yield "units list", _edit(_TOP, 'units = ["m"]\n'), "units"
    yield "units table", _edit(_TOP, "units = { m = 1 }\n"), "units"
    yield "name int", _edit('name = "mixamo"', "name = 5"), "name"
    yield "description list", _edit('description = "', 'description = ["'
                                    ).replace('T-pose"\n', 'T-pose"]\n', 1), "description"
    yield "offset bool", _edit(_SPINE_OFFSET, "offset = [0.0, true, 0.0]"), "offset"
    yield "offset 1e999", _edit(_SPINE_OFFSET, "offset = [0.0, 1e999, 0.0]"), "offset"
    yield "offset huge int", _edit(_SPINE_OFFSET, f"offset = [0, {10 ** 400}, 0]"), "offset"
    yield "offset strings", _edit(_SPINE_OFFSET, 'offset = ["0", "1", "0"]'), "offset"
    yield "parent list", _edit('parent = "mixamorig:Hips"', 'parent = ["mixamorig:Hips"]'), \
        "parent"
    yield "role list", _edit('role = "spine"', 'role = ["spine"]'), "role"
    yield "end_role int", _edit(_HEAD_END, _HEAD_END + "\nend_role = 1"), "end_role"
    yield "joint name int", _edit('name = "mixamorig:Spine"', "name = 1"), "name"


@pytest.mark.parametrize(("text", "field"), [c[1:] for c in _wrong_type_cases()],
                         ids=[c[0] for c in _wrong_type_cases()])
def test_wrong_types_are_one_line_input_errors(tmp_path, text, field):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_rig(path)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) < len(str(path)) + 300, msg
    m = re.match(re.escape(str(path)) + r":(\d+): (.*)", msg)
    assert m, msg
    assert "must be" in m.group(2) and f"`{field}`" in m.group(2), msg
    line = text.splitlines()[int(m.group(1)) - 1]
    assert field in line or "[[joints]]" in line, (msg, line)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (MIXAMO.encode()[:200] + b"\xff\xfe" + MIXAMO.encode()[200:], "UTF-8"),
        (_edit(_TOP, _TOP + f"x = {'1' * 5000}\n").encode(), "invalid TOML"),  # int() limit
        (_edit(_TOP, _TOP + "x = " + "[" * 5000 + "]" * 5000 + "\n").encode(), "invalid TOML"),
    ],
    ids=["bad utf-8", "5000-digit integer", "deep nesting"],
)
def test_undecodable_files_are_input_errors(tmp_path, data, needle):
    path = tmp_path / "bad.toml"
    path.write_bytes(data)
    with pytest.raises(InputError, match=re.escape(needle)) as info:
        load_rig(path)
    assert str(info.value).startswith(f"{path}")
    assert "\n" not in str(info.value) and len(str(info.value)) < len(str(path)) + 300


def test_a_byte_order_mark_and_valid_landmarks_are_accepted(tmp_path):
    path = tmp_path / "bom.toml"
    text = MIXAMO + '\n[landmarks]\nchest = "lerp(hips_mid, shoulders_mid, 0.7)"\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    rig = load_rig(path)
    assert rig.joints == load_rig("mixamo").joints
    assert rig.landmarks["chest"] == "lerp(hips_mid, shoulders_mid, 0.7)"


# --- huge hierarchies --------------------------------------------------------------------

BIG = 10_000


def _flat_bvh(n: int) -> str:
    """A root with ``n - 1`` leaf children named j0, j1, ... (no recognisable body)."""
    rot = "CHANNELS 3 Xrotation Yrotation Zrotation"
    out = ["HIERARCHY", "ROOT Hips", "{", "OFFSET 0 0 0", rot]
    for k in range(n - 1):
        out += [f"JOINT j{k}", "{", "OFFSET 0 1 0", rot, "End Site", "{", "OFFSET 0 1 0", "}", "}"]
    out += ["}", "MOTION", "Frames: 1", "Frame Time: 0.01", " ".join(["0"] * 3 * n)]
    return "\n".join(out) + "\n"


def _mixamo_bvh_with_extra_joints(n: int) -> str:
    """The Mixamo rig as BVH with ``n`` extra leaf joints under the hips."""
    rig = load_rig("mixamo")
    q = np.zeros((2, len(rig), 4))
    q[..., 3] = 1.0
    lines = bvh_text(Animation(rig, np.tile([0.0, 1.0, 0.0], (2, 1)), q, 30.0)).splitlines()
    at = next(i for i, line in enumerate(lines) if "CHANNELS 6" in line) + 1
    extra = []
    for k in range(n):
        extra += [f"JOINT x{k}", "{", "OFFSET 0 0.01 0", "CHANNELS 3 Zrotation Xrotation Yrotation",
                  "End Site", "{", "OFFSET 0 0.01 0", "}", "}"]
    lines[at:at] = extra
    m = next(i for i, line in enumerate(lines) if line.strip() == "MOTION")
    for i in range(m + 3, len(lines)):
        v = lines[i].split()
        lines[i] = " ".join(v[:6] + ["0"] * (3 * n) + v[6:])
    return "\n".join(lines) + "\n"


def test_huge_unrecognisable_bvh_fails_fast_with_a_short_message(tmp_path):
    path = tmp_path / "flat.bvh"
    path.write_text(_flat_bvh(BIG), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(InputError, match="cannot recognise required joints") as info:
        load_rig(path)
    seconds = time.perf_counter() - start
    msg = str(info.value)
    print(f"{BIG}-joint unrecognisable BVH: {seconds:.2f} s, message {len(msg)} chars")
    assert seconds < 5.0  # ~12 s when the role finder scanned every joint for every joint
    assert len(msg) < 600, len(msg)  # the whole name list was 69 KB
    assert "Hips, j0, j1," in msg and f"... and {BIG - 10} more" in msg, msg


def test_huge_bvh_rig_loads_in_linear_time(tmp_path):
    path = tmp_path / "big.bvh"
    path.write_text(_mixamo_bvh_with_extra_joints(BIG), encoding="utf-8")
    start = time.perf_counter()
    rig = load_rig(path)
    seconds = time.perf_counter() - start
    print(f"{len(rig)}-joint Mixamo BVH as a rig: {seconds:.2f} s")
    assert seconds < 5.0
    assert len(rig) == BIG + len(load_rig("mixamo"))
    assert rig.roles[rig.index("mixamorig:LeftForeArm")] == "left_elbow"
    assert rig.missing_required() == []


def test_huge_toml_rig_loads_in_linear_time(tmp_path):
    path = tmp_path / "big.toml"
    extra = "".join(f'\n[[joints]]\nname = "x{k}"\nparent = "mixamorig:Hips"\n'
                    f"offset = [0.0, 0.01, 0.0]\n" for k in range(BIG))
    path.write_text(MIXAMO + extra, encoding="utf-8")
    start = time.perf_counter()
    rig = load_rig(path)
    seconds = time.perf_counter() - start
    print(f"{len(rig)}-joint rig TOML: {seconds:.2f} s")
    assert seconds < 5.0
    assert len(rig) == BIG + len(load_rig("mixamo"))


# --- fuzzing -----------------------------------------------------------------------------

FUZZ_EXAMPLES = 1000
ODD_NUMBERS = ("1e999", "-1e999", "nan", "-nan", "inf", "+inf", "\u00b2", "\u0661\u0660",
               "1_0", "1__0", "-0", "", "5e-324", "1e308", "0x10", "0o7", "0b1", "+", ".", "1e",
               "--1", "1.5.5", "99999999999999999999", "9" * 5000, "true", '"1"', "[]", "0",
               "-1", "1e7", "10000001", "0.5", "2")
WRONG_VALUES = (
    "1", "-0", "1e999", "nan", "inf", '""', '"x"', "'m'", '"mm"', '"cm"', '"km"', "[]",
    "[1, 2, 3]", '["a", "b", "c"]', "[1, 2]", "[1, 2, 3, 4]", "[[1, 2, 3]]", "{}",
    "{ a = 1 }", "true", "1979-05-27", "07:32:00", "[true, false, true]", "[1e999, 0, 0]",
    "[nan, 0, 0]", f"[{'1' * 30}, 0, 0]", '"' + "x" * 5000 + '"', '"hips"', '"left_knee"',
    '"head_top"', '"mixamorig:Hips"', '"mixamorig:Spine"', '"lerp(hips_mid, nose, 1e999)"',
    '"mean()"', '"mean(nose, nose"', '"lerp(a, b)"',
)
INSERTS = (
    "landmarks = 5", "joints = [1, 2, 3]", 'units = ["m"]', 'units = "cm"', "name = 5",
    "[landmarks]", 'chest = "nose"', "chest = 5", 'knee = "nose"', "[[joints]]", 'name = "x"',
    'parent = ""', 'parent = "mixamorig:Hips"', "offset = [0, 0, 0]", "offset = [0, 0]",
    'end = ["a", "b", "c"]', 'role = "chest"', 'end_role = "nose"', "[joints]", "[name]",
    "x = [", '"', "= 1", "\ufeff", "\x00",
)
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_VALUE = re.compile(rb"(?m)^(\s*[A-Za-z_]+\s*=\s*)(.*)$")

_index = st.integers(0, 2**20)
_mutation = st.one_of(
    st.tuples(st.just("flip"), _index, st.integers(0, 255)),
    st.tuples(st.just("delete"), _index),
    st.tuples(st.just("duplicate"), _index),
    st.tuples(st.just("swap"), _index, _index),
    st.tuples(st.just("number"), _index, st.sampled_from(ODD_NUMBERS)),
    st.tuples(st.just("value"), _index, st.sampled_from(WRONG_VALUES)),
    st.tuples(st.just("insert"), _index, st.sampled_from(INSERTS)),
    st.tuples(st.just("cut"), _index),
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
        elif how in ("number", "value"):
            pattern = _NUMBER if how == "number" else _VALUE
            spans = [m.span(0 if how == "number" else 2) for m in pattern.finditer(data)]
            if spans:
                a, b = spans[args[0] % len(spans)]
                data = data[:a] + args[1].encode() + data[b:]
        elif how == "insert":
            lines.insert(args[0] % (len(lines) + 1), args[1].encode())
            data = b"\n".join(lines)
        elif how == "cut":
            data = data[:args[0] % (len(data) + 1)]
    return data


def _load(path) -> str:
    try:
        rig = load_rig(path)
    except MocapError as exc:
        msg = str(exc)
        assert msg.startswith(f"{path}"), msg
        assert "\n" not in msg and len(msg) < len(str(path)) + 800, msg
        return "input error"
    assert len(rig) > 0 and rig.missing_required() == []
    assert np.isfinite(rig.offsets).all()
    assert np.isfinite(rig.rest_positions()).all()
    assert all(isinstance(v, str) for v in rig.landmarks.values())
    # and as a target: a 1e7 offset once reached rotations.swing's 180-degree branch with a
    # 1-D vector (ValueError, "internal error")
    return "loaded, " + retarget_onto(rig, PROBE)


@pytest.mark.slow
def test_fuzzed_rig_files_load_or_fail_cleanly(tmp_path):
    """Every mutated rig file loads, or fails with one MocapError line; never another
    exception, never longer than the deadline, never more than a bounded amount of memory."""
    stats = FuzzStats()
    path = tmp_path / "fuzz.toml"
    seeds = [MIXAMO.encode()] + [(rigs_dir() / f"{n}.toml").read_bytes()
                                 for n in available_rigs() if n != "mixamo"]

    @settings(max_examples=FUZZ_EXAMPLES, deadline=3000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.sampled_from(range(len(seeds))), st.lists(_mutation, min_size=1, max_size=3))
    def fuzz(seed, mutations):
        data = _mutate(seeds[seed], mutations)
        path.write_bytes(data)
        stats.measure(lambda: _load(path), len(data))

    fuzz()
    print(stats.report(f"rig TOML fuzz over {len(seeds)} shipped rig files"))
    assert stats.tried >= FUZZ_EXAMPLES
    assert stats.outcomes.get("input error", 0) > 0
    assert stats.outcomes.get("loaded, retargeted", 0) > 0
