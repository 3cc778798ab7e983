"""A segmentation-free reader for fields: a whole line of handwriting (a cheque's amount box) read
by a small fully-convolutional network trained with CTC, beside the digit model.

The field is normalised to a fixed height (`prepare_line`: grey, ink bright, paper 0), the
network gives one softmax per column step over the ten digits and a blank (linenet 1.0.1 on:
its logits, the softmax computed by the device, `outputs.py`), and `ctc.greedy_decode` collapses
it (best class per step, repeats merged, blanks dropped) in numpy: no TensorFlow on the device.
Touching cursive digits ("100", "280.000"), where cutting a mark into digits fails, need no cut
at all here.

A line model may hold several members (nets trained alike with other seeds or widths, one file,
one interpreter call, output (K, T, C)): each member's best path is decoded and the members choose
one of those strings, by count or by probability as the card says (`ctc.py`).

The line model is a model package like the digit model (`package.py`: card, sha256, pin or
signature under the same TrustPolicy); one that is missing or refused is reported in one line and
fields are read by segmentation alone (`Recognizer.read_by_segmentation`). With it, a field is read
both ways and `read_field` picks one answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .ctc import DECODERS, LineChar, rescored_decode, string_probability
from .errors import ModelError, ModelShapeError, SelfTestFailedError
from .fields import as_field, ink_of, is_field, writing_rows
from .loader import _first_line, bundled_model_path, open_optional, open_runner
from .package import ModelPackage, TrustPolicy
from .runner import Runner

log = logging.getLogger(__name__)

LINE_HEIGHT = 32
LINE_WIDTH = 160  # 99% of the development fields are narrower at this height; wider ones squeezed
LINE_PREP_ID = "line-h32-w160-v1"
BLANK_LABEL = "blank"
DEFAULT_LINE_MODEL = "linenet.tflite"
# What a line model reads: fields (a cheque's amount box, a form's cell, a single-digit crop) and
# the numbers in photos and camera frames whose digits touch (`touching.py`).
FIELDS, PICTURES = "fields", "pictures"
JOBS = (FIELDS, PICTURES)


def line_ink(image: np.ndarray, max_width: int | None = LINE_WIDTH, close: bool = True) -> np.ndarray:
    """A field (gray or BGR uint8, either polarity) → its ink at LINE_HEIGHT rows, float32 in
    [0, 1], bright on a 0 background; the width follows the aspect ratio, squeezed to at most
    `max_width` columns. With `close`, a field with far more paper above and below its writing
    than usual is first cut closer to it (`writing_rows`). A field without contrast gives an
    empty (all-0) line."""
    from .segment import to_gray

    gray = to_gray(image)
    if close:
        top, bottom = writing_rows(gray)
        gray = gray[top:bottom]
    h, w = gray.shape
    new_w = max(1, round(w * LINE_HEIGHT / h))
    if max_width is not None:
        new_w = min(max_width, new_w)
    interp = cv2.INTER_AREA if h > LINE_HEIGHT else cv2.INTER_LINEAR
    small = cv2.resize(gray, (int(new_w), LINE_HEIGHT), interpolation=interp).astype(np.float32)
    ink = ink_of(small)
    return np.zeros(small.shape, np.float32) if ink is None else ink


def pad_line(ink: np.ndarray) -> np.ndarray:
    """(LINE_HEIGHT, w) ink → (LINE_HEIGHT, LINE_WIDTH): left-aligned on empty paper, or squeezed
    to LINE_WIDTH when wider."""
    if ink.shape[1] > LINE_WIDTH:
        ink = cv2.resize(ink, (LINE_WIDTH, LINE_HEIGHT), interpolation=cv2.INTER_AREA)
    out = np.zeros((LINE_HEIGHT, LINE_WIDTH), np.float32)
    out[:, : ink.shape[1]] = ink
    return out


def prepare_line(image: np.ndarray) -> np.ndarray:
    """A field → the network's input: (LINE_HEIGHT, LINE_WIDTH) float32 in [0, 1], ink bright."""
    return pad_line(line_ink(image))


