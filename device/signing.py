"""Model signatures, device side: an Ed25519 signature over the model card's exact bytes.

The card pins the `.tflite`'s sha256 and size, so signing the card signs every file of the model
(a signed manifest, as in SWUpdate or Mender). The signature lives beside the card as
`<card>.sig`, a small JSON document naming the key that made it:

    {"format": 1, "algorithm": "ed25519", "key_id": "<16 hex>", "signature": "<base64>"}

The device trusts the public keys (PEM, `*.pub`) in a trust directory, default
`/etc/digitkiosk/trusted_keys/` (or DIGITKIOSK_TRUST_DIR). Unsigned models and models signed by an
unknown key are refused unless development mode is switched on explicitly
(DIGITKIOSK_ALLOW_UNSIGNED=1 or `--allow-unsigned`); a signature that names a trusted key but does
not verify is refused always — that is tampering, not a development shortcut.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import SignatureError
from .fileutil import sha256_bytes
from .modelcard import ModelCard, card_path_for

if TYPE_CHECKING:
    from .loader import Verifier

log = logging.getLogger(__name__)

DEFAULT_TRUST_DIR = Path("/etc/digitkiosk/trusted_keys")
ENV_TRUST_DIR = "DIGITKIOSK_TRUST_DIR"
ENV_ALLOW_UNSIGNED = "DIGITKIOSK_ALLOW_UNSIGNED"
SIG_SUFFIX = ".sig"
SIG_FORMAT = 1
ALGORITHM = "ed25519"
MAX_SIG_BYTES = 4096
MAX_KEY_BYTES = 4096


@dataclass(frozen=True)
class TrustedKey:
    key_id: str
    path: Path
    public_key: object  # cryptography Ed25519PublicKey (kept untyped: cryptography imports lazily)


def signature_path_for(card_path: str | Path) -> Path:
    """`models/x.json` (or `models/x.tflite`) → `models/x.json.sig`."""
    card = card_path_for(card_path)
    return card.with_name(card.name + SIG_SUFFIX)


def key_id_for(raw_public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of sha256(raw key)."""
    return hashlib.sha256(raw_public_key).hexdigest()[:16]


def trust_dir_from_env(trust_dir: str | Path | None = None) -> Path:
    if trust_dir:
        return Path(trust_dir)
    env = os.environ.get(ENV_TRUST_DIR)
    return Path(env) if env else DEFAULT_TRUST_DIR


def allow_unsigned_from_env(allow_unsigned: bool | None = None) -> bool:
    if allow_unsigned is not None:
        return allow_unsigned
    return os.environ.get(ENV_ALLOW_UNSIGNED, "").strip().lower() in ("1", "true", "yes", "on")


def load_trusted_keys(trust_dir: str | Path) -> dict[str, TrustedKey]:
    """Every Ed25519 public key (PEM) in `trust_dir`, by key id. Unreadable files are skipped
    with a warning: one bad file must not lock a kiosk out of every model."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: dict[str, TrustedKey] = {}
    directory = Path(trust_dir)
    if not directory.is_dir():
        return keys
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        try:
            if path.stat().st_size > MAX_KEY_BYTES:
                raise ValueError("too large for a public key")
            key = serialization.load_pem_public_key(path.read_bytes())
        except (OSError, ValueError, TypeError) as e:
            log.warning("ignoring %s in the trust directory: %s", path, e)
            continue
        if not isinstance(key, Ed25519PublicKey):
            log.warning("ignoring %s in the trust directory: not an Ed25519 public key", path)
            continue
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        kid = key_id_for(raw)
        keys[kid] = TrustedKey(kid, path, key)
    return keys


def read_signature(sig_path: Path) -> tuple[str, bytes]:
    """Parse a `.sig` file → (key id, raw signature bytes)."""
    try:
        if sig_path.stat().st_size > MAX_SIG_BYTES:
            raise SignatureError(f"signature file too large: {sig_path}")
        doc = json.loads(sig_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SignatureError(f"model is not signed: {sig_path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SignatureError(f"unreadable signature file {sig_path} ({e})") from None
    if not isinstance(doc, dict) or doc.get("algorithm") != ALGORITHM:
        raise SignatureError(f"signature file {sig_path} is not an {ALGORITHM} signature")
    key_id, sig_b64 = doc.get("key_id"), doc.get("signature")
    if not isinstance(key_id, str) or not isinstance(sig_b64, str):
        raise SignatureError(f"signature file {sig_path} lacks 'key_id' or 'signature'")
    try:
        signature = base64.b64decode(sig_b64, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"signature file {sig_path} holds malformed base64") from None
    return key_id, signature


def verify_card_bytes(
    card_bytes: bytes, sig_path: Path, trusted: dict[str, TrustedKey], allow_unsigned: bool = False
) -> str | None:
    """Check the signature over `card_bytes`. Returns the key id that signed it, or None where
    development mode let an unsigned or unknown-key model through."""
    from cryptography.exceptions import InvalidSignature

    if not sig_path.exists() and allow_unsigned:
        log.warning("development mode: accepting unsigned model %s", sig_path.with_suffix(""))
        return None
    key_id, signature = read_signature(sig_path)
    key = trusted.get(key_id)
    if key is None:
        if allow_unsigned:
            log.warning("development mode: accepting model signed by unknown key %s", key_id)
            return None
        raise SignatureError(f"model signed by an unknown key {key_id} (not in the trust directory)")
    try:
        key.public_key.verify(signature, card_bytes)  # type: ignore[attr-defined]
    except InvalidSignature:
        raise SignatureError(
            f"bad signature: {sig_path.with_suffix('')} was changed after it was signed (key {key_id})"
        ) from None
    return key_id


def _canonical(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def make_verifier(trust_dir: str | Path | None = None, allow_unsigned: bool | None = None) -> Verifier:
    """A `verifier=` for `loader.load_model`: checks the card's signature against the trust
    directory and that the bytes the loader holds are the ones the signed card pins.

    The loader passes a parsed card, so the verifier re-reads the card's bytes and checks that they
    say what the parsed card says (a card swapped between the two reads is refused)."""
    directory = trust_dir_from_env(trust_dir)
    dev_mode = allow_unsigned_from_env(allow_unsigned)

    def verify(card: ModelCard, model_bytes: bytes) -> None:
        try:
            card_bytes = card.path.read_bytes()
        except OSError as e:
            raise SignatureError(f"cannot read model card {card.path} ({e})") from None
        trusted = load_trusted_keys(directory)
        if not trusted and not dev_mode:
            raise SignatureError(f"no trusted keys in {directory}: cannot verify model {card.path}")
        verify_card_bytes(card_bytes, signature_path_for(card.path), trusted, dev_mode)
        try:
            signed = json.loads(card_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise SignatureError(f"signed card {card.path} is not valid JSON") from None
        if _canonical(signed) != _canonical(card.data):
            raise SignatureError(f"model card {card.path} changed while it was being verified")
        if len(model_bytes) != card.size or sha256_bytes(model_bytes) != card.sha256:
            raise SignatureError(f"model bytes do not match the signed card {card.path}")

    return verify
