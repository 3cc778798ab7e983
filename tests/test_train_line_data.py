"""The line trainer's lines: askew ones (`line_data._tilt`, `line_fit --tilt`), what they turn and
slant, and by how much; and lines of real pen digits (`StripBank.add_pen`, `line_fit --pen`)."""

from __future__ import annotations

import numpy as np
from digitkiosk.device.line_reader import LINE_HEIGHT
from digitkiosk.train.line_data import _tilt


def _slope(ink: np.ndarray, axis: int) -> float:
    """The ink's fitted line: rows per column (axis 1), or columns per row (axis 0)."""
    ys, xs = np.nonzero(ink > 0.3)
    return float(np.polyfit(xs, ys, 1)[0]) if axis == 1 else float(np.polyfit(ys, xs, 1)[0])


def test_lines_are_turned_and_slanted_within_the_tilt_in_about_one_of_four():
    rng = np.random.default_rng(0)
    bar = np.zeros((LINE_HEIGHT, 120), np.float32)
    bar[15:17, 10:110] = 1.0  # a line of writing's baseline: turning it shows as its slope
    post = np.zeros((LINE_HEIGHT, 120), np.float32)
    post[4:28, 59:61] = 1.0  # an upright stroke: slanting it shows as its lean
    turns = [_slope(_tilt(bar, rng, 4.0), axis=1) for _ in range(400)]
    leans = [_slope(_tilt(post, rng, 4.0), axis=0) for _ in range(400)]
    turned = [s for s in turns if abs(s) > 0.005]
    leaned = [s for s in leans if abs(s) > 0.01]
    # A slant leaves a baseline level: only turns move the bar (1 in 4). The post leans when
    # turned or slanted (1 - 3/4 * 3/4 of the lines, less the turns too small to see).
    assert 0.15 < len(turned) / 400 < 0.3 and 0.3 < len(leaned) / 400 < 0.47
    assert max(abs(s) for s in turned) <= np.tan(np.radians(4.0)) + 0.01
    assert max(abs(s) for s in leaned) <= np.tan(np.radians(4.0 + 12.0)) + 0.02
    assert max(abs(s) for s in leaned) > np.tan(np.radians(8.0))  # slanted beyond what a turn does
    assert min(turned) < -0.03 and max(turned) > 0.03  # both ways
    out = _tilt(post, np.random.default_rng(1), 4.0)
    assert out.shape[0] == LINE_HEIGHT and out.dtype == np.float32


def test_no_tilt_leaves_the_line_as_it_is():
    from digitkiosk.train.line_data import _look

    ink = np.random.default_rng(2).random((LINE_HEIGHT, 90)).astype(np.float32)
    a = _look(ink, np.random.default_rng(3))
    b = _look(ink, np.random.default_rng(3), tilt=0.0)
    np.testing.assert_array_equal(a, b)  # the recipe without --tilt draws the same lines as before


def _row_run(strips: list[np.ndarray]) -> float:
    """The median length of the runs of ink (> 0.3) along the strips' rows."""
    runs = []
    for strip in strips:
        for row in (strip > 0.3).astype(np.int8):
            edges = np.diff(np.concatenate([[0], row, [0]]))
            runs += list(np.nonzero(edges == -1)[0] - np.nonzero(edges == 1)[0])
    return float(np.median(runs))


def test_pen_digits_become_thin_strips_and_about_3_lines_in_20():
    from digitkiosk.train import line_data
    from digitkiosk.train.data import load_mnist
    from digitkiosk.train.pendigits import load_jsonl

    from .conftest import SHARED_DATA

    rng = np.random.default_rng(4)
    records = load_jsonl(SHARED_DATA / "unipen" / "train.jsonl")[:60]
    tap = {"label": 1, "strokes": [np.array([[5.0, 5.0]])]}  # a single point: no digit, skipped
    bank = line_data.StripBank()
    bank.add_pen([*records, tap], rng)
    strips = [(d, s) for d in range(10) for s in bank.pen[d]]
    assert len(strips) == 60 and sorted({d for d, _ in strips}) == sorted({r["label"] for r in records})
    for _, s in strips:
        rows = np.nonzero(s.max(axis=1) > 0.15)[0]
        assert s.shape[0] == LINE_HEIGHT and 18 <= rows[-1] - rows[0] + 1 <= 29
    # A ballpoint's stroke, thinner than MNIST's: the typical run of ink along a row.
    mnist = line_data.StripBank()
    mnist.add_mnist(load_mnist(SHARED_DATA / "mnist").x_train[:60], np.zeros(60, int), rng)
    assert _row_run([s for _, s in strips]) <= 2 < _row_run(mnist.mnist[0])

    # Lines from a bank with cheque digits, MNIST and pen digits: about 3 in 20 are of pen digits.
    class Counted(list):
        reads = 0

        def __getitem__(self, i):
            Counted.reads += 1
            return super().__getitem__(i)

    bank.digits = bank.mnist = [[np.ones((LINE_HEIGHT, 8), np.float32)] for _ in range(10)]
    bank.pen = Counted([[s for _, s in strips]] * 10)
    bank.lengths = [1]
    pen_lines = 0
    for _ in range(2000):
        before = Counted.reads
        line_data.synthetic_line(bank, rng)
        pen_lines += Counted.reads > before + 1  # bank.pen[0] is looked at for every line
    assert 0.12 < pen_lines / 2000 < 0.18
