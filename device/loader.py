"""Loading a model safely: the package read and verified (`package.py`: card → size and sha256 →
TFLite identifier → signature or pin under the trust policy) → interpreter from bytes (the
verifying path) → tensor shapes, dtypes and quantization against the card → self-test on real
digits shipped with the package. Any failure refuses the model with its own message, and a
package refused by the interpreter checks is never handed to an interpreter again in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TypeVar

import numpy as np

from .backends import get_backend
from .errors import (
    DigitkioskError,
    ModelError,
    ModelMissingError,
    ModelShapeError,
    NotATFLiteModelError,
    SelfTestFailedError,
)
from .mnist_prep import PREP_ID
from .modelcard import ModelCard
from .outputs import LOGITS, to_probabilities
from .package import MAX_MODEL_BYTES, TFLITE_IDENTIFIER, ModelPackage, TrustPolicy
from .runner import Runner

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_MODEL_NAME = "digitnet.tflite"
SELFTEST_MIN_ACCURACY = 0.9
# What a model may answer: the ten digits, then optionally "none" (not a digit, a mark or two
# digits in one box) as an eleventh class.
KNOWN_LABELS = [*(str(d) for d in range(10)), "none"]

# Package identity (card + signature + model bytes: everything verified) → why the interpreter
# checks refused it. Trust refusals are not remembered: they depend on the trust directory, which
# may gain a key, and they never reach an interpreter. Guarded by a lock: the kiosk reloads
# models from a watcher thread.
_refused: dict[str, str] = {}
_refused_lock = threading.Lock()


def bundled_model_path(file_name: str) -> Path:
    """A model shipped with the package (`models/`)."""
    return Path(str(resources.files("digitkiosk.models") / file_name))


def default_model_path() -> Path:
    """The model shipped with the package."""
    return bundled_model_path(DEFAULT_MODEL_NAME)


def open_optional(
    load: Callable[..., T],
    path: Path | None,
    bundled: Path,
    policy: TrustPolicy | None,
    backend: str | None,
    num_threads: int | None,
    without: str,
) -> T | None:
    """A second model beside the digit model (line, stroke, paper): `load(path or bundled)`, or
    None when it is missing or refused, said in one warning line `"<without>: <why>"` (what is
    read without it, and how). Whether to use one at all is the caller's setting."""
    try:
        return load(path or bundled, policy=policy, backend=backend, num_threads=num_threads)
    except DigitkioskError as e:
        log.warning("%s: %s", without, e)
        return None


def read_model_bytes(path: str | Path) -> bytes:
    """Read a .tflite file with size and identifier checks, no card involved (the trainer's
    evaluation of files it just wrote; the device always goes through ModelPackage)."""
    path = Path(path)
    if not path.is_file():
        raise ModelMissingError(f"model not found: {path}")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise NotATFLiteModelError(f"not a digit model: {path} is {size} bytes (limit {MAX_MODEL_BYTES})")
    data = path.read_bytes()
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        raise NotATFLiteModelError(f"not a TFLite model: {path}")
    return data


