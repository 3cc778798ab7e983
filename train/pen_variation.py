"""Stroke-level variation of real pen digits: new writers made from the ones we have.

The image augmentation (`augment.py`) moves a whole digit: rotation, slant, scale, thickness.
What separates one writer's digit from another's is mostly *between* its strokes: where the bar
of a 4 or the hat of a 5 is put, how far a stroke overshoots or stops short, whether a 0 closes.
So each extra copy of a pen digit (a source's REPEAT above 1) is rendered from varied strokes,
not duplicated:

- each stroke of a multi-stroke digit gets its own small rotation, scale and shift about its own
  centre (the parts of a digit are placed independently);
- the ends of each stroke are trimmed or extended a little (overshoot, a 0 that does not close);
- a few digits get a regional style mark that the data lacks and people use: a slash through a
  0 (Ø), a bar across a 7, the flag (long up-stroke) of a European 1. Each is still the digit it
  was labelled, so the labels stay honest; validation writers are never varied.

All sizes are fractions of the digit's height, so the variation does not depend on the tablet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class PenVariation:
    stroke_rotation_deg: float = 8.0  # each stroke of a multi-stroke digit, about its centre
    stroke_scale: float = 0.10  # ± fraction
    stroke_shift: float = 0.06  # ± fraction of the digit's height, each axis
    end_change: float = 0.08  # each end trimmed or extended by up to this fraction of the height
    style_mark: float = 0.25  # chance that a 0, 7 or 1 gets its regional mark

    def to_json(self) -> dict:
        return asdict(self)


def vary(
    strokes: list[np.ndarray], label: int, rng: np.random.Generator, cfg: PenVariation
) -> list[np.ndarray]:
    """One varied copy of a digit's strokes (points (n, 2), y down)."""
    pts = np.concatenate(strokes)
    height = max(float(np.ptp(pts[:, 1])), float(np.ptp(pts[:, 0])) * 0.5, 1e-6)
    out = [np.asarray(s, dtype=np.float64)[:, :2].copy() for s in strokes]
    if len(out) > 1:
        out = [_move_stroke(s, height, rng, cfg) for s in out]
    out = [_change_ends(s, height, rng, cfg.end_change) for s in out]
    if label in STYLE_MARKS and rng.random() < cfg.style_mark:
        out = [*out, STYLE_MARKS[label](np.concatenate(out), rng)]
    return out


def _move_stroke(s: np.ndarray, height: float, rng: np.random.Generator, cfg: PenVariation) -> np.ndarray:
    theta = np.deg2rad(rng.uniform(-cfg.stroke_rotation_deg, cfg.stroke_rotation_deg))
    scale = 1.0 + rng.uniform(-cfg.stroke_scale, cfg.stroke_scale)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) * scale
    centre = s.mean(0)
    shift = rng.uniform(-cfg.stroke_shift, cfg.stroke_shift, size=2) * height
    return (s - centre) @ rot.T + centre + shift


def _change_ends(s: np.ndarray, height: float, rng: np.random.Generator, most: float) -> np.ndarray:
    """Trim or extend each end along the stroke's own direction by up to `most` x height."""
    if len(s) < 4 or most <= 0:
        return s
    for at_start in (True, False):
        change = rng.uniform(-most, most) * height
        s = s[::-1] if at_start else s
        if change < 0:
            s = _trim_end(s, -change)
        else:
            direction = s[-1] - s[max(0, len(s) - 4)]
            norm = float(np.hypot(*direction))
            if norm > 1e-9:
                s = np.vstack([s, s[-1] + direction / norm * change])
        s = s[::-1] if at_start else s
    return s


def _trim_end(s: np.ndarray, length: float) -> np.ndarray:
    """Cut `length` of arc off the end, keeping at least half the stroke."""
    seg = np.hypot(*np.diff(s, axis=0).T)
    total = float(seg.sum())
    keep_len = max(total - length, total * 0.5)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    k = int(np.searchsorted(cum, keep_len))
    if k >= len(s):
        return s
    t = (keep_len - cum[k - 1]) / max(seg[k - 1], 1e-9)
    end = s[k - 1] + (s[k] - s[k - 1]) * t
    return np.vstack([s[:k], end])


def _line(a: np.ndarray, b: np.ndarray, n: int = 8) -> np.ndarray:
    return a + (b - a) * np.linspace(0.0, 1.0, n)[:, None]


def _slashed_zero(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ø: a slash from below-left to above-right of the oval, through its middle."""
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    w, h = x1 - x0, y1 - y0
    over = rng.uniform(0.0, 0.15)
    return _line(np.array([x0 - over * w, y1 + over * h]), np.array([x1 + over * w, y0 - over * h]))


def _crossed_seven(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """7 with a bar across its stem, about mid-height."""
    (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
    w, h = x1 - x0, y1 - y0
    y = y0 + h * rng.uniform(0.45, 0.6)
    near = pts[np.abs(pts[:, 1] - y) < 0.1 * h]
    stem_x = float(np.median(near[:, 0])) if len(near) else x0 + 0.5 * w
    half = max(w, 0.3 * h) * rng.uniform(0.2, 0.35)
    tilt = rng.uniform(-0.05, 0.05) * h
    return _line(np.array([stem_x - half, y + tilt]), np.array([stem_x + half, y - tilt]))


def _flagged_one(pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """European 1: a long up-stroke from lower left to the top of the stem."""
    top = pts[int(pts[:, 1].argmin())]
    h = float(np.ptp(pts[:, 1]))
    length = h * rng.uniform(0.25, 0.45)
    angle = np.deg2rad(rng.uniform(20.0, 50.0))  # below the horizontal, to the left
    start = top + np.array([-np.cos(angle), np.sin(angle)]) * length
    return _line(start, top)


STYLE_MARKS = {0: _slashed_zero, 7: _crossed_seven, 1: _flagged_one}
