"""The stages put together: `find_digits`, image → digits in reading order."""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import InputError
from .base import FoundDigit, Segmentation, _components, to_gray
from .borders import (
    FIELD_LINE_HEIGHT,
    FIELD_LINE_WIDTH,
    HLINE_LENGTH,
    VLINE_LENGTH,
    _erase_frames,
    _remove_lines,
)
from .digit import USE_SOFT, prepare_digit
from .ink import _field_ink, _ink
from .layout import SMALL_MARK, WORD_GAP, _lines
from .marks import (
    FAINT,
    FIELD_MAX_WIDTH,
    MAX_DIGITS,
    MIN_DIGIT_FRACTION,
    MIN_DIGIT_PX,
    MIN_HEIGHT,
    OVERSEGMENT_WIDTH,
    PICTURE_MAX_WIDTH,
    _Blob,
    _blobs,
    _candidate_cuts,
    _is_digit,
    _merge_fragments,
    _segment_spans,
    _touching_cut,
    _typical_height,
)

# Images are segmented at most this large (longer side); a 640x480 camera frame is used as is.
WORK_MAX_SIDE = 1024
# A small picture is a field cut out of a page (a cheque's amount box): paper of this fraction of
# its height is added around it, so that the digits touching its edges are not taken for marks
# cut by the edge of the view.
FIELD_PAD = 0.25
# Pictures whose shorter side is at most this (pixels) are fields.
FIELD_MAX_SIDE = 160


def find_digits(image: np.ndarray, roi: tuple[int, int, int, int] | None = None) -> Segmentation:
    """Every digit in a photo, scan or camera frame (gray or BGR uint8), in reading order.

    `roi` = (x, y, width, height) limits the search to part of the image; boxes are still in
    the whole image's coordinates. A blank, black or overexposed picture gives no digits (and a
    `note` saying why), never a guess.
    """
    gray = whole = to_gray(image)
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
    at = (ox, oy)  # where the searched part lies in the input (ox, oy move by a field's padding)
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
        full_mask = _mask_in_input(ink.mask, (full_h, full_w), at, (w0, h0))
        ink.mask = cv2.copyMakeBorder(ink.mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        ox, oy = ox - pad / scale, oy - pad / scale
    else:
        ink = _ink(work)
        full_mask = _mask_in_input(ink.mask, (full_h, full_w), at, (w0, h0))
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
    typical = _typical_height(stats, min_px, mask.shape, FIELD_MAX_WIDTH if pad else 2.5)
    if typical is None:
        return Segmentation([], [], full_mask, "no digits found")
    widths, heights = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    erased = None
    lines = None  # the ink that was printed lines, erased
    if (widths > HLINE_LENGTH * typical).any() or (heights > VLINE_LENGTH * typical).any():
        mask = mask.copy()  # the threshold view keeps showing what was thresholded
        changed = _erase_frames(mask, labels, stats, typical)
        erased = np.zeros(mask.shape, np.uint8)
        changed = _remove_lines(mask, typical, erased) or changed
        if changed:
            lines = (ink.mask > 0) & (mask == 0)
            labels, stats = _components(mask)
            typical = _typical_height(stats, min_px, mask.shape, FIELD_MAX_WIDTH if pad else 2.5)
            if typical is None:
                return Segmentation([], [], full_mask, "no digits found")
    blobs = _blobs(labels, stats, typical, erased, FIELD_MAX_WIDTH if pad else PICTURE_MAX_WIDTH)
    if len(blobs) > 4 * MAX_DIGITS:
        return Segmentation([], [], full_mask, "too cluttered")
    wide = FIELD_MAX_WIDTH if pad else PICTURE_MAX_WIDTH
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
    if lines is not None:
        # In the input's pixels, as the threshold view's mask: without a field's padding.
        lines = lines[pad : lines.shape[0] - pad, pad : lines.shape[1] - pad]
        lines = _mask_in_input(lines.astype(np.uint8), (full_h, full_w), at, (w0, h0)) > 0
    return Segmentation(digits, separators, full_mask, gray=whole, lines=lines)


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
