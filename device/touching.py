"""Numbers whose digits touch, in photos and camera frames, read whole by the line model.

Segmentation cuts a number into marks and the digit model reads each; where digits touch, a mark
holds two or three of them, and the cut rules (`FoundDigit.parts`, `segments`) either find no
cut or read the merged mark as one confident digit ("58" as an 8). The line model
(`line_reader.py`) reads a line without cutting it. So every number is read again whole: its
marks' box, with a margin, cut from the picture's gray and read by the line model, all of a
picture's numbers in one interpreter call. A number with a mark that segmentation flagged as
maybe touching, or wider than its digit usually is, or with a digit it could not read, takes the
line model's reading where it reads more digits (touching digits make segmentation read fewer),
or as many where segmentation could not read one (then segmentation's digit readings join the
members' in choosing among their readings of that many, at the line card's
`segmentation_opinion_weight`, as for a field). Any other number takes it only where the line
model finds its own reading far likelier than segmentation's (MORE_DIGITS_ODDS, SAME_COUNT_ODDS):
a "1" touching its neighbour adds too little width to be flagged ("41" read as one sure 4).
Never fewer digits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .ctc import LineChar
    from .line_reader import LineModel
    from .readings import DigitReading
    from .segment import FoundDigit

# Chosen with the camera benchmark on *training* digits (`bench_camera.py --split train`, touching
# and separate digits; README, "Touching digits in pictures"), not on its test clips.
# Margins around a number's marks, as fractions of their height: paper above and below, as on the
# fields the line model was trained on; less at the sides, where a form's box may stand close
# (with 0.25 its edge was read as a trailing "1" in about a third of 40 scenes).
MARGIN_Y = 0.2
MARGIN_X = 0.12
# An erased line counts as the box or underline of a number where it reaches this far (fraction
# of the digits' height) beyond the number's marks (`_lines_around`).
LINE_BEYOND = 0.1
# A mark at least this wide for its height may be touching digits (0.9: 81.9% of the digits of
# touching scenes, 1.0: 85.3%, 1.1: 84.4%, with the replacement rule's first form, below).
WIDE = 1.0
# ... except a mark read as a digit that is often that wide alone. Of 3,525 separate digits on the
# training clips (`tests/benchmarks/mark_widths.py`), 22-25% of the 0s, 2s and 5s are wider than
# WIDE, at most 5.5% of any other digit: for those three a mark counts as wide beyond the 99th
# percentile of their width there. On the
# training clips this kept touching digits as they were (85.56%) and took the line model's call
# off wide single digits (separate digits 99.22% -> 99.33%); limits for every digit (each one's
# 99th percentile) lost touching digits (83.06%), as touching pairs read as a sure 6 or 8 are
# narrower than 1.2.
WIDE_FOR_DIGIT = {0: 1.47, 2: 1.65, 5: 1.45}
# A number not flagged (or flagged, its digits all sure, as many as the line model reads) takes
# the line model's reading where the line model's members find it this many times as probable as
# segmentation's (each digit's best class): with more digits than segmentation read, and with as
# many. Chosen on generated scenes of *training* digits, one frame each (a scratch script; README,
# "Touching digits in pictures"): on 150 scenes of each kind, touching digits 92.24% without the
# rule, 94.45% with 100 and 1,000, separate digits 99.26% -> 99.29%; 150 more scenes of each kind
# (another seed) then read 91.61% -> 93.94% and 99.34% -> 99.01%. On all 300: 91.92% -> 94.19%,
# 99.30% -> 99.15%; with 10 and 1,000 94.55%, 99.06%; 100 and never for as many 93.24%, 99.26%.
# On the camera's training clips (100 scenes of each kind) 89.53% -> 92.58% and 99.12% -> 99.06%.
MORE_DIGITS_ODDS = 100.0
SAME_COUNT_ODDS = 1000.0


def may_hold_several(mark: FoundDigit, digit: int | None = None) -> bool:
    """A mark wider than a digit usually is, for its height (than `digit` usually is, when it is
    read as one): two digits that touch and that segmentation did not flag (it read "18" as one
    sure 8)."""
    return mark.box[2] > WIDE_FOR_DIGIT.get(digit, WIDE) * mark.box[3]


@dataclass
class Number:
    """A run of digits between spaces or line breaks, as segmentation read it."""

    start: int  # index of its first digit in the reading
    end: int  # one past its last digit
    marks: list[FoundDigit] = field(default_factory=list)
    touching: bool = False  # a mark may hold touching digits, or a digit read as none/unsure


def number_box(marks: list[FoundDigit], shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The marks' union box with the margin, clipped to the picture: (x0, y0, x1, y1)."""
    boxes = np.array([m.box for m in marks], np.float64)
    x0, y0 = boxes[:, 0].min(), boxes[:, 1].min()
    x1, y1 = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    px, py = MARGIN_X * (y1 - y0), MARGIN_Y * (y1 - y0)
    h, w = shape
    return (
        max(0, int(x0 - px)),
        max(0, int(y0 - py)),
        min(w, int(np.ceil(x1 + px))),
        min(h, int(np.ceil(y1 + py))),
    )


