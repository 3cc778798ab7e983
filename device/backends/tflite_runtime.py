"""tflite-runtime 2.14: for old 32-bit boards (Python <= 3.11, numpy < 2)."""

from .base import Backend


class TFLiteRuntimeBackend(Backend):
    """One digit per invoke (`max_batch`): measured (README, "arm64"; 600 MNIST test digits),
    tflite-runtime 2.14's dense layer on arm64 gives logits 1 step apart from x86-64's for 14 of
    them whenever a batch holds 2 or more digits (its batched kernel), and identical logits for
    all 600 given one at a time, as x86-64 gives either way. A batch of 20 digits then costs
    ~1.8x the time (x86-64), a single digit nothing."""

    name = "tflite-runtime"
    install_hint = "pip install tflite-runtime (Python <= 3.11, numpy < 2)"
    max_batch = 1

    def interpreter_class(self) -> type:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
