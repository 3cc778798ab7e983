"""The stroke model: a second opinion on pen digits, read from how they were written.

The digit model reads the ink as a 28x28 picture. The stroke model (`strokenet`, a small 1-D
convolutional network, int8) reads the pen's path (`trajectory.py`): the order and direction of
the strokes and where the pen was lifted. On writers neither has seen they err on different
digits, so on the pen path (`Recognizer.read_strokes`: the kiosk, `digitkiosk strokes`) each
candidate digit is read by both in one batched call each, and the answer is their normalised
geometric mean (`combine`). The pair's reject threshold is its own, chosen on validation writers
and kept in the stroke model's card (`reject_threshold`): the mean of two models is less sure than
either where they disagree, which is the point.

The stroke model is a model package like the others (`package.py`: card, sha256, pin or signature
under the same TrustPolicy). One that is missing or refused is reported in one warning line and
pen digits are read by the digit model alone, as before.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import ModelError, ModelShapeError, SelfTestFailedError
from .loader import KNOWN_LABELS, _first_line, bundled_model_path, check_self_test, open_optional, open_runner
from .package import ModelPackage, TrustPolicy
from .readings import DIGITS
from .runner import Runner
from .strokes import Stroke, parse_strokes
from .trajectory import FEATURES, POINTS, trajectories

log = logging.getLogger(__name__)

STROKE_PREP_ID = f"trajectory-{POINTS}x{FEATURES}-v1"
DEFAULT_STROKE_MODEL = "strokenet.tflite"


@dataclass
class StrokeModel:
    package: ModelPackage
    runner: Runner
    backend: str
    trust: str
    selftest_accuracy: float | None = None  # on the shipped pen digits, once self-tested

    @property
    def card(self):
        return self.package.card

    @property
    def pair_threshold(self) -> float:
        """The reject threshold of the pair's combined reading (`combine`)."""
        return self.card.reject_threshold

    def probs(self, groups: Sequence[Sequence[Stroke]]) -> np.ndarray:
        """Digits' strokes, each in the order written → (N, 10) probabilities, or (N, 11) with
        "none" (a piece of a digit, not a digit) last."""
        if not groups:
            return np.zeros((0, len(self.card.labels)), np.float32)
        return self.runner.predict(trajectories(groups))

    def describe(self) -> dict:
        return {
            "name": self.card.name,
            "version": self.card.version,
            "sha256": self.package.sha256,
            "trust": self.trust,
        }


def combine(image_probs: np.ndarray, stroke_probs: np.ndarray, weight: float = 0.5) -> np.ndarray:
    """The pair's reading: the normalised geometric mean of the two models' digit probabilities,
    the second model's share `weight` (0.5, the pairs': an equal one, a square root that is exact
    on every processor; `line_reader.single_digit_probs` gives the line model less).

    A geometric mean (not the arithmetic one) lets either model veto a digit it finds unlikely:
    both must find a digit plausible for the pair to be sure of it. Each model's "none" (not a
    digit; for the stroke model, a piece of a digit), where it has one, is combined the same way:
    the chance that it is a digit at all is the geometric mean of the two models' chances, and the
    digits share it. The result has eleven columns, "none" last, if either model has that class."""
    image_probs = np.asarray(image_probs, np.float64)
    stroke_probs = np.asarray(stroke_probs, np.float64)
    tiny = 1e-12

    def mean(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.sqrt(x * y) if weight == 0.5 else x ** (1.0 - weight) * y**weight

    a, b = np.clip(image_probs[:, :DIGITS], tiny, None), np.clip(stroke_probs[:, :DIGITS], tiny, None)
    a_sum, b_sum = a.sum(axis=1, keepdims=True), b.sum(axis=1, keepdims=True)
    digits = np.sqrt(a / a_sum * b / b_sum) if weight == 0.5 else mean(a / a_sum, b / b_sum)
    digits /= digits.sum(axis=1, keepdims=True)
    if image_probs.shape[1] == DIGITS and stroke_probs.shape[1] == DIGITS:
        return digits.astype(np.float32)
    is_digit = mean(
        np.clip(1.0 - image_probs[:, DIGITS:].sum(axis=1), 0.0, 1.0),
        np.clip(1.0 - stroke_probs[:, DIGITS:].sum(axis=1), 0.0, 1.0),
    )[:, None]
    return np.concatenate([digits * is_digit, 1.0 - is_digit], axis=1).astype(np.float32)


def selftest_strokes() -> tuple[list[list[Stroke]], np.ndarray]:
    """Real pen digits shipped with the package (`data/sample_strokes.jsonl`)."""
    ref = resources.files("digitkiosk.device").joinpath("data/sample_strokes.jsonl")
    rows = [json.loads(line) for line in ref.read_text().splitlines() if line.strip()]
    return [parse_strokes(r["strokes"]) for r in rows], np.array([int(r["label"]) for r in rows])


def default_stroke_model_path() -> Path:
    """The bundled stroke model's card."""
    return bundled_model_path(DEFAULT_STROKE_MODEL)


def load_stroke_model(
    path: str | Path,
    *,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> StrokeModel:
    """Read and verify a stroke model package (the digit model's trust policy), check its tensors
    against its card, and self-test it on the shipped pen digits."""
    return stroke_model_from(ModelPackage.read(path), policy, backend=backend, num_threads=num_threads)


def stroke_model_from(
    package: ModelPackage,
    policy: TrustPolicy | None = None,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
) -> StrokeModel:
    """`load_stroke_model` of a package already read (the model store checks the bytes it copies)."""
    card = package.card
    where = package.model_path
    if card.preprocessing != STROKE_PREP_ID:
        raise ModelError(
            f"stroke model expects input preparation {card.preprocessing!r}, "
            f"this device does {STROKE_PREP_ID!r}"
        )
    if card.labels not in (KNOWN_LABELS[:DIGITS], KNOWN_LABELS):
        raise ModelShapeError(f"stroke model {where}: labels must be the digits 0-9, optionally none last")
    if not 0.0 < card.reject_threshold < 1.0:
        raise ModelError(f"stroke model {where}: its card needs the pair's reject_threshold (0 to 1)")
    trust = package.verify(policy or TrustPolicy())
    runner, backend_name = open_runner(card, package.model_bytes, where, backend, num_threads)
    model = StrokeModel(package, runner, backend_name, trust)
    groups, labels = selftest_strokes()
    try:
        probs = model.probs(groups)
    except (ValueError, RuntimeError) as e:
        raise SelfTestFailedError(f"self-test failed: {where} does not run ({_first_line(e)})") from None
    model.selftest_accuracy = check_self_test(probs, labels, where, (len(card.labels),), "pen digits")
    log.info("loaded stroke model %s %s (%s)", card.name, card.version, trust)
    return model


def open_stroke_model(
    path: Path | None,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> StrokeModel | None:
    """The stroke model for pen digits (`path`, or the bundled one when None), or None when it is
    missing or refused, said in one warning line (pen digits are then read by the digit model
    alone). Whether to use one at all is the caller's setting (DIGITKIOSK_STROKE_MODEL)."""
    return open_optional(
        load_stroke_model,
        path,
        default_stroke_model_path(),
        policy,
        backend,
        num_threads,
        "stroke model not used, pen digits are read by the digit model alone",
    )
