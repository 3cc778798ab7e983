"""Image → digits: the segmentation shared by `digitkiosk predict` and the camera.

One code path for photos, scans and camera frames:

1. grayscale, light denoise, work on a downscaled copy when the image is large;
2. ink polarity (dark on light or light on dark) from a polarity-neutral local background;
3. background by morphological closing (opening for light ink) on a small copy, so uneven light
   and soft shadows are subtracted out; threshold the difference above the noise floor, and
   next to ink relative to that ink's own strength (faint thin strokes stay whole);
4. connected components: specks dropped, long straight lines (underlines, box borders) erased
   (the line only: not the base of a wide 2, not the digit touching it), fragments of one digit
   merged (the hat of a 5, a broken stroke), and a mark that may be digits touching each other
   offered cut as well (the recognizer keeps the cut only if the whole reads as no digit);
5. digits grouped into lines (top to bottom), ordered left to right, gaps turned into separators;
6. each digit's grey ink (or, for hairline strokes, its mask rebuilt at a canonical size with an
   MNIST-like stroke width) prepared by `mnist_prep.fit_to_mnist` (the one MNIST recipe).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np

from .errors import InputError, NothingToReadError
from .mnist_prep import fit_to_mnist

log = logging.getLogger(__name__)

# Images are segmented at most this large (longer side); a 640x480 camera frame is used as is.
WORK_MAX_SIDE = 1024
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
# Nothing smaller than this (pixels at work scale, and fraction of the shorter side) is a digit.
MIN_DIGIT_PX = 8
MIN_DIGIT_FRACTION = 0.02
# More candidate marks than this in one image is clutter, not writing.
MAX_DIGITS = 80
# Relative to the typical digit height (h): a horizontal run longer than this is a line, unless
# it is the base or top of one digit (the base of a wide "2" reaches 1.5 h; see _digit_stroke).
# Short enough for the underline of a two-digit number, which otherwise joins its digits...
HLINE_LENGTH = 1.2
# ...and so is a vertical run longer than this (box sides; a tall "1" stays shorter).
VLINE_LENGTH = 1.6
# Fragments: pieces merged into one digit when stacked closer than this (fraction of h)...
STACK_GAP = 0.35
# ...or when a piece shorter than FRAGMENT_HEIGHT lies within FRAGMENT_GAP of another.
FRAGMENT_HEIGHT = 0.5
FRAGMENT_GAP = 0.2
# ...or when side by side closer than NEAR_GAP with tops and bottoms MISALIGNED (sum, fraction of h).
NEAR_GAP = 0.1
MISALIGNMENT = 0.35
# A merged digit is never taller than this (fraction of h): it stops two text lines merging.
MAX_MERGED_HEIGHT = 1.6
# A digit is at least this tall (fraction of h); specks smaller than SPECK on both sides go.
MIN_HEIGHT = 0.45
SPECK = 0.18
# Marks within this distance (fraction of h) of a large mass at the picture's edge are dropped.
EDGE_MASS_GAP = 0.2
# A mark whose mean ink strength is below this fraction of the picture's typical ink is noise.
FAINT = 0.6
# A mark may be two touching digits when it is at least SPLIT_ASPECT as wide as tall and its
# thinnest column in the middle is one stroke (at most SPLIT_NECK stroke widths of ink) with at
# least SPLIT_HALF_HEIGHT of its height standing on each side.
SPLIT_ASPECT = 0.75
SPLIT_NECK = 2.0
SPLIT_HALF_HEIGHT = 0.6
# A gap wider than this (fraction of the line's digit height) separates two numbers.
WORD_GAP = 0.75
# Stroke width MNIST-style: about 12% of the digit's larger side (2.5 px in the 20 px box).
STROKE_RATIO = 0.12
# Digits are rebuilt on a canvas whose larger side is this many pixels.
CANON = 56
USE_SOFT = True
# A mark less tall than this fraction of its line's median digit height is small (FoundDigit.small).
SMALL_MARK = 0.7
# Marks at least this wide (fraction of the writing's height) may hold several digits written
# touching: they are over-segmented at up to MAX_CUTS candidate cuts into candidate digits from
# MIN_SEGMENT to MAX_SEGMENT wide, and the recognizer picks the best path through them.
OVERSEGMENT_WIDTH = 0.9
MAX_CUTS = 6
MIN_SEGMENT = 0.2
MAX_SEGMENT = 1.3
# A small picture is a field cut out of a page (a cheque's amount box): paper of this fraction of
# its height is added around it, so that the digits touching its edges are not taken for marks
# cut by the edge of the view.
FIELD_PAD = 0.25
# Pictures whose shorter side is at most this (pixels) are fields.
FIELD_MAX_SIDE = 160
# In a field, a mark may be this many times as wide as the writing is tall (digits touching in a
# row, cut by over-segmentation); elsewhere such a mark is an object, not writing.
FIELD_MAX_WIDTH = 6.0
FIELD_KERNEL_FRACTION = 0.5
# A field's ink: Sauvola's threshold, k and window (fraction of the field's height) measured on
# the development-train scans (see _field_ink).
SAUVOLA_K = 0.2
SAUVOLA_WINDOW = 0.5
# A field's printed lines: horizontal runs longer than FIELD_LINE_HEIGHT x its height x
# HLINE_LENGTH and than FIELD_LINE_WIDTH of its width (not the tops of a row of touching zeros).
FIELD_LINE_HEIGHT = 0.8
FIELD_LINE_WIDTH = 0.5


@dataclass
class FoundDigit:
    image: np.ndarray  # (28, 28) float32 in [0, 1], prepared the MNIST way (mnist_prep.fit_to_mnist)
    box: list[float]  # [x, y, width, height] in the input image's pixel coordinates
    line: int = 0  # text line index, top to bottom
    # When the mark may be digits written so close that they touch ("88"): the two sides of its
    # thinnest column (each may be cut again). Only reading tells (Recognizer.read_segmentation).
    parts: list[FoundDigit] = field(default_factory=list)
    # When the mark is wide enough to hold several digits: the candidate digits between its
    # candidate cuts, keyed by (from, to) cut index (0 = its left edge, `cuts` = its right
    # edge). The recognizer reads them all in one batch and takes the best path (read_segmentation).
    segments: dict[tuple[int, int], FoundDigit] = field(default_factory=dict)
    cuts: int = 0
    # Much smaller than the digits of its line: maybe a mark that is no digit (a comma, a dash,
    # a fragment), kept only if it reads clearly as a digit (read_segmentation).
    small: bool = False


@dataclass
class Segmentation:
    digits: list[FoundDigit]  # lines top to bottom, left to right within a line
    separators: list[str] = field(default_factory=list)  # len(digits)-1: "", " " or "\n"
    mask: np.ndarray | None = None  # the thresholded ink mask (for the camera's threshold view)
    # Why nothing was found, for a status line: "blank image", "too dark", "overexposed",
    # "no digits found", "too cluttered". Empty when digits were found.
    note: str = ""

    @property
    def layout(self) -> str:
        """The digits' arrangement with each digit as "d" ("dd d\nddd"); "" when none."""
        return "d" + "".join(sep + "d" for sep in self.separators) if self.digits else ""


