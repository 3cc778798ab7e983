"""Training images of what is *not* a digit, for the model's eleventh answer ("none").

A ten-class model must call everything a digit. Two places pay for it:

- **two digits in one box**: the stroke grouping and the camera's touching-digit cut compare a
  mark read whole with its parts read apart, and a ten-class model reads "00" squeezed into one
  box as a "0" almost as surely as it reads each half (measured: median 0.89 for touching MNIST
  validation pairs with the calibrated 2.0.0), so the whole often wins;
- **marks between digits**: the dot, comma or dash of an amount is read as a "1" or a "0".

So the model is also shown, labelled "none": two training digits of any medium side by side in
one box (touching, overlapping or nearly), prepared as the device prepares one mark; and dots,
commas and dashes drawn at random. Pieces of digits are deliberately *not* negatives: a lone
stroke of a 4 or a 5 is, to anyone, a 1. All material comes from the training part of each
source, so validation writers and images stay unseen; validation gets its own negatives made
from the validation part.
"""

from __future__ import annotations

import cv2
import numpy as np
from digitkiosk.device.mnist_prep import fit_to_mnist

NOT_A_DIGIT = 10  # the class index (the card's label "none")
# Gap between the two digits of a pair as a fraction of their height: overlapping by a third
# (digits written into each other) up to just touching. Not apart: a digit whose strokes stand a
# little apart (a 4's two strokes, a crop with a piece of its neighbour) must stay a digit; the
# first candidate, with pairs up to 0.12 apart, read those as "none" (2.1.0).
PAIR_GAP = (-0.3, 0.0)
# Size ratio of the second digit to the first, and its vertical offset (fraction of height).
PAIR_SCALE = (0.8, 1.2)
PAIR_OFFSET = 0.12
# Share of negatives that are marks (dots, commas, dashes) rather than pairs.
MARK_SHARE = 0.25


def _ink(image: np.ndarray) -> np.ndarray:
    """A 28x28 uint8 digit → its ink as float [0, 1], cropped to the ink's box."""
    f = image.astype(np.float32) / 255.0
    rows, cols = np.flatnonzero(f.max(1) > 0.1), np.flatnonzero(f.max(0) > 0.1)
    if len(rows) == 0 or len(cols) == 0:
        return f
    return f[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def squeezed_pair(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two digit images side by side as one mark, prepared as the device prepares one mark."""
    ga, gb = _ink(a), _ink(b)
    h = ga.shape[0]
    hb = max(2, round(h * rng.uniform(*PAIR_SCALE)))
    gb = cv2.resize(gb, (max(1, round(gb.shape[1] * hb / gb.shape[0])), hb), interpolation=cv2.INTER_AREA)
    # Never more overlap than half the narrower digit: a 7 drawn over most of a 1 is a 7 with
    # an extra stroke, which people do write, not two digits.
    gap = max(round(rng.uniform(*PAIR_GAP) * h), -(min(ga.shape[1], gb.shape[1]) // 2))
    offset = round(rng.uniform(-PAIR_OFFSET, PAIR_OFFSET) * h)
    xb = max(1, ga.shape[1] + gap)
    ya, yb = max(0, -offset), max(0, offset)
    canvas = np.zeros((max(ya + h, yb + hb), max(ga.shape[1], xb + gb.shape[1])), np.float32)
    canvas[ya : ya + h, : ga.shape[1]] = ga
    region = canvas[yb : yb + hb, xb : xb + gb.shape[1]]
    np.maximum(region, gb, out=region)
    return fit_to_mnist(canvas)


def mark(rng: np.random.Generator) -> np.ndarray:
    """A dot, a comma or a dash, drawn with a pen of random width, prepared as one mark."""
    size = 64
    img = np.zeros((size, size), np.uint8)
    kind = rng.integers(3)
    c = size // 2
    if kind == 0:  # dot
        rx, ry = rng.uniform(5, 12), rng.uniform(5, 12)
        cv2.ellipse(img, (c, c), (round(rx), round(ry)), rng.uniform(0, 180), 0, 360, 255, -1)
    elif kind == 1:  # comma: a dot with a tail down and to the left
        r = round(rng.uniform(5, 9))
        cv2.circle(img, (c, c), r, 255, -1)
        tail = (c - round(rng.uniform(2, 8)), c + round(rng.uniform(10, 22)))
        cv2.line(img, (c + r // 2, c), tail, 255, max(2, round(r * rng.uniform(0.5, 1.0))))
    else:  # dash, a little tilted
        half = rng.uniform(14, 28)
        tilt = rng.uniform(-0.15, 0.15) * half
        thick = max(2, round(rng.uniform(3, 8)))
        cv2.line(img, (round(c - half), round(c + tilt)), (round(c + half), round(c - tilt)), 255, thick)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    return fit_to_mnist(img.astype(np.float32) / 255.0)


def negatives(x: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` "none" images (uint8 28x28) made from the digit images `x`, with their labels."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 28, 28), np.uint8)
    for k in range(n):
        if rng.random() < MARK_SHARE:
            image = mark(rng)
        else:
            i, j = rng.integers(len(x), size=2)
            image = squeezed_pair(x[i], x[j], rng)
        out[k] = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return out, np.full(n, NOT_A_DIGIT, np.uint8)
