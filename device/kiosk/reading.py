"""Reading the kiosk canvas: `Recognizer.read_strokes` plus the guards a public canvas needs.

A tap or a speck is not a digit, however confident the model would be about the blob it becomes
once scaled up to 20x20 (the MNIST recipe scales every mark to the same size). So marks smaller
than a fraction of the canvas are answered "too small", never guessed; specks beside real digits
are never read as digits of their own (`read_strokes(min_side=...)`: joined to a digit or
dropped); and a canvas full of scribble is refused before it costs seconds of grouping.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ..errors import NothingToReadError
from ..recognizer import Recognizer
from ..strokes import bounding_box
from .controller import CanvasResult

log = logging.getLogger(__name__)

# A digit's larger side must be at least this fraction of the canvas's shorter side (about 25 px
# on an 800-line screen): smaller is a tap, a dot or a smudge, not something a person wrote to be
# read. Even small handwriting on a kiosk canvas is several times larger.
MIN_MARK_FRACTION = 0.04
MIN_MARK_PX = 12.0
# More strokes than any number a person writes on a kiosk; grouping cost grows fast with them.
MAX_STROKES = 60
MAX_POINTS = 50_000
MAX_DIGITS = 12


def min_mark_size(canvas_size: tuple[int, int]) -> float:
    return max(MIN_MARK_PX, MIN_MARK_FRACTION * min(canvas_size))


def read_canvas(
    recognizer: Recognizer, strokes: Sequence[np.ndarray], canvas_size: tuple[int, int]
) -> CanvasResult:
    """Strokes in canvas pixels → what the kiosk should answer. Never raises for bad ink."""
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        return CanvasResult("empty")
    if len(strokes) > MAX_STROKES or sum(len(s) for s in strokes) > MAX_POINTS:
        return CanvasResult("too_much", message="Too much ink - press Clear and write one number")
    min_side = min_mark_size(canvas_size)
    box = bounding_box(strokes)
    if max(box.width, box.height) < min_side:
        return CanvasResult("too_small", message="Too small - write bigger")
    try:
        reading = recognizer.read_strokes(strokes, min_side=min_side)
    except NothingToReadError:  # every mark a speck
        return CanvasResult("too_small", message="Too small - write bigger")
    if len(reading.digits) > MAX_DIGITS:
        return CanvasResult("too_much", message="Too many marks - press Clear and write one number")
    return CanvasResult("ok" if reading.sure else "unsure", reading)
