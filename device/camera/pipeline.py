"""Per frame: segment (the shared `segment.find_digits`), classify all digits in one batched
interpreter call, and filter readings for stability so that a number is reported once it has
been seen the same in several consecutive frames, not whenever one frame flickers."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..recognizer import Reading, Recognizer
from ..segment import Segmentation, find_digits

log = logging.getLogger(__name__)

#: Frames in a row that must agree before a reading is reported.
STABLE_FRAMES = 5

NO_DIGITS = "no digits in view"


@dataclass
class FrameResult:
    index: int
    segmentation: Segmentation
    reading: Reading | None  # None when no digits were found
    status: str  # "ok", "unsure" (some digit below the reject threshold) or why nothing was read
    latency_ms: float  # segmentation + inference

    @property
    def text(self) -> str:
        return self.reading.text if self.reading is not None else ""


class FrameAnalyzer:
    def __init__(self, recognizer: Recognizer, roi: tuple[int, int, int, int] | None = None) -> None:
        self.recognizer = recognizer
        self.roi = roi

    def analyze(self, image: np.ndarray, index: int = 0) -> FrameResult:
        t0 = time.perf_counter()
        try:
            seg = find_digits(image, self.roi)
        except InputError as e:  # e.g. the ROI lies outside this frame
            seg = Segmentation([], [], None, str(e))
        if not seg.digits:
            status = NO_DIGITS if seg.note in ("", "no digits found") else seg.note
            return FrameResult(index, seg, None, status, (time.perf_counter() - t0) * 1000.0)
        images = np.stack([d.image for d in seg.digits])
        digits = self.recognizer.classify(images, [d.box for d in seg.digits])
        ms = (time.perf_counter() - t0) * 1000.0
        reading = Reading(digits, ms, separators=seg.separators)
        return FrameResult(index, seg, reading, "ok" if reading.sure else "unsure", ms)


@dataclass
class StableReading:
    text: str  # "" when the view has been empty for long enough
    result: FrameResult  # the latest frame that agreed
    frames: int  # how many frames in a row agreed


class StabilityFilter:
    """Reports a reading once it has been seen `frames` times in a row, and again only when it
    changes: a static scene gives one report, not one per frame.

    Frames agree when they find the same digits in the same layout with the same best class
    each, whether or not a digit clears the reject threshold: a digit hovering around the
    threshold would otherwise flicker between "9" and "?" and never settle. What is reported is
    the agreeing frame read most surely, so "?" still shows where no frame was sure.

    An empty view is tracked as a key of its own ("<status>"), so "too dark" or "no digits in
    view" are reported as stable conditions too.
    """

    def __init__(self, frames: int = STABLE_FRAMES) -> None:
        self.frames = max(1, frames)
        self._candidate: str | None = None
        self._count = 0
        self._best: FrameResult | None = None
        self._reported: str | None = None

    @staticmethod
    def key(result: FrameResult) -> str:
        if result.reading is None:
            return f"<{result.status}>"
        digits = result.reading.digits
        seps = result.reading.separators or [""] * (len(digits) - 1)
        labels = [str(d.top3[0][0]) for d in digits]
        return labels[0] + "".join(sep + label for sep, label in zip(seps, labels[1:], strict=True))

    @staticmethod
    def _sureness(result: FrameResult) -> float:
        if result.reading is None or not result.reading.digits:
            return 0.0
        return min(d.confidence for d in result.reading.digits)

    def update(self, result: FrameResult) -> StableReading | None:
        key = self.key(result)
        if key == self._candidate:
            self._count += 1
            if self._best is None or self._sureness(result) > self._sureness(self._best):
                self._best = result
        else:
            self._candidate, self._count, self._best = key, 1, result
        if self._count >= self.frames and key != self._reported:
            self._reported = key
            best = self._best or result
            return StableReading(best.text, best, self._count)
        return None

    @property
    def reported(self) -> str | None:
        """The key last reported (the digits' best classes, or "<status>")."""
        return self._reported
