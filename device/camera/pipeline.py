"""Per frame: segment (the shared `segment.find_digits`), classify all digits in one batched
interpreter call, and vote over recent frames so that a number is reported once, when several
frames agree on it, not whenever one frame flickers."""

from __future__ import annotations

import collections
import logging
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, NothingToReadError
from ..readings import DigitReading, Reading
from ..recognizer import Recognizer
from ..segment import Segmentation, find_digits

log = logging.getLogger(__name__)

#: Frames in a row that must agree before a reading is reported.
STABLE_FRAMES = 5
#: The share of the window a vote with a new digit count on the reported sheet must pool to be
#: news (`StabilityFilter`). On generated training clips (8 x 200 scenes: 3 seeds of touching
#: digits, 5 of separate ones), 0.5 (as any vote) / 0.7 / 0.8 / 1.0 left 22 / 13 / 9 / 5 scenes
#: reported more than once, with the same accuracy and no later report of a new sheet; 0.8 and not
#: the whole window, so that a digit written next to the others is reported even while a frame or
#: two still reads the sheet as before.
RECOUNT_SHARE = 0.8

NO_DIGITS = "no digits in view"


@dataclass
class FrameResult:
    index: int
    segmentation: Segmentation
    reading: Reading | None  # None when no digits were found
    status: str  # "ok", "unsure" (some digit below the reject threshold) or why nothing was read
    latency_ms: float  # segmentation + inference
    reject_threshold: float = 0.0  # the model's, when this frame was read

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
        except Exception as e:  # one odd frame never ends the camera: it reads as nothing
            log.warning("frame %d: segmentation failed (%s: %s)", index, type(e).__name__, e)
            log.debug("frame %d: segmentation failed", index, exc_info=True)
            seg = Segmentation([], [], None, "unreadable frame")
        if not seg.digits:
            status = NO_DIGITS if seg.note in ("", "no digits found") else seg.note
            return FrameResult(index, seg, None, status, (time.perf_counter() - t0) * 1000.0)
        try:
            reading = self.recognizer.read_found(seg, t0)
        except NothingToReadError:  # only marks that read as no digit (commas, dashes, fragments)
            return FrameResult(index, seg, None, NO_DIGITS, (time.perf_counter() - t0) * 1000.0)
        status = "ok" if reading.sure else "unsure"
        return FrameResult(index, seg, reading, status, reading.latency_ms, self.recognizer.reject_threshold)


@dataclass
class StableReading:
    text: str  # "" when the view has been empty for long enough
    result: FrameResult  # the voted result (reading from the agreeing frames' pooled probabilities)
    frames: int  # how many recent frames the vote pooled


