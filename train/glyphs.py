"""Real handwritten digits to write synthetic pages with: MNIST images and real pen trajectories
(pendigits), by label, as ink; and each digit as the device reads it without a camera."""

from __future__ import annotations

from typing import Any

import numpy as np
from digitkiosk.device.mnist_prep import fit_to_mnist
from digitkiosk.device.strokes import parse_strokes, render_ink, strokes_to_mnist


class GlyphBank:
    """Real digits by label, as ink alpha images (float32, ink 1, paper 0, cropped to the ink)."""

    def __init__(
        self,
        mnist: tuple[np.ndarray, np.ndarray] | None = None,
        pen: list[dict] | None = None,
        pen_width_ratio: float = 0.06,
    ) -> None:
        self._by_label: dict[int, list] = {d: [] for d in range(10)}
        if mnist is not None:
            images, labels = mnist
            for img, lab in zip(images, labels, strict=True):
                self._by_label[int(lab)].append(("mnist", img))
        if pen is not None:
            for rec in pen:
                # Records as in the JSON lines, or with strokes already parsed (pendigits.load_jsonl).
                strokes = rec["strokes"]
                parsed = strokes if strokes and isinstance(strokes[0], np.ndarray) else parse_strokes(strokes)
                self._by_label[int(rec["label"])].append(("pen", parsed))
        self.pen_width_ratio = pen_width_ratio

    def pick(self, label: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[str, Any]]:
        """A random digit of this label → (its ink alpha for a page, and the digit itself:
        ("mnist", image) or ("pen", strokes), for read_directly)."""
        source = self._by_label[label][rng.integers(len(self._by_label[label]))]
        kind, data = source
        if kind == "mnist":
            a = data.astype(np.float32) / 255.0
        else:
            # A thin pen: the stroke width photographs as a hairline relative to the digit.
            a = render_ink(data, width_ratio=self.pen_width_ratio)
        rows, cols = np.flatnonzero(a.max(axis=1) > 0.1), np.flatnonzero(a.max(axis=0) > 0.1)
        return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], source


def read_directly(source: tuple[str, Any]) -> np.ndarray:
    """The 28x28 image a digit (GlyphBank.pick) gives read without a camera: the MNIST image
    prepared as it is, the pen strokes as the kiosk renders them."""
    kind, data = source
    return fit_to_mnist(data.astype(np.float32) / 255.0) if kind == "mnist" else strokes_to_mnist(data)
