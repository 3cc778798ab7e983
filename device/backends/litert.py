"""ai-edge-litert: the maintained TFLite interpreter (default), and the same package with its
reference kernels (`litert-ref`), whose int8 outputs are the same on every processor."""

from .base import Backend


class LiteRTBackend(Backend):
    name = "litert"
    install_hint = "pip install ai-edge-litert"

    def interpreter_class(self) -> type:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter


class LiteRTReferenceBackend(LiteRTBackend):
    """LiteRT's reference (portable C++) kernels instead of XNNPACK and the NEON/AVX builtins.

    Measured (README, "arm64"): with the default kernels an arm64 board and an x86-64 machine
    give int8 scores 1 step apart for some digits (LiteRT's optimized int8 softmax differs on
    arm64); the reference kernels give identical int8 tensors at every layer on both. The price
    is speed: about 10x slower per digit than XNNPACK, so it is not the default."""

    name = "litert-ref"
    op_resolver = "BUILTIN_REF"
