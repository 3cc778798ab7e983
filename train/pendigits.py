"""Real pen trajectories (UCI pendigits, JSON lines) rendered with the device's own stroke path.

Training on them teaches the model what touchscreen digits look like after *our* preparation;
only the train split is ever used for training.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from digitkiosk.device.errors import InputError
from digitkiosk.device.strokes import parse_strokes, strokes_to_mnist

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
            except (ValueError, KeyError, TypeError, InputError) as e:
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
