"""The kiosk's logic, with no Tk in it: the ink on the canvas, undo and clear, when to run live
recognition, when to auto-clear, and what to show for a reading. The Tk view (app.py) feeds it
pointer events and draws what it returns, so all of this is tested without a display.

Coordinates are canvas pixels, y grows downwards.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from ..readings import Reading
from ..strokes import Stroke

log = logging.getLogger(__name__)

Point = tuple[float, float]

# Live recognition runs at most this often while the pen moves: often enough to feel live, rare
# enough that the worker is never queued behind itself on a small board.
LIVE_INTERVAL_S = 0.12
# Points closer than this (pixels) to the previous one add nothing to the shape; dropping them
# keeps a slow finger from piling up thousands of points.
MIN_POINT_SPACING = 1.5
# Pen width as a fraction of the screen's shorter side: a finger-like line on any screen size
# (14 px on an 800-line screen). Recognition does not depend on it: strokes are re-rendered with a
# width relative to the digit.
STROKE_WIDTH_FRACTION = 0.0175
MIN_STROKE_WIDTH = 4
# Smoothing: one drawn point per this many pixels of a curved segment, at most this many.
SMOOTH_STEP_PX = 3.0
SMOOTH_MAX_STEPS = 8


def stroke_width_for_screen(screen_width: int, screen_height: int) -> int:
    return max(MIN_STROKE_WIDTH, round(min(screen_width, screen_height) * STROKE_WIDTH_FRACTION))


def _mid(a: Point, b: Point) -> Point:
    return ((a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0)


def _quadratic(p0: Point, ctrl: Point, p1: Point) -> list[Point]:
    """Points along the quadratic Bezier p0 → p1 bent towards ctrl (p0 excluded, p1 included)."""
    length = math.dist(p0, ctrl) + math.dist(ctrl, p1)
    steps = max(1, min(SMOOTH_MAX_STEPS, math.ceil(length / SMOOTH_STEP_PX)))
    out = []
    for i in range(1, steps + 1):
        t = i / steps
        u = 1.0 - t
        out.append(
            (
                u * u * p0[0] + 2 * u * t * ctrl[0] + t * t * p1[0],
                u * u * p0[1] + 2 * u * t * ctrl[1] + t * t * p1[1],
            )
        )
    return out


@dataclass
class InkStroke:
    """A stroke as the canvas holds it while it is drawn: its id (the Tk tag undo deletes), its
    points so far and where the smoothed line on screen ends. What the recognizer reads is the
    points alone (`strokes.Stroke`, an (n, 2) array): `array()`."""

    id: int
    points: list[Point] = field(default_factory=list)
    drawn_to: Point | None = None  # where the smoothed on-screen line currently ends

    def array(self) -> Stroke:
        return np.asarray(self.points, dtype=np.float64)


class InkController:
    """Strokes on the canvas and the timing decisions around them."""

    def __init__(self, canvas_size: tuple[int, int] = (1, 1), idle_clear_s: float = 0.0) -> None:
        self.strokes: list[InkStroke] = []
        self.current: InkStroke | None = None
        self.canvas_size = canvas_size
        self.idle_clear_s = idle_clear_s
        # Bumped whenever a new stroke starts or ink is removed: a recognition result computed for
        # an older version describes ink that is no longer on the canvas, and is dropped.
        self.version = 0
        self.last_activity = 0.0
        self._last_live = -math.inf
        self._next_id = 0

    # -- pointer events -------------------------------------------------------------------------
    def inside(self, x: float, y: float) -> bool:
        w, h = self.canvas_size
        return 0 <= x < w and 0 <= y < h

    def clamp(self, x: float, y: float) -> Point:
        w, h = self.canvas_size
        return (min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0))

    def pen_down(self, x: float, y: float, now: float) -> InkStroke | None:
        """Start a stroke. Returns it (the view draws a dot), or None when outside the canvas."""
        self.last_activity = now
        if not self.inside(x, y):
            return None
        self.current = InkStroke(self._next_id, [(float(x), float(y))], (float(x), float(y)))
        self._next_id += 1
        self.strokes.append(self.current)
        self.version += 1
        self._last_live = -math.inf
        return self.current

    def pen_move(self, x: float, y: float, now: float) -> list[Point]:
        """Extend the current stroke. Returns the polyline to draw on screen: smoothed (quadratic
        through midpoints) from where the drawn line ends, so fast moves give curves, not corners.
        A stroke that leaves the canvas ends at its edge; coming back starts a new stroke."""
        self.last_activity = now
        if self.current is None:
            if self.inside(x, y):  # re-entering the canvas with the pen still down
                stroke = self.pen_down(x, y, now)
                return [stroke.points[0]] if stroke else []
            return []
        stroke = self.current
        if not self.inside(x, y):
            edge = self.clamp(x, y)
            path = self._extend(stroke, edge, final=True)
            self.current = None
            return path
        return self._extend(stroke, (float(x), float(y)), final=False)

    def pen_up(self, x: float, y: float, now: float) -> tuple[InkStroke | None, list[Point]]:
        """End the stroke. Returns (the finished stroke or None, the last bit of line to draw)."""
        self.last_activity = now
        stroke = self.current
        if stroke is None:
            return None, []
        end = (float(x), float(y)) if self.inside(x, y) else stroke.points[-1]
        path = self._extend(stroke, end, final=True)
        self.current = None
        return stroke, path

    def _extend(self, stroke: InkStroke, p: Point, final: bool) -> list[Point]:
        pts = stroke.points
        start = stroke.drawn_to if stroke.drawn_to is not None else pts[-1]
        path: list[Point] = []
        if math.dist(pts[-1], p) >= MIN_POINT_SPACING:
            pts.append(p)
            if len(pts) == 2:
                end = _mid(pts[0], pts[1])
                path = [start, end]
            else:
                end = _mid(pts[-2], pts[-1])
                path = [start, *_quadratic(start, pts[-2], end)]
            stroke.drawn_to = end
        if final and stroke.drawn_to != pts[-1]:
            # The smoothed line runs half a segment behind the pen; at the end, catch up.
            path = (path or [stroke.drawn_to or pts[-1]]) + [pts[-1]]
            stroke.drawn_to = pts[-1]
        return path

    # -- editing --------------------------------------------------------------------------------
    def undo(self, now: float) -> InkStroke | None:
        """Remove the last stroke (not while one is being drawn). Returns it, for the view."""
        self.last_activity = now
        if self.current is not None or not self.strokes:
            return None
        self.version += 1
        return self.strokes.pop()

    def clear(self, now: float) -> bool:
        """Remove all ink. Returns whether there was any."""
        self.last_activity = now
        had = bool(self.strokes)
        self.strokes.clear()
        self.current = None
        self.version += 1
        return had

    def resize(self, width: int, height: int) -> None:
        # Strokes keep their pixel coordinates: recognition does not depend on where or how big
        # the digit is, so nothing needs rescaling; new ink simply has more or less room.
        self.canvas_size = (max(1, int(width)), max(1, int(height)))

    # -- timing decisions -----------------------------------------------------------------------
    @property
    def empty(self) -> bool:
        return not self.strokes

    @property
    def drawing(self) -> bool:
        return self.current is not None

    def wants_live(self, now: float) -> bool:
        """Should a live recognition be started now? (Debounced while the pen moves.)"""
        if self.current is None or now - self._last_live < LIVE_INTERVAL_S:
            return False
        self._last_live = now
        return True

    def idle_clear_due(self, now: float) -> bool:
        return (
            self.idle_clear_s > 0
            and bool(self.strokes)
            and self.current is None
            and now - self.last_activity >= self.idle_clear_s
        )

    # -- for recognition ------------------------------------------------------------------------
    def snapshot(self) -> list[np.ndarray]:
        """The ink as (n, 2) arrays, copied so the worker thread never sees a list being extended."""
        return [s.array() for s in self.strokes if s.points]

    def stroke_lists(self) -> list[list[list[float]]]:
        """The ink as JSON-ready lists (rounded to 0.1 px), for the event log."""
        return [[[round(x, 1), round(y, 1)] for x, y in s.points] for s in self.strokes]


# -- what to show ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CanvasResult:
    """The outcome of reading the canvas.

    status: "ok" (every digit read with confidence), "unsure" (at least one digit below the
    model's reject threshold), "too_small" (a tap, a speck: nothing big enough to be a digit),
    "too_much" (more ink than a number: a scribble), "empty".
    """

    status: str
    reading: Reading | None = None
    message: str = ""


@dataclass(frozen=True)
class Presentation:
    big: str  # the digit or number, "?" when not sure, "" for an empty canvas
    caption: str  # confidence, or why there is no answer
    sure: bool
    bars: np.ndarray | None  # (10,) probabilities of the digit the bars describe
    bars_label: str
    images: list[np.ndarray]  # the 28x28 images the model saw


IDLE_PRESENTATION = Presentation("", "Write a digit or a number", False, None, "", [])


def present(result: CanvasResult, last_stroke: np.ndarray | None = None) -> Presentation:
    """What the side panel shows for a result."""
    if result.status == "empty" or result.reading is None:
        if result.status == "empty":
            return IDLE_PRESENTATION
        return Presentation("?", result.message or "Not sure", False, None, "", [])
    reading = result.reading
    digits = reading.digits
    focus = focus_digit(reading, last_stroke)
    d = digits[focus]
    label = "" if len(digits) == 1 else f"digit {focus + 1} of {len(digits)}"
    images = [x.image for x in digits]
    if not reading.sure:
        unsure = [i + 1 for i, x in enumerate(digits) if x.digit is None]
        where = "" if len(digits) == 1 else f" about digit {', '.join(map(str, unsure))}"
        best = max(digits, key=lambda x: -x.confidence if x.digit is None else -2.0)
        caption = f"Not sure{where} (maybe {best.top3[0][0]}?) - try writing it again"
        if best.not_a_digit > best.confidence:  # the model's eleventh answer, where it has one
            what = "That" if len(digits) == 1 else f"Mark {', '.join(map(str, unsure))}"
            caption = f"{what} does not look like a digit - try writing it again"
        return Presentation(reading.text, caption, False, d.probs, label, images)
    confidence = min(x.confidence for x in digits)
    return Presentation(reading.text, f"{confidence:.0%} sure", True, d.probs, label, images)


def focus_digit(reading: Reading, last_stroke: np.ndarray | None) -> int:
    """Which digit the bars describe: the one the last stroke belongs to (that is the digit the
    writer is working on), else the least confident one."""
    digits = reading.digits
    boxes = [d.box for d in digits]
    if last_stroke is not None and len(last_stroke) and all(b is not None for b in boxes):
        cx = float(np.asarray(last_stroke)[:, 0].mean())

        # Horizontal distance from the stroke to each digit (0 inside it): digits are side by side.
        def gap(i: int) -> float:
            x, _, w, _ = boxes[i]
            return max(x - cx, cx - x - w, 0.0)

        return min(range(len(digits)), key=gap)
    return min(range(len(digits)), key=lambda i: digits[i].confidence)


def prediction_record(
    result: CanvasResult, *, latency_ms: float, strokes: list, model: str, trigger: str
) -> dict:
    """The fields of the `prediction` event for a final result."""
    reading = result.reading
    if reading is None:
        return {
            "text": "?" if result.status != "empty" else "",
            "digits": [],
            "status": result.status,
            "message": result.message,
            "latency_ms": round(latency_ms, 2),
            "strokes": strokes,
            "model": model,
            "trigger": trigger,
        }
    return {
        "text": reading.text,
        "digits": [d.to_json() for d in reading.digits],
        "status": result.status,
        "latency_ms": round(latency_ms, 2),
        "recognition_ms": round(reading.latency_ms, 2),
        "strokes": strokes,
        "model": model,
        "trigger": trigger,
    }
