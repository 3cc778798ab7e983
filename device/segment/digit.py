"""Stage 5, digit preparation: one digit's ink → the (28, 28) MNIST-style input; and `single_digit`,
one digit filling a crop (`predict --single`, the trainer's real-scan digits).
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import NothingToReadError
from ..mnist_prep import fit_to_mnist
from ..resample import AREA, LINEAR, resize_sums, resize_u8
from .base import _label, _odd, _stroke_width, to_gray

# Stroke width MNIST-style: about 12% of the digit's larger side (2.5 px in the 20 px box).
STROKE_RATIO = 0.12
# Digits are rebuilt on a canvas whose larger side is this many pixels.
CANON = 56
USE_SOFT = True


def prepare_digit(mask: np.ndarray, soft: np.ndarray | None = None) -> np.ndarray:
    """A binary mask of one digit (any size, ink non-zero) → (28, 28) MNIST-style image.

    The ink is rebuilt from the mask on a canvas of fixed size with the stroke width MNIST has
    relative to the digit: a hairline pen photographed large comes out like MNIST strokes,
    instead of a faint thread. When the strokes are at least that width and `soft` (the grey
    ink strength, same shape) is given, the grey ink is used as is: it keeps the detail a
    small digit's mask loses. That includes thick strokes: MNIST has many bold digits, and
    eroding a bold 6, 8 or 0 to a thin stroke turned the blur-closed hole of its loop into a
    solid blob or a lopsided outline (read as 0, 1 or "?"), where the grey ink still shows the
    loop as a darker dip.
    """
    h, w = mask.shape
    if h == 0 or w == 0 or not mask.any():
        raise NothingToReadError("nothing to read: no ink")
    if soft is not None:
        # Thinner strokes than MNIST's would shrink to a faint thread of grey in the 20 px box
        # (a hairline "1" read as "7" or "?"): those are rebuilt below instead.
        ratio = _stroke_width((mask > 0).astype(np.uint8)) / max(h, w)
        if ratio >= STROKE_RATIO:
            near = cv2.dilate((mask > 0).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
            return fit_to_mnist(soft.astype(np.float32) * near)
    scale = CANON / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    # The mask's share of each pixel, exactly (resample.py: sums / divisor), so the cuts below
    # fall alike on every processor (a float32 resize gave 0.2 + 1 ulp on one and 0.2 on another).
    soft, divisor = resize_sums(mask > 0, (nw, nh), AREA if scale < 1 else LINEAR)
    pad = CANON // 4
    canvas = np.zeros((nh + 2 * pad, nw + 2 * pad), np.uint8)
    # A low cut keeps hairlines (area-averaged to faint grey) connected: share > 0.2.
    canvas[pad : pad + nh, pad : pad + nw] = (5 * soft > divisor).astype(np.uint8) * 255
    if not canvas.any():
        canvas[pad : pad + nh, pad : pad + nw] = (soft > 0).astype(np.uint8) * 255
    width = _stroke_width(canvas)
    side = float(max(nh, nw))
    # Growing the strokes by g grows the digit by g too: solve (width + g) / (side + g) = ratio.
    grow = (STROKE_RATIO * side - width) / (1.0 - STROKE_RATIO)
    if grow >= 1.0:
        k = 2 * round(grow / 2) + 1
        canvas = cv2.dilate(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    elif grow <= -2.0:
        # Thinner, but never so much that strokes break apart.
        k = min(2 * round(-grow / 2) + 1, 2 * int(width / 3) + 1)
        if k >= 3:
            thinner = cv2.erode(canvas, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
            if cv2.countNonZero(thinner) > 0.3 * cv2.countNonZero(canvas):
                canvas = thinner
    ink = cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), 1.0)
    return fit_to_mnist(ink)


# One digit filling a crop (`predict --single`, the trainer's ORAND digits): measured on the
# development-train part of the real cheque scans (ORAND-CAR-A, each annotated box cropped with a
# 2 px margin). The background is a closing with a kernel this fraction of the crop's longer side
# (wider than any stroke, so a stroke never counts as paper)...
SINGLE_BACKGROUND_FRACTION = 0.3
# ...ink is Otsu's split of the ink strength, and must stand this far above the paper...
SINGLE_MIN_CONTRAST = 14.0
# ...and the digit is the largest mark plus the marks at least this fraction of its area that are
# not cut by the crop's left or right side (those are the neighbours' edges a tight box holds).
SINGLE_MIN_PART = 0.1
# Crops are worked on at most this large (longer side) and at least this large (shorter side).
SINGLE_MAX_SIDE = 512
SINGLE_MIN_SIDE = 12


def single_digit(image: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """One digit filling the image (either polarity) → ((28, 28) float32, box [x, y, w, h]).

    The box is in the input image's pixels. Raises NothingToReadError when the image holds no
    ink (blank, flat, or nothing standing out from the paper), InputError for arrays that are
    no image; never anything else.
    """
    gray = to_gray(image)
    h0, w0 = gray.shape
    scale = min(1.0, SINGLE_MAX_SIDE / max(h0, w0))
    if min(h0, w0) * scale < SINGLE_MIN_SIDE:
        # A thin strip or a tiny crop: enlarged (never beyond the largest side) so that the
        # filters below have pixels to work on.
        scale = min(SINGLE_MIN_SIDE / min(h0, w0), SINGLE_MAX_SIDE / max(h0, w0))
    size = (max(1, round(w0 * scale)), max(1, round(h0 * scale)))
    # exact resampling (resample.py), the same pixels on every processor
    work = resize_u8(gray, size, AREA if scale < 1 else LINEAR) if size != (w0, h0) else gray
    strength = single_ink_strength(work)
    if strength is None:
        raise NothingToReadError("nothing to read: blank image")
    mask = single_ink_mask(strength)
    if mask is None:
        raise NothingToReadError("nothing to read: no ink")
    piece = single_digit_mark(mask)
    ys, xs = np.nonzero(piece)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    # The grey ink of the digit's marks (and the fringe one pixel around them): the grey keeps
    # what a small digit's mask loses.
    near = cv2.dilate(piece.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    image28 = fit_to_mnist(strength.astype(np.float32) * near)
    box = [round(v / scale, 1) for v in (x0, y0, x1 - x0, y1 - y0)]
    return image28, box


def single_ink_strength(gray: np.ndarray) -> np.ndarray | None:
    """A crop holding one digit → ink strength (uint8, ink bright, paper ~0), or None if flat.

    Polarity: the paper is most of a crop, so the median is paper and the ink lies on the side
    of it with the longer tail. The paper (texture, shading) is a closing with a kernel wider
    than any stroke; ink is what lies below it."""
    if float(gray.std()) < 2.0:
        return None
    blurred = cv2.GaussianBlur(gray, (3, 3), 0) if min(gray.shape) >= 16 else gray
    lo, median, hi = np.percentile(blurred, (2, 50, 98))
    if median - lo < hi - median:
        blurred = cv2.bitwise_not(blurred)  # light ink on dark paper
    k = _odd(SINGLE_BACKGROUND_FRACTION * max(blurred.shape))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    paper = cv2.morphologyEx(blurred, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    return cv2.subtract(paper, blurred)


def single_ink_mask(strength: np.ndarray) -> np.ndarray | None:
    """Ink strength → the ink mask (bool), or None when nothing stands out from the paper."""
    _, mask = cv2.threshold(strength, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = mask > 0
    if np.count_nonzero(ink) < 3 or ink.all():
        return None
    contrast = float(strength[ink].mean()) - float(strength[~ink].mean())
    return ink if contrast >= SINGLE_MIN_CONTRAST else None


def single_digit_mark(mask: np.ndarray) -> np.ndarray:
    """The ink mask of a crop → the digit's pixels (bool): the largest mark, and the marks of at
    least SINGLE_MIN_PART of its area not cut by the crop's left or right side (a 5's hat, a
    broken stroke; not the edge of a neighbouring digit that a tight box also holds)."""
    n, labels, stats = _label(mask.astype(np.uint8))
    x, w, area = stats[1:n, cv2.CC_STAT_LEFT], stats[1:n, cv2.CC_STAT_WIDTH], stats[1:n, cv2.CC_STAT_AREA]
    side = (x == 0) | (x + w == mask.shape[1])
    main = int(np.argmax(area))
    keep = (area >= SINGLE_MIN_PART * area[main]) & ~side
    keep[main] = True
    return np.concatenate([[False], keep])[labels]
