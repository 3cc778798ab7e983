"""Stage 4, layout: digits grouped into text lines (top to bottom), ordered left to right."""

from __future__ import annotations

import numpy as np

from .marks import _Blob

# A gap wider than this (fraction of the line's digit height) separates two numbers.
WORD_GAP = 0.75
# A mark less tall than this fraction of its line's median digit height is small (FoundDigit.small).
SMALL_MARK = 0.7


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