@dataclass
class LoadedModel:
    card: ModelCard
    runner: Runner
    backend: str
    path: Path
    sha256: str
    selftest_accuracy: float
    trust: str = ""  # what vouched for it: "key <id>", the bundled-model pin, development mode

    def predict_probs(self, images: np.ndarray, alone: bool = False) -> np.ndarray:
        """(N, 28, 28) float in [0, 1] → (N, 10) probabilities (N, 11 with "none" last). `alone`:
        as the model answers without a partner, calibrated by its card's temperature (the raw
        ones are what the segmentation, grouping and pair rules were chosen on)."""
        return self.runner.predict(images, temperature=self.card.alone_temperature if alone else 1.0)

    def predict_probs_raw_and_alone(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`predict_probs` without and with `alone`, from one interpreter call."""
        raw = self.runner.raw(images)
        out, kind, t = self.runner.output_details, self.runner.output_kind, self.card.alone_temperature
        return to_probabilities(raw, out, kind), to_probabilities(raw, out, kind, t)

    def describe(self) -> dict:
        return {
            "name": self.card.name,
            "version": self.card.version,
            "sha256": self.sha256,
            "path": str(self.path),
            "backend": self.backend,
            "trust": self.trust,
        }


def load_model(
    path: str | Path | None = None,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
    policy: TrustPolicy | None = None,
) -> LoadedModel:
    """Load and verify a model. `path` is the .tflite or its .json card (default: the bundled
    model); `policy` defaults to the production one (TrustPolicy(): the default trust directory,
    unsigned models refused). The CLI passes the one its settings describe (settings.py)."""
    package = ModelPackage.read(path or default_model_path())
    return load_package(package, policy or TrustPolicy(), backend=backend, num_threads=num_threads)


def load_package(
    package: ModelPackage,
    policy: TrustPolicy,
    *,
    backend: str | None = None,
    num_threads: int | None = None,
) -> LoadedModel:
    """Verify an already read package against `policy`, then build and self-test it."""
    card = package.card
    if card.preprocessing != PREP_ID:
        raise ModelError(
            f"model expects input preparation {card.preprocessing!r}, this device does {PREP_ID!r}"
        )
    trust = package.verify(policy)
    key = package.identity
    with _refused_lock:
        earlier = _refused.get(key)
    if earlier:
        raise ModelError(f"model refused earlier in this process: {earlier}")
    try:
        loaded = _build(card, package.model_bytes, package.sha256, package.model_path, backend, num_threads)
    except DigitkioskError as e:
        with _refused_lock:
            _refused[key] = str(e)
        log.warning("refused model %s: %s", package.model_path, e)
        raise
    loaded.trust = trust
    log.info(
        "loaded model %s %s (%s, %s) via %s",
        card.name,
        card.version,
        package.sha256[:12],
        trust,
        loaded.backend,
    )
    return loaded


def _build(
    card: ModelCard, data: bytes, digest: str, path: Path, backend_name: str | None, num_threads: int | None
) -> LoadedModel:
    runner, backend = open_runner(card, data, path, backend_name, num_threads)
    if card.labels not in (KNOWN_LABELS[:10], KNOWN_LABELS):
        raise ModelShapeError(f"{path}: labels must be the digits 0-9, optionally none (not a digit) last")
    accuracy = _self_test(runner, path)
    return LoadedModel(card, runner, backend, path, digest, accuracy)


def open_runner(
    card: ModelCard, data: bytes, path: Path, backend_name: str | None, num_threads: int | None
) -> tuple[Runner, str]:
    """A verified package's bytes → a runner on the chosen backend, its tensors checked against
    the card (shapes, dtypes, quantization, what the output is, one output per label), and the
    backend's name. The one way every model (digits, lines, strokes) gets an interpreter."""
    backend = get_backend(backend_name)
    try:
        interpreter = backend.interpreter(data, num_threads=num_threads or 1)
        runner = Runner(interpreter, card.output_kind, backend.max_batch)
    except (ValueError, RuntimeError) as e:
        raise NotATFLiteModelError(f"not a valid TFLite model: {path} ({_first_line(e)})") from None
    _check_tensor(runner.input_details, card.input, "input", path)
    _check_tensor(runner.output_details, card.output, "output", path)
    check_output_kind(runner, card.output_kind, path)
    if card.output.shape[-1] != len(card.labels):
        raise ModelShapeError(
            f"shape mismatch: {path} has {card.output.shape[-1]} outputs for {len(card.labels)} labels"
        )
    return runner, backend.name


def _check_tensor(details: dict, spec, which: str, path: Path) -> None:
    shape = tuple(int(v) for v in details["shape"])
    dtype = np.dtype(details["dtype"]).name
    scale, zero = details["quantization"]
    if shape[1:] != tuple(spec.shape[1:]):
        raise ModelShapeError(
            f"shape mismatch: {path} {which} is {list(shape)}, its card says {list(spec.shape)}"
        )
    if dtype != spec.dtype:
        raise ModelShapeError(f"dtype mismatch: {path} {which} is {dtype}, its card says {spec.dtype}")
    if int(zero) != spec.zero_point or not np.isclose(float(scale), spec.scale, rtol=1e-5, atol=1e-9):
        raise ModelShapeError(f"quantization mismatch: {path} {which} does not match its card")


def check_output_kind(runner: Runner, kind: str, path: Path) -> None:
    """A card saying "logits" for a model that ends in its own SOFTMAX would have the device take
    a softmax of probabilities (every answer a "?"): refused. The other way round (probabilities
    said, logits given) the self-test's sum-to-one check refuses it."""
    if kind == LOGITS and runner.last_op == "SOFTMAX":
        raise ModelShapeError(f"{path}: its card says the output is logits, but the model ends in a SOFTMAX")


def selftest_digits() -> tuple[np.ndarray, np.ndarray]:
    """Real digits shipped with the package (MNIST test images and rendered pen digits)."""
    ref = resources.files("digitkiosk.device").joinpath("data/selftest_digits.npz")
    with ref.open("rb") as f, np.load(f) as d:
        return d["images"], d["labels"]


def _self_test(runner: Runner, path: Path) -> float:
    images, labels = selftest_digits()
    try:
        probs = runner.predict(images.astype(np.float32) / 255.0)
    except (ValueError, RuntimeError) as e:
        raise SelfTestFailedError(f"self-test failed: {path} does not run ({_first_line(e)})") from None
    # Ten digits, or ten and "none" (not a digit); the card's labels say which (checked above).
    return check_self_test(probs, labels, path, (10, 11), "test digits")


def check_self_test(
    probs: np.ndarray, labels: np.ndarray, path: Path, classes: tuple[int, ...], what: str
) -> float:
    """A model's probabilities on the shipped self-test examples (`what`) → its accuracy, or
    SelfTestFailedError when the output is malformed (not `classes` columns, not finite, not
    summing to 1) or reads fewer than SELFTEST_MIN_ACCURACY of them. For every model kind."""
    if probs.ndim != 2 or probs.shape[0] != len(labels) or probs.shape[1] not in classes:
        raise SelfTestFailedError(f"self-test failed: {path} gives malformed output {probs.shape}")
    if not np.isfinite(probs).all():
        raise SelfTestFailedError(f"self-test failed: {path} gives malformed output {probs.shape}")
    if np.abs(probs.sum(axis=1) - 1.0).max() > 0.05:
        raise SelfTestFailedError(f"self-test failed: {path} does not output probabilities")
    accuracy = float((probs.argmax(axis=1) == labels).mean())
    if accuracy < SELFTEST_MIN_ACCURACY:
        raise SelfTestFailedError(
            f"self-test failed: {path} reads {accuracy:.0%} of the shipped {what} "
            f"(needs {SELFTEST_MIN_ACCURACY:.0%})"
        )
    return accuracy


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__
