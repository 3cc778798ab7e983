"""Stage 3, marks: connected components → candidate digits. The writing's height, specks, marks cut
by the picture's edge, fragments of one digit merged, non-digits by shape, and the cuts of marks
that may be several digits touching (one neck cut; over-segmentation of a field's wide marks).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .base import _stroke_width

# Nothing smaller than this (pixels at work scale, and fraction of the shorter side) is a digit.
MIN_DIGIT_PX = 8
MIN_DIGIT_FRACTION = 0.02
# More candidate marks than this in one image is clutter, not writing.
MAX_DIGITS = 80
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
# Marks at least this wide (fraction of the writing's height) may hold several digits written
# touching: they are over-segmented at up to MAX_CUTS candidate cuts into candidate digits from
# MIN_SEGMENT to MAX_SEGMENT wide, and the recognizer picks the best path through them.
OVERSEGMENT_WIDTH = 0.9
MAX_CUTS = 6
MIN_SEGMENT = 0.2
MAX_SEGMENT = 1.3
# In a field, a mark may be this many times as wide as the writing is tall (digits touching in a
# row, cut by over-segmentation) ...
FIELD_MAX_WIDTH = 6.0
# ... and in a photo or camera frame this wide: a number of up to about six digits written
# touching, which the line model reads whole (`touching.py`). Wider is an object, not writing.
# (At 2.5, numbers of three or four touching digits were dropped whole from the camera's view.)
PICTURE_MAX_WIDTH = 4.5


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


def _typical_height(
    stats: np.ndarray, min_px: float, shape: tuple[int, int], max_width: float = 2.5
) -> float | None:
    """The height of the writing: the area-weighted median height of the marks that could be
    digits. Weighting by area keeps a crowd of small junk (noise, texture, specks) from
    outvoting a few real digits; marks cut by the picture's edge (the table) do not vote. Marks
    wider than a digit vote only when there is nothing else: a number whose digits all touch
    (up to `max_width` times as wide as tall: a field's amount can be one mark)."""
    img_h, img_w = shape
    x, y = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    w, h, area = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_AREA]
    inside = (x > 0) & (y > 0) & (x + w < img_w) & (y + h < img_h)
    ok = inside & (h >= min_px) & (h < 0.95 * img_h) & (area >= 0.05 * h * np.maximum(w, h * 0.15))
    narrow = w <= 1.2 * h
    ok &= narrow if (ok & narrow).any() else (w <= max_width * h)
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