class StabilityFilter:
    """Turns per-frame results into readings reported once, by voting over recent frames.

    A single frame of a camera pointed at paper is noisy: sensor noise, shake and compression
    flip an ambiguous digit between two classes, or now and then split or merge a digit. Waiting
    for several identical frames in a row can then wait forever. Instead, of the last `window`
    frames, those with the layout (digit count, spaces and line breaks) most of them have, and
    their digits in the same places, are pooled once there are at least `frames` of them:
    each digit's class probabilities are averaged over those frames, and the averaged reading
    (with the reject threshold applied to the averaged confidence) is the vote. A frame that
    splits or merges a digit now and then is left out of the vote instead of breaking it.

    The vote is reported when it has stayed the same for `confirm` frames in a row and tells
    something new: the first reading, a new layout (or the same layout with most of its digits
    somewhere else: another sheet), or a reported digit (or "?") now read as another class with a
    clear majority (averaged confidence at least halfway from the reject threshold to 1). A vote
    that is merely less sure than the report, or only just surer (a digit wavering between "6"
    and "?", a "?" whose averaged confidence creeps just over the threshold, a "6" whose last
    frames lean to "1" just above it) is no news: a static scene gives one report, not one per
    flicker. A vote with a "?" waits until its layout has been voted on for `frames` frames more,
    since more frames may settle the digit; only then is it reported as it stands. A new digit
    count on the same sheet (most reported digits still where they were, read alike: a "1" merged
    with its neighbour in some frames, or a digit written next to the others) is news only once
    the vote pools `recount` frames (four in five of the window) or no frame of the window has the
    reported layout any more: two cuts of touching digits, each in about half the frames, were
    otherwise reported in turn. An empty view is a layout of its own ("<status>"), so "too dark"
    or "no digits in view" are reported as stable conditions too.
    """

    def __init__(
        self,
        frames: int = STABLE_FRAMES,
        window: int | None = None,
        confirm: int | None = None,
        recount: int | None = None,
    ) -> None:
        self.frames = max(1, frames)
        self.window = max(self.frames, window if window is not None else 2 * self.frames)
        self.confirm = max(1, confirm if confirm is not None else (self.frames + 1) // 3)
        default_recount = math.ceil(RECOUNT_SHARE * self.window)
        self.recount = min(self.window, max(self.frames, recount if recount is not None else default_recount))
        self._recent: deque[FrameResult] = deque(maxlen=self.window)
        self._candidate: str | None = None
        self._streak = 0  # votes in a row with the candidate's key
        self._layout: str | None = None
        self._layout_streak = 0  # votes in a row with this layout
        self._reported: FrameResult | None = None

    def restart(self) -> None:
        """Forget the frames voted on so far, not what was last reported: after the source
        dropped, frames from before the gap say nothing of the view now, and voting with them
        reported the scene in view at the drop as the first reading after the reconnect, before
        what the camera saw then. A view that did not change is still no news."""
        self._recent.clear()
        self._candidate, self._streak, self._layout, self._layout_streak = None, 0, None, 0

    @staticmethod
    def layout(result: FrameResult) -> str:
        return f"<{result.status}>" if result.reading is None else result.reading.layout

    @staticmethod
    def key(result: FrameResult) -> str:
        """The layout with each digit's best class (whether or not it clears the threshold)."""
        return f"<{result.status}>" if result.reading is None else result.reading.best_text

    def update(self, result: FrameResult) -> StableReading | None:
        self._recent.append(result)
        same = self._most_common()
        if len(same) < self.frames:
            self._candidate, self._streak, self._layout, self._layout_streak = None, 0, None, 0
            return None
        voted = _vote(same)
        key = self.key(voted)
        layout = self.layout(voted)
        self._layout_streak = self._layout_streak + 1 if layout == self._layout else 1
        self._layout = layout
        if key == self._candidate:
            self._streak += 1
        else:
            self._candidate, self._streak = key, 1
        settled = voted.reading is None or voted.reading.sure or self._layout_streak >= self.frames
        if self._streak >= self.confirm and settled and self._news(voted, len(same)):
            self._reported = voted
            return StableReading(voted.text, voted, len(same))
        return None

    def _most_common(self) -> list[FrameResult]:
        """The recent frames of the layout most of them have, with their digits where that
        layout's newest frame has them. Not the newest frame's layout: where touching digits are
        cut one way in some frames and another way in others, a newest frame of the rarer cut
        would restart the count, and no layout might ever be reported. A tie goes to the layout
        being voted on (two cuts in turn do not flip the vote every frame), else to the one seen
        last (a new view takes over as soon as it is as common as the old)."""
        counts = collections.Counter(self.layout(r) for r in self._recent)
        top = max(counts.values())
        tied = [r for r in reversed(self._recent) if counts[self.layout(r)] == top]
        newest = next((r for r in tied if self.layout(r) == self._layout), tied[0])
        return [r for r in self._recent if self._alike(r, newest)]

    def _alike(self, a: FrameResult, b: FrameResult) -> bool:
        """The same layout, with the digits where they were (not another sheet)."""
        if self.layout(a) != self.layout(b):
            return False
        if a.reading is None or b.reading is None:
            return True
        return not any(_moved(x.box, y.box) for x, y in zip(a.reading.digits, b.reading.digits, strict=True))

    def _news(self, voted: FrameResult, pooled: int) -> bool:
        """Does the vote (of `pooled` frames) tell something the last report did not?"""
        last = self._reported
        if last is None:
            return True
        if voted.reading is None or last.reading is None:
            return self.layout(voted) != self.layout(last)  # news unless the same condition again
        if len(voted.reading.digits) != len(last.reading.digits):
            # Another sheet is news at once; a new count on this one needs a larger majority, or
            # the reported layout gone from the window (a new view that never settles to four in
            # five frames, and whose digits happen to lie where some reported ones did).
            reported = self.layout(last)
            return (
                pooled >= self.recount
                or not _same_sheet(voted.reading, last.reading)
                or all(self.layout(r) != reported for r in self._recent)
            )
        # As many digits as reported: a layout that differs only in its gaps (a space that comes
        # and goes between two digits) is the same sheet unless a digit clearly changed or most
        # digits moved (another sheet with the same layout). One box that jumps (a faint digit
        # found whole in some frames, as a fragment in others) is no new sheet.
        clear_majority = (1.0 + voted.reject_threshold) / 2
        moved = 0
        for new, old in zip(voted.reading.digits, last.reading.digits, strict=True):
            changed = new.digit is not None and new.digit != old.digit
            if changed and new.confidence >= clear_majority:
                return True  # clearly read, and not what was reported
            moved += _moved(new.box, old.box)
        return 2 * moved > len(voted.reading.digits)

    @property
    def reported(self) -> str | None:
        """The key last reported (the digits' best classes, or "<status>")."""
        return None if self._reported is None else self.key(self._reported)


def _same_sheet(new: Reading, old: Reading) -> bool:
    """Are at least half the digits of `old` still in `new`, where they were (`_moved`) and read
    as the same best class? A sheet taken away and another put down keeps hardly any."""
    kept = sum(
        any(n.top3[0][0] == o.top3[0][0] and not _moved(n.box, o.box) for n in new.digits) for o in old.digits
    )
    return 2 * kept >= len(old.digits)


def _moved(a: list[float] | None, b: list[float] | None) -> bool:
    """Has a digit's box moved by more than half its height (not just shake)?"""
    if a is None or b is None:
        return False
    size = max(a[3], b[3], 1.0)
    return (
        abs((a[0] + a[2] / 2) - (b[0] + b[2] / 2)) > 0.5 * size
        or abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2)) > 0.5 * size
    )


def _vote(results: list[FrameResult]) -> FrameResult:
    """Frames of one layout → one result whose digits carry the averaged probabilities (the
    newest frame's image and box, as that is where the digit is now)."""
    latest = results[-1]
    if latest.reading is None or len(results) == 1:
        return latest
    threshold = latest.reject_threshold
    digits = [
        DigitReading.from_probs(
            np.mean([r.reading.digits[i].probs for r in results if r.reading is not None], axis=0),
            threshold,
            newest.image,
            newest.box,
        )
        for i, newest in enumerate(latest.reading.digits)
    ]
    reading = Reading(digits, latest.reading.latency_ms, separators=list(latest.reading.separators))
    status = "ok" if reading.sure else "unsure"
    return FrameResult(latest.index, latest.segmentation, reading, status, latest.latency_ms, threshold)
