"""Fields: what counts as one, and how a picture of one is brought to what the line model learnt.

A field is a line of writing cut out of a form or a cheque (the amount box): it is read by the
line model and by segmentation (`line_reader.read_field`). The line model learnt ORAND-CAR-A's
amount boxes: cut close to the writing, 40-94 px tall. Real pictures of fields are not all like
that: a field cut with room around its writing, or scanned at a higher resolution, is the same
field. So the writing's rows are found (`writing_band`), a field with far more paper above and
below than the training fields is cut closer (`writing_rows`), and a picture too large to be a
field at its own size whose writing is one line as tall as a scan at several times the
resolution is read as a field at the size the line model knows (`as_field`).
"""

from __future__ import annotations

import cv2
import numpy as np

# Below this contrast (grey levels between paper and the darkest ink) a field holds no ink: the
# prepared line stays empty rather than amplifying paper grain into strokes.
MIN_CONTRAST = 24.0
# The line model learnt fields cut close to their writing (ORAND's amount boxes): a field cut
# with more paper above and below shrinks the digits in the 32-px line, and the reading
# collapses (the validation fields with a quarter of their height of paper added above and
# below: 73% of amounts right instead of 87%; with half: 24%). So the writing's rows are found
# (the band holding all but WRITING_TAIL of the dark pixels at each end) and a field whose height
# is more than TOO_MUCH_PAPER times that band is cut to the band with the paper the training
# fields typically have around it. Measured on the development-train fields (`splits.py`, not
# the validation part): height / band is 1.40 at the median, 1.86 at the 95th percentile (so 95%
# of such fields are left as they are), with 0.26 and 0.13 band heights of paper above and below
# at the median.
WRITING_TAIL = 0.02
TOO_MUCH_PAPER = 1.86
PAPER_ABOVE, PAPER_BELOW = 0.26, 0.13


def ink_of(gray: np.ndarray) -> np.ndarray | None:
    """Gray (uint8 or float) → ink in [0, 1] (how far from the paper, either polarity), scaled by
    a high percentile; None without contrast."""
    g = gray.astype(np.float32)
    paper = float(np.median(g))
    dark, light = np.percentile(g, (1.0, 99.0))
    # Ink is what differs most from the paper: light ink on a dark board is turned around.
    ink = paper - g if paper - dark >= light - paper else g - paper
    if float(ink.max()) < MIN_CONTRAST:
        return None
    # Scaled by a high percentile of the ink, not its extreme, so one dark speck does not make
    # every stroke faint.
    top = max(float(np.percentile(ink, 99.5)), MIN_CONTRAST)
    return np.clip(ink / top, 0.0, 1.0)


def _span(mass: np.ndarray, tail: float) -> tuple[int, int] | None:
    """Dark pixels per row (or column) → the rows (first, one past the last) holding all but
    `tail` of them at each end; None when there are none."""
    if mass.sum() <= 0:
        return None
    cumulative = np.cumsum(mass.astype(np.float64)) / mass.sum()
    return int(np.searchsorted(cumulative, tail)), int(np.searchsorted(cumulative, 1.0 - tail)) + 1


def _band(ink: np.ndarray) -> tuple[int, int] | None:
    span = _span((ink >= 0.5).sum(axis=1), WRITING_TAIL)
    return None if span is None else (span[0], max(span[0] + 1, span[1]))


def writing_band(gray: np.ndarray) -> tuple[int, int] | None:
    """The rows (first, one past the last) of a field's writing (2-D gray): the band that holds
    all but WRITING_TAIL of its dark pixels at each end; None for a field without ink."""
    ink = ink_of(gray) if gray.size else None
    return None if ink is None else _band(ink)


def _rows(h: int, band: tuple[int, int] | None) -> tuple[int, int]:
    if band is None:
        return 0, h
    y0, y1 = band
    height = y1 - y0
    if h <= TOO_MUCH_PAPER * height:
        return 0, h
    return max(0, round(y0 - PAPER_ABOVE * height)), min(h, round(y1 + PAPER_BELOW * height))


def writing_rows(gray: np.ndarray) -> tuple[int, int]:
    """The rows (top, bottom) of a field (2-D gray) to read: all of them, or, where the field has
    far more paper above and below its writing than the training fields, the writing's band
    with the usual paper around it (TOO_MUCH_PAPER)."""
    return _rows(gray.shape[0], writing_band(gray))


def is_field(image: np.ndarray) -> bool:
    """A picture small enough to be a field cut out of a page (the segmentation's own rule)."""
    from .segment import _field_padding

    a = np.asarray(image)
    return a.ndim in (2, 3) and _field_padding(a.shape[:2]) > 0


# The development-train fields' writing is 38 px tall at the median, 64 px at the 99th percentile
# (`tests/benchmarks/field_margins.py`). A picture whose one line of writing is taller than
# LARGEST_BAND is brought to TYPICAL_BAND by scaling it down.
TYPICAL_BAND = 38
LARGEST_BAND = 64
# One line of writing has no blank stretch of rows inside its band longer than this fraction of
# the band (the gap between two lines of a page does).
LINE_GAP = 0.15
# A field's writing runs across it: between the first and the last 1% of its dark pixels lie at
# least 0.69 of the width in 99% of the development-train fields. A picture whose writing covers
# less than WRITING_ACROSS of its width (a photo of a number in the middle of a sheet) is a
# picture of a page, read by segmentation as before.
WRITING_ACROSS = 0.6
ACROSS_TAIL = 0.01
# ... and has no blank stretch of columns wider than this many band heights: 0.66 at the 99th
# percentile of the development-train fields, where a photo of several numbers has a space of
# a digit's width or more between them, which a field read whole by the line model would lose.
WIDEST_GAP = 0.66
WORK_SIDE = 160  # as_field looks at a picture at most this size (its shorter side), as a field
# A field cut with as much paper again as its own height above and below it is at most 3 x 2.08
# (the development-train fields' 99th percentile of height over band) times as tall as its
# writing; a picture taller than that for its one line of writing (a photo of a number on a
# sheet) is a view of a page.
MOST_PAPER = 6.24


