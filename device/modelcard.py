"""Model cards: the JSON file beside each `.tflite` that says what the model is and expects.

The device trusts nothing about a model that its card does not pin down: the file's size and
sha256, its input/output tensors and quantization, its labels and the input preparation it was
trained with. Training metrics ride along for people (and the kiosk's status line).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelCardError, ModelMissingError
from .outputs import LOGITS, output_kind

CARD_FORMAT = 1
MAX_CARD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class TensorSpec:
    shape: tuple[int, ...]
    dtype: str
    scale: float
    zero_point: int

    @staticmethod
    def from_json(d: Any, where: str) -> TensorSpec:
        try:
            return TensorSpec(
                shape=tuple(int(v) for v in d["shape"]),
                dtype=str(d["dtype"]),
                scale=float(d["quantization"]["scale"]),
                zero_point=int(d["quantization"]["zero_point"]),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ModelCardError(f"model card: bad {where} tensor description ({e})") from None

    def to_json(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "dtype": self.dtype,
            "quantization": {"scale": self.scale, "zero_point": self.zero_point},
        }


@dataclass(frozen=True)
class ModelCard:
    path: Path  # where the card was read from
    data: dict[str, Any]  # the whole card, as written

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def version(self) -> str:
        return str(self.data["version"])

    @property
    def model_file(self) -> Path:
        return self.path.parent / self.data["file"]

    @property
    def sha256(self) -> str:
        return str(self.data["sha256"])

    @property
    def size(self) -> int:
        return int(self.data["size_bytes"])

    @property
    def labels(self) -> list[str]:
        return [str(v) for v in self.data["labels"]]

    @property
    def preprocessing(self) -> str:
        return str(self.data["preprocessing"])

    @property
    def reject_threshold(self) -> float:
        return float(self.data.get("reject_threshold", 0.0))

    @property
    def alone_temperature(self) -> float:
        """The temperature of the model's answers when it answers alone (no partner model): its
        card's `answers_alone` block (the digit model's confidences, which segmentation and the
        stroke grouping were chosen on, are under-confident; 1.0 without the block)."""
        return float(self.data.get("answers_alone", {}).get("temperature", 1.0))

    @property
    def alone_threshold(self) -> float:
        """The reject threshold of those answers (of the calibrated confidence); the card's
        `reject_threshold` without the block."""
        return float(self.data.get("answers_alone", {}).get("reject_threshold", self.reject_threshold))

    @property
    def output_kind(self) -> str:
        """ "logits" (the device computes the softmax) or "probabilities" (the model's own int8
        softmax; cards without the field): `outputs.py`."""
        return output_kind(self.data, self.path)

    @property
    def input(self) -> TensorSpec:
        return TensorSpec.from_json(self.data["input"], "input")

    @property
    def output(self) -> TensorSpec:
        return TensorSpec.from_json(self.data["output"], "output")


REQUIRED = {
    "name": str,
    "version": str,
    "file": str,
    "sha256": str,
    "size_bytes": int,
    "labels": list,
    "preprocessing": str,
    "input": dict,
    "output": dict,
}


def card_path_for(model: str | Path) -> Path:
    """`models/x.tflite` and `models/x.json` both name the card `models/x.json`."""
    p = Path(model)
    return p if p.suffix == ".json" else p.with_suffix(".json")


def read_card(path: str | Path) -> ModelCard:
    path = card_path_for(path)
    if not path.is_file():
        raise ModelMissingError(f"model card not found: {path}")
    if path.stat().st_size > MAX_CARD_BYTES:
        raise ModelCardError(f"model card too large: {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelCardError(f"model card is not valid JSON: {path} ({e})") from None
    return parse_card(data, path)


def parse_card(data: Any, path: Path) -> ModelCard:
    if not isinstance(data, dict):
        raise ModelCardError(f"model card must be a JSON object: {path}")
    for key, typ in REQUIRED.items():
        if key not in data:
            raise ModelCardError(f"model card lacks '{key}': {path}")
        if not isinstance(data[key], typ) or isinstance(data[key], bool):
            raise ModelCardError(f"model card '{key}' must be {typ.__name__}: {path}")
    if Path(data["file"]).name != data["file"]:
        raise ModelCardError(f"model card 'file' must be a file name beside the card: {path}")
    if len(data["sha256"]) != 64:
        raise ModelCardError(f"model card 'sha256' is not a sha256 digest: {path}")
    threshold = data.get("reject_threshold", 0.0)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise ModelCardError(f"model card 'reject_threshold' must be a number: {path}")
    _check_answers_alone(data, path)
    card = ModelCard(path, data)
    card.input  # noqa: B018 - validates the tensor descriptions now, with a clear message
    card.output  # noqa: B018
    card.output_kind  # noqa: B018
    return card


def _check_answers_alone(data: dict, path: Path) -> None:
    """`answers_alone`, if present: a temperature > 0 and a reject threshold in (0, 1), on a model
    that outputs logits (a temperature divides logits; a model's own softmax has none to divide)."""
    if "answers_alone" not in data:
        return
    block = data["answers_alone"]
    values = [block.get(k) for k in ("temperature", "reject_threshold")] if isinstance(block, dict) else []
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
        raise ModelCardError(f"model card 'answers_alone' needs a temperature and a reject_threshold: {path}")
    if not (0.0 < values[0] <= 100.0 and 0.0 < values[1] < 1.0):
        raise ModelCardError(
            "model card 'answers_alone': temperature must be within (0, 100], "
            f"reject_threshold within (0, 1): {path}"
        )
    if output_kind(data, path) != LOGITS:
        raise ModelCardError(f"model card 'answers_alone' needs a model that outputs logits: {path}")
