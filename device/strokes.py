"""Pen strokes → MNIST-style 28x28 digits.

Strokes are lists of [x, y] points in screen coordinates (y grows downwards, any scale; extra
per-point values such as time or pressure are ignored). Several digits written side by side are
split into digits by grouping strokes that overlap horizontally, then read left to right.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .errors import InputError, NothingToReadError
from .mnist_prep import BOX, fit_to_mnist

Stroke = np.ndarray  # (n, 2) float64 array of x, y

# Stroke width as a fraction of the digit's larger side. MNIST strokes are ~2.3 px wide in the
# 20 px box; a width relative to the digit (not to the screen) makes a thin stylus and a fat
# finger give the same image. Calibrated against MNIST ink statistics (see train/calibrate.py).
WIDTH_RATIO = 0.145
# Rendering is supersampled, then reduced with area averaging: that is the anti-aliasing.
SUPERSAMPLE = 4
# Two strokes belong to the same digit when their horizontal extents overlap by at least this
# fraction of the narrower one (the hat of a 5, the bar of a 4, the stroke of a 7), or when the
# narrower one's centre lies inside the other's extent.
OVERLAP_FRACTION = 0.5
# Strokes narrower than this fraction of the writing's height count as that wide when comparing
# overlaps, so a vertical "1" stroke is not swallowed by every neighbour it touches.
MIN_WIDTH_FRACTION = 0.15
# Groups closer than this (fraction of the writing's height) are candidates for one digit when
# they are misaligned vertically or one is a mere fragment.
NEAR_GAP = 0.3
MISALIGNMENT = 0.5
FRAGMENT_HEIGHT = 0.35
MAX_POINTS = 100_000
MAX_STROKES = 200


def parse_strokes(raw: object) -> list[Stroke]:
    """Validate JSON-like strokes and return them as float arrays. Raises InputError."""
    if not isinstance(raw, list):
        raise InputError("'strokes' must be a list of strokes")
    strokes: list[Stroke] = []
    total = 0
    for i, stroke in enumerate(raw):
        if not isinstance(stroke, list):
            raise InputError(f"stroke {i} must be a list of [x, y] points")
        points = []
        for j, p in enumerate(stroke):
            if (
                not isinstance(p, (list, tuple))
                or len(p) < 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p[:2])
            ):
                raise InputError(f"stroke {i} point {j} must be [x, y, ...] with numbers")
            points.append((float(p[0]), float(p[1])))
        total += len(points)
        if total > MAX_POINTS:
            raise InputError(f"too many points (more than {MAX_POINTS})")
        if len(strokes) >= MAX_STROKES:
            raise InputError(f"too many strokes (more than {MAX_STROKES})")
        if points:
            arr = np.asarray(points, dtype=np.float64)
            if not np.isfinite(arr).all():
                raise InputError(f"stroke {i} has a non-finite coordinate")
            strokes.append(arr)
    return strokes


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    def as_list(self) -> list[float]:
        """[x, y, width, height], the form the JSON outputs use."""
        return [round(self.x0, 2), round(self.y0, 2), round(self.width, 2), round(self.height, 2)]


def bounding_box(strokes: Iterable[Stroke]) -> Box:
    pts = np.concatenate(list(strokes), axis=0)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return Box(float(x0), float(y0), float(x1), float(y1))


def split_digits(strokes: Sequence[Stroke]) -> list[list[Stroke]]:
    """Group strokes into digits, ordered left to right.

    Agglomerative: the pair of groups that overlaps most is merged first, so the hat of a 5 joins
    its own body before it could be mistaken for part of the neighbouring digit.
    """
    if not strokes:
        return []
    height = max(bounding_box(strokes).height, 1e-9)
    groups = [_Group.of([s]) for s in strokes]
    while len(groups) > 1:
        best: tuple[float, int, int] | None = None
        for i, gi in enumerate(groups):
            for j in range(i + 1, len(groups)):
                gj = groups[j]
                a, b = (gi.box, gj.box) if gi.box.x0 <= gj.box.x0 else (gj.box, gi.box)
                if _same_digit(a, b, height):
                    score = _overlap(a, b) / max(min(a.width, b.width), MIN_WIDTH_FRACTION * height)
                    if best is None or score > best[0]:
                        best = (score, i, j)
        if best is None:
            break
        _, i, j = best
        merged = _Group.of(groups[i].strokes + groups[j].strokes)
        groups = [g for k, g in enumerate(groups) if k not in (i, j)] + [merged]
    groups.sort(key=lambda g: g.box.x0)
    return [g.strokes for g in groups]


def _overlap(a: Box, b: Box) -> float:
    """Horizontal overlap of two boxes; negative is the gap between them."""
    return min(a.x1, b.x1) - max(a.x0, b.x0)


@dataclass(frozen=True)
class _Group:
    strokes: list[Stroke]
    box: Box

    @staticmethod
    def of(strokes: list[Stroke]) -> _Group:
        return _Group(strokes, bounding_box(strokes))


def _same_digit(a: Box, b: Box, height: float) -> bool:
    """Do two neighbouring stroke groups (a left of b) belong to one digit?"""
    min_width = MIN_WIDTH_FRACTION * height
    wa, wb = max(a.width, min_width), max(b.width, min_width)
    overlap = _overlap(a, b)
    if overlap >= OVERLAP_FRACTION * min(wa, wb):
        return True
    narrow, wide = (b, a) if wb <= wa else (a, b)
    if wide.x0 <= (narrow.x0 + narrow.x1) / 2 <= wide.x1:
        return True
    if -overlap > NEAR_GAP * height:
        return False  # clearly apart: two digits
    # Close together. Digits written side by side share a top and a bottom line; the parts of
    # one digit (the hat of a 5, the bar of a 4 written to the right of its "L") do not, and a
    # fragment far shorter than the writing is no digit of its own.
    misalignment = (abs(a.y0 - b.y0) + abs(a.y1 - b.y1)) / height
    return misalignment > MISALIGNMENT or min(a.height, b.height) < FRAGMENT_HEIGHT * height


def render_ink(strokes: Sequence[Stroke], width_ratio: float = WIDTH_RATIO) -> np.ndarray:
    """Draw one digit's strokes as white ink on black, supersampled, the digit's larger side
    spanning BOX * SUPERSAMPLE pixels. Returns a float32 array (not yet MNIST-fitted)."""
    box = bounding_box(strokes)
    side = max(box.width, box.height)
    if side <= 0.0:
        raise NothingToReadError("nothing to read: a single tap is not a digit")
    target = BOX * SUPERSAMPLE
    scale = target / side
    width = max(1.0, width_ratio * target)
    margin = int(np.ceil(width))
    size = (
        int(np.ceil(box.width * scale)) + 2 * margin + 1,
        int(np.ceil(box.height * scale)) + 2 * margin + 1,
    )
    img = Image.new("L", size, 0)
    draw = ImageDraw.Draw(img)
    r = width / 2
    for s in strokes:
        pts = [((x - box.x0) * scale + margin, (y - box.y0) * scale + margin) for x, y in s]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=round(width), joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img, dtype=np.float32) / 255.0


def strokes_to_mnist(strokes: Sequence[Stroke], width_ratio: float = WIDTH_RATIO) -> np.ndarray:
    """One digit's strokes → (28, 28) float32 in [0, 1], prepared the MNIST way."""
    return fit_to_mnist(render_ink(strokes, width_ratio))


def naive_canvas_resize(strokes: Sequence[Stroke], canvas: tuple[float, float, float, float]) -> np.ndarray:
    """The seed approach, kept only as a baseline for measurements: draw on the whole canvas with a
    fixed pen and resize the canvas to 28x28, no crop, no aspect fit, no centring."""
    x0, y0, w, h = canvas
    scale = 280.0 / max(w, h)
    img = Image.new("L", (280, 280), 0)
    draw = ImageDraw.Draw(img)
    for s in strokes:
        pts = [((x - x0) * scale, (y - y0) * scale) for x, y in s]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=18, joint="curve")
        else:
            (x, y) = pts[0]
            draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=255)
    return np.asarray(img.resize((28, 28), Image.BILINEAR), dtype=np.float32) / 255.0
