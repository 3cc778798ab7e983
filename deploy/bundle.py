"""The files a push carries to each kiosk, read and checked once on the workstation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from digitkiosk.device.line_reader import LINE_PREP_ID
from digitkiosk.device.model_kinds import DEFAULT_KIND, KINDS
from digitkiosk.device.stroke_reader import STROKE_PREP_ID

from .errors import DeployError
from .keys import read_package


@dataclass
class ModelBundle:
    """The three files that travel: model, card, signature (the signature may be absent only
    when the operator pushes unsigned on purpose, for development kiosks)."""

    card: Path
    model: Path
    signature: Path | None
    name: str
    version: str
    sha256: str  # of the .tflite
    card_sha256: str  # of the card's exact bytes: what the device's status reports too
    kind: str = "digit"  # which model's store on the kiosk (digitkiosk.device.model_kinds)

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.model, self.signature, self.card) if p is not None]


def load_bundle(
    model: str | Path, allow_unsigned: bool = False, require_gate: bool = False, kind: str | None = None
) -> ModelBundle:
    """`kind`: which model it is on the kiosk (None: as its card says, `kind_of_card`). The
    regression gate (`digitkiosk-train gate`) compares digit models: only a digit model needs it."""
    package = read_package(Path(model))
    data = json.loads(package.card_bytes)
    kind = kind or kind_of_card(data)
    if kind not in KINDS:
        raise DeployError(f"unknown model kind {kind!r} (one of: {', '.join(KINDS)})")
    if package.signature is None and not allow_unsigned:
        raise DeployError(f"{package.card_path} is not signed: run 'digitkiosk-deploy sign {model}' first")
    if require_gate and kind == DEFAULT_KIND and not gate_passed(data):
        raise DeployError(
            f"{package.card_path} has no passed regression gate for this model: run "
            "'digitkiosk-train gate NEW CURRENT ...' before signing, or push with --force"
        )
    card = package.card
    sig = package.signature_path if package.signature is not None else None
    return ModelBundle(
        package.card_path,
        package.model_path,
        sig,
        card.name,
        card.version,
        card.sha256,
        package.card_sha256,
        kind,
    )


def kind_of_card(card: dict) -> str:
    """Which kind of model a card describes: by the input preparation it was trained for (the line
    and stroke models have their own), and a digit model with a `pair` block (paper_pair.py writes
    it) is a paper model. The kiosk's store checks it again with that kind's own loader."""
    prep = card.get("preprocessing")
    if prep == LINE_PREP_ID:
        return "line"
    if prep == STROKE_PREP_ID:
        return "stroke"
    return "paper" if isinstance(card.get("pair"), dict) else DEFAULT_KIND


def gate_passed(card: dict) -> bool:
    """Does the card carry a passed `digitkiosk-train gate` verdict for exactly its own model?"""
    gate = card.get("gate")
    return (
        isinstance(gate, dict)
        and gate.get("passed") is True
        and gate.get("model_sha256") == card.get("sha256")
    )
