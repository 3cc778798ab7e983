"""The files a push carries to each kiosk, read and checked once on the workstation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

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

    @property
    def files(self) -> list[Path]:
        return [p for p in (self.model, self.signature, self.card) if p is not None]


def load_bundle(model: str | Path, allow_unsigned: bool = False, require_gate: bool = False) -> ModelBundle:
    package = read_package(Path(model))
    if package.signature is None and not allow_unsigned:
        raise DeployError(f"{package.card_path} is not signed: run 'digitkiosk-deploy sign {model}' first")
    if require_gate and not gate_passed(json.loads(package.card_bytes)):
        raise DeployError(
            f"{package.card_path} has no passed regression gate for this model: run "
            "'digitkiosk-train gate NEW CURRENT ...' before signing, or push with --force"
        )
    card = package.card
    sig = package.signature_path if package.signature is not None else None
    return ModelBundle(
        package.card_path, package.model_path, sig, card.name, card.version, card.sha256, package.card_sha256
    )


def gate_passed(card: dict) -> bool:
    """Does the card carry a passed `digitkiosk-train gate` verdict for exactly its own model?"""
    gate = card.get("gate")
    return (
        isinstance(gate, dict)
        and gate.get("passed") is True
        and gate.get("model_sha256") == card.get("sha256")
    )
