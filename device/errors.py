"""Exceptions the device side raises. Each carries a one-line, user-facing message.

The CLIs turn any `DigitkioskError` into `digitkiosk: error: <message>` and a non-zero exit,
so user mistakes never show a traceback.
"""


class DigitkioskError(Exception):
    """Base class: an error whose message is fit to show a user as is."""


class InputError(DigitkioskError):
    """Bad input: unreadable image, malformed strokes, huge image..."""


class NothingToReadError(InputError):
    """Blank canvas or blank photo: there is no ink to recognize (never guess)."""


class ModelError(DigitkioskError):
    """A model could not be loaded or was refused."""


class ModelMissingError(ModelError):
    pass


class ModelCardError(ModelError):
    pass


class ChecksumMismatchError(ModelError):
    pass


class NotATFLiteModelError(ModelError):
    pass


class ModelShapeError(ModelError):
    pass


class SelfTestFailedError(ModelError):
    pass


class SignatureError(ModelError):
    """Unsigned model, bad signature or unknown signing key."""


class BackendUnavailableError(DigitkioskError):
    """No TFLite interpreter package is importable for the requested backend."""
