"""Pen strokes → a fixed-length trajectory: the input of the stroke model (`stroke_reader.py`).

The image model sees the ink; the stroke model sees how it was written: the order of the strokes,
their direction and where the pen was lifted. The two make different mistakes on writers neither
has seen (a slashed zero, a 1 with a long up-stroke look like other digits, but are written
differently), so the pen path averages them.

The trajectory: the strokes in the order they were written, centred on their box and scaled by its
larger side (the digit's shape, not its size or place), resampled to `POINTS` points spaced evenly
along the ink (a stroke gets a share of the points by its length, at least two), each point with
its position, the step to the next point of its stroke (zero at a stroke's end) and a flag on the
first point of every stroke. Time and pressure, which tablets report differently, are not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import NothingToReadError

POINTS = 64
FEATURES = 5  # x, y, dx, dy, stroke start
# A stroke's step to the next point is scaled up to a range like the positions' (a step is about
# 1/POINTS of the ink's length), so int8 quantization keeps its resolution.
STEP_SCALE = 8.0


def trajectory(strokes: Sequence[np.ndarray]) -> np.ndarray:
    """Strokes ((n, 2) arrays in time order, any scale, y down) → (POINTS, FEATURES) float32.

    NothingToReadError when there are no points."""
    strokes = [np.asarray(s, dtype=np.float64)[:, :2] for s in strokes if len(s)]
    if not strokes:
        raise NothingToReadError("nothing to read: no points")
    pts = np.concatenate(strokes)
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    scale = max(float((hi - lo).max()), 1e-9)
    centre = (lo + hi) / 2.0
    strokes = [(s - centre) / scale for s in strokes]
    lengths = np.array([_length(s) for s in strokes])
    counts = _share(lengths, len(strokes))
    out = np.zeros((POINTS, FEATURES), dtype=np.float32)
    at = 0
    for s, n in zip(strokes, counts, strict=True):
        if n == 0:  # strokes beyond the first POINTS of a scribble
            break
        p = _resample(s, n)
        out[at : at + n, :2] = p
        if n > 1:
            out[at : at + n - 1, 2:4] = np.diff(p, axis=0) * STEP_SCALE
        out[at, 4] = 1.0
        at += n
    return out


def trajectories(groups: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
    """Several digits' strokes → (N, POINTS, FEATURES) float32."""
    return np.stack([trajectory(g) for g in groups]).astype(np.float32)


def _length(stroke: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(stroke, axis=0), axis=1).sum()) if len(stroke) > 1 else 0.0


def _share(lengths: np.ndarray, strokes: int) -> list[int]:
    """Points per stroke: by length, at least 2 each (1 each when there are more strokes than
    POINTS / 2, which no digit has), summing to POINTS."""
    least = 2 if strokes * 2 <= POINTS else 1
    if strokes > POINTS:  # a scribble of more strokes than points: the first POINTS, one each
        return [1] * POINTS + [0] * (strokes - POINTS)
    spare = POINTS - least * strokes
    total = float(lengths.sum())
    weights = lengths / total if total > 0 else np.full(strokes, 1.0 / strokes)
    extra = np.floor(weights * spare).astype(int)
    # The points left by rounding go to the strokes with the largest remainders.
    for i in np.argsort(-(weights * spare - extra), kind="stable")[: spare - int(extra.sum())]:
        extra[i] += 1
    return [least + int(e) for e in extra]


def _resample(stroke: np.ndarray, n: int) -> np.ndarray:
    """`n` points evenly spaced along a stroke's length (its first and last point kept)."""
    if n <= 0:
        return np.zeros((0, 2))
    if len(stroke) == 1 or _length(stroke) == 0.0:
        return np.repeat(stroke[:1], n, axis=0)
    seg = np.linalg.norm(np.diff(stroke, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(seg)])
    at = np.linspace(0.0, along[-1], n)
    return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)
