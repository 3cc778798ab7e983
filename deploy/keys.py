"""Signing keys and signatures, workstation side (the device side verifies: device/signing.py).

`keygen` writes an Ed25519 private key (PKCS#8 PEM, mode 0600, optionally encrypted with a
passphrase; the CLI takes it from DIGITKIOSK_SIGNING_PASSPHRASE) and its public key (`<key>.pub`,
PEM) — the file to copy into each kiosk's trust directory. `sign` writes `<card>.json.sig` over
the card's exact bytes, after reading the model package as the device does (package.py: the card
pins the `.tflite` beside it, is named after it, and its version is PEP 440): never sign a card
that lies.
Private key material is never printed or logged.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Mapping
from pathlib import Path

from digitkiosk.device.errors import ChecksumMismatchError, DigitkioskError
from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text
from digitkiosk.device.package import ModelPackage
from digitkiosk.device.signing import ALGORITHM, SIG_FORMAT, key_id_for, signature_path_for
from digitkiosk.device.versioning import parse_version

from .errors import DeployError

log = logging.getLogger(__name__)

DEFAULT_KEY = Path("~/.config/digitkiosk/signing_key.pem")
ENV_KEY = "DIGITKIOSK_SIGNING_KEY"
ENV_PASSPHRASE = "DIGITKIOSK_SIGNING_PASSPHRASE"


def signing_settings(environ: Mapping[str, str], key: Path | None) -> tuple[Path, bytes | None]:
    """The CLI's edge: the key path (flag, else DIGITKIOSK_SIGNING_KEY, else the default) and the
    passphrase (DIGITKIOSK_SIGNING_PASSPHRASE; never a flag, so it stays out of `ps`)."""
    path = Path(key or environ.get(ENV_KEY) or DEFAULT_KEY).expanduser()
    value = environ.get(ENV_PASSPHRASE)
    return path, value.encode("utf-8") if value else None


def public_key_path(private_key: Path) -> Path:
    return private_key.with_name(private_key.name.removesuffix(".pem") + ".pub")


def keygen(path: Path, *, passphrase: bytes | None = None, force: bool = False) -> tuple[Path, Path, str]:
    """Make a key pair → (private key path, public key path, key id)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path).expanduser()
    pub_path = public_key_path(path)
    if not force:
        for p in (path, pub_path):
            if p.exists():
                raise DeployError(f"{p} already exists (use --force to replace it)")
    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    )
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    public = key.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_id = key_id_for(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # atomic_write_bytes writes through mkstemp (0600 from the start), so the key is never
    # readable by others, not even for a moment.
    atomic_write_bytes(path, private_pem, mode=0o600)
    atomic_write_bytes(pub_path, public_pem, mode=0o644)
    log.info("new signing key %s (private key written to %s)", key_id, path)
    return path, pub_path, key_id


def load_private_key(path: Path, passphrase: bytes | None = None):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path).expanduser()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DeployError(
            f"signing key not found: {path} (make one with 'digitkiosk-deploy keygen')"
        ) from None
    except OSError as e:
        raise DeployError(f"cannot read signing key {path}: {e.strerror}") from None
    if path.stat().st_mode & 0o077:
        log.warning("signing key %s is readable by other users: chmod 600 it", path)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:  # encrypted key, no passphrase given (or the reverse)
        raise DeployError(f"signing key {path} needs {ENV_PASSPHRASE} (or must not have it)") from None
    except ValueError:
        # Never include the exception text: it could quote key material.
        raise DeployError(
            f"signing key {path} is not a PEM private key, or the passphrase is wrong"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise DeployError(f"signing key {path} is not an Ed25519 key")
    return key


def key_id_of(private_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return key_id_for(raw)


def read_package(model: Path) -> ModelPackage:
    """The model package (card, signature, .tflite) as the device will read it: refuse to sign or
    push a card that does not pin the `.tflite` beside it, or whose version is not PEP 440."""
    try:
        package = ModelPackage.read(model)
        parse_version(package.card.version)
    except ChecksumMismatchError as e:
        raise DeployError(f"{e}: rebuild the card") from None
    except DigitkioskError as e:
        raise DeployError(str(e)) from None
    return package


def sign_model(model: Path, key_path: Path, passphrase: bytes | None = None) -> tuple[Path, str]:
    """Sign MODEL's card → (signature path, key id)."""
    package = read_package(model)
    card_path, card_bytes = package.card_path, package.card_bytes
    key = load_private_key(key_path, passphrase)
    key_id = key_id_of(key)
    doc = {
        "format": SIG_FORMAT,
        "algorithm": ALGORITHM,
        "key_id": key_id,
        "signed_file": card_path.name,
        "signature": base64.b64encode(key.sign(card_bytes)).decode("ascii"),
    }
    sig_path = signature_path_for(card_path)
    atomic_write_text(sig_path, json.dumps(doc, indent=1) + "\n")
    log.info("signed %s with key %s", card_path, key_id)
    return sig_path, key_id
