"""Numbers whose digits touch, read whole by the line model (`device/touching.py`): real MNIST
test digits written touching on a page, the real bundled digit, paper and line models."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from digitkiosk.device.errors import NothingToReadError
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.segment import FoundDigit
from digitkiosk.device.touching import may_hold_several, number_box


@pytest.fixture(scope="module")
def readers(recognizer, line_model) -> tuple[Recognizer, Recognizer]:
    """(as `predict` and the camera read pictures: with the line model; without it)."""
    with_line = Recognizer(recognizer.model, line_model, paper_model=recognizer.paper_model)
    return with_line, recognizer


def _write(page: np.ndarray, digits: list[np.ndarray], x: int, overlap: int) -> int:
    """MNIST digits, 84 px high, side by side from column `x` (`overlap` > 0: touching)."""
    for d in digits:
        big = cv2.resize(d.astype(np.float32), (84, 84))
        cols = np.flatnonzero(big.max(axis=0) > 30)
        big = big[:, cols[0] : cols[-1] + 1]
        page[70:154, x : x + big.shape[1]] -= big * 0.7
        x += big.shape[1] - overlap
    return x


def _pages(mnist_test, count: int, numbers: list[tuple[int, int]], seed: int = 5):
    """Pages of numbers ((digits, overlap) each, a wide gap between) → (image, true text)."""
    x, y = mnist_test
    rng = np.random.default_rng(seed)
    for _ in range(count):
        page = np.full((240, 640), 235.0)
        at, words = 40, []
        for n, overlap in numbers:
            picks = rng.integers(len(x), size=n)
            at = _write(page, [x[i] for i in picks], at, overlap) + 90
            words.append("".join(str(y[i]) for i in picks))
        page += rng.normal(0, 3, page.shape)
        yield np.clip(page, 0, 255).astype(np.uint8), " ".join(words)


def _text(reader: Recognizer, image: np.ndarray) -> str:
    try:
        return reader.read_image(image).text
    except NothingToReadError:
        return ""


def test_touching_numbers_are_read_whole_by_the_line_model(readers, mnist_test):
    """24 pages of a 3-digit number whose digits touch (6 px of 84): measured 16 right with the
    line model, 6 without (segmentation reads a touching pair as one digit or as none)."""
    with_line, without = readers
    pages = list(_pages(mnist_test, 24, [(3, 6)]))
    right = sum(_text(with_line, img) == text for img, text in pages)
    before = sum(_text(without, img) == text for img, text in pages)
    assert right >= 14, (right, before)
    assert right >= before + 6, (right, before)


def test_a_touching_number_keeps_its_place_among_separate_ones(readers, mnist_test):
    """A separate number, a touching one, a separate one: the spaces stay where they were."""
    with_line, _ = readers
    pages = list(_pages(mnist_test, 6, [(2, -20), (3, 6), (2, -20)], seed=9))
    texts = [_text(with_line, img) for img, _ in pages]
    assert all(t.count(" ") == 2 for t in texts), texts
    assert sum(t == truth for t, (_, truth) in zip(texts, pages, strict=True)) >= 4, texts


def test_separate_digits_read_the_same_with_one_line_model_call_per_picture(readers, mnist_test, line_model):
    """Every number is read again by the line model (`touching.py`), all of a picture's numbers in
    one interpreter call; separate digits read sure keep segmentation's reading unless the line
    model finds its own far likelier (`MORE_DIGITS_ODDS`, `SAME_COUNT_ODDS`)."""
    with_line, without = readers
    calls = []
    original = line_model.runner.predict
    line_model.runner.predict = lambda x, *a, **k: calls.append(len(x)) or original(x, *a, **k)
    try:
        pages = list(_pages(mnist_test, 8, [(3, -25), (2, -25)], seed=3))  # 25 px apart
        texts = [(_text(with_line, img), _text(without, img)) for img, _ in pages]
    finally:
        del line_model.runner.predict
    assert all(a == b for a, b in texts), texts
    assert calls == [2] * len(pages), calls


def test_a_number_not_flagged_takes_the_line_models_reading_only_when_far_likelier(mnist_test, line_model):
    """A touching "463" (the line model reads it so) given as a number segmentation did not flag:
    read by segmentation as one sure "4" (a merged mark read as one digit, too narrow to flag), the
    line model's three digits are far likelier and replace it; read as a sure "463", it stays; read
    as a sure "46", the line model's reading must be MORE_DIGITS_ODDS times likelier."""
    from digitkiosk.device import touching
    from digitkiosk.device.line_reader import PICTURES, prepare_line
    from digitkiosk.device.readings import DigitReading
    from digitkiosk.device.segment import find_digits
    from digitkiosk.device.touching import Number, reread_touching

    page, text = list(_pages(mnist_test, 16, [(3, 6)]))[15]
    assert text == "463"
    marks = find_digits(page).digits

    def read(segmented: str) -> str:
        cut = [DigitReading.from_probs(np.eye(10)[int(d)] * 0.99 + 0.001, 0.5, np.zeros((28, 28)), None)
               for d in segmented]  # fmt: skip
        digits, _, _ = reread_touching(line_model, page, cut, [""] * (len(cut) - 1),
                                       [Number(0, len(cut), marks, False)])  # fmt: skip
        return "".join(d.label for d in digits)

    assert read("4") == "463" and read("463") == "463"
    x0, y0, x1, y1 = number_box(marks, page.shape)
    probs = line_model.probs(prepare_line(page[y0:y1, x0:x1])[None], PICTURES)[0]
    odds = line_model.probability(probs, (4, 6, 3)) / max(line_model.probability(probs, (4, 6)), 1e-300)
    assert read("46") == ("463" if odds > touching.MORE_DIGITS_ODDS else "46")


