"""TensorFlow's own interpreter: a workstation fallback. Never the default on a device
(importing TensorFlow costs seconds and hundreds of MB); `auto` only tries it last."""

from .base import Backend


class TensorFlowBackend(Backend):
    name = "tensorflow"
    install_hint = "pip install tensorflow-cpu"

    def interpreter_class(self) -> type:
        import tensorflow as tf

        return tf.lite.Interpreter