def to_gray(image: np.ndarray) -> np.ndarray:
    """Gray (H, W) or BGR/BGRA (H, W, 3|4) → gray uint8. Raises InputError on anything else."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = cv2.cvtColor(_as_uint8(a), cv2.COLOR_BGR2GRAY if a.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif a.ndim != 2:
        raise InputError(f"expected a gray or BGR image, got an array of shape {a.shape}")
    a = _as_uint8(a)
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError("the image is empty (0 pixels)")
    return np.ascontiguousarray(a)


def _as_uint8(a: np.ndarray) -> np.ndarray:
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.floating):
        # Floats in [0, 1] (as the trainer uses) or in [0, 255].
        top = 1.0 if a.size and float(np.nanmax(a)) <= 1.0 else 255.0
        return np.clip(np.nan_to_num(a) * (255.0 / top), 0, 255).astype(np.uint8)
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        top = float(a.max()) if a.size else 0.0
        return (a.astype(np.float32) * (255.0 / top)).astype(np.uint8) if top > 255 else a.astype(np.uint8)
    raise InputError(f"unsupported image data type {a.dtype}")


# ---------------------------------------------------------------------------------------------
# Ink: polarity, background, threshold


@dataclass
class _Ink:
    strength: np.ndarray  # uint8, ink bright, paper ~0, at work scale
    mask: np.ndarray  # uint8 0/255
    note: str  # non-empty when the picture has no usable ink (blank, dark, overexposed)


def _odd(n: float) -> int:
    n = max(3, round(n))
    return n if n % 2 else n + 1


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
        background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
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


# ---------------------------------------------------------------------------------------------
# Components → digits


@dataclass
class _Blob:
    x0: int
    y0: int
    x1: int  # exclusive
    y1: int
    area: int
    ids: list[int]

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    def union(self, other: _Blob) -> _Blob:
        return _Blob(
            min(self.x0, other.x0),
            min(self.y0, other.y0),
            max(self.x1, other.x1),
            max(self.y1, other.y1),
            self.area + other.area,
            self.ids + other.ids,
        )


def _label(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components: (count with the background, labels, stats). Grana's algorithm
    gives the same labels as the default but computes the statistics about 3x faster."""
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_GRANA)
    return n, labels, stats


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n, labels, stats = _label(mask)
    return labels, stats[1:n]  # row i is label i + 1


