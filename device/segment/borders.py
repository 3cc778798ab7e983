"""Stage 2, lines and borders: box frames, underlines, ruled lines and a field's printed baseline
erased from the ink mask, the line only (a digit standing on it keeps its foot).
"""

from __future__ import annotations

import cv2
import numpy as np

from .base import _label, _odd, _stroke_width

# Relative to the typical digit height (h): a horizontal run longer than this is a line, unless
# it is the base or top of one digit (the base of a wide "2" reaches 1.5 h; see _digit_stroke).
# Short enough for the underline of a two-digit number, which otherwise joins its digits...
HLINE_LENGTH = 1.2
# ...and so is a vertical run longer than this (box sides; a tall "1" stays shorter).
VLINE_LENGTH = 1.6
# A field's printed lines: horizontal runs longer than FIELD_LINE_HEIGHT x its height x
# HLINE_LENGTH and than FIELD_LINE_WIDTH of its width (not the tops of a row of touching zeros).
FIELD_LINE_HEIGHT = 0.8
FIELD_LINE_WIDTH = 0.5


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
