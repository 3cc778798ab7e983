"""Strokes → MNIST-style digits, on real pen data from ../shared/data/pendigits."""

from __future__ import annotations

import numpy as np
import pytest
from digitkiosk.device import grouping
from digitkiosk.device.errors import InputError, NothingToReadError
from digitkiosk.device.mnist_prep import fit_to_mnist
from digitkiosk.device.strokes import bounding_box, parse_strokes, split_digits, strokes_to_mnist


def _strokes(row) -> list[np.ndarray]:
    return parse_strokes(row["strokes"])


def _com(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.mgrid[0:28, 0:28]
    m = img.sum()
    return float((img * ys).sum() / m), float((img * xs).sum() / m)


def test_prepared_like_mnist(pendigits_train):
    for row in pendigits_train[:200]:
        img = strokes_to_mnist(_strokes(row))
        assert img.shape == (28, 28) and img.dtype == np.float32
        assert img.min() >= 0.0 and img.max() <= 1.0 and img.max() > 0.9
        rows = np.flatnonzero(img.max(1) > 0.1)
        cols = np.flatnonzero(img.max(0) > 0.1)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22  # fits the 20x20 box (+AA fringe)
        cy, cx = _com(img)
        assert abs(cy - 14) <= 0.6 and abs(cx - 14) <= 0.6  # centre of mass in the middle, as MNIST


def test_thin_one_keeps_its_aspect():
    one = [np.array([[100.0, 10.0], [102.0, 200.0]])]
    img = strokes_to_mnist(one)
    cols = np.flatnonzero(img.max(0) > 0.3)
    assert cols[-1] - cols[0] + 1 <= 6  # not stretched into a block


def test_scale_and_pen_independent(pendigits_train):
    """The same digit written tiny or huge, anywhere on screen, gives the same image."""
    for row in pendigits_train[:50]:
        s = _strokes(row)
        a = strokes_to_mnist(s)
        b = strokes_to_mnist([p * 7.3 + [1000, 2000] for p in s])
        c = strokes_to_mnist([p * 0.05 for p in s])
        assert np.abs(a - b).mean() < 0.01 and np.abs(a - c).mean() < 0.01


def test_single_digits_stay_whole(pendigits_train):
    groups = [len(split_digits(_strokes(r))) for r in pendigits_train]
    assert np.mean(np.array(groups) == 1) >= 0.995


def _side_by_side(a, b, gap: float) -> list[np.ndarray]:
    sa, sb = _strokes(a), _strokes(b)
    ba, bb = bounding_box(sa), bounding_box(sb)
    scale = ba.height / max(bb.height, 1)
    return sa + [(p - [bb.x0, bb.y0]) * scale + [ba.x1 + gap * ba.height, ba.y0] for p in sb]


def test_numbers_split_into_digits(pendigits_train):
    rng = np.random.default_rng(0)
    ok = 0
    for _ in range(300):
        a, b = (pendigits_train[i] for i in rng.integers(len(pendigits_train), size=2))
        ok += len(split_digits(_side_by_side(a, b, rng.uniform(0.05, 0.4)))) == 2
    assert ok / 300 >= 0.98


def test_read_strokes_on_unseen_writers(reader, pendigits_test):
    """A regression guard on a sample; the full measurement is tests/benchmarks/measure_pendigits.py."""
    sample = pendigits_test[::10]
    correct = sum(reader.read_strokes(_strokes(r)).text == str(r["label"]) for r in sample)
    assert correct / len(sample) >= 0.95


def test_read_number(reader, pendigits_train):
    by_label = {}
    for r in pendigits_train:
        by_label.setdefault(r["label"], r)
    reading = reader.read_strokes(_side_by_side(by_label[4], by_label[2], 0.3))
    assert reading.text == "42" and len(reading.digits) == 2
    assert reading.digits[0].box[0] < reading.digits[1].box[0]


@pytest.fixture(params=["digit model", "pair"])
def reader(request, recognizer, pen_recognizer):
    """Each pen test runs on the digit model alone and on the pair the kiosk uses."""
    return recognizer if request.param == "digit model" else pen_recognizer


# -- recognition-driven grouping (device/grouping.py) ---------------------------------------------
def _two_stroke_fours_rows(rows) -> list[dict]:
    return [r for r in rows if r["label"] == 4 and len(r["strokes"]) == 2]


def _two_stroke_fours(rows) -> list[list[np.ndarray]]:
    """Real 4s written as two strokes that the geometric rules alone split in two."""
    return [s for s in map(_strokes, _two_stroke_fours_rows(rows)) if len(split_digits(s)) == 2]


def test_two_stroke_four_read_as_one_digit(reader, pendigits_train):
    """The rules read these "?1", "21", "11"; reading decides they are one 4."""
    fours = _two_stroke_fours(pendigits_train)
    assert len(fours) >= 5
    texts = [reader.read_strokes(s).text for s in fours]
    assert sum(t == "4" for t in texts) >= 0.8 * len(fours), texts


def _zero_in_two_strokes(row) -> list[np.ndarray]:
    """A real one-stroke 0 as written in two strokes: pen lifted at its top and at its bottom."""
    p = _strokes(row)[0]
    top, bottom = sorted([int(p[:, 1].argmin()), int(p[:, 1].argmax())])
    return [p[top : bottom + 1], np.concatenate([p[bottom:], p[: top + 1]])]


def test_zero_in_two_strokes_not_split(reader, pendigits_train):
    zeros = [r for r in pendigits_train if r["label"] == 0 and len(r["strokes"]) == 1][:150]
    halves = [_zero_in_two_strokes(r) for r in zeros]
    halves = [h for h in halves if min(len(a) for a in h) >= 3]
    assert np.mean([len(split_digits(h)) == 2 for h in halves]) > 0.5  # the rules split most
    read = [reader.read_strokes(h).text for h in halves]
    assert np.mean([t == "0" for t in read]) >= 0.97


def _one_and_two(rows, gap: float) -> list[np.ndarray]:
    writer = next(r["writer"] for r in rows if r["label"] == 1)
    one = next(r for r in rows if r["writer"] == writer and r["label"] == 1)
    two = next(r for r in rows if r["writer"] == writer and r["label"] == 2)
    return _side_by_side(one, two, gap)


@pytest.mark.parametrize("gap", [0.0, 0.05, 0.2])
def test_twelve_written_close_is_still_two_digits(reader, pendigits_train, gap):
    reading = reader.read_strokes(_one_and_two(pendigits_train, gap))
    assert reading.text == "12"


def test_numbers_read_as_numbers(reader, pendigits_train):
    rng = np.random.default_rng(0)
    ok = 0
    for _ in range(150):
        a, b = (pendigits_train[i] for i in rng.integers(len(pendigits_train), size=2))
        ok += len(reader.read_strokes(_side_by_side(a, b, rng.uniform(0.05, 0.4))).digits) == 2
    assert ok / 150 >= 0.97


def test_single_digits_read_as_one(reader, pendigits_train):
    counts = [len(reader.read_strokes(_strokes(r)).digits) for r in pendigits_train[::6]]
    assert np.mean(np.array(counts) == 1) >= 0.998


def test_every_candidate_read_in_one_interpreter_call(reader, pendigits_train, monkeypatch):
    calls = []
    raw = reader.model.runner.raw  # every digit-model call goes through it (alone: raw and calibrated)
    monkeypatch.setattr(reader.model.runner, "raw", lambda x, *a: calls.append(len(x)) or raw(x, *a))
    if reader.stroke_model is not None:  # and the stroke model, one call of its own
        probs = reader.stroke_model.probs
        monkeypatch.setattr(
            reader.stroke_model, "probs", lambda g: calls.append(("strokes", len(g))) or probs(g)
        )
    strokes = _side_by_side(*_two_stroke_fours_rows(pendigits_train)[:2], 0.1)
    plan = grouping.plan(strokes)
    assert len(plan.readable) > len(strokes)  # more candidates than strokes: groupings were tried
    reader.read_strokes(strokes)
    n = len(plan.readable)
    assert calls == ([n] if reader.stroke_model is None else [n, ("strokes", n)])


def test_taps_and_specks_are_never_digits(reader, pendigits_train):
    digit = _strokes(pendigits_train[0])
    box = bounding_box(digit)
    tap = np.array([[box.x1 + 2 * box.height, box.y0]])
    reading = reader.read_strokes([*digit, tap])
    assert reading.text == str(pendigits_train[0]["label"])
    with pytest.raises(NothingToReadError):
        reader.read_strokes([tap, tap + 50])
    speck = np.array([[box.x1 + box.height, box.y0], [box.x1 + box.height + 5, box.y0 + 5]])
    assert len(reader.read_strokes([*digit, speck], min_side=box.height / 4).digits) == 1
    with pytest.raises(NothingToReadError):
        reader.read_strokes([speck], min_side=box.height / 4)


def test_a_digit_of_strokes_each_too_small_is_read(reader, pendigits_train):
    """Each stroke below the kiosk's speck size, the digit they make above it: read, not dropped."""

    def side(strokes) -> float:
        b = bounding_box(strokes)
        return max(b.width, b.height)

    rows = [r for r in pendigits_train if len(r["strokes"]) == 2]
    rows = [r for r in rows if len(split_digits(_strokes(r))) == 1]
    rows = [r for r in rows if side(_strokes(r)) > 1.2 * max(side([s]) for s in _strokes(r))][:20]
    assert len(rows) == 20
    for r in rows:
        strokes = _strokes(r)
        min_side = 1.1 * max(side([s]) for s in strokes)
        assert len(reader.read_strokes(strokes, min_side=min_side).digits) == 1
        plan = grouping.plan(strokes, min_side)  # however unsure the model is about it
        assert len(plan.choose([0.2] * len(plan.readable), reader.reject_threshold)) == 1


def test_too_many_candidates_fall_back_to_the_rules(reader, pendigits_train):
    rng = np.random.default_rng(2)
    rows = [pendigits_train[i] for i in rng.integers(len(pendigits_train), size=30)]
    strokes: list[np.ndarray] = []
    for r in rows:  # thirty digits written close together: one stretch
        strokes = _side_by_side_strokes(strokes, _strokes(r), 0.05) if strokes else _strokes(r)
    plan = grouping.plan(strokes)
    assert len(plan.stretches) == 1 and len(plan.readable) <= len(strokes)  # the rules' groups
    assert len(reader.read_strokes(strokes).digits) == len(plan.readable)


def _side_by_side_strokes(sa, sb, gap: float) -> list[np.ndarray]:
    ba, bb = bounding_box(sa), bounding_box(sb)
    return sa + [p - [bb.x0, bb.y0] + [ba.x1 + gap * bb.height, ba.y0] for p in sb]


def test_unsure_below_threshold(recognizer, loaded_model):
    noise = np.random.default_rng(1).random((20, 28, 28)).astype(np.float32)
    for d in recognizer.classify(noise):
        assert (d.digit is None) == (d.confidence < loaded_model.card.reject_threshold)
        assert d.label == ("?" if d.digit is None else str(d.digit))
        assert len(d.top3) == 3 and d.top3[0][1] >= d.top3[1][1] >= d.top3[2][1]


def test_empty_inputs():
    with pytest.raises(NothingToReadError):
        fit_to_mnist(np.zeros((50, 50)))
    with pytest.raises(NothingToReadError, match="single tap"):
        strokes_to_mnist([np.array([[5.0, 5.0]])])


@pytest.mark.parametrize(
    "raw, message",
    [
        ("nope", "must be a list"),
        ([[[1, 2], [3]]], "point 1"),
        ([[["a", 2]]], "point 0"),
        ([[[1, 2]], "x"], "stroke 1"),
        ([[[float("nan"), 2]]], "non-finite"),
        ([[[True, 2]]], "point 0"),
    ],
)
def test_malformed_strokes(raw, message):
    with pytest.raises(InputError, match=message):
        parse_strokes(raw)


def test_extra_point_values_ignored():
    s = parse_strokes([[[1, 2, 0.5, 1234], [3, 4, 0.7, 1240]]])
    assert s[0].shape == (2, 2)
