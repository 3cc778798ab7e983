"""`predict` on real scanned cheque amounts (ORAND-CAR-A validation part, ../shared/data): the
field path (paper added around a small picture, Sauvola's threshold, its printed lines removed,
wide marks over-segmented and read along the best path, commas and dashes dropped unless read
clearly)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from digitkiosk.device import segment
from digitkiosk.device.recognizer import Recognizer


def test_real_cheque_amounts(recognizer: Recognizer, orand_scans, read_amounts):
    """48 validation scans: digits right (1 - edit distance / length) and amounts exactly right.
    Measured 0.71 and 21 of 48 with the bundled MNIST-era model (whole validation part 0.73 and
    40%, `make measure-scans`; before the field path 0.33 and 15%)."""
    digits, exact = read_amounts(recognizer, orand_scans[:48])
    assert digits >= 0.65, digits
    assert exact >= 17, exact


def test_field_padding_only_for_small_pictures():
    assert segment._field_padding((50, 150)) > 0
    assert segment._field_padding((480, 640)) == 0
    assert segment._field_padding((2, 300)) == 0


def test_a_field_baseline_is_removed_and_digits_at_its_edges_kept(recognizer: Recognizer, mnist_test):
    """Digits standing on a printed baseline that runs across the whole field, touching the
    field's top and bottom edge: the line goes, the digits stay (3 of them, in order)."""
    images, labels = mnist_test
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (3, 4, 7)]
    field = np.full((40, 120), 215, np.uint8)
    for k, i in enumerate(picks):
        glyph = cv2.resize(images[i], (40, 40))
        region = field[:, 10 + 35 * k : 50 + 35 * k]
        np.minimum(region, (215 - 0.7 * glyph).astype(np.uint8), out=region)
    field[36:38, :] = 60  # the baseline, across the whole field
    seg = segment.find_digits(field)
    assert len(seg.digits) == 3
    assert [d.box[0] for d in seg.digits] == sorted(d.box[0] for d in seg.digits)
    assert recognizer.read_image(field).text == "347"


def test_best_path_through_over_segmented_mark(recognizer: Recognizer, mnist_test):
    """A mark read as no digit whole, with candidate digits between its cuts: the path of the
    surest digits is taken (one interpreter call for all of them)."""
    images, labels = mnist_test
    prepared = [segment.fit_to_mnist(images[i]) for i in range(200)]
    readings = recognizer.classify(np.stack(prepared))
    sure = [i for i, r in enumerate(readings) if r.confidence > 0.95][:3]
    # Two digits on top of each other read as none.
    blends = [np.maximum(prepared[a], prepared[b]) for a in range(50) for b in range(50, 100)]
    unsure = next(
        b for b, r in zip(blends, recognizer.classify(np.stack(blends)), strict=True) if r.digit is None
    )
    mark = segment.FoundDigit(unsure, [0, 0, 60, 20], cuts=2)
    mark.segments = {
        (0, 1): segment.FoundDigit(prepared[sure[0]], [0, 0, 30, 20]),
        (1, 2): segment.FoundDigit(prepared[sure[1]], [30, 0, 30, 20]),
    }
    digits, separators = recognizer.read_segmentation(segment.Segmentation([mark]))
    assert [d.digit for d in digits] == [labels[sure[0]], labels[sure[1]]] and separators == [""]


@pytest.mark.parametrize("clear", [True, False])
def test_small_marks_are_digits_only_when_read_clearly(recognizer: Recognizer, mnist_test, clear):
    images, _ = mnist_test
    prepared = [segment.fit_to_mnist(images[i]) for i in range(200)]
    readings = recognizer.classify(np.stack(prepared))
    sure = [i for i, r in enumerate(readings) if r.confidence > 0.95]
    middle = sure[2] if clear else next(i for i, r in enumerate(readings) if r.confidence < 0.7)
    marks = [
        segment.FoundDigit(prepared[i], [10 * k, 0, 8, 20]) for k, i in enumerate((sure[0], middle, sure[1]))
    ]
    marks[1].small = True
    digits, separators = recognizer.read_segmentation(segment.Segmentation(marks, ["", " "]))
    assert len(digits) == (3 if clear else 2)
    assert separators == (["", " "] if clear else [" "])