def test_number_box_margins_and_wide_marks():
    mark = FoundDigit(np.zeros((28, 28), np.float32), [100.0, 50.0, 60.0, 40.0])
    assert number_box([mark], (480, 640)) == (95, 42, 165, 98)  # 0.12 and 0.2 of the 40 px height
    assert number_box([mark], (60, 150)) == (95, 42, 150, 60)  # clipped to the picture
    assert may_hold_several(mark) and not may_hold_several(FoundDigit(mark.image, [0.0, 0.0, 30.0, 40.0]))
    # 1.4 times as wide as high: wide for an 8 or an unread mark, not for a 0, 2 or 5 (often as wide).
    broad = FoundDigit(mark.image, [0.0, 0.0, 56.0, 40.0])
    assert may_hold_several(broad, 8) and may_hold_several(broad, None)
    assert not any(may_hold_several(broad, d) for d in (0, 2, 5))
    wider = FoundDigit(mark.image, [0.0, 0.0, 70.0, 40.0])
    assert all(may_hold_several(wider, d) for d in range(10))


def test_an_unsure_digit_reading_joins_the_line_models_choice(mnist_test, line_model):
    """A page whose touching "463" the line model's members read "463" (most) and "163": where
    segmentation reads three digits, one unsure, its digit model's probabilities join the members'
    at the card's `segmentation_opinion_weight` (`ctc.rescored_decode`). A reading sure of the 4
    keeps "463"; one that puts the first digit at 1 by more than the members' own margin, weighed,
    makes it "163"; a line model whose card weighs nothing keeps "463" either way."""
    from digitkiosk.device.ctc import members_log_probability
    from digitkiosk.device.line_reader import prepare_line
    from digitkiosk.device.readings import DigitReading
    from digitkiosk.device.segment import find_digits
    from digitkiosk.device.touching import Number, reread_touching

    page, text = list(_pages(mnist_test, 16, [(3, 6)]))[15]
    assert text == "463"
    marks = find_digits(page).digits
    x0, y0, x1, y1 = number_box(marks, page.shape)
    probs = line_model.probs(prepare_line(page[y0:y1, x0:x1])[None])[0]
    margin = float(np.subtract(*members_log_probability(probs, [(4, 6, 3), (1, 6, 3)], line_model.blank)))
    weight = float(line_model.card.data["segmentation_opinion_weight"])
    assert margin > 0 and weight > 0

    def read(model, first: np.ndarray) -> str:
        sure = [np.eye(10)[d] * 0.99 + 0.001 for d in (6, 3)]
        # All below the threshold of 1: segmentation unsure of them, so the line model reads again.
        cut = [DigitReading.from_probs(p, 1.0, np.zeros((28, 28)), None) for p in (first, *sure)]
        digits, _, from_line = reread_touching(model, page, cut, ["", ""], [Number(0, 3, marks, True)])
        assert from_line == {0, 1, 2}
        return "".join(d.label for d in digits)

    toward_one = np.full(10, 1e-3)
    toward_one[1] = 1.0
    toward_one[4] = float(np.exp(-(margin + 1.0) / weight))  # the 1 likelier by more than the margin
    toward_one /= toward_one.sum()
    toward_four = toward_one[[0, 4, 2, 3, 1, 5, 6, 7, 8, 9]]  # the same, with 1 and 4 swapped
    assert read(line_model, toward_four) == "463"
    assert read(line_model, toward_one) == "163"
    line_model.card.data["segmentation_opinion_weight"] = 0.0
    try:
        assert read(line_model, toward_one) == "463"
    finally:
        line_model.card.data["segmentation_opinion_weight"] = weight


