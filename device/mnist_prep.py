"""The MNIST recipe, shared by strokes, photos, the camera and the trainer.

MNIST digits were cropped to their ink, scaled to fit a 20x20 box keeping the aspect ratio
(anti-aliased), then placed in a 28x28 field so that their centre of mass sits at the centre,
white ink on black. A model trained on MNIST only works on live input prepared the same way,
so every input path ends in `fit_to_mnist`.
"""

from __future__ import annotations

import numpy as np

from .errors import NothingToReadError
from .resample import AREA, LINEAR, unit_levels

#: Identifier written into model cards: the preparation a model expects. Bump on any change here.
#: (Not bumped for the exact integer resampling: the same area / bilinear resampling as OpenCV's,
#: within one grey level of it, with the bundled models' readings measured unchanged: README.)
PREP_ID = "mnist-fit20-com28-v1"

SIDE = 28
BOX = 20
# MNIST's centre of mass sits at pixel index (14.0, 14.0) (measured over the training set), and the
# spread around it (std 0.29 px) is that of integer shifts, so we shift by whole pixels as well.
CENTRE = 14
# Pixels fainter than this (relative to the brightest) do not count as ink when cropping, so that
# anti-aliasing fringes and faint noise do not inflate the box.
INK_FLOOR = 0.1


def fit_to_mnist(ink: np.ndarray) -> np.ndarray:
    """Prepare one digit the MNIST way.

    `ink` is a 2-D array of any numeric dtype and scale with the digit as bright ink on a dark
    background. Returns a float32 (28, 28) image in [0, 1].
    Raises NothingToReadError if there is no ink.
    """
    a = np.asarray(ink, dtype=np.float32)
    if a.ndim != 2:
        raise ValueError(f"expected a 2-D ink image, got shape {a.shape}")
    peak = float(a.max()) if a.size else 0.0
    if not peak > 0.0:
        raise NothingToReadError("nothing to read: no ink")
    a = np.clip(a / peak, 0.0, 1.0)
    mask = a > INK_FLOOR
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    a = a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    h, w = a.shape
    scale = BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    # OpenCV's INTER_AREA / INTER_LINEAR, computed exactly (resample.py): cv2.resize's float32
    # results differed in the last bit on arm64 and x86-64, moving a pixel across an int8 step.
    # The result is whole grey levels, as the model's int8 input is.
    levels = unit_levels(a, (nw, nh), AREA if scale < 1.0 else LINEAR)
    mass = int(levels.sum())
    if mass == 0:  # ink so thin and sparse that it averages to nothing in the 20 px box
        raise NothingToReadError("nothing to read: no ink")
    # The centre of mass in whole numbers, rounded as Python rounds (halves to even): exact.
    top = _round_half_even(CENTRE * mass - int(levels.sum(axis=1) @ np.arange(nh)), mass)
    left = _round_half_even(CENTRE * mass - int(levels.sum(axis=0) @ np.arange(nw)), mass)
    small = (levels / 255.0).astype(np.float32)
    out = np.zeros((SIDE, SIDE), np.float32)
    # Paste with clipping: a lopsided digit may poke past the border, as it does in MNIST.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + nh, SIDE), min(left + nw, SIDE)
    if y1 > y0 and x1 > x0:
        out[y0:y1, x0:x1] = small[y0 - top : y1 - top, x0 - left : x1 - left]
    return np.clip(out, 0.0, 1.0)


def _round_half_even(num: int, den: int) -> int:
    """num / den (den > 0) rounded to the nearest whole number, halves to even, in integers."""
    q, r = divmod(num, den)
    return q + (2 * r > den or (2 * r == den and q % 2 == 1))
