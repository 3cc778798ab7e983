"""The model package: a card, its signature and the `.tflite` it pins, read once and verified
against a trust policy. The loader, the store, the model watcher, every `digitkiosk` command and
`digitkiosk-deploy` go through this one type: nothing else reads or checks a model's files.

    <dir>/<model>.tflite      the network
    <dir>/<model>.json        its card (the name is fixed: the card's `file` is `<model>.tflite`)
    <dir>/<model>.json.sig    an Ed25519 signature over the card's exact bytes (signing.py)

`ModelPackage.read` reads each file once (sizes bounded), parses the card from the very bytes it
read, and checks the model bytes against the card (size, sha256, TFLite identifier). `verify`
then asks the `TrustPolicy` whether these bytes may run: the bundled model is trusted by its
pinned sha256 (models/TRUSTED), anything else needs a signature by a key in the trust directory,
unless development mode (`--allow-unsigned`) was asked for explicitly.
"""

from __future__ import annotations

import json
import logging
import os
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .errors import (
    ChecksumMismatchError,
    ModelCardError,
    ModelMissingError,
    NotATFLiteModelError,
    SignatureError,
)
from .fileutil import sha256_bytes
from .modelcard import MAX_CARD_BYTES, ModelCard, card_path_for, parse_card
from .settings import DEFAULT_TRUST_DIR
from .signing import (
    MAX_SIG_BYTES,
    load_trusted_keys,
    signature_path_for,
    verify_signature,
)

log = logging.getLogger(__name__)

MAX_MODEL_BYTES = 16 * 1024 * 1024
TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8
MODEL_SUFFIX = ".tflite"
PIN_FILE = "TRUSTED"  # in digitkiosk.models: `sha256sum` lines of the bundled models' cards
BUNDLED = "bundled model (pinned sha256)"
UNSIGNED = "unsigned (development mode)"


@lru_cache(maxsize=1)
def bundled_pins() -> frozenset[str]:
    """The sha256 of each bundled card, from models/TRUSTED (`<sha256>  <card>` lines, the format
    `sha256sum` writes and checks). The card pins the .tflite, so this pins the whole model."""
    try:
        text = resources.files("digitkiosk.models").joinpath(PIN_FILE).read_text(encoding="utf-8")
    except (OSError, ModuleNotFoundError):
        return frozenset()
    pins = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and len(parts[0]) == 64 and all(c in "0123456789abcdef" for c in parts[0]):
            pins.add(parts[0])
    return frozenset(pins)


@dataclass(frozen=True)
class TrustPolicy:
    """What may run: keys in `trust_dir`, the pinned bundled model, and, only when asked for,
    unsigned models (development mode, which also tolerates a trust directory others can write)."""

    trust_dir: Path = DEFAULT_TRUST_DIR
    allow_unsigned: bool = False
    pinned: frozenset[str] = field(default_factory=bundled_pins)


