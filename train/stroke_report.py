"""The evaluation report of a stroke model (`digitkiosk-train evaluate models/strokenet.tflite`).

What `evaluate` writes for a digit model on MNIST test, for the stroke model on pen digits of
writers no model here trained on (the 14 pendigits test writers, `pendigits/test.jsonl`: report
only, nothing is chosen on it): metrics.json, PNG plots and a one-page report.html, beside the
model (`strokenet.report/`) unless `--report` says where. The per-class table and the plots are
the stroke model's own digit probabilities (its "none", a piece of a digit, left out and the rest
renormalised: every test digit is a whole digit); the summary adds how often it reads "none" and,
with its partner digit model (`digitnet.tflite` beside it by default), the pair as the kiosk and
`digitkiosk strokes` read each digit (`stroke_reader.combine`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from digitkiosk.device.loader import read_model_bytes
from digitkiosk.device.stroke_reader import STROKE_PREP_ID, combine, trajectories
from digitkiosk.device.strokes import strokes_to_mnist

from .errors import DataError
from .evaluate import compute_metrics, tflite_runner, write_report

DIGITS = 10
PEN_TEST = Path("../shared/data/pendigits/test.jsonl")  # from the project root, as the benchmarks


def is_stroke_model(model_path: Path) -> bool:
    """Whether the card beside `model_path` says it reads strokes (its input preparation)."""
    card = Path(model_path).with_suffix(".json")
    try:
        return json.loads(card.read_text()).get("preprocessing") == STROKE_PREP_ID
    except (OSError, ValueError, AttributeError):
        return False


def load_pen_test(path: Path) -> tuple[list, np.ndarray]:
    """Pen digits as JSON lines ({"strokes", "label"}) → (parsed strokes per digit, labels), read
    by the trainer's own pen reader (`pendigits.load_jsonl`: the line at fault named)."""
    from .pendigits import load_jsonl

    if not path.is_file():
        raise DataError(f"pen test data not found: {path}")
    try:
        rows = load_jsonl(path)
    except DataError as e:
        raise DataError(f"not pen digits: {e}") from None
    return [r["strokes"] for r in rows], np.array([r["label"] for r in rows], dtype=np.int64)


def evaluate_stroke_model(
    model_path: Path,
    data: Path,
    report_dir: Path | None = None,
    partner: Path | None = None,
    backend: str = "auto",
) -> dict:
    """Metrics, plots and an HTML report for a stroke model on the pen test digits in `data`."""
    model_path = Path(model_path)
    strokes, y = load_pen_test(Path(data))
    probs = tflite_runner(read_model_bytes(model_path), backend).predict(trajectories(strokes))
    digits = np.asarray(probs, np.float64)[:, :DIGITS]
    digits /= digits.sum(axis=1, keepdims=True)
    metrics = compute_metrics(y, digits)
    none = int((probs.argmax(axis=1) == DIGITS).sum()) if probs.shape[1] > DIGITS else 0
    summary = {
        "model": str(model_path),
        "test digits": f"{len(y)} pen digits of unseen writers ({Path(data).name}; report only)",
        "accuracy (its digits)": f"{metrics['accuracy']:.4%}",
        "read as none (a piece of a digit)": none,
        "macro ROC AUC": f"{metrics['macro_roc_auc']:.5f}",
    }
    partner = partner if partner is not None else model_path.with_name("digitnet.tflite")
    pair_accuracy = None
    if partner.is_file():
        images = np.stack([strokes_to_mnist(s) for s in strokes])  # in [0, 1], as the kiosk draws them
        pair = combine(tflite_runner(read_model_bytes(partner), backend).predict(images), probs)
        pair_accuracy = float((pair[:, :DIGITS].argmax(axis=1) == y).mean())
        summary[f"with {partner.name}, the pair (kiosk, strokes)"] = f"{pair_accuracy:.4%}"
    card = model_path.with_suffix(".json")
    history = None
    if card.is_file():
        history = (json.loads(card.read_text()).get("training") or {}).get("history") or None
    out = Path(report_dir) if report_dir else model_path.with_name(model_path.stem + ".report")
    report = write_report(
        f"{model_path.name} evaluation", summary, metrics, digits, y, history, out, test_set="pen test digits"
    )
    return {
        "model": str(model_path),
        "accuracy": metrics["accuracy"],
        "pair_accuracy": pair_accuracy,
        "report": str(report),
    }