@dataclass
class LineModel:
    package: ModelPackage
    runner: Runner
    backend: str
    trust: str
    blank: int  # index of the blank class in the output

    @property
    def card(self):
        return self.package.card

    @property
    def members(self) -> int:
        """How many nets the file holds: its output is (1, K, T, C), or (1, T, C) for one."""
        shape = self.runner.output_details["shape"]
        return int(shape[1]) if len(shape) == 4 else 1

    def job_members(self, job: str = FIELDS) -> list[int]:
        """The members that read for `job` (JOBS): the card's `members_by_job` says, where it
        names the job; every member otherwise. Members trained on cheque amounts read fields
        best, members that also saw pen numbers read the numbers in photos best (README,
        "Measured figures"): one file, one interpreter call, each job decoded from its own."""
        named = (self.card.data.get("members_by_job") or {}).get(job)
        return list(range(self.members)) if named is None else [int(i) for i in named]

    def probs(self, lines: np.ndarray, job: str = FIELDS) -> np.ndarray:
        """(N, LINE_HEIGHT, LINE_WIDTH) prepared lines → (N, K, T, C) per-member per-step
        probabilities of the K members that read for `job` (`job_members`)."""
        return self._for_job(self._every_member(lines), job)

    def _every_member(self, lines: np.ndarray) -> np.ndarray:
        """Prepared lines → (N, members, T, C): every member's probabilities, one interpreter call."""
        lines = np.asarray(lines, np.float32).reshape(-1, LINE_HEIGHT, LINE_WIDTH)
        out = self.runner.predict(lines)
        return out.reshape(len(lines), self.members, -1, len(self.card.labels))

    def _for_job(self, every: np.ndarray, job: str) -> np.ndarray:
        """(N, members, T, C) → the members that read for `job` (all of them: as it is)."""
        members = self.job_members(job)
        return every if members == list(range(self.members)) else every[:, members]

    @property
    def decoder(self) -> str:
        """How the members' readings become one (`ctc.DECODERS`): the card's `decode`, "vote"
        where a card predates the choice."""
        return str(self.card.data.get("decode", "vote"))

    def decode(self, member_probs: np.ndarray) -> list[LineChar]:
        """One line's (K, T, C) probabilities → the characters read (the card's decoder)."""
        return DECODERS[self.decoder](member_probs, self.blank)

    def probability(self, member_probs: np.ndarray, digits: tuple[int, ...]) -> float:
        """One line's (K, T, C) probabilities → the members' mean probability of `digits`."""
        return string_probability(member_probs, digits, self.blank)

    def read(self, image: np.ndarray) -> tuple[list[LineChar], np.ndarray]:
        """A field → (characters read, the prepared line)."""
        line = prepare_line(image)
        return self.decode(self.probs(line[None])[0]), line

    def describe(self) -> dict:
        return {
            "name": self.card.name,
            "version": self.card.version,
            "sha256": self.package.sha256,
            "trust": self.trust,
        }


def default_line_model_path() -> Path:
    """The bundled line model's card."""
    return bundled_model_path(DEFAULT_LINE_MODEL)


