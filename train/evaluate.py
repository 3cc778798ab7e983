"""Metrics, plots and the one-page HTML report, computed on `.tflite` files through the device's
own interpreter (what the kiosk runs), never through Keras."""

from __future__ import annotations

import base64
import html
import json
import logging
from pathlib import Path

import numpy as np
from digitkiosk.device.backends import get_backend
from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text
from digitkiosk.device.outputs import LOGITS, PROBABILITIES
from digitkiosk.device.readings import answers as device_answers  # the device's own rule
from digitkiosk.device.runner import Runner

from .data import load_mnist
from .errors import DataError

log = logging.getLogger(__name__)

# The reject threshold keeps the accepted answers at least this accurate on validation data (held-out
# writers and scans as well as MNIST images): one wrong answer in 200 answered. With the calibrated
# model (calibrate.py) 1 in 500 cost 2.2% of the validation digits as "?", 1 in 200 costs 1.3%.
TARGET_ACCEPTED_ERROR = 0.005
THRESHOLD_BOUNDS = (0.4, 0.9)


def tflite_runner(model_bytes: bytes, backend: str | None = "auto", output_kind: str | None = None) -> Runner:
    """A runner on the device's interpreter (two threads: this is the workstation), giving
    probabilities. `output_kind` None: read from the model itself (logits unless it ends in a
    SOFTMAX), as the trainer evaluates files without cards (and older runs' softmax models)."""
    chosen = get_backend(backend)
    runner = Runner(chosen.interpreter(model_bytes, num_threads=2), max_batch=chosen.max_batch)
    runner.output_kind = output_kind or (PROBABILITIES if runner.last_op == "SOFTMAX" else LOGITS)
    return runner


def predict_u8(runner: Runner, images_u8: np.ndarray) -> np.ndarray:
    return runner.predict(images_u8.astype(np.float32) / 255.0)


def compute_metrics(y_true: np.ndarray, probs: np.ndarray) -> dict:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support, roc_auc_score

    y_pred = probs.argmax(axis=1)
    p, r, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=range(10), zero_division=0)
    # Macro one-vs-rest AUC, per class: sklearn's multiclass form insists rows sum to exactly 1,
    # which dequantized int8 probabilities (steps of 1/256) do not.
    per_class_auc = [
        float(roc_auc_score(y_true == c, probs[:, c]))
        for c in range(10)
        if 0 < (y_true == c).sum() < len(y_true)
    ]
    auc = float(np.mean(per_class_auc)) if per_class_auc else float("nan")
    conf = probs.max(axis=1)
    return {
        "n": len(y_true),
        "accuracy": float((y_pred == y_true).mean()),
        "errors": int((y_pred != y_true).sum()),
        "per_class": {
            str(c): {
                "precision": float(p[c]),
                "recall": float(r[c]),
                "f1": float(f1[c]),
                "support": int(support[c]),
            }
            for c in range(10)
        },
        "macro_f1": float(f1.mean()),
        "macro_roc_auc": auc,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=range(10)).tolist(),
        "mean_confidence": float(conf.mean()),
    }


def choose_reject_threshold(
    y_true: np.ndarray, probs: np.ndarray, target: float = TARGET_ACCEPTED_ERROR
) -> dict:
    """Lowest confidence threshold whose answered validation digits have error ≤ `target`
    (TARGET_ACCEPTED_ERROR), as the device answers them (a digit read as "none" is not answered),
    clamped to THRESHOLD_BOUNDS so the kiosk neither guesses wildly nor refuses clear digits."""
    # On the digits only: "none" examples (two digits in one box, marks) are what the stroke
    # grouping and the segmentation compare against other readings, never a final answer, and
    # counting them would raise the threshold and turn clear digits into "?".
    digits = y_true < 10
    y_true, probs = y_true[digits], probs[digits]
    chosen = THRESHOLD_BOUNDS[1]
    for step in np.arange(THRESHOLD_BOUNDS[0], THRESHOLD_BOUNDS[1] + 1e-9, 0.01):
        t = round(float(step), 2)  # judged at the value the card will hold (0.6, not 0.6000000000000001)
        best, answered = device_answers(probs, t)
        if answered.any() and (best[answered] != y_true[answered]).mean() <= target:
            chosen = t
            break
    best, answered = device_answers(probs, chosen)
    return {
        "threshold": chosen,
        "rule": f"lowest confidence in [{THRESHOLD_BOUNDS[0]}, {THRESHOLD_BOUNDS[1]}] "
        "whose answered validation "
        f"digits have error <= {round(target, 5)}",
        "validation_coverage": float(answered.mean()) if answered.size else 0.0,
        "validation_accepted_accuracy": float((best == y_true)[answered].mean()) if answered.any() else None,
    }