def _typical_height(stats: np.ndarray, min_px: float, shape: tuple[int, int]) -> float | None:
    """The height of the writing: the area-weighted median height of the marks that could be
    digits. Weighting by area keeps a crowd of small junk (noise, texture, specks) from
    outvoting a few real digits; marks cut by the picture's edge (the table) do not vote. Marks
    wider than a digit vote only when there is nothing else: a number whose digits all touch."""
    img_h, img_w = shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    inside = (x > 0) & (y > 0) & (x + w < img_w) & (y + h < img_h)
    ok = inside & (h >= min_px) & (h < 0.95 * img_h) & (area >= 0.05 * h * np.maximum(w, h * 0.15))
    narrow = w <= 1.2 * h
    ok &= narrow if (ok & narrow).any() else (w <= 2.5 * h)
    # A box drawn around a number is no writing: thin digits weigh little, so a box (a big,
    # long outline) could outweigh them and make the writing look as tall as the box, which is
    # then kept whole as a "digit" with the marks inside. A box holds other marks inside it.
    idx = np.flatnonzero(ok)
    if len(idx) > 1:
        x0, y0, x1, y1 = x[idx], y[idx], x[idx] + w[idx], y[idx] + h[idx]
        holds = (
            (x0[None, :] > x0[:, None])
            & (y0[None, :] > y0[:, None])
            & (x1[None, :] < x1[:, None])
            & (y1[None, :] < y1[:, None])
            & (h[idx][None, :] >= 0.3 * h[idx][:, None])
        )
        ok[idx[holds.any(axis=1)]] = False
    if not ok.any():
        return None
    heights, weights = h[ok], area[ok].astype(np.float64)
    order = np.argsort(heights)
    cumulative = np.cumsum(weights[order])
    return float(heights[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _erase_frames(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, typical: float) -> bool:
    """Box borders drawn around numbers (forms, meter cards) erased from `mask` in place.

    A frame is a wide, sparse component whose outer contour is a convex quadrilateral; its
    outline is traced along the real (perspective-skewed) sides, which straight morphological
    kernels miss, and digits touching it from inside survive as residue."""
    erased = False
    for i, (x, y, w, h, area) in enumerate(stats):
        if w < HLINE_LENGTH * typical or h < 0.8 * typical or area > 0.35 * w * h:
            continue
        piece = (labels[y : y + h, x : x + w] == i + 1).astype(np.uint8)
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        outline = max(contours, key=cv2.contourArea)
        quad = cv2.approxPolyDP(outline, 0.03 * cv2.arcLength(outline, True), True)
        if len(quad) != 4 or not cv2.isContourConvex(quad) or cv2.contourArea(quad) < 0.6 * w * h:
            continue
        thickness = _stroke_width(piece)
        cv2.drawContours(mask, [quad + np.array([x, y], np.int32)], -1, 0, thickness=round(2 * thickness) + 3)
        erased = True
    return erased


def _remove_lines(mask: np.ndarray, typical: float, masses: np.ndarray) -> bool:
    """Long straight runs (underlines, ruled lines, what is left of borders) erased from `mask`
    in place. Returns whether there were any. Erased runs cut by the picture's edge (the table
    beside the sheet) are marked in `masses` (same shape as `mask`)."""
    hk = max(3, round(HLINE_LENGTH * typical))
    vk = max(3, round(VLINE_LENGTH * typical))
    # Thickening across the line's direction first lets a slightly slanted line (perspective, a
    # hand-drawn underline) keep a long straight run; the digits only get thicker, not longer.
    t = _odd(0.12 * typical)
    across = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (1, t)))
    horizontal = cv2.morphologyEx(across, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (hk, 1)))
    across = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_RECT, (t, 1)))
    vertical = cv2.morphologyEx(across, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, vk)))
    found = False
    for bands, is_horizontal in ((horizontal, True), (vertical, False)):
        if bands.any():
            found = _erase_bands(mask, bands, typical, is_horizontal, masses) or found
    return found