def test_a_number_of_many_touching_digits_is_read_not_dropped(readers, mnist_test, monkeypatch):
    """Pages of a 5-digit number written overlapping (by 15% of the digits' height) above a
    separate 2-digit one. Where the five join into one mark 2.5-4.5 times as wide as it is tall,
    segmentation took it for an object and dropped it: the line model now reads it (measured: 2
    of the 4 such pages of these 16 right with linenet 1.3.0's picture members, 3 with 1.2.0's
    members; none before)."""
    from digitkiosk.device.segment import find as find_stage
    from test_segment import _row_of

    with_line, _ = readers
    x, y = mnist_test
    rng = np.random.default_rng(1)
    wide_pages = []
    for _ in range(16):
        first, second = rng.integers(len(x), size=5), rng.integers(len(x), size=2)
        page = np.full((480, 640), 228, np.uint8)
        row = _row_of([x[i] for i in first], -0.15)[:, :620]
        page[60 : 60 + row.shape[0], 20 : 20 + row.shape[1]] = row
        row = _row_of([x[i] for i in second], 0.3)
        page[300 : 300 + row.shape[0], 40 : 40 + row.shape[1]] = row
        truth = "".join(str(y[i]) for i in first) + "\n" + "".join(str(y[i]) for i in second)
        marks = find_stage.find_digits(page).digits
        if any(m.box[2] > 2.5 * m.box[3] for m in marks):
            wide_pages.append((page, truth))
    assert len(wide_pages) >= 3
    right = sum(_text(with_line, page) == truth for page, truth in wide_pages)
    monkeypatch.setattr(find_stage, "PICTURE_MAX_WIDTH", 2.5)  # as before: such a mark is no writing
    before = sum(_text(with_line, page) == truth for page, truth in wide_pages)
    assert right >= len(wide_pages) // 2 and before == 0, (right, before, len(wide_pages))


def test_a_numbers_box_and_underline_are_left_out_of_its_crop_not_its_digits_strokes():
    """`reread_touching` reads a number's crop with the printed lines segmentation erased painted
    as paper: the box drawn around the number and an underline reaching past it, not an erased
    "line" within the digits (the bases of touching digits in a row)."""
    from digitkiosk.device.touching import _lines_around, without_lines

    gray = np.full((100, 200), 220, np.uint8)
    lines = np.zeros(gray.shape, bool)
    marks = [FoundDigit(np.zeros((28, 28), np.float32), [40.0, 30.0, 50.0, 40.0]),
             FoundDigit(np.zeros((28, 28), np.float32), [90.0, 30.0, 50.0, 40.0])]  # fmt: skip
    gray[30:70, 60:62] = gray[30:70, 110:112] = 40  # the digits' strokes
    for rows, cols in ((slice(20, 23), slice(30, 151)), (slice(20, 80), slice(148, 151))):
        gray[rows, cols], lines[rows, cols] = 40, True  # the box's top and right side
    gray[68:71, 60:112], lines[68:71, 60:112] = 40, True  # a "line" along the digits' bases
    x0, y0, x1, y1 = 25, 15, 160, 85
    around = _lines_around(lines, marks, (x0, y0, x1, y1))
    assert around[20 - y0, 100 - x0] and around[50 - y0, 149 - x0]  # box: painted
    assert not around[69 - y0, 80 - x0]  # the digits' bases: kept
    crop = without_lines(gray[y0:y1, x0:x1], around)
    assert (crop[20 - y0 - 1 : 23 - y0 + 1, 30 - x0 : 151 - x0] == 220).all()  # with its fringe
    assert crop[69 - y0, 80 - x0] == 40 and crop[50 - y0, 60 - x0] == 40
    assert without_lines(gray, None) is gray and _lines_around(None, marks, (x0, y0, x1, y1)) is None


def test_touching_numbers_are_read_by_the_members_for_pictures(readers, mnist_test, line_model, monkeypatch):
    """The bundled card's `members_by_job`: the members trained with pen numbers read the
    numbers in photos (`touching.py`); fields are read by the others (`line_reader.read_field`)."""
    from digitkiosk.device.line_reader import FIELDS, PICTURES

    assert set(line_model.job_members(PICTURES)).isdisjoint(line_model.job_members(FIELDS))
    jobs = []
    original = line_model.probs
    monkeypatch.setattr(
        line_model, "probs", lambda lines, job=FIELDS: jobs.append(job) or original(lines, job)
    )
    with_line, _ = readers
    page, _ = next(_pages(mnist_test, 1, [(3, 6)]))
    with_line.read_image(page)
    assert jobs == [PICTURES], jobs


@pytest.mark.parametrize("as_roi", [True, False])
def test_the_erased_lines_are_given_in_the_inputs_pixels_for_a_field_too(as_roi):
    """`Segmentation.lines` for a picture small enough to be a field (paper added around it while
    it is segmented), alone or as a camera's region of interest: on the box drawn around the
    number, in the input's pixels (a field-sized region of interest once made segmentation fail)."""
    from digitkiosk.device.segment import find_digits

    page = np.full((480, 640), 220, np.uint8)
    for i, digit in enumerate("305"):
        cv2.putText(page, digit, (210 + i * 30, 250), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 30, 3)
    cv2.rectangle(page, (195, 205), (330, 275), 30, 2)
    if as_roi:
        found, (dx, dy) = find_digits(page, roi=(180, 190, 170, 100)), (0, 0)
    else:
        found, (dx, dy) = find_digits(page[190:290, 180:350]), (180, 190)
    assert len(found.digits) == 3 and found.lines is not None
    ys, xs = np.nonzero(found.lines)
    assert abs(ys.min() + dy - 205) <= 3 and abs(ys.max() + dy - 275) <= 3
    assert abs(xs.min() + dx - 195) <= 3 and abs(xs.max() + dx - 330) <= 3
