"""Recognition: prepared digits → answers with confidence, top-3 and the reject rule.

`Recognizer` is what the kiosk, the camera, the CLI and other front ends use. It holds one
verified model and can swap it for another (a model flashed while running) atomically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from . import grouping
from .errors import NothingToReadError
from .loader import LoadedModel
from .readings import DigitReading, Reading
from .strokes import Stroke
from .touching import Number, may_hold_several, reread_touching

if TYPE_CHECKING:  # segment imports OpenCV, which the kiosk's stroke path does without
    from .line_reader import LineModel
    from .paper_reader import PaperModel
    from .segment import FoundDigit, Segmentation
    from .stroke_reader import StrokeModel


class Recognizer:
    def __init__(
        self,
        model: LoadedModel,
        line_model: LineModel | None = None,
        stroke_model: StrokeModel | None = None,
        paper_model: PaperModel | None = None,
    ) -> None:
        self._model = model
        self._lock = threading.Lock()
        # Fields (a cheque's amount box) are read by this segmentation-free line model when
        # there is one (`line_reader.read_field`), by segmentation otherwise.
        self.line_model = line_model
        # Pen digits are read by the digit model and this stroke model together when there is
        # one (`stroke_reader.combine`), by the digit model alone otherwise.
        self.stroke_model = stroke_model
        # Pictures (single digits, segmented photos and scans, the camera) are read by this paper
        # model with the digit model as partner where it is unsure (`paper_reader.py`), by the
        # digit model alone otherwise.
        self.paper_model = paper_model

    @property
    def model(self) -> LoadedModel:
        return self._model

    def swap_model(self, model: LoadedModel) -> None:
        """Replace the model (already verified by the caller through load_model)."""
        with self._lock:
            self._model = model

    def swap_companion(self, kind: str, model: object) -> None:
        """Replace the `kind` ("paper", "line", "stroke") companion model (verified by the caller),
        under the lock that `reject_threshold` reads the digit and paper models together by."""
        with self._lock:
            setattr(self, f"{kind}_model", model)

    @property
    def reject_threshold(self) -> float:
        """The reject threshold of the digits `classify` reads (pictures)."""
        with self._lock:
            model, paper = self._model, self.paper_model
        return model.card.alone_threshold if paper is None else paper.threshold(model)

    def classify(
        self,
        images: np.ndarray,
        boxes: Sequence[list[float] | None] | None = None,
        paper: bool = True,
        digit_probs: np.ndarray | None = None,
    ) -> list[DigitReading]:
        """(N, 28, 28) prepared images → one reading each, batched in one interpreter call (two
        with a paper model, the second for the unsure ones; without one, the digit model answers
        alone, by its card's `answers_alone`). `paper=False`: the digit model's raw readings, which
        the segmentation's rules were chosen on.
        `digit_probs`: the digit model's probabilities of these images, when already read (the
        paper model's partner is then not asked again)."""
        images = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
        if len(images) == 0:
            return []
        with self._lock:
            model, paper_model = self._model, self.paper_model
        if paper_model is not None and paper:
            return self._readings(*paper_model.read(images, model, digit_probs), images, boxes)
        if paper:
            return self._readings(
                model.predict_probs(images, alone=True), model.card.alone_threshold, images, boxes
            )
        return self._readings(model.predict_probs(images), model.card.reject_threshold, images, boxes)

    @staticmethod
    def _readings(
        probs: np.ndarray, threshold: float, images: np.ndarray, boxes: Sequence[list[float] | None] | None
    ) -> list[DigitReading]:
        return [
            DigitReading.from_probs(p, threshold, images[i], None if boxes is None else boxes[i])
            for i, p in enumerate(probs)
        ]

    def read_strokes(self, strokes: Sequence[Stroke], min_side: float = 0.0) -> Reading:
        """Strokes (already parsed) → the digit or number written. NothingToReadError if empty.

        Which strokes make one digit is decided by reading: every plausible grouping's digits are
        classified in one interpreter call and the grouping read best is kept (`grouping.py`).
        Marks smaller than `min_side` (input units) are never read as digits of their own."""
        t0 = time.perf_counter()
        strokes = [s for s in strokes if len(s)]
        if not strokes:
            raise NothingToReadError("nothing to read: the canvas is empty")
        plan = grouping.plan(strokes, min_side)
        if not plan.readable:  # every mark a tap or (below min_side) a speck
            raise NothingToReadError("nothing to read: a tap or a speck is not a digit")
        readings, threshold, shown = self._read_pen(plan)
        digits = [shown[i] for i in plan.choose([r.confidence for r in readings], threshold)]
        if not digits:  # specks only, each apart
            raise NothingToReadError("nothing to read: a tap or a speck is not a digit")
        return Reading(digits, (time.perf_counter() - t0) * 1000.0)

    def _read_pen(self, plan: grouping.Plan) -> tuple[list[DigitReading], float, list[DigitReading]]:
        """A plan's candidates → the readings the grouping decides by, their reject threshold, and
        the readings shown: with a stroke model the pair's for both (`stroke_reader.combine`; its
        stroke model reads a piece of a digit, the L of a two-stroke 4, as "none"); without, the
        digit model's raw readings (which the grouping was chosen on) and its answers alone."""
        with self._lock:
            model, strokes = self._model, self.stroke_model
        images, boxes = plan.images(), plan.boxes()
        if strokes is not None:
            from .stroke_reader import combine

            probs = combine(model.predict_probs(images), strokes.probs(plan.written()))
            readings = self._readings(probs, strokes.pair_threshold, images, boxes)
            return readings, strokes.pair_threshold, readings
        raw, alone = model.predict_probs_raw_and_alone(images)
        threshold = model.card.reject_threshold
        shown = self._readings(alone, model.card.alone_threshold, images, boxes)
        return self._readings(raw, threshold, images, boxes), threshold, shown

    def read_single(self, ink: np.ndarray) -> Reading:
        """One digit filling an image: gray or BGR, either polarity. With a line and a paper model
        both read it (as chosen: line_reader.py), the models and threshold of one snapshot, taken
        under the lock, so a model swapped meanwhile never pairs with the other's threshold."""
        from .segment import single_digit

        t0 = time.perf_counter()
        image28, box = single_digit(ink)
        with self._lock:
            model, paper, line = self._model, self.paper_model, self.line_model
        if line is None or paper is None:
            digits = self.classify(image28[None], [box])
        else:
            from .line_reader import single_digit_probs

            pair_probs, threshold = paper.read(image28[None], model)
            probs = single_digit_probs(line, ink, pair_probs[0])
            digits = [DigitReading.from_probs(probs, threshold, image28, box)]
        return Reading(digits, (time.perf_counter() - t0) * 1000.0)

    def read_image(self, image: np.ndarray) -> Reading:
        """A photo or scan: every digit found, ordered in lines top to bottom, left to right."""
        t0 = time.perf_counter()
        if self.line_model is not None:
            from .line_reader import read_if_field

            reading = read_if_field(self, self.line_model, image, t0)
            if reading is not None:
                return reading
        return self.read_by_segmentation(image, t0)

    def read_by_segmentation(
        self, image: np.ndarray, t0: float | None = None, paper: bool = True, touching: bool = True
    ) -> Reading:
        """`read_image` without reading the picture as a field: digits found, cut and read one by
        one (`paper`: as `classify`; `touching`: as `read_segmentation`)."""
        from .segment import find_digits

        return self.read_found(find_digits(image), t0, paper, touching)

    def read_found(
        self, found: Segmentation, started: float | None = None, paper: bool = True, touching: bool = True
    ) -> Reading:
        """What segmentation found in a picture → the reading (latency counted from `started`,
        a perf_counter time, when given). NothingToReadError when no mark reads as a digit."""
        t0 = time.perf_counter() if started is None else started
        digits, separators = self.read_segmentation(found, paper, touching) if found.digits else ([], [])
        if not digits:  # nothing found, or only marks that read as no digit (commas, dashes)
            raise NothingToReadError("nothing to read: no digits found in the image")
        return Reading(digits, (time.perf_counter() - t0) * 1000.0, separators=separators)

    def read_segmentation(
        self, found: Segmentation, paper: bool = True, touching: bool = True
    ) -> tuple[list[DigitReading], list[str]]:
        """Digits found in a picture → their readings and separators: where the digits are, on the
        digit model's readings (one interpreter call; the rules below use its reject threshold),
        then what each is, by the paper model when there is one and `paper` (one call more).

        A wide mark of a field (`FoundDigit.segments`, over-segmented at candidate cuts) is read
        along the best path through its candidate digits and itself whole (largest product of
        confidences), when every digit on it reads above the reject threshold. A small mark
        (`FoundDigit.small`: a comma, a dash, a fragment) is dropped unless it reads clearly.

        A mark that may be touching digits (`FoundDigit.parts`) is read both whole and cut, and
        is taken as cut only when the whole reads as no digit (below the reject threshold) and
        every digit it is cut into reads clearly (halfway from the threshold to 1): a touching
        "88" reads as no digit. A mark read as a digit stays one: a 2 read at 0.66 whole was cut
        into a "7" and a "1" read at 0.81 and 0.95 in some frames of a static scene, which the
        camera then reported a second time."""
        marks: list[FoundDigit] = []

        def collect(mark: FoundDigit) -> None:
            marks.append(mark)
            for part in mark.parts:
                collect(part)
            marks.extend(mark.segments.values())

        for mark in found.digits:
            collect(mark)
        # Where the digits are (which marks to cut, which path through a wide mark, which small
        # marks are digits) is decided on the digit model's readings, whose confidences these rules
        # were chosen on: the paper model's calibrated ones read two touching 0s as one sure "0",
        # which the rule then never cuts. What each digit is, the paper model says (below).
        readings = self.classify(np.stack([m.image for m in marks]), [m.box for m in marks], paper=False)
        read = {id(m): r for m, r in zip(marks, readings, strict=True)}
        clear = (1.0 + self.model.card.reject_threshold) / 2.0

        def resolve(mark: FoundDigit) -> list[DigitReading]:
            whole = read[id(mark)]
            cut = [r for part in mark.parts for r in resolve(part)]
            if cut and whole.digit is None and all(r.confidence >= clear for r in cut):
                return cut
            if mark.segments:
                # Over-segmented (a field's wide mark): the best path, the mark whole included,
                # if all of it reads as digits (on the development scans as many amounts right
                # as taking any path, and fewer digits made up of pieces).
                path = _best_path(mark, read)
                if all(r.digit is not None for r in path):
                    return path
            return [whole]

        digits: list[DigitReading] = []
        separators: list[str] = []
        numbers: list[Number] = []
        pending = ""  # the separator before a dropped mark, kept for the next digit
        for i, mark in enumerate(found.digits):
            before = _wider(pending, found.separators[i - 1]) if i else ""
            these = resolve(mark)
            if mark.small and all(r.confidence < clear for r in these):
                # A comma, a dash or a fragment between digits: no digit unless read clearly.
                pending = before
                continue
            if digits:
                separators.append(before)
            if not numbers or before:
                numbers.append(Number(len(digits), len(digits)))
            pending = ""
            separators += [""] * (len(these) - 1)
            digits += these
            number = numbers[-1]
            number.end = len(digits)
            number.marks.append(mark)
            number.touching |= (
                bool(mark.parts or mark.segments)
                or any(may_hold_several(mark, r.digit) for r in these)
                or any(r.digit is None for r in these)
            )
        from_line: set[int] = set()
        # Every number read again whole by the line model when there is one, those whose digits
        # may touch (`number.touching`) taking its reading more readily (`touching.py`); not for a
        # field, which `read_field` reads with the line model itself.
        if touching and self.line_model is not None and found.gray is not None:
            digits, separators, from_line = reread_touching(
                self.line_model, found.gray, digits, separators, numbers, found.lines
            )
        if paper and digits:
            # The digits segmentation cut (not those the line model read whole) as answers: by the
            # paper model, or by the digit model alone (its calibrated confidences) without one.
            cut = [i for i in range(len(digits)) if i not in from_line]
            if cut:
                images = np.stack([digits[i].image for i in cut])
                # The digit model's probabilities, read above: the pair does not ask it again.
                digit_probs = (
                    np.stack([digits[i].probs for i in cut]) if self.paper_model is not None else None
                )
                again = self.classify(images, [digits[i].box for i in cut], digit_probs=digit_probs)
                for i, r in zip(cut, again, strict=True):
                    digits[i] = r
        return digits, separators


def _wider(a: str, b: str) -> str:
    """Of two separators the one that separates more: a line break, then a space, then none."""
    return max(a, b, key=lambda sep: ("", " ", "\n").index(sep))


def _best_path(mark: FoundDigit, read: dict[int, DigitReading]) -> list[DigitReading]:
    """The most probable reading of an over-segmented mark: the path through its candidate
    cuts, the mark whole included, whose digits' confidences have the largest product."""
    n = mark.cuts
    best: list[tuple[float, list[DigitReading]] | None] = [None] * (n + 1)
    best[0] = (0.0, [])
    spans = {**mark.segments, (0, n): mark}
    for j in range(1, n + 1):
        for i in range(j):
            if best[i] is None or (i, j) not in spans:
                continue
            r = read[id(spans[(i, j)])]
            score = best[i][0] + float(np.log(max(r.confidence, 1e-6)))
            if best[j] is None or score > best[j][0]:
                best[j] = (score, [*best[i][1], r])
    return best[n][1] if best[n] is not None else [read[id(mark)]]
