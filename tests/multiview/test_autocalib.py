"""Self-calibration from people: synthetic people (CMU motion) seen by a ring of virtual
cameras, recovered against the true cameras after a similarity; the error cases; and
Pose2Sim's Demo_MultiPerson tracked by the product against the file's calibration (slow).

Bounds are the measured values (``benchmarks/eval_autocalib.py``) with margin: synthetic,
1.5 px noise, 10 % dropouts, no lens: camera centres 0.5-8.2 cm, orientations 0.25-0.63
deg, focal lengths within 3.2 %; the demo: centres 9.6-11.8 cm, angles 2.5-3.4 deg, focal
lengths 8-12 % long (its focal lengths given: 3-11 cm, 0.6-1.9 deg).
"""

from __future__ import annotations

import numpy as np
import pytest

from mocap.errors import InputError
from mocap.multiview.autocalib import REFERENCE_SEGMENTS, REFERENCE_STATURE_M, auto_calibrate
from mocap.multiview.bundle import umeyama
from mocap.multiview.calibration import Calibration
from tests.multiview.people import people, view_tracks
from tests.multiview.synthetic import ring

NO_LENS = (0.0, 0.0, 0.0, 0.0, 0.0)


def compare(est: Calibration, truth: Calibration) -> dict:
    """The estimated cameras against the true ones after the similarity (Umeyama) that
    best maps the estimated centres onto the true ones.

    Returns:
        ``{"centre_cm": (V,), "angle_deg": (V,), "focal_pct": (V,), "scale_pct": float}``:
        each camera's centre distance (cm) and orientation difference (degrees) after the
        similarity, its focal length error (%), and how much larger the estimated world is
        than the true one (%).
    """
    ce, ct = est.centers, truth.centers
    rot, t, s = umeyama(ce, ct)
    centre = np.linalg.norm(s * ce @ rot.T + t - ct, axis=1) * 100
    angle = []
    for a, b in zip(est, truth, strict=True):
        d = (a.R @ rot.T) @ b.R.T
        angle.append(np.degrees(np.arccos(np.clip((np.trace(d) - 1) / 2, -1, 1))))
    focal = [(a.K[0, 0] / b.K[0, 0] - 1) * 100 for a, b in zip(est, truth, strict=True)]
    return {"centre_cm": centre, "angle_deg": np.array(angle), "focal_pct": np.array(focal),
            "scale_pct": (1 / s - 1) * 100}


def scene(seed: int, views: int = 4, dist=NO_LENS, noise_px: float = 1.5,
          only_view: dict[int, int] | None = None, count: int = 2):
    """``(persons (T, 33, 3) m, true calibration, tracks per view)``: 2 people (and
    ``count - 2`` more, seen where ``only_view`` says), a ring of ``views`` cameras."""
    persons = people(count)
    calib = ring(np.concatenate(persons[:2], 1), views=views, seed=seed, dist=dist)
    tracks, _ = view_tracks(persons, calib, seed, noise_px=noise_px, only_view=only_view)
    return persons, calib, tracks


def baseline(calib: Calibration) -> float:
    return float(np.linalg.norm(calib[1].center - calib[0].center))


def reference_scale_pct(persons: list[np.ndarray]) -> float:
    """How much larger than the truth the world comes out when the tallest of these
    (true, metres) people is taken for the reference adult (%): the people-based scale's
    own error, known from the truth."""
    scales = []
    for p in persons:
        ratios = [share * REFERENCE_STATURE_M
                  / np.median(np.linalg.norm(p[:, a] - p[:, b], axis=-1))
                  for (a, b), share in REFERENCE_SEGMENTS.items()]
        scales.append(np.median(ratios))  # metres per true metre
    return (min(scales) - 1) * 100


