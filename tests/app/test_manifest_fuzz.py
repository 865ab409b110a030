"""Hypothesis fuzzing of the two JSON files mocap reads back: a batch's ``batch.json``
(:meth:`mocap.app.batch.Manifest.load`) and a conversion's ``report.json``
(:func:`mocap.app.convert.outputs_complete`, what ``batch --resume`` trusts). Every input
gives a result or a ``MocapError``, never another exception, in bounded time."""

from __future__ import annotations

import json
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
                                           "frames": [[70, 89]]}]},
        "b": {"input": "/clips/b.mp4", "output": "/out/b", "status": "interrupted",
              "error": "b.mp4: not a video", "seconds": 0.1, "frames": None, "people": None,
              "started": 1.0, "finished": 1.1, "attempts": 2},
    },
}
REPORT = {"video": "a.mp4", "frames": 90, "people": [],
          "files": {"person_1.bvh": {"size": 4, "sha256": "0" * 64},
                    "report.html": {"size": 2, "sha256": "1" * 64}}}

# JSON values, including the odd ones: huge and negative numbers, deep nesting, paths
ODD = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "..", "/dev/zero", "../../etc/passwd", "a/b", ".hidden", "\x00",
                       "person_1.bvh", "done", "running", "x" * 300]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


def _mutate(doc, data):
    """Replace one value somewhere in ``doc`` (a JSON object) by an odd one, or drop a key."""
    path, node = [], doc
    while isinstance(node, dict | list) and node and data.draw(st.booleans()):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        k = data.draw(st.sampled_from(keys))
        path.append(k)
        node = node[k]
    if not path:
        return data.draw(ODD)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if isinstance(parent, dict) and data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(ODD)
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
    doc = _mutate(json.loads(json.dumps(MANIFEST)), data)
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
    except MocapError:
        pass
    dt = time.perf_counter() - t0
    STATS["manifest"][0] += 1
    STATS["manifest"][1] = max(STATS["manifest"][1], dt)
    assert dt < 1.0


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
