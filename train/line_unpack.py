"""The members of a shipped int8 line model as float Keras models, so that an ensemble can grow
(`line_ensemble.py`: a `.tflite` among the members stands for every member it holds) after the
members' own `.keras` files are gone: only the int8 file is kept with the product.

Each member's convolutions are read back from the file: the int8 weights times their per-channel
scales, the int32 biases times theirs. The converter folded each batch normalisation into the
convolution before it, so a member comes back as `line_fit.build_line_model` of the widths its
weights have, with every batch normalisation set to add the folded bias and nothing else. Its
float output is the int8 file's up to that file's activation rounding; exported again, the weights
quantize to the same int8 values (their per-channel scale is their largest value over 127).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from .line_fit import build_line_model

#: the convolutions of one member, in the order `build_line_model` names them
LAYERS = ("conv1", "conv2", "conv3", "conv4", "collapse", "context", "logits")
_WEIGHTS = re.compile(r"(?:member(\d+)_\d+/)?(" + "|".join(LAYERS) + r")_\d+/convolution")


class UnpackError(ValueError):
    """The file is not a line model that `build_line_model` could have made."""


def _dequantized(tensor: dict, values: np.ndarray) -> np.ndarray:
    q = tensor["quantization_parameters"]
    scales, zeros = np.asarray(q["scales"], np.float64), np.asarray(q["zero_points"], np.float64)
    if scales.size == 0:
        return values.astype(np.float32)
    shape = [1] * values.ndim  # one scale for the tensor, or one per channel along its axis
    if scales.size > 1:
        shape[q.get("quantized_dimension", 0)] = -1
    return ((values.astype(np.float64) - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def convolutions(path: str | Path) -> dict[int, dict[str, tuple[np.ndarray, np.ndarray | None]]]:
    """{member number: {layer: (kernel as Keras holds it (kh, kw, in, out), bias or None)}} of an
    int8 line model (one member: number 0)."""
    from digitkiosk.device.backends import get_backend

    interpreter = get_backend("auto").interpreter(Path(path).read_bytes())
    interpreter.allocate_tensors()
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    members: dict[int, dict[str, tuple[np.ndarray, np.ndarray | None]]] = {}
    for op in interpreter._get_ops_details():  # the op list has no public accessor
        if op["op_name"] != "CONV_2D":
            continue
        weights = tensors[op["inputs"][1]]
        found = _WEIGHTS.search(weights["name"])
        if not found:
            raise UnpackError(f"{path}: a convolution that is not a line model's: {weights['name']}")
        member, layer = int(found.group(1) or 0), found.group(2)
        kernel = _dequantized(weights, interpreter.get_tensor(weights["index"])).transpose(1, 2, 3, 0)
        bias = None
        if len(op["inputs"]) > 2 and op["inputs"][2] >= 0:
            b = tensors[op["inputs"][2]]
            bias = _dequantized(b, interpreter.get_tensor(b["index"]))
        if layer in members.setdefault(member, {}):
            raise UnpackError(f"{path}: member {member} has two {layer} convolutions")
        members[member][layer] = (kernel, bias)
    incomplete = [m for m, layers in members.items() if set(layers) != set(LAYERS)]
    if not members or incomplete:
        raise UnpackError(f"{path}: not a line model of {', '.join(LAYERS)}")
    return members


def member_model(layers: dict[str, tuple[np.ndarray, np.ndarray | None]]):
    """One member's float Keras model from its convolutions (`convolutions`)."""
    widths = tuple(int(layers[name][0].shape[-1]) for name in LAYERS[:5])
    model = build_line_model(widths, 0.0)
    for name in LAYERS:
        kernel, bias = layers[name]
        bias = np.zeros(kernel.shape[-1], np.float32) if bias is None else bias
        conv = model.get_layer(name)
        if name == "logits":
            conv.set_weights([kernel, bias])
            continue
        conv.set_weights([kernel])
        norm = model.get_layer(f"{name}_bn")
        # gamma 1, mean 0, variance 1 - epsilon: the normalisation adds beta, the folded bias.
        ones = np.ones_like(bias)
        norm.set_weights([ones, bias, np.zeros_like(bias), ones - norm.epsilon])
    return model


def members_from_tflite(path: str | Path) -> list:
    """Every member of an int8 line model, in the file's order, as float Keras models."""
    return [member_model(layers) for _, layers in sorted(convolutions(path).items())]
