"""After training: export both TFLite files, evaluate them through the device interpreter on the
whole test set, and write the model card and report beside the model."""

from __future__ import annotations

import datetime as dt
import json
import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from digitkiosk.device.backends import get_backend
from digitkiosk.device.fileutil import atomic_write_text, sha256_bytes
from digitkiosk.device.mnist_prep import PREP_ID
from digitkiosk.device.modelcard import CARD_FORMAT
from digitkiosk.device.outputs import LOGITS

from .data import Mnist
from .evaluate import (
    choose_reject_threshold,
    compute_metrics,
    device_answers,
    predict_u8,
    tflite_runner,
    write_report,
)
from .export import export

log = logging.getLogger(__name__)

LABELS = [str(i) for i in range(10)]


@dataclass
class TrainingInfo:
    config: dict
    command: str
    wall_time_s: float
    epochs_run: int
    best_epoch: int
    history: dict
    data_source: str
    data_checksums: dict
    version: str
    calibration: dict | None = None
    # {source: (x_val, y_val, card entry)}: the held-out writers / images of each source
    validation_parts: dict | None = None
    # how it was trained: {"strategy", "workers", "replicas"} (distribute.Placement.card_entry)
    distribution: dict | None = None


def card_head(name: str, version: str, model_file: str, model_bytes: bytes) -> dict:
    """What every model card begins with: its format, the model's name and version, when it was
    made, and the .tflite it describes (file name, sha256, size)."""
    return {
        "format": CARD_FORMAT,
        "name": name,
        "version": version,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "file": model_file,
        "sha256": sha256_bytes(model_bytes),
        "size_bytes": len(model_bytes),
    }


def tensor_spec(details: dict) -> dict:
    scale, zero = details["quantization"]
    return {
        "shape": [int(v) for v in details["shape"]],
        "dtype": np.dtype(details["dtype"]).name,
        "quantization": {"scale": float(scale), "zero_point": int(zero)},
    }


def finish(
    model,
    data: Mnist,
    x_repr: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    info: TrainingInfo,
    out: Path,
    name: str,
) -> Path:
    from .model import multiply_adds

    int8_path, float_path = export(model, x_repr, out, name)
    int8_bytes, float_bytes = int8_path.read_bytes(), float_path.read_bytes()
    backend = get_backend("auto")
    int8 = tflite_runner(int8_bytes, backend.name, LOGITS)
    # The card records the tensors as exported (batch 1): read them before predict() resizes.
    input_spec, output_spec = tensor_spec(int8.input_details), tensor_spec(int8.output_details)
    probs_int8 = predict_u8(int8, data.x_test)
    probs_float = predict_u8(tflite_runner(float_bytes, backend.name, LOGITS), data.x_test)
    m_int8 = compute_metrics(data.y_test, probs_int8)
    m_float = compute_metrics(data.y_test, probs_float)
    reject = choose_reject_threshold(y_val, predict_u8(int8, x_val))
    validation = _validation_figures(int8, info.validation_parts or {}, reject["threshold"])
    log.info("int8 test accuracy %.4f, float %.4f", m_int8["accuracy"], m_float["accuracy"])
    card = {
        **card_head(name, info.version, int8_path.name, int8_bytes),
        "input": input_spec,
        "output": output_spec,
        "output_kind": LOGITS,  # export.strip_softmax: the device computes the softmax
        # "none" (not a digit, train/negatives.py) when the model has an eleventh output.
        "labels": LABELS + ["none"] * (int(model.output_shape[-1]) - len(LABELS)),
        "preprocessing": PREP_ID,
        "reject_threshold": reject["threshold"],
        "reject_threshold_detail": reject,
        "calibration": info.calibration,
        "architecture": {
            "keras_name": model.name,
            "parameters": int(model.count_params()),
            "multiply_adds": multiply_adds(model),
        },
        "metrics": {
            "test_set": "MNIST test, 10,000 images, evaluated on the .tflite files through "
            f"{backend.name} (the device interpreter)",
            "int8": m_int8,
            "float": m_float,
            "int8_drop_points": round(100 * (m_float["accuracy"] - m_int8["accuracy"]), 4),
            # Held-out writers and images of the training sources: what recipes, seeds, the
            # temperature and the threshold were chosen on. The test figures above were not.
            "validation": validation,
        },
        "float_reference": {
            "file": float_path.name,
            "sha256": sha256_bytes(float_bytes),
            "size_bytes": len(float_bytes),
        },
        "training": {
            "command": info.command,
            "config": info.config,
            "wall_time_s": round(info.wall_time_s, 1),
            "epochs_run": info.epochs_run,
            "best_epoch": info.best_epoch,
            "distribution": info.distribution,
            "history": info.history,
            "host": {"python": platform.python_version(), "machine": platform.machine(), "cpus": _cpus()},
        },
        "data": {
            "mnist": info.data_source,
            "sha256": info.data_checksums,
            "pendigits": info.config.get("pendigits"),
            "sources": [entry for _, _, entry in (info.validation_parts or {}).values()],
        },
    }
    card_path = atomic_write_text(out / f"{name}.json", json.dumps(card, indent=1))
    summary = {
        "model": f"{name} {info.version}",
        "int8 accuracy": f"{m_int8['accuracy']:.4%} ({m_int8['errors']} errors)",
        "float accuracy": f"{m_float['accuracy']:.4%}",
        "int8 size": f"{len(int8_bytes):,} bytes",
        "multiply-adds": f"{card['architecture']['multiply_adds']:,}",
        "reject threshold": reject["threshold"],
        "training wall time": (
            f"{info.wall_time_s / 60:.1f} min, {info.epochs_run} epochs (best {info.best_epoch})"
        ),
        "command": info.command,
    }
    write_report(
        f"{name} {info.version}",
        summary,
        m_int8,
        probs_int8,
        data.y_test,
        info.history,
        out / f"{name}.report",
    )
    return card_path


def _validation_figures(runner, parts: dict, threshold: float) -> dict:
    """Per source: int8 accuracy on its held-out digits, and how many are answered at the card's
    reject threshold with what accuracy."""
    out = {}
    for name, (x, y, _) in parts.items():
        if not len(y):
            continue
        probs = predict_u8(runner, x)
        correct = probs.argmax(axis=1) == y  # "none" examples: read as none
        best, answered = device_answers(probs, threshold)  # "none" examples: read as a digit
        out[name] = {
            "digits": len(y),
            "accuracy": round(float(correct.mean()), 4),
            "answered": round(float(answered.mean()), 4),
            "answered_accuracy": round(float((best == y)[answered].mean()), 4) if answered.any() else None,
        }
    return out


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 0)
