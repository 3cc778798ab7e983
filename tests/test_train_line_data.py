"""Synthetic lines for the line model (`train/line_data.py`): thin-pen digits of training writers
(`StripBank.add_pen`, `line_fit --pen`) among the clean lines, beside MNIST's."""

from __future__ import annotations

import cv2
import numpy as np
from digitkiosk.train.line_data import StripBank, synthetic_line
from digitkiosk.train.line_fit import pen_training_records
from digitkiosk.train.pendigits import load_jsonl
from digitkiosk.train.sources import validation_rows

from .conftest import SHARED_DATA

PENDIGITS = SHARED_DATA / "pendigits" / "train.jsonl"


def stroke_width(strip: np.ndarray) -> float:
    """Ink area over half its outline: a stroke's width, for long thin strokes."""
    mask = (strip > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return 2.0 * float(mask.sum()) / max(sum(cv2.arcLength(c, True) for c in contours), 1.0)


def test_pen_records_come_from_training_writers_only():
    rows = load_jsonl(PENDIGITS)
    held_out = {r["writer"] for r, v in zip(rows, validation_rows(rows), strict=True) if v}
    assert held_out  # the split holds writers out of this file
    picked = pen_training_records([str(PENDIGITS)], 500, np.random.default_rng(0))
    assert len(picked) == 500 and not {r["writer"] for r in picked} & held_out


def test_pen_strips_are_thin_and_lines_of_them_read_as_their_text():
    rng = np.random.default_rng(1)
    bank = StripBank(lengths=[5])
    bank.add_pen(pen_training_records([str(PENDIGITS)], 300, rng), rng)
    assert all(len(bank.pen[d]) for d in range(10)) and sum(map(len, bank.pen)) == 300
    widths = [stroke_width(s) for d in range(10) for s in bank.pen[d][:10]]
    mnist = StripBank()
    images = np.zeros((20, 28, 28), np.uint8)
    cv2.line(images[0], (14, 4), (14, 23), 255, 3)  # an MNIST-like 1, three pixels wide at 28
    mnist.add_mnist(images[:1], np.array([1]), rng)
    assert np.median(widths) < 0.75 * stroke_width(mnist.mnist[1][0])  # a thin pen, not MNIST's
    bank.digits = [list(strips) for strips in bank.pen]  # no scans here: the fields' strips too
    for _ in range(200):
        x, text = synthetic_line(bank, rng)
        assert x.shape == (32, 160) and text.isdigit() and 1 <= len(text) <= 8 and x.max() > 0.3
