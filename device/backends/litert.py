"""ai-edge-litert: the maintained TFLite interpreter (default), and the same package with its
reference kernels (`litert-ref`). Both give the same int8 outputs on arm64 as on x86-64 for the
logits models (tests/arm64)."""

from .base import Backend


class LiteRTBackend(Backend):
    name = "litert"
    install_hint = "pip install ai-edge-litert"

    def interpreter_class(self) -> type:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter


class LiteRTReferenceBackend(LiteRTBackend):
    """LiteRT's reference (portable C++) kernels instead of XNNPACK and the NEON/AVX builtins.

    Measured (README, "arm64"): every layer's int8 output is the same on arm64 and x86-64. Until
    the models ended at their logits (digitnet 1.4.1) this was the only exact configuration, as
    LiteRT's optimized int8 softmax after XNNPACK differed on arm64; now the default is exact too
    and this stays a second set of kernels. The price is speed: about 9x slower per digit than
    XNNPACK. Its logits differ from XNNPACK's (both requantize their own way): do not mix them."""

    name = "litert-ref"
    op_resolver = "BUILTIN_REF"
