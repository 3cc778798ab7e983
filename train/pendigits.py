"""Real pen trajectories (UCI pendigits, JSON lines) rendered with the device's own stroke path.

Training on them teaches the model what touchscreen digits look like after *our* preparation;
only the train split is ever used for training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from digitkiosk.device.strokes import WIDTH_RATIO, Stroke, parse_strokes, strokes_to_mnist

from .errors import DataError


def load_jsonl(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pen data not found: {path}")
    rows = []
    with path.open() as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["strokes"], row["label"] = parse_strokes(row["strokes"]), int(row["label"])
            except (ValueError, KeyError, TypeError) as e:
                raise DataError(f"{path}:{n}: malformed pen record ({e})") from None
            rows.append(row)
    return rows


def render(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """→ images (N, 28, 28) uint8, labels (N,), writers (N,) as the device would prepare them."""
    images = []
    for r in rows:
        # All strokes of a record are one digit: render them together even where the splitter
        # would cut them (the model should still learn the digit).
        images.append(strokes_to_mnist(r["strokes"]))
    x = (np.stack(images) * 255.0 + 0.5).astype(np.uint8)
    return x, np.array([r["label"] for r in rows], np.uint8), np.array([r.get("writer", "") for r in rows])


# How far another hand may differ, as fractions of the digit's larger side: a smooth warp of the
# whole digit, and each stroke of a multi-stroke digit placed a little differently (the bar of a
# 4, the hat of a 5 and the stroke of a 7 are where writers differ most). Pen width varies too.
WARP = 0.05
STROKE_SHIFT = 0.04
WIDTH_RANGE = (0.75 * WIDTH_RATIO, 1.25 * WIDTH_RATIO)


def jitter(strokes: list[Stroke], rng: np.random.Generator) -> list[Stroke]:
    """The same digit as another writer might have drawn it: the trajectory smoothly warped and
    each stroke nudged. Image augmentation cannot do this: it moves all ink together."""
    points = np.concatenate(strokes)
    lo = points.min(axis=0)
    side = max(float(np.ptp(points, axis=0).max()), 1e-6)
    # One low-frequency sine per axis (at most one and a half waves across the digit).
    freq = rng.uniform(-1.5, 1.5, size=(2, 2)) * 2.0 * np.pi
    phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
    amp = rng.uniform(0.0, WARP, size=2) * side
    out = []
    for s in strokes:
        u = (s - lo) / side
        warp = amp * np.sin(u @ freq.T + phase)
        shift = rng.normal(0.0, STROKE_SHIFT, size=2) * side if len(strokes) > 1 else 0.0
        out.append(s + warp + shift)
    return out


def render_jittered(rows: list[dict], seed: int) -> np.ndarray:
    """One jittered rendering of each record (same order as `render`), with a random pen width."""
    rng = np.random.default_rng(seed)
    images = [strokes_to_mnist(jitter(r["strokes"], rng), float(rng.uniform(*WIDTH_RANGE))) for r in rows]
    return (np.stack(images) * 255.0 + 0.5).astype(np.uint8)
