"""The boundary types: shape validation with one message template, batch selection."""

from __future__ import annotations

import numpy as np
import pytest

from mocap.types import NUM_LANDMARKS, PointTracks, Poses2D


def _poses(n: int) -> Poses2D:
    rng = np.random.default_rng(0)
    z = rng.uniform(0, 1, (n, NUM_LANDMARKS))
    return Poses2D(rng.uniform(0, 100, (n, NUM_LANDMARKS, 2)), z, z, z,
                   rng.normal(size=(n, NUM_LANDMARKS, 3)), rng.uniform(0, 1, n),
                   np.zeros((n, 5)), np.full(n, -1))


def test_poses_aux_defaults_to_nan_and_follows_selection():
    p = _poses(3)
    assert p.aux.shape == (3, 2, 2) and np.isnan(p.aux).all()
    p.aux = np.arange(12, dtype=np.float32).reshape(3, 2, 2)
    sel = p[np.array([False, True, True])]
    np.testing.assert_array_equal(sel.aux, p.aux[1:])
    both = Poses2D.concat([sel, Poses2D.empty()])
    assert len(both) == 2 and both.aux.shape == (2, 2, 2)
    with pytest.raises(ValueError, match=r"`aux` must have shape \(N, 2, 2\), got \(3, 2\)"):
        Poses2D(p.xy, p.z, p.visibility, p.presence, p.world, p.score, p.roi, p.track_id,
                np.zeros((3, 2)))


def test_point_tracks_read_like_a_mapping_and_validate():
    rng = np.random.default_rng(0)
    d = {"hips": rng.normal(size=(5, 3)), "left_knee": rng.normal(size=(5, 3))}
    tracks = PointTracks.from_dict(d)
    assert tracks.frames == 5 and len(tracks) == 2 and list(tracks) == ["hips", "left_knee"]
    np.testing.assert_array_equal(tracks["left_knee"], d["left_knee"])
    assert "hips" in tracks and "head" not in tracks and tracks.get("head") is None
    assert PointTracks.from_dict(tracks) is tracks
    with pytest.raises(ValueError, match=r"`points\['b'\]` must have shape \(5, 3\)"):
        PointTracks.from_dict({"a": np.zeros((5, 3)), "b": np.zeros((4, 3))})
    with pytest.raises(ValueError, match="unique"):
        PointTracks(["a", "a"], np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match=r"`positions` must have shape \(T, 1, 3\)"):
        PointTracks(["a"], np.zeros((2, 3)))
