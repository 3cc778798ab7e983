"""Model signatures, device side: an Ed25519 signature over the model card's exact bytes.

The card pins the `.tflite`'s sha256 and size, so signing the card signs every file of the model
(a signed manifest, as in SWUpdate or Mender). The signature lives beside the card as
`<card>.sig`, a small JSON document naming the key that made it:

    {"format": 1, "algorithm": "ed25519", "key_id": "<16 hex>", "signature": "<base64>"}

The device trusts the public keys (PEM) in the `*.pub` files of a trust directory, default
`/etc/digitkiosk/trusted_keys/` (or DIGITKIOSK_TRUST_DIR); the directory and its keys must be
root's alone. Whether a model may run is decided in one place, `package.ModelPackage.verify`.
Unsigned models and models signed by an unknown key are refused unless development mode is
switched on explicitly (DIGITKIOSK_ALLOW_UNSIGNED=1 or `--allow-unsigned`); a signature that
names a trusted key but does not verify is refused always — that is tampering, not a development shortcut.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import SignatureError
from .modelcard import card_path_for

log = logging.getLogger(__name__)

SIG_SUFFIX = ".sig"
KEY_SUFFIX = ".pub"
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


def check_trust_path(path: Path, relaxed: bool = False, ancestor: bool = False) -> None:
    """Refuse a trust directory, key or folder above them that someone other than root could
    change: a symlink (keys only), owned by another user, or writable by group or others (a folder
    above may be others-writable with the sticky bit, like /tmp). `relaxed` (development mode)
    only warns."""
    try:
        st = os.lstat(path)
    except OSError as e:
        raise SignatureError(f"unsafe trust directory: cannot inspect {path} ({e.strerror or e})") from None
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "is a symbolic link"
    elif st.st_uid != 0:
        problem = f"is owned by uid {st.st_uid}, not root"
    elif st.st_mode & 0o022 and not (ancestor and st.st_mode & stat.S_ISVTX):
        problem = "is writable by group or others"
    if problem is None:
        return
    message = (
        f"unsafe trust directory: {path} {problem}; keys must be root's alone "
        "(chown root, chmod go-w; development mode --allow-unsigned accepts it)"
    )
    if not relaxed:
        raise SignatureError(message)
    log.warning("development mode: %s", message)


def load_trusted_keys(trust_dir: str | Path, relaxed: bool = False) -> dict[str, TrustedKey]:
    """Every Ed25519 public key (PEM) in a `*.pub` file of `trust_dir`, by key id. Other names are
    not keys (renaming `x.pub` to `x.pub.revoked` revokes it). The directory, the folders above it
    and every key must be root's alone (check_trust_path). A `.pub` that is not an Ed25519 public
    key is skipped with a warning: one bad file must not lock a kiosk out of every model."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys: dict[str, TrustedKey] = {}
    directory = Path(trust_dir)
    if not directory.is_dir():
        return keys
    real = directory.resolve()
    check_trust_path(real, relaxed)
    for parent in real.parents:
        check_trust_path(parent, relaxed, ancestor=True)
    for path in sorted(real.iterdir()):
        if path.name.startswith(".") or not path.name.endswith(KEY_SUFFIX):
            continue
        check_trust_path(path, relaxed)
        try:
            if not path.is_file():
                raise ValueError("not a regular file")
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


def parse_signature(data: bytes, sig_path: Path) -> tuple[str, bytes]:
    """Parse a `.sig` file's bytes → (key id, raw signature bytes)."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
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


def verify_signature(
    card_bytes: bytes,
    sig_bytes: bytes | None,
    sig_path: Path,
    trusted: dict[str, TrustedKey],
    allow_unsigned: bool = False,
) -> str | None:
    """Check the signature (`sig_bytes`, read from `sig_path`) over `card_bytes`. Returns the key
    id that signed it, or None where development mode let an unsigned or unknown-key model through.
    A signature by a trusted key that does not verify is refused always."""
    from cryptography.exceptions import InvalidSignature

    model = sig_path.with_suffix("")
    if sig_bytes is None:
        if allow_unsigned:
            log.warning("development mode: accepting unsigned model %s", model)
            return None
        raise SignatureError(f"model is not signed: {sig_path} not found")
    key_id, signature = parse_signature(sig_bytes, sig_path)
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
            f"bad signature: {model} was changed after it was signed (key {key_id})"
        ) from None
    return key_id