def _plots(
    metrics: dict, probs: np.ndarray, y_true: np.ndarray, history: dict | None, out: Path
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    written = []

    def save(fig, name: str) -> None:
        import io

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        plt.close(fig)
        written.append(atomic_write_bytes(out / name, buf.getvalue()))

    if history:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for key, ax in (("loss", axes[0]), ("accuracy", axes[1])):
            ax.plot(history.get(key, []), label="train")
            ax.plot(history.get(f"val_{key}", []), label="validation")
            ax.set_xlabel("epoch")
            ax.set_title(key)
            ax.legend()
        axes[1].set_ylim(0.97, 1.0)
        save(fig, "training_curves.png")

    cm = np.array(metrics["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(np.log1p(cm), cmap="Blues")
    for i in range(10):
        for j in range(10):
            if cm[i, j]:
                ax.text(
                    j, i, cm[i, j], ha="center", va="center", fontsize=7, color="white" if i == j else "black"
                )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix (int8)")
    save(fig, "confusion_matrix.png")

    fig, ax = plt.subplots(figsize=(5.5, 5))
    for c in range(10):
        fpr, tpr, _ = roc_curve(y_true == c, probs[:, c])
        ax.plot(fpr, tpr, label=str(c), lw=1)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_xlabel("false positive rate (log)")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"ROC one-vs-rest, macro AUC {metrics['macro_roc_auc']:.5f}")
    ax.legend(fontsize=7, ncol=2)
    save(fig, "roc_curves.png")

    conf = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y_true
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    axes[0].hist([conf[correct], conf[~correct]], bins=20, range=(0, 1), label=["correct", "wrong"], log=True)
    axes[0].set_title("confidence histogram")
    axes[0].legend()
    bins = np.linspace(0, 1, 11)
    idx = np.clip(np.digitize(conf, bins) - 1, 0, 9)
    acc = [correct[idx == b].mean() if (idx == b).any() else np.nan for b in range(10)]
    axes[1].plot([0, 1], [0, 1], "k--", lw=1)
    axes[1].plot((bins[:-1] + bins[1:]) / 2, acc, "o-")
    axes[1].set_title("reliability diagram")
    axes[1].set_xlabel("confidence")
    axes[1].set_ylabel("accuracy")
    save(fig, "calibration.png")
    return written


def write_report(
    title: str,
    summary: dict,
    metrics: dict,
    probs: np.ndarray,
    y_true: np.ndarray,
    history: dict | None,
    out: Path,
    test_set: str = "MNIST test",
) -> Path:
    """metrics.json + PNG plots + report.html (images inlined: one self-contained page)."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps({"summary": summary, "metrics": metrics}, indent=1))
    pngs = _plots(metrics, probs, y_true, history, out)
    rows = "".join(
        f"<tr><td>{c}</td><td>{v['precision']:.4f}</td><td>{v['recall']:.4f}</td><td>{v['f1']:.4f}</td>"
        f"<td>{v['support']}</td></tr>"
        for c, v in metrics["per_class"].items()
    )
    facts = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in summary.items()
    )
    imgs = "".join(
        f'<img alt="{p.stem}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        for p in pngs
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:1em auto}}
table{{border-collapse:collapse;margin:0.5em 0}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}
img{{max-width:49%;vertical-align:top}}</style></head>
<body><h1>{html.escape(title)}</h1><table>{facts}</table>
<h2>Per class (int8, {html.escape(test_set)})</h2><table><tr><th>class</th><th>precision</th><th>recall</th>
<th>F1</th><th>support</th></tr>{rows}</table><h2>Plots</h2>{imgs}</body></html>"""
    return atomic_write_text(out / "report.html", page)


def evaluate_model(
    model_path: Path,
    data_dir: str | Path | None = None,
    report_dir: Path | None = None,
    backend: str = "auto",
) -> dict:
    """Metrics, plots and an HTML report for a .tflite model on the MNIST test set →
    {"model", "accuracy", "report"} (the report is written to `report_dir`, default
    `<model>.report/` beside the model)."""
    model_path = Path(model_path)
    if not model_path.is_file():
        raise DataError(f"model not found: {model_path}")
    data = load_mnist(data_dir)
    from digitkiosk.device.loader import read_model_bytes

    model_bytes = read_model_bytes(model_path)
    probs = predict_u8(tflite_runner(model_bytes, backend), data.x_test)
    metrics = compute_metrics(data.y_test, probs)
    card_path = model_path.with_suffix(".json")
    history = None
    if card_path.is_file():
        try:
            history = json.loads(card_path.read_text()).get("training", {}).get("history")
        except json.JSONDecodeError:
            history = None
    out = Path(report_dir) if report_dir else model_path.with_name(model_path.stem + ".report")
    summary = {
        "model": str(model_path),
        "test images": metrics["n"],
        "accuracy": f"{metrics['accuracy']:.4%}",
        "macro ROC AUC": f"{metrics['macro_roc_auc']:.5f}",
    }
    report = write_report(f"{model_path.name} evaluation", summary, metrics, probs, data.y_test, history, out)
    return {"model": str(model_path), "accuracy": metrics["accuracy"], "report": str(report)}
