"""Stage 1, ink: polarity, background (shading, texture) and the threshold that tells ink from paper.

A camera frame or photo: closing on a small copy, division by the paper, noise floor + Otsu, lowered
near clear ink (`_ink`). A field cut out of a page (a cheque's amount): Sauvola's local threshold,
chosen by measurement on real scans (`_field_ink`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import _odd

# The background is estimated on a copy whose shorter side is about this many pixels.
BACKGROUND_SIDE = 120
# Strokes up to this fraction of the shorter side survive the background closing (thicker
# strokes would be taken for background and come out hollow).
BACKGROUND_KERNEL_FRACTION = 1 / 7
# Ink must stand this far (grey levels) above the paper, and above the noise, to count.
MIN_CONTRAST = 14.0
NOISE_SIGMAS = 6.0
# Near ink, a pixel is ink above this fraction of the strongest ink within this fraction of the
# picture's shorter side (15 px of a 640x480 frame, about a third of a digit there); see _ink.
LOCAL_CUT = 0.5
LOCAL_PEAK_FRACTION = 0.03
FIELD_KERNEL_FRACTION = 0.5
# A field's ink: Sauvola's threshold, k and window (fraction of the field's height) measured on
# the development-train scans (see _field_ink).
SAUVOLA_K = 0.2
SAUVOLA_WINDOW = 0.5


@dataclass
class _Ink:
    strength: np.ndarray  # uint8, ink bright, paper ~0, at work scale
    mask: np.ndarray  # uint8 0/255
    note: str  # non-empty when the picture has no usable ink (blank, dark, overexposed)


def _exposure_note(gray: np.ndarray) -> str:
    """Is the picture usable at all? Checked on a subsample, so it costs nothing."""
    step = max(1, min(gray.shape) // 120)
    sample = gray[::step, ::step]
    mean = float(sample.mean())
    std = float(sample.std())
    if mean < 20 and std < 8:
        return "too dark"
    if mean > 240 and std < 8:
        return "overexposed"
    if std < 2.0:
        return "blank image"
    return ""


def _dark_ink(small: np.ndarray) -> bool:
    """Is the ink darker than the paper?

    Ink is what stands out from the local background AND is thin. The first test uses a
    median-filtered background, which unlike closing or opening does not presume the answer;
    the second (black-hat / top-hat with a small kernel) keeps paper corners, shadow edges and
    the table around the sheet, which are wide, from outvoting thin pen strokes."""
    k = _odd(min(small.shape) * BACKGROUND_KERNEL_FRACTION * 2)
    background = cv2.medianBlur(small, k)
    d = small.astype(np.int16) - background.astype(np.int16)
    floor = max(6.0, 3.0 * 1.4826 * float(np.median(np.abs(d))))
    thin = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (_odd(min(small.shape) / 16),) * 2)
    blackhat = cv2.morphologyEx(small, cv2.MORPH_BLACKHAT, thin).astype(np.int16)
    tophat = cv2.morphologyEx(small, cv2.MORPH_TOPHAT, thin).astype(np.int16)
    dark = float(np.clip(np.minimum(-d, blackhat) - floor, 0, None).sum())
    bright = float(np.clip(np.minimum(d, tophat) - floor, 0, None).sum())
    return dark >= bright


def _ink(gray: np.ndarray, kernel_fraction: float = BACKGROUND_KERNEL_FRACTION, denoise: bool = True) -> _Ink:
    h, w = gray.shape
    note = _exposure_note(gray)
    denoised = cv2.GaussianBlur(gray, (3, 3), 0) if denoise else gray
    f = max(1, min(h, w) // BACKGROUND_SIDE)
    small = (
        cv2.resize(denoised, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA)
        if f > 1
        else denoised
    )
    dark = _dark_ink(small)
    k = _odd(min(small.shape) * kernel_fraction)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    # Closing removes dark strokes narrower than the kernel and keeps the paper, including the
    # slow gradients of uneven light and the edges of shadows: paper minus picture is the ink.
    op = cv2.MORPH_CLOSE if dark else cv2.MORPH_OPEN
    background = cv2.morphologyEx(small, op, kernel, borderType=cv2.BORDER_REPLICATE)
    # A little blur so that the upscaled background has no blocky steps.
    background = cv2.blur(background, (3, 3))
    if f > 1:
        # OpenCV's bit-exact bilinear (fixed-point, the same on every processor by design; the
        # arm64 check compares the pages): its INTER_LINEAR gave 1 grey level other values on
        # arm64 than on x86-64 in ~3% of a page's pixels, moving the ink strength. Not
        # resample.resize_u8, also exact: a whole frame costs it ~3 ms, OpenCV 0.15 ms.
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR_EXACT)
    strength = cv2.subtract(background, denoised) if dark else cv2.subtract(denoised, background)
    # Light falls on ink and paper alike, so in a shadow the ink's contrast shrinks with the
    # paper's brightness: dividing by the local background evens it out (one threshold then
    # fits the lit and the shadowed part of the sheet).
    level = float(background.mean())
    if level >= 8:
        strength = cv2.divide(strength, cv2.max(background, 0.3 * level), scale=level)
    floor, threshold = _threshold(strength)
    if threshold > floor:
        # One threshold for the whole picture sits between faint and strong ink (Otsu), so it
        # cuts a thin pen stroke that photographs faint (a hairline blurred to half its
        # contrast, in the lit part of the page) into pieces, while a thick underline or a
        # marker clears it easily. Next to ink that clears it, ink counts from a fraction of
        # that ink's local peak down to the noise floor: each stroke is cut relative to its
        # own strength. Far from such ink the threshold stays, so noise does not come in.
        k = _odd(min(h, w) * LOCAL_PEAK_FRACTION)
        peak = cv2.dilate(strength, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
        local = np.clip(peak.astype(np.float32) * LOCAL_CUT, floor, threshold)
        local[peak <= threshold] = threshold
        mask = cv2.compare(strength.astype(np.float32), local, cv2.CMP_GT)
    else:
        # (numpy, not cv2.compare: OpenCV takes the scalar for an array on a 1x1 picture)
        mask = (strength > threshold).astype(np.uint8) * 255
    return _Ink(strength, mask, note)


def _field_ink(work: np.ndarray, pad: int) -> _Ink:
    """Ink of a field (a small picture, `pad` pixels of paper added around it).

    Chosen on the development-train scans (874 cheque amounts; amounts read exactly right with
    the same later stages): the camera's threshold (noise floor + Otsu, lowered near clear ink)
    with a field-sized background 238, Otsu of the ink strength 317, the same after dividing by
    the paper 316, Sauvola k 0.1 / 0.15 / 0.2 / 0.25 / 0.34: 325 / 336 / 342 / 296 / 251 (window
    0.3 / 0.5 / 1.0 of the field's height at k 0.2: 315 / 342 / 336). Sauvola compares each pixel
    with the mean and spread of its neighbourhood, so a textured security pattern (spread
    everywhere) and grey ink on it are told apart locally, not by one cut for the whole field.
    """
    h = work.shape[0] - 2 * pad
    note = _exposure_note(work)
    blurred = cv2.GaussianBlur(work, (3, 3), 0)
    lo, median, hi = np.percentile(blurred[pad:-pad, pad:-pad], (2, 50, 98))
    if median - lo < hi - median:
        blurred = cv2.bitwise_not(blurred)  # light ink on dark paper
    # The ink strength (paper minus picture, the paper a closing wider than any stroke) is the
    # grey ink that prepare_digit keeps.
    k = _odd(FIELD_KERNEL_FRACTION * h)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    paper = cv2.morphologyEx(blurred, cv2.MORPH_CLOSE, kernel, borderType=cv2.BORDER_REPLICATE)
    strength = cv2.subtract(paper, blurred)
    g = blurred.astype(np.float32)
    window = _odd(SAUVOLA_WINDOW * h)
    mean = cv2.blur(g, (window, window))
    spread = np.sqrt(np.maximum(cv2.blur(g * g, (window, window)) - mean * mean, 0.0))
    threshold = mean * (1.0 + SAUVOLA_K * (spread / 128.0 - 1.0))
    mask = ((g < threshold) & (strength > MIN_CONTRAST)).astype(np.uint8) * 255
    return _Ink(strength, mask, note)


def _threshold(strength: np.ndarray) -> tuple[float, float]:
    """(noise floor, threshold): above the noise floor, then Otsu among what stands out: robust
    to how much ink there is."""
    sample = strength[::3, ::3]
    median = float(np.median(sample))
    mad = float(np.median(np.abs(sample.astype(np.float32) - median)))
    floor = max(MIN_CONTRAST, median + NOISE_SIGMAS * 1.4826 * max(mad, 0.5))
    candidates = sample[sample > floor]
    if candidates.size < 16:
        return floor, floor
    # Otsu among the candidates splits faint fringes from ink cores; take a point between the
    # floor and the split so that thin or faint strokes keep their body.
    otsu, _ = cv2.threshold(candidates.reshape(1, -1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return floor, max(floor, 0.5 * (floor + float(otsu)) if otsu > floor else floor)
