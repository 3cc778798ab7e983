"""Keras → TFLite: a full-integer int8 model for the device and a float one for reference.

Full-integer quantization (int8 input and output, calibrated on training images) keeps to the
op versions tflite-runtime 2.14 can run: no dynamic-range ops (FULLY_CONNECTED v12 and friends).
Files are written to a temp name and renamed, so an interrupted export leaves nothing half-written.

The models end at their logits (`strip_softmax`; card `output_kind: "logits"`): the device computes
the softmax itself, identically on every processor (device/outputs.py; README, "arm64").
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from digitkiosk.device.fileutil import atomic_write_bytes

from .errors import DataError

log = logging.getLogger(__name__)

SOFTMAX = 25  # tflite BuiltinOperator.SOFTMAX (schema.fbs)


def strip_softmax(model_bytes: bytes) -> bytes:
    """A .tflite ending in a SOFTMAX → the same model without it: the output is the SOFTMAX's
    input, the logits, with their own quantization; every other op, tensor and weight unchanged.

    Why edit the converted flatbuffer rather than convert the Keras model without its softmax
    activation: the int8 logits are then exactly those the softmax-ending model computes (the
    converter calibrates and fuses the graph as it always did), so a model already issued is
    re-issued with bit-identical logits (digitnet 1.4.0 → 1.4.1) by the very function the trainer
    uses, and the trainer keeps one conversion path for the digit and the line model."""
    from tensorflow.lite.tools import flatbuffer_utils as fb

    model = fb.read_model_from_bytearray(bytearray(model_bytes))
    if len(model.subgraphs) != 1:
        raise DataError(f"expected a model with one subgraph, got {len(model.subgraphs)}")
    graph = model.subgraphs[0]
    last = graph.operators[-1]
    code = model.operatorCodes[last.opcodeIndex]
    if max(code.builtinCode, code.deprecatedBuiltinCode) != SOFTMAX:
        raise DataError("the model does not end in a SOFTMAX: nothing to strip")
    probs, logits = int(last.outputs[0]), int(last.inputs[0])
    if list(graph.outputs) != [probs] or any(probs in op.inputs for op in graph.operators[:-1]):
        raise DataError("the model's SOFTMAX is not its only output: not stripped")
    graph.operators.pop()
    graph.outputs = [logits]
    for signature in model.signatureDefs or []:
        for tensor in signature.outputs:
            if tensor.tensorIndex == probs:
                tensor.tensorIndex, tensor.name = logits, "logits"
    if probs == len(graph.tensors) - 1:  # the unused probabilities tensor, if dropping it renumbers nothing
        graph.tensors.pop()
    return bytes(fb.convert_object_to_bytearray(model))


def convert(model, representative: np.ndarray | None) -> bytes:
    """representative: uint8 images (N, 28, 28) → int8 model; None → float model."""
    samples = None if representative is None else (representative.astype(np.float32) / 255.0)[..., None]
    return convert_samples(model, samples)


def convert_samples(model, samples: np.ndarray | None) -> bytes:
    """samples: float32 inputs shaped as the model takes them (N, ...), for calibrating the int8
    ranges → int8 model; None → float model. Any model of the project (digits, strokes)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if samples is not None:
        x = np.asarray(samples, dtype=np.float32)

        def gen():
            for i in range(len(x)):
                yield [x[i : i + 1]]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = gen
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    return converter.convert()


def export(model, representative: np.ndarray, out: Path, name: str) -> tuple[Path, Path]:
    """Write <out>/<name>.tflite (int8) and <out>/<name>.float.tflite, both ending at the logits;
    return their paths."""
    int8 = strip_softmax(convert(model, representative))
    flt = strip_softmax(convert(model, None))
    int8_path = atomic_write_bytes(out / f"{name}.tflite", int8)
    float_path = atomic_write_bytes(out / f"{name}.float.tflite", flt)
    log.info("exported %s (%d bytes) and %s (%d bytes)", int8_path, len(int8), float_path, len(flt))
    return int8_path, float_path
