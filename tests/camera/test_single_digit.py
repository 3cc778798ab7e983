"""`single_digit` (`predict --single`): one digit filling a crop, on real scans and odd arrays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from digitkiosk.device.errors import InputError, NothingToReadError
from digitkiosk.device.segment import single_digit
from digitkiosk.train.sources import crop_box


def test_real_cheque_digit_crops(recognizer, orand_scans):
    """Every annotated digit of 40 validation scans, cropped with a 2 px margin (as a user crops
    one digit): each gives a digit (no "nothing to read" on clear ink, no crash), and the bundled
    MNIST-era model reads them about as well as it can (92% over the whole validation part)."""
    images, labels = [], []
    for path, _, boxes in orand_scans[:40]:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        for box, digit in boxes:
            image28, found = single_digit(crop_box(gray, box))
            assert image28.shape == (28, 28) and image28.max() > 0.5
            assert found[2] > 0 and found[3] > 0
            images.append(image28)
            labels.append(digit)
    readings = recognizer.classify(np.stack(images))
    accuracy = np.mean([r.top3[0][0] == d for r, d in zip(readings, labels, strict=True)])
    assert len(labels) > 150 and accuracy >= 0.88, accuracy


@pytest.mark.parametrize(
    "picture",
    [
        np.zeros((1, 1), np.uint8),
        np.full((1, 40), 200, np.uint8),
        np.full((30, 1), 90, np.uint8),
        np.full((50, 50), 128, np.uint8),
        np.zeros((64, 64, 3), np.uint8),
    ],
    ids=["1x1", "1x40", "30x1", "flat", "black-bgr"],
)
def test_no_ink_is_nothing_to_read(picture):
    with pytest.raises(NothingToReadError):
        single_digit(picture)


def test_odd_shapes_and_tiny_ink_never_crash():
    """Strips, single pixels of ink, checkerboards, noise, 16-bit and float arrays: a digit or
    an InputError, never another exception (the IndexError on an empty mask is gone)."""
    rng = np.random.default_rng(3)
    pictures = [
        np.array([[0, 255, 0]], np.uint8),
        np.eye(5, dtype=np.uint8) * 255,
        np.indices((40, 40)).sum(axis=0).astype(np.uint8) % 2 * 255,
        rng.integers(0, 256, (33, 17), dtype=np.uint8),
        (rng.random((20, 60)) * 65535).astype(np.uint16),
        rng.random((12, 12)).astype(np.float32),
    ]
    dot = np.full((40, 40), 220, np.uint8)
    dot[20, 20] = 30
    pictures.append(dot)
    edge = np.full((40, 30), 230, np.uint8)
    cv2.line(edge, (0, 5), (29, 39), 40, 3)  # a stroke cut by the crop on both sides
    pictures.append(edge)
    for picture in pictures:
        try:
            image28, box = single_digit(picture)
        except InputError:
            continue
        assert image28.shape == (28, 28) and np.isfinite(image28).all() and len(box) == 4


def test_single_crops_are_read_by_the_pair_and_the_line_model(
    loaded_model, recognizer, line_model, orand_scans
):
    """`predict --single` as the command reads (the paper pair and, with it, the line model:
    line_reader.single_digit_probs) against the pair alone, on every annotated digit of the first
    60 validation scans. README: 96.75% against 96.32% answered right on the whole validation
    part, 98.37% against 97.62% top-1."""
    from digitkiosk.device.line_reader import one_digit_probs, single_digit_probs
    from digitkiosk.device.recognizer import Recognizer

    both = Recognizer(loaded_model, line_model, paper_model=recognizer.paper_model)
    right = {"pair": 0, "both": 0}
    top1 = {"pair": 0, "both": 0}
    count = 0
    for path, _, boxes in orand_scans[:60]:
        gray = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        for box, digit in boxes:
            crop = crop_box(gray, box)
            alone, read = recognizer.read_single(crop).digits[0], both.read_single(crop).digits[0]
            assert np.array_equal(read.probs, single_digit_probs(line_model, crop, alone.probs))
            for name, r in (("pair", alone), ("both", read)):
                right[name] += r.digit == digit
                top1[name] += r.top3[0][0] == digit
            count += 1
    line = one_digit_probs(line_model, crop)
    assert line.shape == (10,) and abs(float(line.sum()) - 1.0) < 1e-6
    eleven = np.full(11, 1 / 11, np.float32)  # a model with a "none" class: left to itself
    assert single_digit_probs(line_model, crop, eleven) is eleven
    assert count > 250 and top1["both"] >= top1["pair"] and right["both"] >= right["pair"]
    assert right["both"] / count >= 0.95, right
