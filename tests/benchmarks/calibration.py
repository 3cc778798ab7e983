"""Do the confidences the device shows mean what they say? Each reader as the device uses it,
on validation digits no model here was trained on (held-out writers and images; never a test
split).

    .venv/bin/python tests/benchmarks/calibration.py

Pictures (`predict`, the camera): the digit held out by both the paper model's and the digit
model's trainers (MNIST), the pendigits and UNIPEN validation writers drawn as pictures, and the
ORAND validation images' digit crops (`train/paper_pair.validation_sets`), read by the paper pair
(`paper_reader.pair_probs`, the card's gate). Pen (the kiosk, `strokes`): the validation writers
of pendigits train and UNIPEN (`train/sources.validation_rows`), read by the stroke pair
(`stroke_reader.combine`). The digit model alone twice: as it answers alone (its partner turned
off: calibrated by its card's `answers_alone` temperature) and raw (what segmentation, grouping
and both pairs read). For each reader, and for each model alone: accuracy, expected
calibration error (15 bins; 0 is a confidence that is right as often as it says), negative log
likelihood, and the temperature that would minimise it (1.0: nothing to fix). Prints JSON.

`--test-splits` adds, report only (nothing is chosen on them), the digit model answering alone
with its card's `answers_alone` block and without it: MNIST test through `Recognizer.classify`,
and the 14 pendigits test writers through `Recognizer.read_strokes` with no stroke model.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types

import numpy as np
from digitkiosk.device.loader import load_model
from digitkiosk.device.modelcard import ModelCard
from digitkiosk.device.paper_reader import pair_probs
from digitkiosk.device.stroke_reader import combine, load_stroke_model
from digitkiosk.device.strokes import strokes_to_mnist
from digitkiosk.train.calibrate import expected_calibration_error, fit_temperature, nll
from digitkiosk.train.data import load_mnist
from digitkiosk.train.paper_pair import validation_sets
from digitkiosk.train.stroke_fit import load_sources

DIGITS = 10


def figures(probs: np.ndarray, y: np.ndarray) -> dict:
    """A reader's digit probabilities (its "none", if any, left out and the rest renormalised:
    the digits are all digits) against the labels."""
    p = np.asarray(probs, np.float64)[:, :DIGITS]
    p = p / p.sum(axis=1, keepdims=True)
    log_p = np.log(np.clip(p, 1e-300, 1.0))  # logits up to a constant per row
    return {
        "digits": len(y),
        "accuracy": round(float((p.argmax(axis=1) == y).mean()), 4),
        "ece": round(expected_calibration_error(p, y), 4),
        "nll": round(nll(log_p, y), 4),
        "best_temperature": round(fit_temperature(log_p, y), 3),
    }


def pictures(paper, digit, sets: dict) -> dict:
    gate = paper.card.data["pair"]["read_with_partner_below"]
    out: dict = {}
    pooled: dict[str, list] = {
        k: [] for k in ("paper pair", "paper model", "digit model answering alone", "digit model raw", "y")
    }
    for name, (x, y) in sets.items():
        x = x.astype(np.float32) / 255.0
        p, (q, a) = paper.predict_probs(x), digit.predict_probs_raw_and_alone(x)
        pair = pair_probs(p, lambda rows, q=q: q[rows], gate)[0]
        out[name] = {
            "paper pair": figures(pair, y),
            "digit model answering alone": figures(a, y),
            "digit model raw": figures(q, y),
        }
        pairs = (
            ("paper pair", pair),
            ("paper model", p),
            ("digit model answering alone", a),
            ("digit model raw", q),
        )
        for key, value in (*pairs, ("y", y)):
            pooled[key].append(np.asarray(value))
    y_all = np.concatenate(pooled.pop("y"))
    out["all"] = {key: figures(np.concatenate(v), y_all) for key, v in pooled.items()}
    return out


def pen(stroke, digit, rows: list[dict]) -> dict:
    y = np.array([r["label"] for r in rows])
    image, alone = digit.predict_probs_raw_and_alone(np.stack([strokes_to_mnist(r["strokes"]) for r in rows]))
    strokes = stroke.probs([r["strokes"] for r in rows])
    return {
        "stroke pair": figures(combine(image, strokes), y),
        "stroke model alone": figures(strokes, y),
        "digit model answering alone": figures(alone, y),
        "digit model raw": figures(image, y),
    }


def without_block(digit):
    """The digit model as it answered alone before its card had an `answers_alone` block."""
    data = {k: v for k, v in digit.card.data.items() if k != "answers_alone"}
    return dataclasses.replace(digit, card=ModelCard(digit.card.path, data))


def test_splits(digit, data: str) -> dict:
    """Report only: answered right, "?", answered wrong and ECE, with the block and without."""
    from digitkiosk.device.recognizer import Recognizer
    from digitkiosk.train.pendigits import load_jsonl

    mnist = load_mnist(f"{data}/mnist")
    x, y = mnist.x_test.astype(np.float32) / 255.0, np.asarray(mnist.y_test)
    rows = load_jsonl(f"{data}/pendigits/test.jsonl")
    y_pen = np.array([r["label"] for r in rows])
    out: dict = {}
    for name, model in (("with answers_alone", digit), ("without", without_block(digit))):
        reader = Recognizer(model)
        read = reader.classify(x)
        answered = np.array([d.digit is not None for d in read])
        right = np.array([d.digit == t for d, t in zip(read, y, strict=True)])
        strokes = [reader.read_strokes(r["strokes"]) for r in rows]  # parsed by load_jsonl
        one = np.array([len(s.digits) == 1 for s in strokes])
        first = np.stack([s.digits[0].probs[:DIGITS] for s in strokes])
        out[name] = {
            "mnist_test_classify": {
                "answered_right": round(float(right.mean()), 4),
                "unsure": int((~answered).sum()),
                "answered_wrong": int((answered & ~right).sum()),
                "ece": round(expected_calibration_error(np.stack([d.probs for d in read]), y), 4),
            },
            "pendigits_test_strokes_without_stroke_model": {
                "read_right": round(
                    float(np.mean([s.text == str(t) for s, t in zip(strokes, y_pen, strict=True)])), 4
                ),
                "unsure": int(sum("?" in s.text for s in strokes)),
                "ece_one_digit_readings": round(expected_calibration_error(first[one], y_pen[one]), 4),
            },
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="models")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--test-splits", action="store_true", help="also the digit model alone on test splits")
    args = ap.parse_args()
    # The device's own loaders and trust policy: the bundled models as pinned.
    digit = load_model(f"{args.models}/digitnet.json")
    paper = load_model(f"{args.models}/papernet.json")
    stroke = load_stroke_model(f"{args.models}/strokenet.json")
    paths = types.SimpleNamespace(
        pendigits=f"{args.data}/pendigits/train.jsonl",
        unipen=f"{args.data}/unipen/train.jsonl",
        scans=f"{args.data}/orand_car_a",
    )
    sets = validation_sets([paper.card.data, digit.card.data], load_mnist(f"{args.data}/mnist"), paths)
    _, pen_rows, _ = load_sources([paths.pendigits, paths.unipen])
    report = {
        "models": {m.card.name: m.card.version for m in (digit, paper, stroke)},
        "pictures": pictures(paper, digit, sets),
        "pen": pen(stroke, digit, pen_rows),
    }
    if args.test_splits:
        report["digit_model_alone_test_splits_report_only"] = test_splits(digit, args.data)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
