"""Training-side errors. Subclass the device's base so every CLI prints them the same way."""

import sys
from collections.abc import Callable

from digitkiosk.device.errors import DigitkioskError


class DataError(DigitkioskError):
    """Missing, corrupt or inconsistent training data."""


class MissingExtraError(DigitkioskError):
    """A dependency of the [train] extra is not installed."""


def print_result(prog: str, call: Callable[[], object]) -> int:
    """A tool's `main`: print what `call` returns (the file it wrote) and return 0, or print its
    error as one line on stderr, `prog: message`, and return 1 (no traceback)."""
    try:
        print(call())
    except (DigitkioskError, OSError) as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 1
    return 0
