"""Errors the workstation side raises; `digitkiosk-deploy` prints them as one line, no traceback."""

from digitkiosk.device.errors import DigitkioskError


class DeployError(DigitkioskError):
    """Bad input or a step that cannot be done: missing key, malformed inventory, unsigned model..."""
