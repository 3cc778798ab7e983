"""ai-edge-litert: the maintained TFLite interpreter (default)."""

from .base import Backend


class LiteRTBackend(Backend):
    name = "litert"
    install_hint = "pip install ai-edge-litert"

    def interpreter_class(self) -> type:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