def load_line_model(
    path: str | Path,
    *,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> LineModel:
    """Read and verify a line model package (the same trust policy as the digit model), check its
    tensors against its card, and self-test it (an empty field reads as nothing)."""
    return line_model_from(ModelPackage.read(path), policy, backend=backend, num_threads=num_threads)


def line_model_from(
    package: ModelPackage,
    policy: TrustPolicy | None = None,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
) -> LineModel:
    """`load_line_model` of a package already read (the model store checks the bytes it copies)."""
    card = package.card
    if card.preprocessing != LINE_PREP_ID:
        raise ModelError(
            f"line model expects input preparation {card.preprocessing!r}, this device does {LINE_PREP_ID!r}"
        )
    if BLANK_LABEL not in card.labels or sorted(card.labels) != sorted([*map(str, range(10)), BLANK_LABEL]):
        raise ModelShapeError(
            f"line model {package.model_path}: labels must be the ten digits and {BLANK_LABEL!r}"
        )
    if card.data.get("decode", "vote") not in DECODERS:
        raise ModelError(
            f"line model {package.model_path}: decode must be one of {', '.join(DECODERS)}, "
            f"not {card.data['decode']!r}"
        )
    trust = package.verify(policy or TrustPolicy())
    runner, backend_name = open_runner(card, package.model_bytes, package.model_path, backend, num_threads)
    model = LineModel(package, runner, backend_name, trust, card.labels.index(BLANK_LABEL))
    _check_jobs(model, package.model_path)
    _self_test(model, package.model_path)
    log.info("loaded line model %s %s (%s)", card.name, card.version, trust)
    return model


def _self_test(model: LineModel, path: Path) -> None:
    """An empty line, read once, then by the members of each job (JOBS): probabilities, and no
    digit."""
    try:
        every = model._every_member(np.zeros((1, LINE_HEIGHT, LINE_WIDTH), np.float32))
    except (ValueError, RuntimeError) as e:
        raise SelfTestFailedError(f"self-test failed: {path} does not run ({_first_line(e)})") from None
    for job in JOBS:
        empty = model._for_job(every, job)[0]
        if not np.isfinite(empty).all() or np.abs(empty.sum(axis=-1) - 1.0).max() > 0.05:
            raise SelfTestFailedError(f"self-test failed: {path} does not output probabilities")
        if model.decode(empty):
            raise SelfTestFailedError(f"self-test failed: {path} reads digits on an empty field")


def _check_jobs(model: LineModel, path: Path) -> None:
    """The card's `members_by_job`, if any: each named job (JOBS) one or more distinct members of
    the file. ModelError (one line) otherwise."""
    named = model.card.data.get("members_by_job")
    if named is None:
        return
    if not isinstance(named, dict) or not set(named) <= set(JOBS):
        raise ModelError(f"line model {path}: members_by_job must name jobs among {', '.join(JOBS)}")
    for job, members in named.items():
        ok = isinstance(members, list) and members and len(set(members)) == len(members)
        if not ok or not all(isinstance(i, int) and 0 <= i < model.members for i in members):
            raise ModelError(
                f"line model {path}: members_by_job[{job!r}] must list distinct members 0-{model.members - 1}"
            )


def open_line_model(
    path: Path | None,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> LineModel | None:
    """The line model for fields (`path`, or the bundled one when None), or None when it is
    missing or refused, which is said in one warning line (fields are then read by
    segmentation). Whether to use one at all is the caller's setting (DIGITKIOSK_LINE_MODEL)."""
    return open_optional(
        load_line_model,
        path,
        default_line_model_path(),
        policy,
        backend,
        num_threads,
        "line model not used, fields are read by segmentation",
    )


def line_digits(
    chars: list[LineChar], line: np.ndarray, steps: int, shape: tuple[int, ...], threshold: float
) -> list:
    """Characters read on a prepared line (of `steps` output steps) → DigitReadings: boxes in the
    input's coordinates (the columns of their steps, the field's height), the line's columns
    around them as their 28x28 image (what the model saw there, for a display)."""
    from .readings import DigitReading

    h, w = shape[:2]
    used = min(LINE_WIDTH, max(1, round(w * LINE_HEIGHT / h)))  # columns the field fills
    sx, stride = w / used, max(1, LINE_WIDTH // max(1, steps))
    out = []
    for c in chars:
        x0, x1 = c.steps[0] * stride, min(used, (c.steps[1] + 1) * stride)
        cols = line[:, max(0, x0 - stride) : max(x0 + 1, min(LINE_WIDTH, x1 + stride))]
        image = cv2.resize(cols, (28, 28), interpolation=cv2.INTER_AREA)
        box = [round(x0 * sx, 1), 0.0, round(max(1, x1 - x0) * sx, 1), float(h)]
        # int8 outputs tie often; the reading must name the digit the decoder chose, not the
        # other of a tie (argsort breaks ties the other way from argmax).
        probs = c.probs.copy()
        probs[c.digit] += 1e-6
        out.append(DigitReading.from_probs(probs, threshold, image, box))
    return out


def read_field(recognizer, model: LineModel, image: np.ndarray, t0: float):
    """A field read by the line model and by segmentation (`Recognizer.read_by_segmentation`):
    the segmentation's answer where it is sure (every digit at least the card's
    `prefer_segmentation_above`) and has as many digits as the line model's, the line model's
    otherwise (chosen on the validation scans and held-out clean digits: README, Measured
    figures). The digit model reads one clean digit better; the line model reads what
    segmentation cuts wrong, and then segmentation rarely agrees on the count. Where segmentation
    agrees on the count but is not sure, the digit model's probabilities of each of the members'
    readings of that many digits, to the card's `segmentation_opinion_weight`, join the members'
    own in choosing among them (`ctc.rescored_decode`; absent or 0: not asked)."""
    import time

    from .errors import NothingToReadError
    from .readings import Reading

    line = prepare_line(image)
    probs = model.probs(line[None])[0]
    chars = model.decode(probs)
    try:
        # By the digit model, not the paper model (`paper_reader.py`): `prefer_segmentation_above`
        # was chosen on its confidences, and the paper model, sure of more of segmentation's
        # wrong cuts, lost amounts here (validation scans: 78.6% exactly right against 83.5%).
        # Segmentation's own answer, not touching numbers read again by this line model.
        segmented: Reading | None = recognizer.read_by_segmentation(image, t0, paper=False, touching=False)
    except NothingToReadError:
        if not chars:
            raise
        segmented = None
    prefer = float(model.card.data.get("prefer_segmentation_above", 2.0))  # absent: never
    if segmented is not None and (
        not chars
        or (
            segmented.sure
            and len(segmented.digits) == len(chars)
            and min(d.confidence for d in segmented.digits) >= prefer
        )
    ):
        # Whichever answers, the field's confidence is the line model's probability of the answer
        # (each digit's best class, as for the line model's own digits shown as "?").
        segmented.field_confidence = model.probability(probs, tuple(d.top3[0][0] for d in segmented.digits))
        return segmented
    weight = float(model.card.data.get("segmentation_opinion_weight", 0.0))
    if segmented is not None and weight > 0 and len(segmented.digits) == len(chars):
        opinion = segmented.log_probability
        chars = rescored_decode(probs, model.blank, len(chars), lambda s: weight * opinion(s)) or chars
    digits = line_digits(chars, line, probs.shape[1], np.shape(image), model.card.reject_threshold)
    confidence = model.probability(probs, tuple(c.digit for c in chars))
    return Reading(digits, (time.perf_counter() - t0) * 1000.0, [""] * (len(digits) - 1), confidence)


def read_if_field(recognizer, model: LineModel, image: np.ndarray, t0: float):
    """`read_field` of a picture that is a field (`fields.is_field`), or that is one once brought
    to the size the line model knows (`fields.as_field`: a field scanned at a higher resolution,
    or cut with room around it), its boxes given back in the picture's pixels; None for a
    picture that is no field (a photo of a page: read by segmentation)."""
    from .segment import to_gray

    if is_field(image):
        return read_field(recognizer, model, image, t0)
    found = as_field(to_gray(image))
    if found is None:
        return None
    field, top, scale = found
    reading = read_field(recognizer, model, field, t0)
    for d in reading.digits:
        if d.box is not None:
            x, y, w, h = d.box
            d.box = [round(x / scale, 1), round(y / scale + top, 1), round(w / scale, 1), round(h / scale, 1)]
    return reading


# `predict --single`: the paper pair's probabilities of a one-digit crop times the line model's to
# this power (a weighted geometric mean, renormalised). On the ORAND validation crops (923 digits,
# `make measure-scans`) the pair alone read 97.62% top-1, 96.32% at its reject threshold with
# 1.73% wrong; with the line model at 0.25: 98.37%, 96.75%, 1.30% wrong; at 0.5: 98.16%, 96.75%.
# On 1,500 clean MNIST digits that neither model trained on, cut as crops, 0.25 read 99.07% at the
# threshold (the pair alone 99.00%) and 0.5 98.87%: so 0.25.
SINGLE_DIGIT_LINE_WEIGHT = 0.25


def one_digit_probs(model: LineModel, image: np.ndarray) -> np.ndarray:
    """A crop holding one digit → (10,): the line model's probability of each one-digit string,
    the mean over its members (`ctc.members_log_probability`), renormalised over the ten."""
    from .ctc import members_log_probability

    member_probs = model.probs(prepare_line(image)[None])[0]
    logp = members_log_probability(member_probs, [(d,) for d in range(10)], model.blank)
    probs = np.exp(logp - logp.max())
    return probs / probs.sum()


def single_digit_probs(model: LineModel, image: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """The paper pair's (10,) probabilities of a one-digit crop with the line model's
    (`one_digit_probs`) at SINGLE_DIGIT_LINE_WEIGHT: their weighted geometric mean, renormalised
    (`stroke_reader.combine`, the pairs' own). Probabilities with an eleventh class ("none": not
    a digit), which the line model has no counterpart of, are left as they are."""
    from .stroke_reader import combine

    if len(probs) != 10:
        return probs
    return combine(probs[None], one_digit_probs(model, image)[None], SINGLE_DIGIT_LINE_WEIGHT)[0]
