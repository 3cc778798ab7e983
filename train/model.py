"""The network: a small all-convolutional CNN designed for accuracy per FLOP on a kiosk.

Full 3x3 convolutions (they quantize cleanly and run fast in XNNPACK int8), stride-2 convolutions
instead of pooling, batch norm folded into the convolutions at export, global average pooling so
the head is tiny. Default widths give ~5.5M multiply-adds and ~70k parameters (~80 KB int8).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

# Plain data, importable without Keras (the CLI checks --widths before TensorFlow is loaded).
DEFAULT_WIDTHS = (16, 32, 32, 64, 64)
STRIDES = (1, 2, 1, 2, 1)


HEADS = ("gap", "flatten")


def build_model(
    widths: tuple[int, ...] = DEFAULT_WIDTHS,
    dropout: float = 0.3,
    head: str = "gap",
    classes: int = 10,
    synchronized: bool = False,
) -> keras.Model:
    """head: "gap" pools the 7x7 map (smallest); "flatten" keeps where each feature is (+31k
    parameters, +31k multiply-adds), which MNIST rewards. synchronized: batch norm over the whole
    global batch when training on several replicas (the same statistics as on one machine, and
    the same moving statistics on every worker); the same layer at inference."""
    import keras
    from keras import layers

    if len(widths) != len(STRIDES):
        raise ValueError(f"widths needs {len(STRIDES)} entries")
    inputs = keras.Input((28, 28, 1), name="image")
    x = inputs
    for i, (w, s) in enumerate(zip(widths, STRIDES, strict=True)):
        x = layers.Conv2D(w, 3, strides=s, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        # momentum 0.9 (not Keras's 0.99): the moving statistics settle within a few dozen steps,
        # so even a one-epoch smoke run on a few thousand images evaluates sensibly.
        x = layers.BatchNormalization(momentum=0.9, synchronized=synchronized, name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}")
    x = layers.GlobalAveragePooling2D(name="pool")(x) if head == "gap" else layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    # 10 digits, or 11 with "none" (not a digit, negatives.py) as the last class.
    outputs = layers.Dense(classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="digitnet")


def multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass (convolutions and dense layers, which dominate)."""
    from keras import layers

    total = 0
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.Model):  # a member of an averaged model (line_ensemble.py)
            total += multiply_adds(layer)
        elif isinstance(layer, layers.Conv2D):
            _, h, w, _ = layer.output.shape
            kh, kw, cin, cout = layer.kernel.shape
            total += h * w * kh * kw * cin * cout
        elif isinstance(layer, layers.Conv1D):  # the stroke model (stroke_fit.py)
            _, steps, _ = layer.output.shape
            k, cin, cout = layer.kernel.shape
            total += steps * k * cin * cout
        elif isinstance(layer, layers.Dense):
            total += layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(total)
