"""Model versions: PEP 440 (`packaging.version`), checked when a model is signed and when a
kiosk installs it. `1.9` < `1.10`, `2026.11.21.1258` < `2026.11.21.1300`, and a pre-release sorts
before its release (`1.5.0rc1` < `1.5.0`). A version also names a folder in the model store, so
it must also be plain characters that cannot climb out of it (`VERSION_RE`); anything else is
refused with one line, never ordered by guesswork.
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from .errors import ModelCardError

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def parse_version(version: str) -> Version:
    """The card's version as a PEP 440 Version, or ModelCardError."""
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise ModelCardError(f"model version {version!r} is not usable as a version name")
    try:
        return Version(version)
    except InvalidVersion:
        raise ModelCardError(
            f"model version {version!r} is not a PEP 440 version (e.g. 1.5.0, 1.5.0rc1, 2026.11.21.1300)"
        ) from None


def version_key(version: str) -> Version:
    """Sort key; raises ModelCardError for a version that is not PEP 440."""
    return parse_version(version)


def is_version(version: str) -> bool:
    try:
        parse_version(version)
    except ModelCardError:
        return False
    return True