@dataclass
class ModelPackage:
    card: ModelCard
    card_bytes: bytes
    signature: bytes | None  # the .sig file's bytes; None when there is none
    model_bytes: bytes
    sha256: str  # of model_bytes (equal to the card's)
    _trusted: dict[TrustPolicy, str] = field(default_factory=dict, repr=False)

    @property
    def card_path(self) -> Path:
        return self.card.path

    @property
    def model_path(self) -> Path:
        return self.card.model_file

    @property
    def signature_path(self) -> Path:
        return signature_path_for(self.card.path)

    @property
    def card_sha256(self) -> str:
        return sha256_bytes(self.card_bytes)

    @property
    def identity(self) -> str:
        """Everything verified: card, signature and model bytes."""
        sig = sha256_bytes(self.signature) if self.signature is not None else "-"
        return sha256_bytes(f"{self.card_sha256}:{sig}:{self.sha256}".encode())

    def files(self) -> dict[str, bytes]:
        """File name → bytes, as they travel and as the store writes them."""
        out = {self.model_path.name: self.model_bytes, self.card_path.name: self.card_bytes}
        if self.signature is not None:
            out[self.signature_path.name] = self.signature
        return out

    @classmethod
    def read(cls, path: str | Path) -> ModelPackage:
        """Read `<model>.json` (path may name the card or the .tflite), its signature and model."""
        card_path = card_path_for(path)
        card_bytes = _read_bounded(card_path, MAX_CARD_BYTES, "model card")
        try:
            data = json.loads(card_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelCardError(f"model card is not valid JSON: {card_path} ({e})") from None
        card = parse_card(data, card_path)
        expected = card_path.stem + MODEL_SUFFIX
        if card.data["file"] != expected:
            raise ModelCardError(
                f"model card {card_path} names {card.data['file']!r} as its model: a card is named "
                f"after its model ({expected} beside {card_path.name})"
            )
        sig_path = signature_path_for(card_path)
        signature = None
        if sig_path.exists() or sig_path.is_symlink():
            signature = _read_bounded(sig_path, MAX_SIG_BYTES, "signature file")
        model_path = card.model_file
        model_bytes, size = _read_file(model_path, MAX_MODEL_BYTES, "model file")
        if size > MAX_MODEL_BYTES:
            raise NotATFLiteModelError(f"not a digit model: {model_path} is {size} bytes")
        if size != card.size:
            raise ChecksumMismatchError(
                f"size mismatch: {model_path} is {size} bytes, its card says {card.size} "
                "(incomplete transfer?)"
            )
        digest = sha256_bytes(model_bytes)
        if len(model_bytes) != card.size or digest != card.sha256:
            raise ChecksumMismatchError(
                f"checksum mismatch: {model_path} does not match its card (tampered or corrupt)"
            )
        if model_bytes[4:8] != TFLITE_IDENTIFIER:
            raise NotATFLiteModelError(f"not a TFLite model: {model_path}")
        return cls(card, card_bytes, signature, model_bytes, digest)

    def verify(self, policy: TrustPolicy) -> str:
        """Check these bytes against `policy` → what vouches for them (a key id, the bundled-model
        pin, or development mode). Raises SignatureError. Remembered per policy for this package."""
        known = self._trusted.get(policy)
        if known is not None:
            return known
        if self.card_sha256 in policy.pinned:
            trust = BUNDLED
        else:
            trusted = load_trusted_keys(policy.trust_dir, relaxed=policy.allow_unsigned)
            if not trusted and not policy.allow_unsigned:
                raise SignatureError(
                    f"no trusted keys in {policy.trust_dir}: cannot verify model {self.card_path}"
                )
            key_id = verify_signature(
                self.card_bytes, self.signature, self.signature_path, trusted, policy.allow_unsigned
            )
            trust = f"key {key_id}" if key_id else UNSIGNED
        self._trusted[policy] = trust
        return trust


def _read_file(path: Path, limit: int, what: str) -> tuple[bytes, int]:
    """A regular file's bytes, never more than `limit` + 1 of them → (bytes, size on disk).
    Opened without blocking and checked on the open descriptor, so a file swapped for a FIFO, a
    device or a growing file between a look and the read cannot hang or exhaust the (root)
    process that reads it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ModelMissingError(f"{what} not found: {path}") from None
    except OSError as e:
        raise ModelMissingError(f"cannot read {what} {path}: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise ModelMissingError(f"{what} not found: {path} is not a regular file")
        try:
            data = f.read(limit + 1) if st.st_size <= limit else b""
        except OSError as e:
            raise ModelMissingError(f"cannot read {what} {path}: {e.strerror or e}") from None
    return data, max(st.st_size, len(data))


def _read_bounded(path: Path, limit: int, what: str) -> bytes:
    data, size = _read_file(path, limit, what)
    if size > limit:
        raise ModelCardError(f"{what} too large: {path}")
    return data