def _erase_bands(
    mask: np.ndarray, bands: np.ndarray, typical: float, horizontal: bool, masses: np.ndarray
) -> bool:
    """Erase the line inside each band, and only the line. Returns whether any was erased.

    A band (a thickened long run) also covers the ink of a digit written just above an underline
    or touching it: erasing the whole band cut the foot off a 2 or an 8. A drawn line is
    straight (perspective keeps it so), so each band's ink is fitted with a robust straight line
    and only the ink within the line's own half-width (plus the blurred fringe) goes. What is
    not thin like a drawn line (the table or the sheet's edge at the picture's border) goes
    whole, band and fringe; what is the base or top of one digit (a wide 2, a 7) stays."""
    h, w = mask.shape
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    # Labelled on the part of the picture that has bands only (usually a small strip).
    rx, ry, rw, rh = cv2.boundingRect(bands)
    rx0, ry0 = max(0, rx - 2), max(0, ry - 2)
    n, labels, stats = _label(bands[ry0 : min(h, ry + rh + 2), rx0 : min(w, rx + rw + 2)])
    erased = False
    for i in range(1, n):
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        x, y = x + rx0, y + ry0
        x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(w, x + bw + 2), min(h, y + bh + 2)
        band = labels[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] == i
        at_edge = x == 0 or y == 0 or x + bw == w or y + bh == h
        if horizontal and not at_edge and _digit_stroke(mask, band, (x0, y0), typical):
            continue
        erased = True
        ys, xs = np.nonzero(band & (mask[y0:y1, x0:x1] > 0))
        if at_edge:
            # The table beside the sheet, the sheet's edge: a mass cut by the picture's edge.
            # What the band misses of it (the staircase of a slanted side) is no writing
            # either: it is remembered as a mass to keep away from (_blobs). By its pixels,
            # not its box: an L-shaped band along two sides of the picture has a box that
            # covers the whole page.
            _erase_whole(mask[y0:y1, x0:x1], band, grow)
            masses[y0:y1, x0:x1][band] = 1
            continue
        if len(xs) < 2:
            _erase_whole(mask[y0:y1, x0:x1], band, grow)
            continue
        pts = np.column_stack([xs, ys]).astype(np.float32)
        vx, vy, cx, cy = (float(v) for v in cv2.fitLine(pts, cv2.DIST_HUBER, 0, 0.01, 0.01).ravel())
        # Distances across a line of width L are spread evenly over [0, L/2]: twice the median
        # is its half-width, which the ink of a digit in a minority of the band hardly moves.
        half = 2.0 * float(np.median(np.abs((pts[:, 0] - cx) * -vy + (pts[:, 1] - cy) * vx))) + 1.5
        if half > 0.25 * typical:
            _erase_whole(mask[y0:y1, x0:x1], band, grow)
            continue
        gy, gx = np.mgrid[0 : y1 - y0, 0 : x1 - x0].astype(np.float32)
        across = np.abs((gx - cx) * -vy + (gy - cy) * vx)
        along = (gx - cx) * vx + (gy - cy) * vy
        ends = (pts[:, 0] - cx) * vx + (pts[:, 1] - cy) * vy
        line = (across <= half) & (along >= ends.min() - 2) & (along <= ends.max() + 2)
        mask[y0:y1, x0:x1][line] = 0
    return erased


def _erase_whole(mask: np.ndarray, band: np.ndarray, grow: np.ndarray) -> None:
    # Widened a little: the edge of a photographed mass is not straight, and its fringe would
    # stay behind as specks.
    mask[cv2.dilate(band.astype(np.uint8), grow) > 0] = 0


def _digit_stroke(mask: np.ndarray, band: np.ndarray, origin: tuple[int, int], typical: float) -> bool:
    """Is this horizontal band the base or top stroke of one digit (a wide 2, a 7) rather than
    a line?

    Take the band away and look at the marks beside it: an underline, a ruled line or the side
    of a box runs along several digits (a number), while the base of a 2 has just the rest of
    that 2 on it, joined to it and spanning a good part of its length, or reaching one end of it:
    the stem of a 7 with a long bar, the curve of a 2 with a long base. A line runs on past the
    ends of what stands on it."""
    h = mask.shape[0]
    x0, y0 = origin
    bh, bw = band.shape
    reach = round(typical)
    ry0, ry1 = max(0, y0 - reach), min(h, y0 + bh + reach)
    region = mask[ry0:ry1, x0 : x0 + bw].copy()
    where = np.zeros(region.shape, np.uint8)
    where[y0 - ry0 : y0 - ry0 + bh] = band
    region[where > 0] = 0
    n, labels, stats = _label(region)
    marks = [j for j in range(1, n) if stats[j, cv2.CC_STAT_HEIGHT] >= 0.4 * typical]
    if len(marks) != 1:
        return False
    j = marks[0]
    near = cv2.dilate(where, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))) > 0
    if not (labels[near] == j).any():
        return False
    left, width = int(stats[j, cv2.CC_STAT_LEFT]), int(stats[j, cv2.CC_STAT_WIDTH])
    at_end = min(left, bw - (left + width)) <= max(2.0, 0.05 * bw)
    return width >= 0.4 * bw or at_end


