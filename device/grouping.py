"""Recognition-driven stroke grouping: which strokes make one digit is decided by reading them.

`split_digits`' geometric rules alone split a 4 written as two strokes ("?1", "61") and two thirds
of the 0s written as two arcs whose ends overshoot. Here the rules are only a prior; the model
decides between every plausible grouping:

1. Strokes are put in left-to-right order (by their left edge). A gap wider than `BREAK_GAP` of
   the writing's height between a stroke and everything left of it is a sure break: the strokes
   of one digit are never that far apart (at most 0.12 of the height in the validation writers'
   multi-stroke digits). Between breaks, every contiguous run of strokes no wider than
   `MAX_DIGIT_WIDTH` heights, of at most `MAX_GROUP_STROKES` strokes and joining at most
   `MAX_JOINS` + 1 of the rules' digits is a candidate digit (parts of the rules' digits too).
2. Every candidate is prepared and all are read in one batched interpreter call (the caller's).
3. The grouping kept is the one read best: the highest sum of the log confidences of its digits,
   less `DEPARTURE_COST` times -log(the model card's reject threshold) for each place where it
   departs from the rules (joins what they split, or splits what they join). So a single digit on
   the canvas, the common case, is only split when its parts read far more surely than the whole,
   and a departure costs the same in confidence terms for a recalibrated model.

Why the rules stay as a prior: the model has no "not a digit" answer, so two digits squeezed into
one 20x20 box often read as one digit almost as surely as each reads alone (a "77" read as 7 at
0.90). Confidence alone joined most composed numbers of the validation writers; it does tell a
badly cut digit (the "L" of a 4 reads "?") from a well cut one.

A mark too small to be a digit (`min_side`, the kiosk's tap and speck rule; a tap of no size
always) is never read on its own: it joins a neighbour's digit, or is dropped when it is a digit of
the rules on its own (a speck apart), as before. A stretch with too many candidates is grouped by
the rules alone (`MAX_CANDIDATES`).
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .errors import NothingToReadError
from .strokes import Box, Stroke, bounding_box, split_digits, strokes_to_mnist

# Strokes further apart than this (fraction of the writing's height) never belong to one digit:
# just above the widest gap inside one digit of the validation writers (0.12). Digits further apart
# are not read in combination, which keeps a long number's candidates few.
BREAK_GAP = 0.15
# A candidate digit is at most this many times the writing's height wide (the validation writers'
# widest single digit: 1.83 times its own height).
MAX_DIGIT_WIDTH = 2.0
# The price of departing from the rules, in units of -log(reject_threshold) of log confidence
# (0.32 for today's threshold 0.53: a grouping against the rules must read about 1.4 times as
# surely). Chosen on the validation writers (train/splits.py): singles and composed numbers.
DEPARTURE_COST = 0.5
# At most this many strokes in one candidate digit; at most this many of the rules' boundaries
# inside one (more never won on the validation writers, and each costs a rendering: about 0.5 ms);
# at most this many candidates in one reading.
MAX_GROUP_STROKES = 6
MAX_JOINS = 1
MAX_CANDIDATES = 48


@dataclass(frozen=True)
class Candidate:
    """A run of strokes (left-to-right order, [first, stop)) that may be one digit."""

    first: int
    stop: int
    strokes: list[Stroke]
    box: Box
    image: np.ndarray | None  # the prepared (28, 28) input; None for a mark too small to read
    written: list[Stroke]  # the same strokes in the order they were written (the stroke model's)


@dataclass
class Plan:
    """The candidate digits of one canvas, ready to be read in one batch."""

    candidates: list[Candidate]
    stretches: list[tuple[int, int, list[int]]]  # (first, stop, indexes into candidates)
    rule_ends: list[bool]  # rule_ends[k]: split_digits' rules start a new digit at stroke k

    @property
    def readable(self) -> list[int]:
        """Indexes of the candidates to classify, in the order `choose` expects their confidences."""
        return [i for i, c in enumerate(self.candidates) if c.image is not None]

    def images(self) -> np.ndarray:
        return np.stack([self.candidates[i].image for i in self.readable])

    def boxes(self) -> list[list[float]]:
        return [self.candidates[i].box.as_list() for i in self.readable]

    def written(self) -> list[list[Stroke]]:
        """The readable candidates' strokes in the order they were written."""
        return [self.candidates[i].written for i in self.readable]

    def choose(self, confidences: Sequence[float], reject_threshold: float) -> list[int]:
        """The best grouping: positions in `readable` of the digits kept, left to right.

        `confidences` are the top-class probabilities of the `readable` candidates."""
        departure = DEPARTURE_COST * -math.log(min(max(reject_threshold, 1e-3), 0.999))
        conf = dict(zip(self.readable, confidences, strict=True))
        position = {c: p for p, c in enumerate(self.readable)}
        chosen: list[int] = []
        for first, stop, members in self.stretches:
            ending: dict[int, list[int]] = {}
            for i in members:
                ending.setdefault(self.candidates[i].stop, []).append(i)
            # best[k]: (score, -digits, candidates) of the best grouping of strokes first..k-1
            best: dict[int, tuple[float, int, list[int]]] = {first: (0.0, 0, [])}
            for k in range(first + 1, stop + 1):
                options = []
                for i in ending.get(k, []):
                    c = self.candidates[i]
                    if c.first not in best:  # inside a digit of the rules' fallback grouping
                        continue
                    score, digits, path = best[c.first]
                    departures = sum(self.rule_ends[c.first + 1 : c.stop])  # joined against them
                    departures += c.stop < stop and not self.rule_ends[c.stop]  # split against them
                    score -= departure * departures
                    if i in conf:
                        score += math.log(max(conf[i], 1e-6))
                        options.append((score, digits - 1, [*path, i]))
                    elif self.rule_ends[c.first] and (c.stop == stop or self.rule_ends[c.stop]):
                        # too small to be a digit, and whole digits of the rules: dropped (a part
                        # of a digit of the rules too small to read on its own is never dropped)
                        options.append((score, digits, path))
                if options:
                    best[k] = max(options, key=lambda o: (o[0], o[1]))
            chosen += best[stop][2]
        return [position[i] for i in chosen]


