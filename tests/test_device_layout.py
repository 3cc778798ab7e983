"""The digits' layout as text, written once (device/layout.py) for readings, segmentation, the
camera's vote and the trainer."""

from __future__ import annotations

import numpy as np
from digitkiosk.device.layout import join, layout, layout_of
from digitkiosk.device.readings import DigitReading, Reading
from digitkiosk.device.segment import FoundDigit, Segmentation


def _digit(label: int, confidence: float = 0.9) -> DigitReading:
    probs = np.full(10, (1.0 - confidence) / 9, np.float32)
    probs[label] = confidence
    return DigitReading.from_probs(probs, 0.5, np.zeros((28, 28), np.float32))


def test_join_layout_and_back():
    assert join([]) == "" and layout(0) == ""
    assert join(["1", "2", "3"]) == "123"  # no separators given: written together
    assert join(["1", "2", "3", "4"], ["", " ", "\n"]) == "12 3\n4"
    assert layout(6, ["", " ", "\n", "", ""]) == "dd d\nddd"
    assert layout_of("12 7\n3?5") == "dd d\nddd"


def test_reading_segmentation_and_vote_agree():
    seps = ["", " ", "\n"]
    reading = Reading([_digit(1), _digit(2), _digit(3, 0.3), _digit(4)], separators=seps)
    assert reading.text == "12 ?\n4" and reading.best_text == "12 3\n4"
    found = Segmentation([FoundDigit(np.zeros((28, 28)), [0, 0, 1, 1]) for _ in range(4)], seps)
    assert reading.layout == found.layout == layout_of(reading.text) == "dd d\nd"
