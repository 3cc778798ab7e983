"""What a reading is: a digit's answer (or "?") with its confidence and top 3, a picture's or a
canvas's digits with their separators, and the one reject rule that decides between them.

Shared by the recognizer, the line reader, the kiosk's screens and the trainer's evaluation (its
thresholds and validation figures are this rule's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import layout

UNSURE = "?"
DIGITS = 10  # a model's first ten classes are the digits; an eleventh is "none" (not a digit)


def answers(probs: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows of class probabilities → (best digit, answered) per row: a digit is answered when its
    probability reaches `threshold` and beats "none" (a model's eleventh class, if any). The one
    rule for the device's readings and for the trainer's threshold and validation figures."""
    digits = probs[:, :DIGITS]
    conf = digits.max(axis=1)
    return digits.argmax(axis=1), (conf >= threshold) & (conf > probs[:, DIGITS:].sum(axis=1))


@dataclass
class DigitReading:
    digit: int | None  # None when below the reject threshold, or when read as not a digit
    confidence: float  # of the best digit
    top3: list[tuple[int, float]]  # digits only
    probs: np.ndarray  # (10,), or (11,) with "none" (not a digit) last
    image: np.ndarray  # the (28, 28) input the model saw
    box: list[float] | None = None  # [x, y, width, height] in input coordinates

    @classmethod
    def from_probs(
        cls, probs: np.ndarray, threshold: float, image: np.ndarray, box: list[float] | None = None
    ) -> DigitReading:
        """The reading a class-probability vector gives: the best digit, or None below
        `threshold` or when the model's eleventh answer, "none" (not a digit), is likelier."""
        digits = np.asarray(probs)[:DIGITS]
        # A stable sort: equal scores (common in int8) keep class order, so the answer and its
        # top 3 are the same on every processor (numpy's default sort orders ties by its SIMD code).
        order = np.argsort(-digits, kind="stable")[:3]
        best = int(order[0])
        conf = float(digits[best])
        answered = bool(answers(np.asarray(probs)[None], threshold)[1][0])
        return cls(
            digit=best if answered else None,
            confidence=conf,
            top3=[(int(c), float(digits[c])) for c in order],
            probs=probs,
            image=image,
            box=box,
        )

    @property
    def not_a_digit(self) -> float:
        """The probability that this is not a digit at all (0 for a ten-class model)."""
        return float(self.probs[DIGITS:].sum())

    @property
    def label(self) -> str:
        return UNSURE if self.digit is None else str(self.digit)

    def to_json(self) -> dict:
        d = {
            "digit": self.label,
            "confidence": round(self.confidence, 4),
            "top3": [[int(c), round(float(p), 4)] for c, p in self.top3],
        }
        if len(self.probs) > DIGITS:
            d["not_a_digit"] = round(self.not_a_digit, 4)
        if self.box is not None:
            d["box"] = self.box
        return d


@dataclass
class Reading:
    digits: list[DigitReading]
    latency_ms: float = 0.0
    separators: list[str] = field(default_factory=list)  # between digits: "" or " " or "\n"
    # A field's (a cheque's amount box, read by the line model): the line model's probability that
    # the field spells exactly these digits (`ctc.string_probability`); None for other pictures.
    field_confidence: float | None = None

    @property
    def text(self) -> str:
        return layout.join([d.label for d in self.digits], self.separators)

    @property
    def layout(self) -> str:
        """The digits' arrangement with each digit as "d" ("dd d\nddd")."""
        return layout.layout(len(self.digits), self.separators)

    @property
    def best_text(self) -> str:
        """The text with each digit's best class, whether or not it clears the threshold."""
        return layout.join([str(d.top3[0][0]) for d in self.digits], self.separators)

    @property
    def sure(self) -> bool:
        return bool(self.digits) and all(d.digit is not None for d in self.digits)

    def log_probability(self, digits: tuple[int, ...]) -> float:
        """The log probability that these digits read `digits`, one per digit (each one's model
        probability of it, taken as independent; 1e-6 at least, so one 0 does not end the sum)."""
        pairs = zip(self.digits, digits, strict=True)
        return float(sum(np.log(max(float(d.probs[k]), 1e-6)) for d, k in pairs))

    def to_json(self) -> dict:
        out = {
            "text": self.text,
            "digits": [d.to_json() for d in self.digits],
            "latency_ms": round(self.latency_ms, 3),
        }
        if self.field_confidence is not None:
            out["field_confidence"] = round(self.field_confidence, 4)
        return out
