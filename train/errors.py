"""Training-side errors. Subclass the device's base so every CLI prints them the same way."""

from digitkiosk.device.errors import DigitkioskError


class DataError(DigitkioskError):
    """Missing, corrupt or inconsistent training data."""


class MissingExtraError(DigitkioskError):
    """A dependency of the [train] extra is not installed."""
