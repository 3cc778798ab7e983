"""Corrections at the kiosk, without Tk: which strokes make the digit a person corrects, the text
after the correction, and the sample kept for it. The pad that asks (pad.py) and the kiosk's hooks
(corrections.py) use this; it is tested without a display.

A reading stays correctable until its ink changes: more ink or an undo gives a new reading to
correct; Clear (or the idle clear) ends it. Only then, with --samples-all, are the digits nobody
corrected kept as unconfirmed readings: a reading after the first stroke of a two-stroke 4 is a
digit half written, not a reading anyone saw as final.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..readings import Reading
from ..samples.records import NOT_A_DIGIT, Sample

Strokes = list[list[list[float]]]
# A stroke belongs to a digit when its box lies within the digit's box, give or take this many
# pixels (the digit's box is the union of its strokes' boxes, rounded to 0.1 px in the log).
BOX_SLACK_PX = 1.0


def digit_strokes(reading: Reading, strokes: Strokes) -> list[list[int]]:
    """For each digit of the reading, the indexes of its strokes. A stroke in no digit's box (a
    speck the recognizer dropped) belongs to none; one in several (overlapping boxes of a number)
    to the smallest such digit, which is the one it was grouped into."""
    out: list[list[int]] = [[] for _ in reading.digits]
    for k, stroke in enumerate(strokes):
        if not stroke:
            continue
        xs, ys = [p[0] for p in stroke], [p[1] for p in stroke]
        best, best_area = None, float("inf")
        for i, d in enumerate(reading.digits):
            if d.box is None:
                continue
            x, y, w, h = d.box
            inside = (
                min(xs) >= x - BOX_SLACK_PX
                and max(xs) <= x + w + BOX_SLACK_PX
                and min(ys) >= y - BOX_SLACK_PX
                and max(ys) <= y + h + BOX_SLACK_PX
            )
            if inside and w * h < best_area:
                best, best_area = i, w * h
        if best is not None:
            out[best].append(k)
    return out


def label_text(label: str) -> str:
    return "not a digit" if label == NOT_A_DIGIT else label


@dataclass
class Correction:
    """One final reading of the canvas, open to corrections."""

    reading: Reading
    strokes: Strokes  # the canvas's ink in canvas pixels, as the event log has it
    model: str
    labels: list[str] = field(default_factory=list)  # per digit: what it reads as now
    corrected: set[int] = field(default_factory=set)
    selected: int = 0  # the digit the pad corrects (a number: the one tapped)
    _groups: list[list[int]] | None = None

    def __post_init__(self) -> None:
        if not self.labels:
            self.labels = [d.label for d in self.reading.digits]
        digits = self.reading.digits
        if digits:  # preselect the digit the model was least sure of: most likely the wrong one
            self.selected = min(range(len(digits)), key=lambda i: digits[i].confidence)

    @property
    def text(self) -> str:
        """The number as it reads now ("not a digit" marks drop out)."""
        shown = ["" if lab == NOT_A_DIGIT else lab for lab in self.labels]
        seps = self.reading.separators or [""] * (len(shown) - 1)
        out = shown[0] if shown else ""
        for sep, lab in zip(seps, shown[1:], strict=True):
            out += sep + lab
        return out

    def groups(self) -> list[list[int]]:
        if self._groups is None:
            self._groups = digit_strokes(self.reading, self.strokes)
        return self._groups

    def correct(self, label: str, now: float | None = None) -> tuple[Sample, str]:
        """The person says the selected digit is `label`. → (the sample to keep, the text before)."""
        i = self.selected
        was = self.text
        strokes = [self.strokes[k] for k in self.groups()[i]] or self.strokes
        sample = Sample(
            strokes=strokes,
            label=label,
            predicted=self.reading.digits[i].label,
            model=self.model,
            time=time.time() if now is None else now,
        )
        self.labels[i] = label
        self.corrected.add(i)
        return sample, was

    def unconfirmed(self, now: float | None = None) -> list[Sample]:
        """The digits nobody corrected, as unconfirmed readings (--samples-all)."""
        t = time.time() if now is None else now
        out = []
        for i, d in enumerate(self.reading.digits):
            strokes = [self.strokes[k] for k in self.groups()[i]]
            if i in self.corrected or not strokes:
                continue
            out.append(Sample(strokes, None, d.label, self.model, t, confirmed=False))
        return out
