"""Reading the kiosk canvas: `Recognizer.read_strokes` plus the guards a public canvas needs.

A tap or a speck is not a digit, however confident the model would be about the blob it becomes
once scaled up to 20x20 (the MNIST recipe scales every mark to the same size). So marks smaller
than a fraction of the canvas are answered "too small", never guessed; specks beside real digits
are ignored; and a canvas full of scribble is refused before it costs seconds of grouping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from ..errors import NothingToReadError
from ..recognizer import Reading, Recognizer
from ..strokes import bounding_box, split_digits, strokes_to_mnist
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
    # Specks beside real digits (a stray tap) are dropped rather than read as a digit of their own.
    groups = [g for g in split_digits(strokes) if _side(g) >= min_side]
    if not groups:
        return CanvasResult("too_small", message="Too small - write bigger")
    if len(groups) > MAX_DIGITS:
        return CanvasResult("too_much", message="Too many marks - press Clear and write one number")
    try:
        reading = _classify(recognizer, groups)
    except NothingToReadError as e:
        return CanvasResult("too_small", message=str(e))
    return CanvasResult("ok" if reading.sure else "unsure", reading)


def _side(group: list[np.ndarray]) -> float:
    b = bounding_box(group)
    return max(b.width, b.height)


def _classify(recognizer: Recognizer, groups: list[list[np.ndarray]]) -> Reading:
    """What `Recognizer.read_strokes` does, for groups already split and filtered."""
    t0 = time.perf_counter()
    images = np.stack([strokes_to_mnist(g) for g in groups])
    boxes = [bounding_box(g).as_list() for g in groups]
    digits = recognizer.classify(images, boxes)
    return Reading(digits, (time.perf_counter() - t0) * 1000.0)
