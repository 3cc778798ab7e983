"""Calibrate a digit model's answers for when it answers alone, without changing the model file.

    python -m digitkiosk.train.answers_alone models/digitnet.json --version 1.4.2 --out models

digitnet 1.4.x was trained with label smoothing and not calibrated: alone it is under-confident
(expected calibration error ~0.1, `tests/benchmarks/calibration.py`). It answers alone only where
its partner is turned off (`DIGITKIOSK_PAPER_MODEL=off`, `DIGITKIOSK_STROKE_MODEL=off`); its raw
confidences are also what the segmentation's rules, the stroke grouping, both pairs and the line
reader's choice were chosen on, so the model file and its logits stay as they are. The card gains
an `answers_alone` block instead, which the device applies to the answers it shows from this
model alone (`loader.LoadedModel.predict_probs(alone=True)`):

- `temperature`: T minimising the negative log likelihood of softmax(z / T) on validation digits;
  the device divides the int8 logits' scale by T (`outputs.to_probabilities`), so the calibrated
  probabilities are bit-identical on every processor and the argmax (the answer) is unchanged;
- `reject_threshold`: on the calibrated confidence, the lowest whose answered validation digits
  err no more often than the raw threshold's did on the same digits (`paper_pair.choose_threshold`):
  about the same digits answered, at a confidence that now says how often they are right.

The validation digits: pictures (the MNIST training digits held out by this model's trainer and
its paper partner's, the pendigits and UNIPEN validation writers drawn, the ORAND validation
images' digit crops: the paper pair's validation sets) and pen (the validation writers' strokes
as the kiosk draws them). No test split. Written to temporary names and renamed.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np
from digitkiosk.device.modelcard import read_card

from .errors import DataError, print_result


def validation_digits(cards: list[dict], data: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{source: (float (N, 28, 28) in [0, 1], labels)}: the pictures held out by every model of
    `cards` (`paper_pair.validation_sets`) and the pen validation writers drawn."""
    from digitkiosk.device.strokes import strokes_to_mnist

    from .data import load_mnist
    from .paper_pair import validation_sets
    from .stroke_fit import load_sources

    paths = types.SimpleNamespace(
        pendigits=data / "pendigits" / "train.jsonl",
        unipen=data / "unipen" / "train.jsonl",
        scans=data / "orand_car_a",
    )
    sets = {
        name: (x.astype(np.float32) / 255.0, np.asarray(y))
        for name, (x, y) in validation_sets(cards, load_mnist(data / "mnist"), paths).items()
    }
    _, rows, _ = load_sources([paths.pendigits, paths.unipen])
    sets["pen"] = (
        np.stack([strokes_to_mnist(r["strokes"]) for r in rows]),
        np.array([r["label"] for r in rows]),
    )
    return sets


def fit_answers_alone(model, sets: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """A loaded digit model (logits output) and its validation digits → the `answers_alone` block."""
    from digitkiosk.device.outputs import LOGITS, to_probabilities

    from .calibrate import expected_calibration_error, fit_temperature
    from .paper_pair import choose_threshold

    if model.card.output_kind != LOGITS:
        raise DataError(
            f"{model.card.path}: ends in its own softmax; re-issue it at its logits first (reissue.py)"
        )
    details, kind = model.runner.output_details, model.runner.output_kind
    raw = {name: model.runner.raw(x) for name, (x, _) in sets.items()}
    y = np.concatenate([y for _, y in sets.values()])
    q = np.concatenate(list(raw.values()))
    scale = float(details["quantization"][0]) if np.dtype(details["dtype"]) != np.float32 else 1.0
    t = round(fit_temperature(q.astype(np.float64) * scale, y), 4)
    before, after = to_probabilities(q, details, kind), to_probabilities(q, details, kind, t)
    chosen = choose_threshold(y, after, before, model.card.reject_threshold)

    def ece(name: str, temperature: float) -> float:
        return round(
            expected_calibration_error(
                to_probabilities(raw[name], details, kind, temperature), sets[name][1]
            ),
            4,
        )

    return {
        "temperature": t,
        "reject_threshold": chosen["threshold"],
        "method": "temperature scaling fitted by negative log likelihood on validation digits (held-out "
        "writers and images); the threshold: " + chosen["rule"],
        "validation_digits": {name: len(sets[name][1]) for name in sets},
        "validation_coverage": round(chosen["validation_coverage"], 4),
        "validation_error": chosen["validation_error"],
        "raw_threshold": chosen["digit_model_alone"],
        "expected_calibration_error": {
            "before": round(expected_calibration_error(before, y), 4),
            "after": round(expected_calibration_error(after, y), 4),
            "by_source_before": {name: ece(name, 1.0) for name in sets},
            "by_source_after": {name: ece(name, t) for name in sets},
        },
    }


def reissue_answers_alone(card_path: Path, partners: list[Path], version: str, out: Path, data: Path) -> Path:
    """The card → a card with its `answers_alone` block (same model file) in `out`; its path."""
    from digitkiosk.device.loader import load_model

    model = load_model(card_path)  # the device's own loader and trust policy
    cards = [model.card.data] + [read_card(p).data for p in partners]
    block = fit_answers_alone(model, validation_digits(cards, data))
    from .reissue import write_reissued

    old = model.card.version
    changes = (
        f"{version}: {model.card.name} {old} with an `answers_alone` block (train/answers_alone.py): "
        f"the temperature ({block['temperature']}) and reject threshold ({block['reject_threshold']}) of the "
        "answers it gives without a partner model; the same model file, logits and raw confidences. Figures "
        f"below are {old}'s."
    )
    return write_reissued(model.card, dict(version=version, answers_alone=block), changes, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("card", type=Path, help="the digit model's card (a model that outputs logits)")
    ap.add_argument("--version", required=True, help="the re-issued card's version")
    ap.add_argument("--out", type=Path, required=True, help="folder for the new card (and the model file)")
    ap.add_argument(
        "--partner",
        type=Path,
        action="append",
        help="a partner model's card whose held-out MNIST digits the validation keeps to (default: "
        "papernet.json beside the card)",
    )
    ap.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    args = ap.parse_args(argv)
    partners = args.partner if args.partner is not None else [args.card.parent / "papernet.json"]
    return print_result(
        "digitkiosk.train.answers_alone",
        lambda: reissue_answers_alone(args.card, partners, args.version, args.out, args.data),
    )


if __name__ == "__main__":
    sys.exit(main())