def _keep_away(
    labels: np.ndarray, is_mass: np.ndarray, typical: float, erased: np.ndarray | None
) -> np.ndarray | None:
    """Where no writing is taken from: the pixels of the large marks cut by the picture's edge
    (`is_mass`, one flag per row of the stats: the table around the sheet, the sheet's edge, a
    hand) and of those that line removal erased (`erased`, or None), widened by EDGE_MASS_GAP
    digit heights. None if there are none.

    By their pixels, not their boxes: the box of an L-shaped mass along two sides of the
    picture covers the whole page."""
    found = erased if erased is not None and erased.any() else None
    if is_mass.any():
        # Row i of `stats` is label i + 1; label 0 (the background) is no mass.
        masses = np.concatenate([[0], is_mass]).astype(np.uint8)[labels]
        found = masses if found is None else cv2.bitwise_or(masses, found)
    if found is None:
        return None
    k = 2 * round(EDGE_MASS_GAP * typical) + 1
    return cv2.dilate(found, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))


def _blobs(
    labels: np.ndarray, stats: np.ndarray, typical: float, erased: np.ndarray | None, max_width: float = 2.5
) -> list[_Blob]:
    """Candidate marks, without specks, marks cut by the picture's edge or near a large mass
    there, or marks far bigger than writing. `erased`: the pixels of such masses that line
    removal erased (or None)."""
    img_h, img_w = labels.shape
    x, y, w, h = (stats[:, k] for k in range(4))
    at_edge = (x == 0) | (y == 0) | (x + w == img_w) | (y + h == img_h)
    # The slivers that the threshold leaves beside a large mass at the edge are no writing either.
    keep_away = _keep_away(labels, at_edge & (np.maximum(w, h) >= 1.5 * typical), typical, erased)
    out = []
    for i, (x, y, w, h, area) in enumerate(stats):
        if w < SPECK * typical and h < SPECK * typical:
            continue  # a speck (dust, noise, a stray dot)
        if at_edge[i]:
            continue  # cut by the picture's edge: a partial digit would be misread
        if keep_away is not None and keep_away[y : y + h, x : x + w].any():
            continue
        if w > max_width * typical or h > 2.5 * typical:
            continue  # far bigger than writing: an object, a frame, the paper's edge
        out.append(_Blob(int(x), int(y), int(x + w), int(y + h), int(area), [i + 1]))
    return out


def _same_digit(a: _Blob, b: _Blob, typical: float) -> bool:
    merged_h = max(a.y1, b.y1) - min(a.y0, b.y0)
    merged_w = max(a.x1, b.x1) - min(a.x0, b.x0)
    if merged_h > MAX_MERGED_HEIGHT * typical or merged_w > 1.3 * typical:
        return False
    overlap_x = min(a.x1, b.x1) - max(a.x0, b.x0)
    gap_y = max(a.y0, b.y0) - min(a.y1, b.y1)
    narrow = max(min(a.w, b.w), 0.2 * typical)
    if overlap_x >= 0.5 * narrow and gap_y < STACK_GAP * typical:
        return True  # stacked pieces: the hat of a 5, a 4 broken in two
    gap = max(-overlap_x, gap_y, 0)
    if min(a.h, b.h) < FRAGMENT_HEIGHT * typical:
        return gap < FRAGMENT_GAP * typical  # a small piece right beside a digit
    # Side by side and (nearly) touching: digits of a number share a top and a bottom line, the
    # parts of one digit (a 4 written as "L" and "|") do not.
    misalignment = (abs(a.y0 - b.y0) + abs(a.y1 - b.y1)) / typical
    return -overlap_x < NEAR_GAP * typical and misalignment > MISALIGNMENT and merged_w < 0.9 * typical


def _merge_fragments(blobs: list[_Blob], typical: float) -> list[_Blob]:
    merged = True
    while merged and len(blobs) > 1:
        merged = False
        blobs.sort(key=lambda b: b.x0)
        for i in range(len(blobs)):
            for j in range(i + 1, len(blobs)):
                if blobs[j].x0 > blobs[i].x1 + FRAGMENT_GAP * typical:
                    break  # sorted by x0: nothing further right can touch blob i
                if _same_digit(blobs[i], blobs[j], typical):
                    blobs[i] = blobs[i].union(blobs[j])
                    del blobs[j]
                    merged = True
                    break
            if merged:
                break
    return blobs


