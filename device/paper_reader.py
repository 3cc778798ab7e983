"""The paper model: digits on paper (photos, scans, the camera) read by a model made for them, with
the digit model as its partner where it is unsure.

The digit model (`digitnet`) was trained on MNIST and pen digits: it reads the kiosk's pen and
MNIST best, and real scanned digits worst (92% of the ORAND validation crops). The paper model
(`papernet`) was trained on every medium, real scanned digits included, and reads those far better
(98%) but MNIST and pen digits a little worse. So a picture is read by the paper model, and only
where its top digit is below its card's `read_with_partner_below` (a few percent of digits) by the
digit model too, the answer then being the pair's normalised geometric mean (`stroke_reader.
combine`, the pen path's pair). Most digits cost one interpreter call; the unsure ones, where a
second opinion pays, two. The gate and the reject threshold of these answers were chosen on
validation writers and images (`train/paper_pair.py`) and are kept in the card's `pair` block,
with the identity of the partner they were chosen with: with any other digit model (one pushed
later) the paper model answers alone, at its own threshold, and says so once.

The paper model is a digit-model package like the others (`package.py`: card, sha256, pin or
signature under the same TrustPolicy, the same self-test). One that is missing or refused is
reported in one warning line and pictures are read by the digit model alone, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import ModelError
from .loader import LoadedModel, bundled_model_path, load_model, open_optional
from .package import TrustPolicy
from .readings import DIGITS
from .stroke_reader import combine

log = logging.getLogger(__name__)

DEFAULT_PAPER_MODEL = "papernet.tflite"


def pair_probs(
    paper_probs: np.ndarray, partner_read: Callable[[np.ndarray], np.ndarray], gate: float
) -> tuple[np.ndarray, np.ndarray]:
    """The paper model's probabilities → the answers: rows whose top digit is below `gate` are
    combined with the partner's reading of them (`partner_read(row indices)`, asked once, for those
    rows only). Returns (probabilities, which rows the partner read)."""
    paper_probs = np.asarray(paper_probs, np.float32)
    partnered = paper_probs[:, :DIGITS].max(axis=1) < gate
    if not partnered.any():
        return paper_probs, partnered
    rows = np.flatnonzero(partnered)
    paired = combine(paper_probs[rows], partner_read(rows))
    if paired.shape[1] > paper_probs.shape[1]:  # the partner has "none": the paper's rows get a 0 column
        paper_probs = np.pad(paper_probs, ((0, 0), (0, paired.shape[1] - paper_probs.shape[1])))
    out = paper_probs.copy()
    out[rows] = paired
    return out, partnered


@dataclass
class PaperModel:
    model: LoadedModel
    gate: float  # read with the partner below this top-digit probability
    pair_threshold: float  # the reject threshold of these answers
    partner_sha256: str  # the digit model the gate and the threshold were chosen with
    _warned: bool = False

    @property
    def card(self):
        return self.model.card

    # What the model store records of any kind of model (store_state.StateFile.selftest_record).
    @property
    def backend(self) -> str:
        return self.model.backend

    @property
    def trust(self) -> str:
        return self.model.trust

    @property
    def selftest_accuracy(self) -> float:
        return self.model.selftest_accuracy

    def threshold(self, partner: LoadedModel) -> float:
        """The reject threshold of answers read with `partner` (the recognizer's digit model)."""
        return self.pair_threshold if self.pairs_with(partner) else self.card.reject_threshold

    def pairs_with(self, partner: LoadedModel) -> bool:
        if partner.sha256 == self.partner_sha256:
            return True
        if not self._warned:
            self._warned = True
            log.warning(
                "paper model %s %s was paired with another digit model than %s %s: it reads alone",
                self.card.name, self.card.version, partner.card.name, partner.card.version,
            )  # fmt: skip
        return False

    def read(
        self, images: np.ndarray, partner: LoadedModel, partner_probs: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """(N, 28, 28) prepared images → (probabilities, the reject threshold they answer at).
        `partner_probs`: the partner's probabilities of these images when the caller has them
        already (segmentation reads every mark with it first); its call is then not made again."""
        probs = self.model.predict_probs(images)
        if not self.pairs_with(partner):
            return probs, self.card.reject_threshold
        if partner_probs is None:
            paired, _ = pair_probs(probs, lambda rows: partner.predict_probs(images[rows]), self.gate)
        else:
            paired, _ = pair_probs(probs, lambda rows: partner_probs[rows], self.gate)
        return paired, self.pair_threshold

    def describe(self) -> dict:
        return {**self.model.describe(), "read_with_partner_below": self.gate}


def default_paper_model_path() -> Path:
    """The bundled paper model's card."""
    return bundled_model_path(DEFAULT_PAPER_MODEL)


def load_paper_model(
    path: str | Path,
    *,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> PaperModel:
    """A digit-model package (verified and self-tested as one, `loader.load_model`) whose card has
    the `pair` block `train/paper_pair.py` writes."""
    return paper_model_from(load_model(path, backend=backend, num_threads=num_threads, policy=policy))


def paper_model_from(model: LoadedModel) -> PaperModel:
    """A digit model already verified and self-tested (`loader.load_package`) as the paper model:
    its card's `pair` block checked."""
    pair = model.card.data.get("pair")
    where = model.path
    if not isinstance(pair, dict):
        raise ModelError(f"paper model {where}: its card has no 'pair' block (train/paper_pair.py writes it)")
    gate, threshold = pair.get("read_with_partner_below"), pair.get("reject_threshold")
    partner = pair.get("partner")
    sha = partner.get("sha256") if isinstance(partner, dict) else None
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (gate, threshold))
    if not numbers or not 0.0 < threshold < 1.0 or not 0.0 <= gate <= 1.01 or not isinstance(sha, str):
        raise ModelError(
            f"paper model {where}: its card's 'pair' needs read_with_partner_below (0 to 1.01), "
            "reject_threshold (0 to 1) and the partner's sha256"
        )
    log.info("loaded paper model %s %s (%s)", model.card.name, model.card.version, model.trust)
    return PaperModel(model, float(gate), float(threshold), sha)


def open_paper_model(
    path: Path | None,
    policy: TrustPolicy | None = None,
    backend: str | None = None,
    num_threads: int | None = None,
) -> PaperModel | None:
    """The paper model (`path`, or the bundled one when None), or None when it is missing or
    refused, said in one warning line (pictures are then read by the digit model alone). Whether to
    use one at all is the caller's setting (DIGITKIOSK_PAPER_MODEL)."""
    return open_optional(
        load_paper_model,
        path,
        default_paper_model_path(),
        policy,
        backend,
        num_threads,
        "paper model not used, pictures are read by the digit model alone",
    )
