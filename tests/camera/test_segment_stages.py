"""Each segmentation stage on its own (device/segment/: ink, borders, marks, layout, digit), on
small synthetic pictures whose right answer is known by construction."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from digitkiosk.device.segment import base, borders, digit, find, ink, layout, marks


def _field(paper: int = 200, texture: float = 0.0, seed: int = 0) -> np.ndarray:
    """A 50x150 cheque-like field: paper with a fine wavy security texture of `texture` grey levels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:50, 0:150].astype(np.float32)
    pattern = texture * np.sin(x / 2.0 + 3 * np.sin(y / 7.0))
    return np.clip(paper + pattern + rng.normal(0, 2, (50, 150)), 0, 255).astype(np.float32)


def _strokes(a: np.ndarray, value: float) -> np.ndarray:
    """Three upright bars, 30 px tall, 3 px wide, at x = 30, 70, 110."""
    for x in (30, 70, 110):
        a[10:40, x : x + 3] = value
    return np.clip(a, 0, 255).astype(np.uint8)


# ink ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("texture", [0.0, 25.0])
def test_field_ink_finds_grey_strokes_on_textured_paper(texture):
    picture = _strokes(_field(texture=texture), 120.0)  # grey ink, 80 levels below the paper
    pad = find._field_padding(picture.shape)
    padded = cv2.copyMakeBorder(picture, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=200)
    found = ink._field_ink(padded, pad).mask[pad:-pad, pad:-pad] > 0
    for x in (30, 70, 110):
        assert found[12:38, x + 1].mean() > 0.9  # each bar, whole
    bars = np.zeros_like(found)
    for x in (30, 70, 110):
        bars[8:42, x - 2 : x + 5] = True
    assert found[~bars].mean() < 0.02  # and (almost) none of the texture


def test_camera_ink_polarity_and_blank_notes():
    light_on_dark = 255 - _strokes(_field(), 60.0)
    result = ink._ink(cv2.resize(light_on_dark, (600, 200)))
    assert result.mask.any() and not result.note
    assert ink._exposure_note(np.zeros((100, 100), np.uint8)) == "too dark"
    assert ink._exposure_note(np.full((100, 100), 128, np.uint8)) == "blank image"


# borders --------------------------------------------------------------------------------------


def test_a_ruled_line_goes_and_the_digits_on_it_stay():
    mask = np.zeros((60, 200), np.uint8)
    mask[50:52, 5:195] = 255  # the line
    for x in (40, 90, 140):
        mask[15:51, x : x + 4] = 255  # digits standing on it
    erased = np.zeros_like(mask)
    assert borders._remove_lines(mask, 36.0, erased)
    assert not mask[50:52, 10:35].any() and not mask[50:52, 150:190].any()
    for x in (40, 90, 140):
        assert mask[16:48, x : x + 4].all()


# marks ----------------------------------------------------------------------------------------


def test_typical_height_ignores_specks_and_marks_cut_by_the_edge():
    mask = np.zeros((100, 200), np.uint8)
    for x in (30, 70, 110):
        mask[30:70, x : x + 5] = 255
    mask[10:13, 150:153] = 255  # a speck
    mask[0:100, 190:200] = 255  # the table at the edge
    _, stats = base._components(mask)
    assert marks._typical_height(stats, 8, mask.shape) == 40


def test_candidate_cuts_include_the_neck_of_two_touching_marks():
    piece = np.zeros((40, 60), np.uint8)
    piece[:, 2:26] = 255
    piece[:, 34:58] = 255
    piece[18:22, 26:34] = 255  # one thin stroke joins them
    nodes = marks._candidate_cuts(piece, 40.0)
    assert nodes[0] == 0 and nodes[-1] == 60
    assert any(26 <= c <= 34 for c in nodes[1:-1])
    spans = marks._segment_spans(nodes, 40.0)
    assert (0, len(nodes) - 1) not in spans  # the whole is read as itself, not as a span
    assert all(0.2 * 40 <= nodes[j] - nodes[i] <= 1.3 * 40 for i, j in spans)


def test_fragments_of_one_digit_merge_and_neighbours_do_not():
    hat = marks._Blob(10, 0, 30, 5, 60, [1])
    body = marks._Blob(10, 8, 32, 40, 300, [2])
    neighbour = marks._Blob(45, 0, 65, 40, 300, [3])
    merged = marks._merge_fragments([hat, body, neighbour], 40.0)
    assert sorted((b.x0, b.y0, b.x1, b.y1) for b in merged) == [(10, 0, 32, 40), (45, 0, 65, 40)]


# layout ---------------------------------------------------------------------------------------


def test_lines_top_to_bottom_and_left_to_right():
    blobs = [
        marks._Blob(x, y, x + 20, y + 40, 300, [i])
        for i, (x, y) in enumerate([(80, 100), (10, 5), (50, 8), (20, 102)])
    ]
    lines = layout._lines(blobs)
    assert [[(b.x0, b.y0) for b in line] for line in lines] == [[(10, 5), (50, 8)], [(20, 102), (80, 100)]]


# digit ----------------------------------------------------------------------------------------


def test_prepare_digit_gives_an_mnist_field():
    mask = np.zeros((60, 30), np.uint8)
    cv2.line(mask, (15, 2), (15, 57), 255, 3)
    image = digit.prepare_digit(mask)
    assert image.shape == (28, 28) and 0.9 <= image.max() <= 1.0
    rows = np.flatnonzero(image.max(axis=1) > 0.1)
    assert 18 <= rows[-1] - rows[0] + 1 <= 22  # the MNIST 20 px box


def test_single_digit_mark_drops_neighbours_cut_by_the_crop():
    mask = np.zeros((40, 30), bool)
    mask[5:35, 12:17] = True  # the digit
    mask[5:9, 12:24] = True  # its flag
    mask[10:30, 0:3] = True  # a neighbour's edge, cut by the crop's left side
    kept = digit.single_digit_mark(mask)
    assert kept[5:35, 12:17].all() and kept[5:9, 12:24].all() and not kept[:, 0:3].any()
