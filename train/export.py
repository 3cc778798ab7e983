"""Keras → TFLite: a full-integer int8 model for the device and a float one for reference.

Full-integer quantization (int8 input and output, calibrated on training images) keeps to the
op versions tflite-runtime 2.14 can run: no dynamic-range ops (FULLY_CONNECTED v12 and friends).
Files are written to a temp name and renamed, so an interrupted export leaves nothing half-written.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from digitkiosk.device.fileutil import atomic_write_bytes

log = logging.getLogger(__name__)


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
    """Write <out>/<name>.tflite (int8) and <out>/<name>.float.tflite; return their paths."""
    int8 = convert(model, representative)
    flt = convert(model, None)
    int8_path = atomic_write_bytes(out / f"{name}.tflite", int8)
    float_path = atomic_write_bytes(out / f"{name}.float.tflite", flt)
    log.info("exported %s (%d bytes) and %s (%d bytes)", int8_path, len(int8), float_path, len(flt))
    return int8_path, float_path