@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_cameras_recovered(seed):
    _, calib, tracks = scene(seed)
    res = auto_calibrate(tracks, [c.size for c in calib], names=calib.names,
                         scale_m=baseline(calib))
    assert res.persons == 2 and res.scale_source == "scale_m"
    assert res.calibration.names == calib.names
    got = compare(res.calibration, calib)
    assert (got["centre_cm"] < 15).all(), got
    assert (got["angle_deg"] < 1.5).all(), got
    assert (np.abs(got["focal_pct"]) < 6).all(), got
    assert abs(got["scale_pct"]) < 3, got  # the known baseline sets the scale
    assert (res.median_error_px < 2.5).all()
    # the world is the first camera's
    np.testing.assert_allclose(res.calibration[0].center, 0, atol=1e-9)
    np.testing.assert_allclose(res.calibration[0].R, np.eye(3), atol=1e-9)


def test_synthetic_scale_from_people_and_bystander():
    # person 2 is seen by view 2 only: never glued to the others
    persons, calib, tracks = scene(2, only_view={2: 1}, count=3)
    res = auto_calibrate(tracks, [c.size for c in calib])
    assert res.scale_source == "people" and res.persons == 2
    assert all(len({v for v, _ in p}) >= 3 for p in res.matches)
    got = compare(res.calibration, calib)
    # the people-based scale errs as these people's limbs differ from the reference
    # adult's; measured against what the true 3D limbs predict
    assert abs(got["scale_pct"] - reference_scale_pct(persons[:2])) < 4, got
    assert (got["centre_cm"] < 15).all() and (got["angle_deg"] < 1.5).all(), got


def test_known_focal_is_kept_and_offsets():
    _, calib, tracks = scene(1, views=3)
    for tr in tracks[2]:  # view 2 started recording 4 frames before view 0
        tr.frames += 4
    focal = [c.K[0, 0] for c in calib]
    res = auto_calibrate(tracks, [c.size for c in calib], offsets=[0, 0, 4],
                         focal_px=[focal[0], None, None], scale_m=baseline(calib))
    assert res.calibration[0].K[0, 0] == focal[0]
    got = compare(res.calibration, calib)
    assert (got["centre_cm"] < 15).all() and (got["angle_deg"] < 1.5).all(), got


def test_errors():
    _, calib, tracks = scene(0, views=3)
    sizes = [c.size for c in calib]
    with pytest.raises(InputError, match="needs at least 2 videos, got 1"):
        auto_calibrate(tracks[:1], sizes[:1])
    # two views seeing different people only
    persons = people(2)
    only = ring(np.concatenate(persons, 1), views=2, seed=0, dist=NO_LENS)
    split, _ = view_tracks(persons, only, 0, only_view={0: 0, 1: 1})
    with pytest.raises(InputError, match="needs the same person seen by at least two "
                                         "cameras for 20 frames"):
        auto_calibrate(split, [c.size for c in only])
    # a third view seeing nobody the others see
    third = [tracks[0], tracks[1], []]
    with pytest.raises(InputError, match=r"cannot relate video 3 \(c\) to the others"):
        auto_calibrate(third, sizes, names=["a", "b", "c"])
    with pytest.raises(ValueError, match="`sizes` must hold one value per view"):
        auto_calibrate(tracks, sizes[:2])


@pytest.mark.slow
def test_demo_multiperson_against_the_file(demo_tracks):
    calib, tracks = demo_tracks
    res = auto_calibrate(tracks, [c.size for c in calib], names=calib.names)
    assert res.persons == 2  # the man and the woman; the bystander left out
    got = compare(res.calibration, calib)
    assert (got["centre_cm"] < 18).all(), got
    assert (got["angle_deg"] < 5).all(), got
    assert (np.abs(got["focal_pct"]) < 18).all(), got
    assert (res.median_error_px < 10).all()
    known = auto_calibrate(tracks, [c.size for c in calib],
                           focal_px=[c.K[0, 0] for c in calib])
    got = compare(known.calibration, calib)
    assert (got["centre_cm"] < 16).all() and (got["angle_deg"] < 3).all(), got
