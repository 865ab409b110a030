"""Hypothesis fuzzing of the two JSON files mocap reads back: a batch's ``batch.json``
(:meth:`mocap.app.batch.Manifest.load`) and a conversion's ``report.json``
(:func:`mocap.app.convert.outputs_complete`, what ``batch --resume`` trusts). Every input
gives a result or a ``MocapError``, never another exception, in bounded time; a manifest
that loads has non-negative counts and finite times, and is saved again as strict JSON
(no ``NaN`` or ``Infinity``: issue 20, item 19), its jobs' ``settings`` and ``source``
included."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mocap.app.batch import Manifest
from mocap.app.convert import outputs_complete
from mocap.commands.quality import warning_line
from mocap.errors import MocapError

MANIFEST = {
    "version": 1, "updated": 1764000000.0, "counts": {"pending": 0, "running": 0,
                                                      "done": 2, "failed": 0},
    "options": {"convert": {"rig": "mixamo"}, "engine": {"device": "auto"}},
    "jobs": {
        "a": {"input": "/clips/a.mp4", "output": "/out/a", "status": "done", "error": None,
              "seconds": 3.2, "frames": 90, "people": 2, "started": 1.0, "finished": 4.2,
              "attempts": 1, "warnings": [{"person": 2, "code": "short_track",
                                           "message": "seen in 20 frames",
                                           "frames": [[70, 89]]}],
              "settings": {"rig": "mixamo", "formats": ["bvh", "json"], "fov_deg": 60.0,
                           "pipeline": None, "engine": {"detector": "movenet"}},
              "source": {"size": 284812, "mtime_ns": 1764000000123456789,
                         "sample_sha256": "ab" * 32}},
        "b": {"input": "/clips/b.mp4", "output": "/out/b", "status": "interrupted",
              "error": "b.mp4: not a video", "seconds": 0.1, "frames": None, "people": None,
              "started": 1.0, "finished": 1.1, "attempts": 2},
    },
}
# a manifest of an earlier version: no settings or source recorded
OLDER = json.loads(json.dumps(MANIFEST))
for _job in OLDER["jobs"].values():
    _job.pop("settings", None)
    _job.pop("source", None)
REPORT = {"video": "a.mp4", "frames": 90, "people": [],
          "files": {"person_1.bvh": {"size": 4, "sha256": "0" * 64},
                    "report.html": {"size": 2, "sha256": "1" * 64}}}

# JSON values, including the odd ones: huge and negative numbers, what JSON has no word
# for (json.dumps writes NaN, Infinity), paths; a single value or a nested one
LEAF = (st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats()
        | st.sampled_from([math.inf, -math.inf, math.nan, -1, -7])
        | st.sampled_from(["", "..", "/dev/zero", "../../etc/passwd", "a/b", ".hidden",
                           "\x00", "person_1.bvh", "done", "running", "x" * 300]))
ODD = LEAF | st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _mutate(doc, data):
    """Replace one value somewhere in ``doc`` (a JSON object) by an odd one, or drop a key:
    mostly one below ``jobs`` or ``files`` (where the checks are; hypothesis favours the
    first of a list, which would be ``version``), sometimes any, now and then the whole
    document."""
    slots: list[tuple[dict | list, str | int]] = []
    inner: list[tuple[dict | list, str | int]] = []

    def walk(node, deep: bool) -> None:
        keys = list(node) if isinstance(node, dict) else range(len(node))
        for k in keys:
            (inner if deep else slots).append((node, k))
            if isinstance(node[k], dict | list):
                walk(node[k], deep or k in ("jobs", "files"))

    walk(doc, False)
    pick = data.draw(st.integers(0, 19))
    if pick == 0 or not slots + inner:
        return data.draw(ODD)
    pool = inner if inner and pick > 4 else slots + inner
    parent, key = pool[data.draw(st.integers(0, len(pool) - 1)) * 7919 % len(pool)]
    if isinstance(parent, dict) and data.draw(st.integers(0, 3)) == 0:
        del parent[key]
    else:
        parent[key] = data.draw(ODD)
    return doc


# inputs tried and the slowest one, per fuzzer (read by `python -m pytest ... -s` users, and
# printed by the module's teardown)
STATS = {"manifest": [0, 0.0], "report": [0, 0.0]}


@pytest.fixture(scope="module", autouse=True)
def _report_numbers():
    yield
    for name, (n, slowest) in STATS.items():
        if n:
            print(f"\nfuzz {name}: {n} inputs, slowest {1000 * slowest:.1f} ms")


@pytest.mark.slow
@settings(max_examples=400, deadline=2000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_manifests_load_or_fail_cleanly(tmp_path, data):
    doc = _mutate(json.loads(json.dumps(data.draw(st.sampled_from([MANIFEST, OLDER])))), data)
    text = json.dumps(doc) if data.draw(st.booleans()) else json.dumps(doc)[
        : data.draw(st.integers(0, 400))]  # sometimes cut short
    path = tmp_path / "batch.json"
    path.write_text(text, encoding="utf-8")
    t0 = time.perf_counter()
    try:
        m = Manifest.load(path)
        assert isinstance(m.jobs, dict)
        for rec in m.jobs.values():  # what `batch --resume` prints of a loaded manifest
            for w in rec.warnings:
                assert warning_line(w, "job").startswith("mocap: warning: job: ")
            for count in (rec.frames, rec.people, rec.attempts):
                assert count is None or count >= 0
            for t in (rec.seconds, rec.started, rec.finished):
                assert t is None or math.isfinite(t)
        loaded = True
    except MocapError:
        loaded = False
    dt = time.perf_counter() - t0
    STATS["manifest"][0] += 1
    STATS["manifest"][1] = max(STATS["manifest"][1], dt)
    assert dt < 1.0
    if loaded:  # what the batch writes back is strict JSON and loads again
        m.path = tmp_path / "again.json"
        m.save()
        json.loads(m.path.read_text(encoding="utf-8"), parse_constant=_not_json)
        assert Manifest.load(m.path).jobs == m.jobs


def _not_json(name: str):
    raise AssertionError(f"{name} written to batch.json")


@pytest.mark.slow
@settings(max_examples=400, deadline=2000, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_reports_are_never_complete_by_accident(tmp_path, data):
    out = tmp_path / "job"
    out.mkdir(exist_ok=True)
    doc = _mutate(json.loads(json.dumps(REPORT)), data)
    (out / "report.json").write_text(json.dumps(doc), encoding="utf-8")
    t0 = time.perf_counter()
    result = outputs_complete(out)
    dt = time.perf_counter() - t0
    STATS["report"][0] += 1
    STATS["report"][1] = max(STATS["report"][1], dt)
    # no listed file exists with the listed size and hash: never complete
    assert result is False
    assert dt < 1.0
