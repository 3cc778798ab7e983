"""tflite-runtime 2.14: for old 32-bit boards (Python <= 3.11, numpy < 2)."""

from .base import Backend


class TFLiteRuntimeBackend(Backend):
    name = "tflite-runtime"
    install_hint = "pip install tflite-runtime (Python <= 3.11, numpy < 2)"

    def interpreter_class(self) -> type:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