def _is_digit(b: _Blob, typical: float, min_px: float, max_width: float = 3.0) -> bool:
    if b.h < max(min_px, MIN_HEIGHT * typical) or b.h > MAX_MERGED_HEIGHT * typical:
        return False
    if b.w > max_width * b.h:
        return False  # a dash or what is left of a line
    fill = b.area / float(b.w * b.h)
    # A solid blob (a thumb, a hole punch) is no digit; a "1" is solid but tall and thin.
    return not (fill > 0.75 and b.h < 2.0 * b.w)


def _touching_cut(
    b: _Blob, piece: np.ndarray, soft: np.ndarray, typical: float
) -> list[tuple[_Blob, np.ndarray, np.ndarray]]:
    """The two digits a mark holds if it is two touching digits, or [] when it cannot be.

    Digits written close together touch often on real forms ("00", "88"), and one 28x28 image
    of two digits reads as neither. Two touching digits meet in a one-stroke neck with a
    full-height digit on each side. Many single digits have such a column too (the bar of an
    open 4, the base of a U-shaped 0), so this only proposes the cut: the recognizer keeps it
    when the whole reads as no digit and both sides read clearly."""
    h, w = piece.shape
    if w < SPLIT_ASPECT * h or h < MIN_HEIGHT * typical or w < 8:
        return []
    ink = piece > 0
    cols = ink.sum(axis=0)
    middle = np.arange(int(0.25 * w), int(np.ceil(0.75 * w)))
    # The thinnest column, and of those the nearest to the centre.
    c = int(middle[np.lexsort((np.abs(middle - (w - 1) / 2), cols[middle]))[0]])
    column = ink[:, c].astype(np.int8)
    runs = np.count_nonzero(np.diff(column) == 1) + column[0]
    if runs != 1 or cols[c] > SPLIT_NECK * _stroke_width(piece):
        return []
    parts = []
    for x0, x1 in ((0, c), (c, w)):
        cx, r0, cw, ch = cv2.boundingRect(piece[:, x0:x1])  # the side's ink; (0, 0, 0, 0) if none
        if ch < SPLIT_HALF_HEIGHT * h:
            return []
        r1, c0, c1 = r0 + ch, x0 + cx, x0 + cx + cw
        sub = piece[r0:r1, c0:c1]
        part = _Blob(b.x0 + c0, b.y0 + r0, b.x0 + c1, b.y0 + r1, int(np.count_nonzero(sub)), b.ids)
        parts.append((part, sub, soft[r0:r1, c0:c1]))
    return parts


def _lines(blobs: list[_Blob]) -> list[list[_Blob]]:
    """Group digits into text lines. Scanning left to right and following each line's last
    digit copes with lines that slope (a sheet held at an angle)."""
    lines: list[list[_Blob]] = []
    for b in sorted(blobs, key=lambda b: b.x0):
        best, best_overlap = None, 0.0
        for line in lines:
            last = line[-1]
            overlap = min(last.y1, b.y1) - max(last.y0, b.y0)
            frac = overlap / max(1, min(last.h, b.h))
            if frac >= 0.5 and frac > best_overlap:
                best, best_overlap = line, frac
        if best is None:
            lines.append([b])
        else:
            best.append(b)
    lines.sort(key=lambda line: float(np.median([(b.y0 + b.y1) / 2 for b in line])))
    return lines


# ---------------------------------------------------------------------------------------------
# One digit → 28x28


