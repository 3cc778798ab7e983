"""The correction logic without a display: which strokes a corrected digit keeps, the text after a
correction, and the unconfirmed readings (--samples-all), on real pen digits read by the model."""

from __future__ import annotations

import numpy as np
from digitkiosk.device.kiosk.correction import Correction, digit_strokes


def number(rows: list[dict], gap: float = 80.0) -> list[list[list[float]]]:
    """Pen digits side by side (tablet units), as the kiosk's stroke lists."""
    out, left = [], 0.0
    for r in rows:
        xs = [p[0] for s in r["strokes"] for p in s]
        x0 = min(xs)
        out += [[[float(x - x0 + left), float(y)] for x, y in s] for s in r["strokes"]]
        left += max(xs) - x0 + gap
    return out


def read(recognizer, strokes):
    return recognizer.read_strokes([np.asarray(s) for s in strokes])


def pick(rows, label, n):
    return next(r for r in rows if r["label"] == label and len(r["strokes"]) == n)


def test_each_digit_of_a_number_keeps_its_own_strokes(recognizer, pendigits_train):
    rows = [pick(pendigits_train, 4, 2), pick(pendigits_train, 1, 1), pick(pendigits_train, 5, 2)]
    strokes = number(rows)
    reading = read(recognizer, strokes)
    assert reading.text == "415"
    assert digit_strokes(reading, strokes) == [[0, 1], [2], [3, 4]]


def test_correcting_the_selected_digit(recognizer, pendigits_train):
    rows = [pick(pendigits_train, 7, 1), pick(pendigits_train, 5, 2)]
    strokes = number(rows)
    c = Correction(read(recognizer, strokes), strokes, "1.4.0")
    c.selected = 1
    sample, was = c.correct("6", now=1_800_000_000.0)
    assert was == "75" and c.text == "76"
    assert sample.label == "6" and sample.predicted == "5" and sample.strokes == strokes[1:]
    assert sample.model == "1.4.0" and sample.time == 1_800_000_000.0 and sample.confirmed
    # The other digit, uncorrected, is an unconfirmed reading; the corrected one is not.
    (other,) = c.unconfirmed(now=1.0)
    assert other.label is None and other.predicted == "7" and other.strokes == strokes[:1]
    assert not other.confirmed


def test_not_a_digit_drops_out_of_the_text(recognizer, pendigits_train):
    strokes = number([pick(pendigits_train, 3, 1), pick(pendigits_train, 8, 1)])
    c = Correction(read(recognizer, strokes), strokes, "1.4.0")
    c.selected = 0
    sample, was = c.correct("none")
    assert was == "38" and c.text == "8" and sample.label == "none"


def test_the_least_sure_digit_is_preselected(recognizer, pendigits_train):
    strokes = number([pick(pendigits_train, 2, 1), pick(pendigits_train, 9, 1)])
    reading = read(recognizer, strokes)
    c = Correction(reading, strokes, "1.4.0")
    assert c.selected == int(np.argmin([d.confidence for d in reading.digits]))