def plan(strokes: Sequence[Stroke], min_side: float = 0.0) -> Plan:
    """Candidate digits of non-empty strokes (see the module docstring)."""
    by_left = sorted(range(len(strokes)), key=lambda i: float(strokes[i][:, 0].min()))
    order = [strokes[i] for i in by_left]
    boxes = [bounding_box([s]) for s in order]
    height = max(bounding_box(order).height, 1e-9)
    stretches: list[tuple[int, int]] = []
    first, right = 0, boxes[0].x1
    for k in range(1, len(order)):
        if boxes[k].x0 - right > BREAK_GAP * height:
            stretches.append((first, k))
            first = k
        right = max(right, boxes[k].x1)
    stretches.append((first, len(order)))

    group_of = {id(s): g for g, group in enumerate(split_digits(order)) for s in group}
    rule_ends = [k == 0 or group_of[id(order[k])] != group_of[id(order[k - 1])] for k in range(len(order))]
    for a, _ in stretches:
        rule_ends[a] = True

    # The rules' own digits are always candidates, so some grouping always reaches the end.
    runs = {
        s: sorted(set(_runs(boxes, rule_ends, *s, height)) | set(_rule_runs(rule_ends, *s)))
        for s in stretches
    }
    for s in sorted(stretches, key=lambda s: -len(runs[s])):
        if sum(len(r) for r in runs.values()) <= MAX_CANDIDATES:
            break
        runs[s] = _rule_runs(rule_ends, *s)  # the rules' grouping alone

    candidates: list[Candidate] = []
    out: list[tuple[int, int, list[int]]] = []
    for s in stretches:
        members = []
        for a, b in runs[s]:
            group = order[a:b]
            box = bounding_box(group)
            image = None
            if max(box.width, box.height) >= min_side:
                with contextlib.suppress(NothingToReadError):  # a tap: no size to draw
                    image = strokes_to_mnist(group)
            written = [order[k] for k in sorted(range(a, b), key=lambda k: by_left[k])]
            members.append(len(candidates))
            candidates.append(Candidate(a, b, group, box, image, written))
        out.append((*s, members))
    return Plan(candidates, out, rule_ends)


def _rule_runs(rule_ends: list[bool], first: int, stop: int) -> list[tuple[int, int]]:
    starts = [k for k in range(first, stop) if rule_ends[k]] + [stop]
    return list(itertools.pairwise(starts))


def _runs(
    boxes: list[Box], rule_ends: list[bool], first: int, stop: int, height: float
) -> list[tuple[int, int]]:
    """Contiguous runs [a, b) of first..stop-1 that may be one digit: single strokes always; longer
    runs when narrow enough and joining at most MAX_JOINS of the rules' digits."""
    runs = []
    for a in range(first, stop):
        x0, x1 = boxes[a].x0, boxes[a].x1
        joins = 0
        for b in range(a + 1, min(stop, a + MAX_GROUP_STROKES) + 1):
            x1 = max(x1, boxes[b - 1].x1)
            joins += b > a + 1 and rule_ends[b - 1]
            if b > a + 1 and (x1 - x0 > MAX_DIGIT_WIDTH * height or joins > MAX_JOINS):
                break
            runs.append((a, b))
    return runs
