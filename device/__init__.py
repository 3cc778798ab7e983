"""digitkiosk device side: verified TFLite model loading, MNIST-style input preparation, recognition.

This package never imports TensorFlow (tests enforce it); it runs on ai-edge-litert or tflite-runtime.
"""

__version__ = "0.1.0"
