"""The stroke model's input (`device/trajectory.py`) on real pen digits and awkward strokes."""

from __future__ import annotations

import numpy as np
import pytest
from digitkiosk.device.errors import NothingToReadError
from digitkiosk.device.strokes import parse_strokes
from digitkiosk.device.trajectory import FEATURES, POINTS, STEP_SCALE, trajectories, trajectory


def test_shape_and_range_on_real_digits(pendigits_train):
    rows = pendigits_train[:200]
    x = trajectories([parse_strokes(r["strokes"]) for r in rows])
    assert x.shape == (200, POINTS, FEATURES) and x.dtype == np.float32
    # Centred on the box and scaled by its larger side: positions within [-0.5, 0.5], the larger
    # side spanning about 1 (resampling may cut a corner's extreme point).
    assert np.abs(x[:, :, :2]).max() <= 0.5 + 1e-6
    spans = (x[:, :, :2].max(axis=1) - x[:, :, :2].min(axis=1)).max(axis=1)
    assert spans.max() <= 1.0 + 1e-6 and spans.min() > 0.9


def test_size_and_place_do_not_matter(pendigits_train):
    strokes = parse_strokes(pendigits_train[0]["strokes"])
    moved = [s * 3.7 + [120.0, -40.0] for s in strokes]
    assert np.allclose(trajectory(strokes), trajectory(moved), atol=1e-5)


def test_direction_and_order_matter():
    down = [np.array([[0.0, 0.0], [0.0, 10.0]])]
    up = [np.array([[0.0, 10.0], [0.0, 0.0]])]
    assert not np.allclose(trajectory(down), trajectory(up))
    a, b = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[5.0, 0.0], [5.0, 10.0]])
    assert not np.allclose(trajectory([a, b]), trajectory([b, a]))


def test_stroke_starts_and_points_per_stroke():
    long = np.array([[0.0, 0.0], [0.0, 100.0]])
    short = np.array([[10.0, 50.0], [12.0, 50.0]])
    t = trajectory([long, short, np.array([[20.0, 20.0]])])  # a tap as the last stroke
    starts = np.flatnonzero(t[:, 4])
    assert list(starts[:1]) == [0] and len(starts) == 3
    # Each stroke at least two points, the long one most of them; steps within a stroke only.
    assert starts[1] - starts[0] > 50 and starts[2] - starts[1] >= 2 and POINTS - starts[2] >= 2
    assert np.allclose(t[starts[1] - 1, 2:4], 0.0)
    assert np.isclose(np.abs(t[: starts[1] - 1, 3]).sum() / STEP_SCALE, 1.0, atol=1e-5)


@pytest.mark.parametrize("n", [POINTS // 2 + 1, POINTS, POINTS + 7])
def test_many_strokes_still_fit(n):
    t = trajectory([np.array([[i, 0.0], [i, 1.0]]) for i in range(n)])
    assert t.shape == (POINTS, FEATURES) and np.isfinite(t).all()
    assert int(t[:, 4].sum()) == min(n, POINTS)


def test_degenerate_input():
    assert np.isfinite(trajectory([np.array([[5.0, 5.0]])])).all()  # one point: no size
    assert np.isfinite(trajectory([np.array([[5.0, 5.0], [5.0, 5.0]])])).all()
    with pytest.raises(NothingToReadError):
        trajectory([])
    with pytest.raises(NothingToReadError):
        trajectory([np.zeros((0, 2))])
