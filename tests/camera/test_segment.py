"""Image → digits on pictures composed from real handwritten digits (MNIST, real pen strokes)
with the troubles of real photos. Accuracy figures are measured on fixed seeds; the limits
leave room for an honest miss or two, not for a broken pipeline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from digitkiosk.device import segment
from digitkiosk.device.errors import InputError, NothingToReadError
from digitkiosk.device.mnist_prep import fit_to_mnist
from digitkiosk.device.segment import find_digits, single_digit
from digitkiosk.train.amounts import digits_correct
from digitkiosk.train.pages import add_specks, layout, plain_page
from digitkiosk.train.photo import Look, random_look
from digitkiosk.train.scenes import make_scene


def _read_scenes(recognizer, bank, seed: int, count: int, layout: dict | None = None, **look_args):
    rng = np.random.default_rng(seed)
    total = correct = exact = 0
    misses = []
    for _ in range(count):
        scene, _camera = make_scene(bank, rng, look=random_look(rng, **look_args), **(layout or {}))
        try:
            text = recognizer.read_image(scene.image).text
        except NothingToReadError:
            text = ""
        total += len(scene.digits)
        correct += digits_correct(scene.text, text)
        exact += text == scene.text
        if text != scene.text:
            misses.append((scene.text, text))
    return correct / total, exact / count, misses


@pytest.mark.parametrize("dark_ink", [True, False], ids=["dark-on-light", "light-on-dark"])
def test_pages_of_mnist_digits(recognizer, mnist_bank, dark_ink):
    digit_acc, number_acc, misses = _read_scenes(recognizer, mnist_bank, 11 + dark_ink, 12, dark_ink=dark_ink)
    # Measured 0.95-0.99 on these seeds with the interim model; misses are mostly "?" (a digit
    # below the model's reject threshold), which counts as wrong here.
    assert digit_acc >= 0.93, misses
    assert number_acc >= 0.6, misses


def test_thin_pen_digits_are_rebuilt_with_mnist_strokes(recognizer, pen_bank):
    # Hairline pen strokes on large digits: only the stroke-width normalization makes these
    # look like MNIST to the model.
    digit_acc, _, misses = _read_scenes(recognizer, pen_bank, 5, 10)
    assert digit_acc >= 0.93, misses
    rng = np.random.default_rng(3)
    photo, _ink, text = plain_page(
        pen_bank,
        rng,
        paper=220,
        contrast=180,
        lines=1,
        numbers_per_line=(1, 1),
        digits_per_number=(3, 3),
        height=(150, 160),
    )
    assert recognizer.read_image(photo).text == text


@pytest.mark.parametrize("pen_px", [5, 6])
def test_strokes_thinner_than_mnist_come_out_as_bold_as_mnist(pen_px, mnist_test):
    # A "1" 95 px tall written with a 5-6 px pen: strokes of 8-10% of its height where MNIST's
    # are about 12%. Its grey ink scaled into the 20 px box came out fainter than all but a few
    # MNIST 1s (a "1" read as "7" or "?" on camera); rebuilt at MNIST's stroke width it carries
    # as much ink as a typical MNIST 1.
    x, y = mnist_test
    ones = x[y == 1][:500].astype(np.float32) / 255.0
    typical_ink = float(np.percentile([fit_to_mnist(one).sum() for one in ones], 25))
    rng = np.random.default_rng(pen_px)
    page = np.full((240, 200), 220, np.float32)
    cv2.line(page, (108, 60), (100, 150), 60, pen_px, cv2.LINE_AA)
    page = cv2.GaussianBlur(page, (0, 0), 1.2) + rng.normal(0, 3, page.shape)
    seg = find_digits(np.clip(page, 0, 255).astype(np.uint8))
    assert len(seg.digits) == 1
    assert seg.digits[0].image.sum() >= typical_ink


def test_lines_numbers_and_separators(recognizer, mnist_bank):
    rng = np.random.default_rng(8)
    photo, _ink, text = plain_page(
        mnist_bank, rng, lines=2, numbers_per_line=(2, 2), digits_per_number=(2, 3)
    )
    seg = find_digits(photo)
    structure = "".join("d" if c.isdigit() else c for c in text)
    assert seg.layout == structure
    assert [d.line for d in seg.digits] == sorted(d.line for d in seg.digits)
    read = recognizer.read_image(photo).text
    assert digits_correct(text, read) >= len(seg.digits) - 1, (text, read)


def test_underline_box_and_specks_are_not_digits(mnist_bank):
    rng = np.random.default_rng(21)
    for _ in range(6):
        scene, _ = make_scene(
            mnist_bank, rng, look=Look(perspective=0.03, jpeg=80), specks=40, underline=True, box=True
        )
        assert len(find_digits(scene.image).digits) == len(scene.digits), scene.text


def test_boxes_in_image_coordinates_and_roi(mnist_bank):
    rng = np.random.default_rng(4)
    photo, ink, _text = plain_page(
        mnist_bank, rng, lines=2, numbers_per_line=(1, 1), digits_per_number=(3, 3)
    )
    seg = find_digits(photo)
    assert len(seg.digits) == 6
    for d in seg.digits:
        x, y, w, h = (round(v) for v in d.box)
        assert ink[y : y + h, x : x + w].max() > 0.5  # the box holds ink
        assert d.image.shape == (28, 28) and d.image.dtype == np.float32
    # Only the second line inside the ROI; boxes stay in whole-image coordinates.
    top = round(min(d.box[1] for d in seg.digits if d.line == 1)) - 10
    roi = (0, top, photo.shape[1], photo.shape[0] - top)
    inside = find_digits(photo, roi)
    # The same boxes, give or take a pixel: the ink threshold is estimated on the ROI alone, so a
    # faint edge pixel may fall either way (an offset bug would be off by `top`, ~200 px).
    expected = [d.box for d in seg.digits if d.line == 1]
    assert len(inside.digits) == len(expected)
    assert np.allclose([d.box for d in inside.digits], expected, atol=2), (inside.digits, expected)
    assert inside.mask.shape == photo.shape
    with pytest.raises(InputError):
        find_digits(photo, (5000, 5000, 10, 10))


@pytest.mark.parametrize(
    ("picture", "note"),
    [
        (np.zeros((480, 640), np.uint8), "too dark"),
        (np.full((480, 640), 255, np.uint8), "overexposed"),
        (np.full((480, 640, 3), 128, np.uint8), "blank image"),
    ],
    ids=["black", "overexposed", "grey"],
)
def test_blank_pictures_give_nothing(recognizer, picture, note):
    seg = find_digits(picture)
    assert seg.digits == [] and seg.note == note
    with pytest.raises(NothingToReadError):
        recognizer.read_image(picture)
    with pytest.raises(NothingToReadError):
        recognizer.read_single(picture)


def test_specks_and_noise_give_nothing():
    rng = np.random.default_rng(0)
    paper = np.full((480, 640), 210.0, np.float32)
    ink = np.zeros((480, 640), np.float32)
    add_specks(ink, rng, 400, max_radius=3)
    specks = np.clip(paper - 170 * ink + rng.normal(0, 3, ink.shape), 0, 255).astype(np.uint8)
    assert find_digits(specks).digits == []
    noise = rng.integers(0, 256, (480, 640)).astype(np.uint8)
    assert find_digits(noise).digits == []
    gradient = np.tile(np.linspace(40, 230, 640, dtype=np.float32), (480, 1)).astype(np.uint8)
    assert find_digits(gradient).digits == []


def test_single_digit_either_polarity(recognizer, mnist_test):
    images, labels = mnist_test[0][:300], mnist_test[1][:300]
    clean = recognizer.classify(np.stack([single_digit(i)[0] for i in images]))
    assert np.mean([r.digit == lab for r, lab in zip(clean, labels, strict=True)]) >= 0.85
    # Photographed large, dark ink on light paper with a light gradient.
    rng = np.random.default_rng(1)
    photos = []
    for img in images[:100]:
        big = cv2.resize(img, None, fx=6, fy=6).astype(np.float32) / 255
        ramp = np.linspace(0.65, 1.0, big.shape[1], dtype=np.float32)[None, :]
        photos.append(
            np.clip((210 * (1 - big) + 40 * big) * ramp + rng.normal(0, 3, big.shape), 0, 255).astype(
                np.uint8
            )
        )
    same = sum(
        recognizer.classify(single_digit(p)[0][None])[0].digit == r.digit
        for p, r in zip(photos, clean[:100], strict=True)
    )
    assert same >= 90
    image28, box = single_digit(photos[0])
    assert image28.shape == (28, 28) and 0 <= box[0] < 168 and box[2] > 10


@pytest.mark.parametrize(
    "bad", [np.zeros((4, 4, 2), np.uint8), np.zeros((0, 5), np.uint8), np.zeros(7, np.uint8)]
)
def test_malformed_arrays_are_input_errors(bad):
    with pytest.raises(InputError):
        find_digits(bad)


def _photo(ink: np.ndarray, seed: int, paper: float = 205.0, contrast: float = 150.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    page = cv2.GaussianBlur((paper - contrast * ink).astype(np.float32), (0, 0), 1.0)
    return np.clip(page + rng.normal(0, 3, page.shape), 0, 255).astype(np.uint8)


def test_faint_pen_strokes_beside_a_strong_line_stay_whole(pen_bank):
    # A thin pen that photographs faint, underlined with a bold stroke: one threshold for the
    # whole picture falls between the two and broke the digits into pieces (8 of these 12
    # pictures were miscounted so).
    miscounted = []
    for seed in range(12):
        rng = np.random.default_rng(seed)
        ink, text = layout(
            pen_bank,
            rng,
            lines=1,
            numbers_per_line=(1, 1),
            digits_per_number=(4, 4),
            underline=False,
            box=False,
        )
        ink *= 0.45
        rows, cols = np.flatnonzero(ink.max(axis=1) > 0.1), np.flatnonzero(ink.max(axis=0) > 0.1)
        cv2.line(ink, (cols[0] - 6, rows[-1] + 8), (cols[-1] + 6, rows[-1] + 8), 1.0, 3, cv2.LINE_AA)
        found = len(find_digits(_photo(ink, seed)).digits)
        if found != len(text):
            miscounted.append((text, found))
    assert len(miscounted) <= 2, miscounted


@pytest.mark.parametrize("gap", [4, 20])
def test_base_of_a_wide_digit_is_not_a_line(gap):
    # "111" and a Z-shaped 2 whose base is 1.7x the writing's height, over an underline: the
    # underline goes, the base of the 2 stays.
    page = np.full((300, 640), 210, np.uint8)
    for x in (60, 100, 140):
        cv2.line(page, (x, 100), (x, 150), 40, 5)
    cv2.line(page, (180, 100), (225, 100), 40, 5)
    cv2.line(page, (225, 100), (180, 150), 40, 5)
    cv2.line(page, (180, 150), (265, 150), 40, 5)
    cv2.line(page, (50, 155 + gap), (285, 155 + gap), 40, 3)
    seg = find_digits(cv2.GaussianBlur(page, (0, 0), 1.0))
    assert len(seg.digits) == 4
    _x, _y, w, h = seg.digits[3].box
    assert w >= 80 and 50 <= h <= 60, seg.digits[3].box  # the whole 2, not the underline


def test_long_bar_of_a_seven_and_long_base_of_a_two_are_not_lines():
    # A 7 whose bar (1.4x the writing's height) is more than twice as wide as its stem, and a 2
    # whose base is that much wider than the rest of it. Erased as lines, the 7 was read as a
    # "1" and the 2 as a "7". What stands on a line leaves the line's ends free; these strokes
    # end where the rest of their digit does.
    page = np.full((300, 640), 210, np.uint8)
    for x in (60, 100, 140):
        cv2.line(page, (x, 100), (x, 150), 40, 5)
    cv2.line(page, (180, 100), (250, 100), 40, 5)  # the 7
    cv2.line(page, (250, 100), (238, 150), 40, 5)
    cv2.line(page, (300, 100), (320, 100), 40, 5)  # the 2
    cv2.line(page, (320, 100), (300, 150), 40, 5)
    cv2.line(page, (300, 150), (372, 150), 40, 5)
    seg = find_digits(cv2.GaussianBlur(page, (0, 0), 1.0))
    assert len(seg.digits) == 5
    for digit in seg.digits[3:]:
        _x, _y, w, h = digit.box
        assert w >= 68 and 50 <= h <= 60, digit.box  # the whole digit, bar and base included


def test_short_underline_joining_a_two_digit_number_is_erased():
    # "17" underlined with a line 1.3x the writing's height that touches both digits: kept as a
    # mark, it joined them into one "digit" (the camera read "48" as one "?").
    page = np.full((300, 640), 210, np.uint8)
    for x in (60, 100, 140, 400):  # "111" and the "1" of "17" set the writing's height
        cv2.line(page, (x, 100), (x, 150), 40, 5)
    cv2.line(page, (430, 100), (465, 100), 40, 5)
    cv2.line(page, (465, 100), (445, 150), 40, 5)
    cv2.line(page, (396, 153), (466, 153), 40, 4)  # 70 px: 1.3x the digits (55 px with the caps)
    seg = find_digits(cv2.GaussianBlur(page, (0, 0), 1.0))
    assert len(seg.digits) == 5
    assert seg.separators[2] == " " and seg.separators[3] == ""


def test_a_mass_erased_along_two_edges_hides_only_what_is_near_it():
    # The table around the sheet, along the top and the left edge, erased as one band: its
    # bounding box is the whole picture, and keeping away from that box dropped every digit.
    mask = np.zeros((480, 640), np.uint8)
    mask[:40, :] = 255
    mask[:, :70] = 255
    for x in (200, 250, 300):
        cv2.line(mask, (x, 200), (x, 250), 255, 5)
    cv2.line(mask, (75, 300), (75, 350), 255, 5)  # a sliver right beside the table
    erased = np.zeros_like(mask)
    assert segment._remove_lines(mask, 52.0, erased)
    labels, stats = segment._components(mask)
    blobs = segment._blobs(labels, stats, 52.0, erased)
    assert sorted(b.x0 for b in blobs) == [197, 247, 297]


def test_a_slanted_mass_at_the_edge_hides_only_what_is_near_it():
    # A long thin diagonal from the picture's corner (the sheet's edge in perspective, a pen
    # lying on the page) is no line to erase, yet a mass cut by the edge. Its bounding box is
    # most of the picture: keeping away from that box dropped the digits above it.
    page = np.full((480, 640), 210, np.uint8)
    cv2.line(page, (0, 479), (400, 0), 40, 5)
    for x in (80, 120, 160, 470, 510, 550):  # "111" on both sides of the diagonal
        cv2.line(page, (x, 100), (x, 150), 40, 5)
    cv2.line(page, (189, 269), (227, 223), 40, 5)  # a sliver along the diagonal, 10 px from it
    seg = find_digits(cv2.GaussianBlur(page, (0, 0), 1.0))
    assert sorted(d.box[0] for d in seg.digits) == [76, 116, 156, 466, 506, 546]


@pytest.mark.parametrize(("kind", "floor"), [("mnist", 0.66), ("pen", 0.52)])
def test_touching_digits_are_read_one_by_one(recognizer, mnist_bank, pen_bank, kind, floor):
    # Two-digit numbers written so tightly that the digits touch or overlap (by 2-6% of their
    # height): one mark per number, read as neither digit. Measured 0.69 (MNIST) and 0.55 (pen)
    # of the digits read right; 0.56 and 0.49 before marks were cut where one stroke joins them.
    # Pen digits overlap with crossing strokes more often, where no one-stroke column exists.
    bank = mnist_bank if kind == "mnist" else pen_bank
    layout = {"spacing": (-0.06, -0.02), "digits_per_number": (2, 2)}
    accuracy, _, misses = _read_scenes(recognizer, bank, 5, 24, layout)
    assert accuracy >= floor, (accuracy, misses)


def _row_of(glyphs: list[np.ndarray], gap: float, height: int = 48) -> np.ndarray:
    """MNIST images written in a row on light paper, `height` px tall, `gap` (fraction of the
    height) apart; negative: they overlap."""
    bigs = []
    for glyph in glyphs:
        crop = glyph[:, glyph.max(axis=0) > 40][glyph.max(axis=1) > 40].astype(np.float32) / 255
        bigs.append(cv2.resize(crop, (max(1, round(crop.shape[1] * height / crop.shape[0])), height)))
    ink = np.zeros((height * 2, sum(b.shape[1] for b in bigs) + height * (len(bigs) + 1)), np.float32)
    x = height // 2
    for big in bigs:
        y, w = height // 2, big.shape[1]
        ink[y : y + height, x : x + w] = np.maximum(ink[y : y + height, x : x + w], big)
        x += w + round(gap * height)
    return cv2.GaussianBlur((230 - 200 * ink).astype(np.uint8), (0, 0), 0.8)


def test_touching_digits_split_into_readable_parts(recognizer, mnist_test):
    # Zeros overlapping by 6% of their height: one mark, whose parts (cut where one stroke joins
    # them, and cut again for three) the recognizer takes, since each reads clearly and the
    # whole does not.
    images, labels = mnist_test
    zero = images[np.flatnonzero(labels == 0)[0]]
    page = _row_of([zero, zero], -0.06)
    seg = find_digits(page)
    assert len(seg.digits) == 1 and len(seg.digits[0].parts) == 2
    assert recognizer.read_image(page).text == "00"
    assert recognizer.read_image(_row_of([zero] * 3, -0.06)).text == "000"


def test_wide_single_digits_are_not_cut(recognizer, mnist_test):
    # Flat 0s, 2s, 5s and 7s with long bars, as wide as two narrow digits, written apart. A mark
    # is cut only where one stroke joins two sides that both read clearly, which these do not.
    # (Whether each is found as one mark is another matter: some flat 0s break in two.)
    images, labels = mnist_test
    ink = images > 40
    wide = np.flatnonzero(ink.any(axis=1).sum(axis=1) >= 1.1 * ink.any(axis=2).sum(axis=1))
    readings = recognizer.classify(np.stack([fit_to_mnist(images[i]) for i in wide]))
    sure = [i for i, r in zip(wide, readings, strict=True) if r.digit == labels[i]][:200]
    assert len(sure) == 200
    offered = cut = 0
    for k in range(0, len(sure), 4):
        seg = find_digits(_row_of([images[i] for i in sure[k : k + 4]], 0.3))
        offered += sum(bool(d.parts) for d in seg.digits)
        cut += len(recognizer.read_segmentation(seg)[0]) - len(seg.digits)
    assert offered >= 10, offered  # the cut is offered for some of them (measured 15)...
    assert cut <= 1, cut  # ...and (nearly) never taken


def test_a_mark_read_as_a_digit_is_never_cut(recognizer, mnist_test):
    # A 2 read at 0.53-0.77 (a digit, not clearly) offered as cut into a 7 and a 1 that read
    # clearly: it stays a 2. Cutting whenever the pieces read surer than the whole cut a camera's
    # 2 into "71" in some frames of a static scene, which was then reported twice.
    # Which marks are cut is decided on the digit model's readings (read_segmentation says why);
    # the digits found are then read by the paper model.
    images, labels = mnist_test
    prepared = np.stack([fit_to_mnist(i) for i in images[:2000]])
    readings = recognizer.classify(prepared, paper=False)
    threshold = recognizer.model.card.reject_threshold
    clear = (1 + threshold) / 2

    def first(label: int, lo: float, hi: float) -> int:
        return next(
            i for i, r in enumerate(readings) if labels[i] == label == r.digit and lo <= r.confidence < hi
        )

    two, seven, one = first(2, threshold, clear), first(7, 0.9, 1), first(1, 0.9, 1)
    parts = [segment.FoundDigit(prepared[i], [0, 0, 10, 20]) for i in (seven, one)]
    mark = segment.FoundDigit(prepared[two], [0, 0, 20, 20], parts=parts)
    digits, _ = recognizer.read_segmentation(segment.Segmentation([mark]))
    assert [d.top3[0][0] for d in digits] == [2]
    # The same pieces are taken when the whole reads as no digit.
    unsure = next(i for i, r in enumerate(readings) if r.digit is None)
    mark = segment.FoundDigit(prepared[unsure], [0, 0, 20, 20], parts=parts)
    digits, separators = recognizer.read_segmentation(segment.Segmentation([mark]))
    assert [d.digit for d in digits] == [7, 1] and separators == [""]