def _lines_around(
    lines: np.ndarray | None, marks: list[FoundDigit], box: tuple[int, int, int, int]
) -> np.ndarray | None:
    """The erased lines in a number's crop (`box`) that reach beyond its marks at the left or
    right (by more than LINE_BEYOND of their height): the box drawn around it, its underline.
    Not those within: there the erased "line" may have been the digits' own strokes (the bases
    of touching digits in a row, straight enough to pass for a line), which painted over cut
    the digits the line model is to read ("1663" read "169")."""
    if lines is None:
        return None
    import cv2

    from .segment.base import _label

    x0, y0, x1, y1 = box
    crop = lines[y0:y1, x0:x1].astype(np.uint8)
    if not crop.any():
        return None
    left = min(m.box[0] for m in marks) - x0
    right = max(m.box[0] + m.box[2] for m in marks) - x0
    beyond = LINE_BEYOND * max(m.box[3] for m in marks)
    _, labels, stats = _label(crop)
    x, w = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_WIDTH]
    keep = (x < left - beyond) | (x + w > right + beyond)
    keep[0] = False
    return keep[labels]


def without_lines(crop: np.ndarray, lines: np.ndarray | None) -> np.ndarray:
    """A number's crop with the printed lines segmentation erased (and their blurred fringe)
    painted as its paper: the line model learnt fields without a box around the writing, and
    read the side of a box drawn around a number as a trailing "1", an underline touching the
    digits as part of them."""
    if lines is None or not lines.any():
        return crop
    import cv2

    fringe = cv2.dilate(lines.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    out = crop.copy()
    out[fringe] = np.median(crop)  # most of a number's crop is paper
    return out


def reread_touching(
    model: LineModel,
    gray: np.ndarray,
    digits: list[DigitReading],
    separators: list[str],
    numbers: list[Number],
    lines: np.ndarray | None = None,
) -> tuple[list[DigitReading], list[str], set[int]]:
    """The reading (`digits`, `separators` between them) with each touching number replaced by
    what the line model reads there, where it reads any digit → (digits, separators, indices of
    the digits the line model read). `lines`: the picture's printed lines that segmentation
    erased (`Segmentation.lines`), left out of the crops."""
    from .ctc import rescored_decode
    from .line_reader import PICTURES, line_digits, prepare_line
    from .readings import Reading

    if not numbers:
        return digits, separators, set()
    crops = []
    for n in numbers:
        x0, y0, x1, y1 = number_box(n.marks, gray.shape[:2])
        printed = _lines_around(lines, n.marks, (x0, y0, x1, y1))
        crops.append((x0, y0, without_lines(gray[y0:y1, x0:x1], printed)))
    lines = [prepare_line(c) for _, _, c in crops]
    probs = model.probs(np.stack(lines), PICTURES)
    # Each digit with the separator before it: a number's replacement keeps the one before it.
    before = ["", *separators]
    weight = float(model.card.data.get("segmentation_opinion_weight", 0.0))
    replaced: dict[int, tuple[int, list[DigitReading]]] = {}  # start → (end, readings)
    for n, (x0, y0, crop), line, p in zip(numbers, crops, lines, probs, strict=True):
        chars = model.decode(p)
        if not chars:
            continue  # the line model reads nothing there: segmentation's reading stands
        cut = digits[n.start : n.end]
        unsure = any(d.digit is None for d in cut)
        if not _takes_line_reading(model, p, chars, cut, n.touching, unsure):
            continue
        if n.touching and unsure and len(chars) == len(cut) and weight > 0:
            # As many digits, one of segmentation's unsure: the digit model's reading of them joins
            # the members' in choosing among their readings of that many (`read_field` does so).
            opinion = Reading(cut).log_probability
            chars = rescored_decode(p, model.blank, len(cut), lambda s, f=opinion: weight * f(s)) or chars
        read = line_digits(chars, line, p.shape[1], crop.shape, model.card.reject_threshold)
        for r in read:
            r.box = [r.box[0] + x0, r.box[1] + y0, r.box[2], r.box[3]]
        replaced[n.start] = (n.end, read)
    out: list[tuple[str, DigitReading]] = []
    from_line: set[int] = set()
    i = 0
    while i < len(digits):
        if i in replaced:
            end, read = replaced[i]
            from_line.update(range(len(out), len(out) + len(read)))
            out += [(before[i] if k == 0 else "", r) for k, r in enumerate(read)]
            i = end
        else:
            out.append((before[i], digits[i]))
            i += 1
    return [r for _, r in out], [sep for sep, _ in out[1:]], from_line


def _takes_line_reading(
    model: LineModel,
    probs: np.ndarray,
    chars: list[LineChar],
    cut: list[DigitReading],
    touching: bool,
    unsure: bool,
) -> bool:
    """Whether a number's line-model reading (`chars`, from its (K, T, C) `probs`) replaces
    segmentation's (`cut`): never with fewer digits; with more, or as many where segmentation
    could not read one (`unsure`), when the number is flagged `touching`; otherwise only where the members
    find it MORE_DIGITS_ODDS (more digits) or SAME_COUNT_ODDS (as many) times as probable as
    segmentation's reading."""
    if len(chars) < len(cut):
        # Fewer digits than segmentation read: segmentation's. Its first form also took the line
        # model's fewer digits: on the training clips as good, on the test clips it read "442" as
        # "1" and lost 1.7 points of separate digits.
        return False
    if touching and (len(chars) > len(cut) or unsure):
        return True
    line = tuple(c.digit for c in chars)
    segmented = tuple(d.top3[0][0] for d in cut)
    if line == segmented:
        return False
    odds = MORE_DIGITS_ODDS if len(chars) > len(cut) else SAME_COUNT_ODDS
    return model.probability(probs, line) > odds * model.probability(probs, segmented)
