"""Interpreter backends, chosen by name: the import fallback lives here and nowhere else."""

from __future__ import annotations

import logging

from ..errors import BackendUnavailableError
from .base import Backend, InterpreterLike
from .litert import LiteRTBackend, LiteRTReferenceBackend
from .tensorflow import TensorFlowBackend
from .tflite_runtime import TFLiteRuntimeBackend

log = logging.getLogger(__name__)

BACKENDS: dict[str, type[Backend]] = {
    b.name: b for b in (LiteRTBackend, LiteRTReferenceBackend, TFLiteRuntimeBackend, TensorFlowBackend)
}
#: `auto` tries these in order: the light interpreters first, TensorFlow last.
AUTO_ORDER = ("litert", "tflite-runtime", "tensorflow")
CHOICES = ("auto", *BACKENDS)


def get_backend(name: str | None = None) -> Backend:
    """Return a backend whose interpreter package imports. `None` or `auto`: the first
    importable of litert, tflite-runtime, tensorflow."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        for candidate in AUTO_ORDER:
            backend = BACKENDS[candidate]()
            try:
                backend.interpreter_class()
            except ImportError:
                continue
            log.debug("backend auto → %s", candidate)
            return backend
        raise BackendUnavailableError(
            "no TFLite interpreter installed: pip install 'digitkiosk[device]' (ai-edge-litert), "
            "or tflite-runtime on 32-bit boards"
        )
    if name not in BACKENDS:
        raise BackendUnavailableError(f"unknown backend {name!r} (choose from {', '.join(CHOICES)})")
    backend = BACKENDS[name]()
    try:
        backend.interpreter_class()
    except ImportError as e:
        raise BackendUnavailableError(
            f"backend {name!r} is not installed ({e}); {backend.install_hint}"
        ) from None
    return backend


__all__ = ["AUTO_ORDER", "BACKENDS", "CHOICES", "Backend", "InterpreterLike", "get_backend"]