def _stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width of a binary mask: area over half the perimeter (boundary pixels)."""
    area = cv2.countNonZero(mask)
    if area == 0:
        return 0.0
    inner = cv2.countNonZero(cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))))
    return 2.0 * area / max(1, area - inner)


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
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    soft = cv2.resize((mask > 0).astype(np.float32), (nw, nh), interpolation=interpolation)
    pad = CANON // 4
    canvas = np.zeros((nh + 2 * pad, nw + 2 * pad), np.uint8)
    # A low cut keeps hairlines (area-averaged to faint grey) connected.
    canvas[pad : pad + nh, pad : pad + nw] = (soft > 0.2).astype(np.uint8) * 255
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


# ---------------------------------------------------------------------------------------------
# Public API


def find_digits(image: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> Segmentation:
    """Every digit in a photo, scan or camera frame (gray or BGR uint8), in reading order.

    `roi` = (x, y, width, height) limits the search to part of the image; boxes are still in
    the whole image's coordinates. A blank, black or overexposed picture gives no digits (and a
    `note` saying why), never a guess.
    """
    gray = to_gray(image)
    full_h, full_w = gray.shape
    ox, oy = 0, 0
    if roi is not None:
        x, y, w, h = (int(v) for v in roi)
        x0, y0 = max(0, x), max(0, y)
        x1, y1 = min(full_w, x + w), min(full_h, y + h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            raise InputError(f"the region of interest {list(roi)} lies outside the {full_w}x{full_h} image")
        gray, ox, oy = gray[y0:y1, x0:x1], x0, y0
    h0, w0 = gray.shape
    scale = min(1.0, WORK_MAX_SIDE / max(h0, w0))
    work = (
        gray
        if scale == 1.0
        else cv2.resize(gray, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
    )
    pad = _field_padding(work.shape)
    if pad:
        # A field cut out of a form or cheque: its writing reaches the picture's edges, where
        # the picture is cut, not the writing. On paper added around it nothing is cut by the
        # edge any more.
        paper = int(np.median(work))
        work = cv2.copyMakeBorder(work, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=paper)
        ink = _field_ink(work, pad)
        ink.mask = ink.mask[pad:-pad, pad:-pad]
        full_mask = _mask_in_input(ink.mask, (full_h, full_w), (ox, oy), (w0, h0))
        ink.mask = cv2.copyMakeBorder(ink.mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        ox, oy = ox - pad / scale, oy - pad / scale
    else:
        ink = _ink(work)
        full_mask = _mask_in_input(ink.mask, (full_h, full_w), (ox, oy), (w0, h0))
    if ink.note:
        return Segmentation([], [], full_mask, ink.note)

    wh, ww = work.shape
    min_px = max(MIN_DIGIT_PX, MIN_DIGIT_FRACTION * min(wh, ww))
    mask = ink.mask
    if pad:
        # The printed lines of a field (the baseline the amount is written on, the box) run
        # along the whole field and join its digits into one mark: they go first, measured
        # against the field's height (the writing's height is not known while they join it).
        mask = mask.copy()
        field_h, field_w = wh - 2 * pad, ww - 2 * pad
        along = max(FIELD_LINE_HEIGHT * field_h, FIELD_LINE_WIDTH * field_w / HLINE_LENGTH)
        _remove_lines(mask, along, np.zeros(mask.shape, np.uint8))
    labels, stats = _components(mask)
    typical = _typical_height(stats, min_px, mask.shape)
    if typical is None:
        return Segmentation([], [], full_mask, "no digits found")
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    erased = None
    if (widths > HLINE_LENGTH * typical).any() or (heights > VLINE_LENGTH * typical).any():
        mask = mask.copy()  # the threshold view keeps showing what was thresholded
        changed = _erase_frames(mask, labels, stats, typical)
        erased = np.zeros(mask.shape, np.uint8)
        changed = _remove_lines(mask, typical, erased) or changed
        if changed:
            labels, stats = _components(mask)
            typical = _typical_height(stats, min_px, mask.shape)
            if typical is None:
                return Segmentation([], [], full_mask, "no digits found")
    blobs = _blobs(labels, stats, typical, erased, FIELD_MAX_WIDTH if pad else 2.5)
    if len(blobs) > 4 * MAX_DIGITS:
        return Segmentation([], [], full_mask, "too cluttered")
    wide = FIELD_MAX_WIDTH if pad else 3.0
    blobs = [b for b in _merge_fragments(blobs, typical) if _is_digit(b, typical, min_px, wide)]
    if len(blobs) > MAX_DIGITS:
        return Segmentation([], [], full_mask, "too cluttered")
    # Marks made of noise (the grain of a table, a texture) barely clear the threshold; written
    # ink has a core well above it. Compared with the marks' median, as most marks are writing.
    pieces: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    strengths: dict[int, float] = {}
    for b in blobs:
        crop = labels[b.y0 : b.y1, b.x0 : b.x1]
        piece = np.isin(crop, b.ids) if len(b.ids) > 1 else crop == b.ids[0]
        soft = ink.strength[b.y0 : b.y1, b.x0 : b.x1]
        pieces[id(b)] = (piece.astype(np.uint8) * 255, soft)
        strengths[id(b)] = float(soft[piece].mean())
    ink_level = float(np.median(list(strengths.values()))) if strengths else 0.0
    pieces = {k: v for k, v in pieces.items() if strengths[k] >= FAINT * ink_level}
    blobs = [b for b in blobs if id(b) in pieces]
    if not blobs:
        return Segmentation([], [], full_mask, "no digits found")

    digits: list[FoundDigit] = []
    separators: list[str] = []
    for n, line in enumerate(_lines(blobs)):
        line_h = float(np.median([b.h for b in line]))
        for i, b in enumerate(line):
            piece, soft = pieces[id(b)]
            digit = _found(b, piece, soft, typical, n, (ox, oy), scale, field=pad > 0)
            digit.small = pad > 0 and b.h < SMALL_MARK * line_h
            if digits:
                if i == 0:
                    separators.append("\n")
                else:
                    gap = b.x0 - line[i - 1].x1
                    separators.append(" " if gap > WORD_GAP * line_h else "")
            digits.append(digit)
    return Segmentation(digits, separators, full_mask)


def _found(
    b: _Blob,
    piece: np.ndarray,
    soft: np.ndarray,
    typical: float,
    line: int,
    origin: tuple[int, int],
    scale: float,
    field: bool = False,
) -> FoundDigit:
    """A mark at work scale → a FoundDigit (box in the input image's coordinates), with the
    digits it holds if it is touching digits (each of which may be touching digits again)."""
    ox, oy = origin
    box = [round(v, 1) for v in (ox + b.x0 / scale, oy + b.y0 / scale, b.w / scale, b.h / scale)]
    parts = [_found(*part, typical, line, origin, scale) for part in _touching_cut(b, piece, soft, typical)]
    digit = FoundDigit(prepare_digit(piece, soft if USE_SOFT else None), box, line, parts)
    if field and b.w >= OVERSEGMENT_WIDTH * typical:
        nodes = _candidate_cuts(piece, typical)
        for i, j in _segment_spans(nodes, typical):
            sub, sub_soft = piece[:, nodes[i] : nodes[j]], soft[:, nodes[i] : nodes[j]]
            _, r0, _, rh = cv2.boundingRect(sub)
            if rh < MIN_HEIGHT * typical:
                continue
            seg_box = [
                round(v, 1)
                for v in (
                    ox + (b.x0 + nodes[i]) / scale,
                    oy + (b.y0 + r0) / scale,
                    (nodes[j] - nodes[i]) / scale,
                    rh / scale,
                )
            ]
            image = prepare_digit(sub[r0 : r0 + rh], sub_soft[r0 : r0 + rh] if USE_SOFT else None)
            digit.segments[(i, j)] = FoundDigit(image, seg_box, line)
        digit.cuts = len(nodes) - 1
    return digit


def _candidate_cuts(piece: np.ndarray, typical: float) -> list[int]:
    """Where a wide mark may be cut into digits: its left edge, the columns where its ink is
    thinnest (local minima of the ink per column, at least a narrow digit from either end and
    from each other, the thinnest MAX_CUTS of them), its right edge."""
    w = piece.shape[1]
    cols = np.convolve((piece > 0).sum(axis=0).astype(np.float32), np.ones(3) / 3, mode="same")
    margin = max(2, round(MIN_SEGMENT * typical))
    inner = np.arange(margin, w - margin)
    if len(inner) == 0:
        return [0, w]
    minima = [c for c in inner if cols[c] <= cols[c - 1] and cols[c] <= cols[c + 1]]
    chosen: list[int] = []
    for c in sorted(minima, key=lambda c: (cols[c], abs(c - w / 2))):
        if all(abs(c - o) >= margin for o in chosen):
            chosen.append(int(c))
        if len(chosen) == MAX_CUTS:
            break
    return [0, *sorted(chosen), w]


def _segment_spans(nodes: list[int], typical: float) -> list[tuple[int, int]]:
    """The (from, to) cut pairs whose span could be one digit (not the whole mark)."""
    n = len(nodes) - 1
    return [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n + 1)
        if (i, j) != (0, n) and MIN_SEGMENT * typical <= nodes[j] - nodes[i] <= MAX_SEGMENT * typical
    ]


def _field_padding(shape: tuple[int, int]) -> int:
    """Paper to add around a picture that is a field cut out of a page (pixels; 0 for none).

    A field (the amount box of a cheque, a cell of a form) is a small picture little taller
    than its writing, whose digits reach its edges: no view of a scene is that small."""
    h, w = shape
    if min(h, w) < 4 or min(h, w) > FIELD_MAX_SIDE:
        return 0
    return max(4, round(FIELD_PAD * h))


def _mask_in_input(
    mask: np.ndarray, full_shape: tuple[int, int], origin: tuple[int, int], size: tuple[int, int]
) -> np.ndarray:
    """The work-scale mask placed in the input image's coordinates (zeros outside the ROI)."""
    w0, h0 = size
    if mask.shape != (h0, w0):
        mask = cv2.resize(mask, (w0, h0), interpolation=cv2.INTER_NEAREST)
    if (h0, w0) == full_shape:
        return mask
    out = np.zeros(full_shape, np.uint8)
    ox, oy = origin
    out[oy : oy + h0, ox : ox + w0] = mask
    return out


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
    if size != (w0, h0):
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        work = cv2.resize(gray, size, interpolation=interpolation)
    else:
        work = gray
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