def one_line(ink: np.ndarray, band: tuple[int, int]) -> bool:
    """Is the writing (`ink_of` a picture) in these rows one line (no blank stretch of rows
    across it longer than LINE_GAP of its height)?"""
    y0, y1 = band
    rows = (ink[y0:y1] >= 0.5).sum(axis=1)
    blank = rows <= 0.01 * max(1, int(rows.max()))
    longest = run = 0
    for b in blank.tolist():
        run = run + 1 if b else 0
        longest = max(longest, run)
    return longest <= LINE_GAP * (y1 - y0)


def writing_across(ink: np.ndarray, band: tuple[int, int]) -> float:
    """The share of the picture's width its writing (`ink_of` it, in the band's rows) runs across."""
    span = _span((ink[band[0] : band[1]] >= 0.5).sum(axis=0), ACROSS_TAIL)
    return 0.0 if span is None else (span[1] - span[0]) / ink.shape[1]


def widest_gap(ink: np.ndarray, band: tuple[int, int]) -> float:
    """The widest blank stretch of columns between the writing's first and last inked column
    (`ink_of` a picture, in the band's rows), in band heights."""
    inked = np.flatnonzero((ink[band[0] : band[1]] >= 0.5).any(axis=0))
    if len(inked) < 2:
        return 0.0
    return float((np.diff(inked) - 1).max()) / max(1, band[1] - band[0])


def _even_light(gray: np.ndarray) -> np.ndarray:
    """A picture less its own background (its median over a window of a fifth of its shorter
    side, which strokes do not move), around mid-grey: uneven light evened out. `ink_of` measures
    ink from the paper's one level, so a shadow across a photo of a page, or the dark table
    around the sheet, was ink to it: a band of "writing" as tall as the photo, which as_field
    then read as one field (a photo of two lines of numbers read as a "4")."""
    g = np.asarray(gray)
    if g.dtype != np.uint8:
        g = np.clip(g, 0, 255).astype(np.uint8)
    # The background found at a quarter of the size (a median over a large window took longer
    # than the rest of as_field) and brought back: the light varies slowly.
    h, w = g.shape[:2]
    small = g if min(h, w) < 16 else cv2.resize(g, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    background = cv2.medianBlur(small, max(3, (min(small.shape[:2]) // 5) | 1))
    if small is not g:
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(g.astype(np.int16) - background.astype(np.int16) + 128, 0, 255).astype(np.uint8)


# Marks of fewer pixels than this (at WORK_SIDE) are specks, dust or grain, not writing: a few of
# them between two lines of numbers hid the blank rows that tell the lines apart (`one_line`).
SPECK_PX = 5


def _without_specks(ink: np.ndarray) -> np.ndarray:
    """`ink_of` a picture with its specks (marks of fewer than SPECK_PX inked pixels) cleared."""
    from .segment.base import _label

    _, labels, stats = _label((ink >= 0.5).astype(np.uint8))
    small = stats[:, cv2.CC_STAT_AREA] < SPECK_PX
    small[0] = False  # the paper
    if not small.any():
        return ink
    return np.where(small[labels], 0.0, ink).astype(ink.dtype)


def as_field(gray: np.ndarray) -> tuple[np.ndarray, int, float] | None:
    """A 2-D gray picture too large to be a field at its own size → (the field to read, the row of
    the picture it starts at, the scale it was brought to), where its writing is one line across
    it without a wide space that makes a field once cut to its rows (`writing_rows`: a field cut
    with room above and below) and, when taller than LARGEST_BAND, scaled to TYPICAL_BAND (a
    field scanned at a higher resolution); None otherwise (a photo of a page: segmentation's)."""
    if min(gray.shape[:2], default=0) < 4:
        return None
    # Looked at no larger than a field (its shorter side WORK_SIDE): a photo of a page is
    # turned down in about a millisecond (at full size, its ink alone took 13 ms).
    f = min(1.0, WORK_SIDE / min(gray.shape[:2]))
    work = gray if f == 1.0 else cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    ink = ink_of(_even_light(work))
    ink = None if ink is None else _without_specks(ink)
    band = None if ink is None else _band(ink)
    if band is None or not one_line(ink, band) or writing_across(ink, band) < WRITING_ACROSS:
        return None
    if widest_gap(ink, band) > WIDEST_GAP:
        return None
    band = (int(band[0] / f), int(np.ceil(band[1] / f)))  # in the picture's rows
    if gray.shape[0] > MOST_PAPER * (band[1] - band[0]):
        return None
    top, bottom = _rows(gray.shape[0], band)
    cut = gray[top:bottom]
    height = band[1] - band[0]
    scale = TYPICAL_BAND / height if height > LARGEST_BAND else 1.0
    if scale != 1.0:
        size = (max(1, round(cut.shape[1] * scale)), max(1, round(cut.shape[0] * scale)))
        cut = cv2.resize(cut, size, interpolation=cv2.INTER_AREA)
    return (cut, top, scale) if is_field(cut) else None
