"""Train the stroke model (`device/stroke_reader.py`): pen digits read from their trajectories.

    python -m digitkiosk.train.stroke_fit [--pen FILE ...] [--digit-model CARD] [--epochs 30]
        [--seed 0] [--out runs/stroke] [--name strokenet] [--model-version 1.0.0]

Trains on the training writers of every `--pen` file (JSON lines in the shared pen format:
pendigits, UNIPEN, collected corrections), holding out whole writers (`sources.validation_rows`,
the digit model's split). Each epoch sees every training digit once, freshly varied: half of them
with stroke-level variation (`pen_variation.py`: parts placed independently, ends trimmed or
extended, slashed 0s, crossed 7s, flagged 1s) and all with a random slant, rotation and width.
Pieces of digits are taught as an eleventh class, "none": each stroke of a training digit
written in several strokes, unless the digit model reads that stroke clearly as a digit of its own
(the upright stroke of a 4, the loop of a 9). Without it the model, which reads one trajectory
and never saw a piece, reads the L of a two-stroke 4 surely as a 2, and the stroke grouping splits
the 4 in two. The epoch with the best validation accuracy is kept, exported to full-integer int8
and read back through the device's own loader. With `--digit-model`, the pair's reject threshold (`combine`:
the stroke model with that digit model) is chosen on the validation writers by the digit model's
rule (`evaluate.choose_reject_threshold`: one wrong answer in 200 answered) and the card records
both models' and the pair's validation figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from pathlib import Path

import numpy as np
from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text
from digitkiosk.device.outputs import LOGITS
from digitkiosk.device.stroke_reader import STROKE_PREP_ID, combine, load_stroke_model
from digitkiosk.device.trajectory import FEATURES, POINTS, trajectory

from .pen_variation import PenVariation, vary

log = logging.getLogger(__name__)

DEFAULT_PEN = ("../shared/data/pendigits/train.jsonl", "../shared/data/unipen/train.jsonl")
LABELS = [str(d) for d in range(10)]
# Whole-digit variation per copy: people slant and turn their writing, and make it narrow or wide.
ROTATION_DEG = 12.0
SHEAR = 0.3
WIDTH_SCALE = (0.75, 1.25)
VARIED_SHARE = 0.5  # copies that also get stroke-level variation
REPRESENTATIVE = 1000  # training trajectories that calibrate the int8 ranges
NONE = 10  # the class of pieces of digits
# A stroke of a digit that the digit model reads at least this surely is a digit on its own (the
# upright of a 4 is a 1): it is not taught as "none". Others (the L of a 4, the bar of a 7, the hat
# of a 5, half a 0) are.
PIECE_CLEAR = 0.8
PIECE_SHARE = 0.5  # of the pieces shown each epoch (freshly varied, like the digits)


def build_stroke_model(widths: tuple[int, ...] = (48, 64, 96, 96), dropout: float = 0.3, classes: int = 11):
    """A small 1-D convolutional net over the trajectory: three 5-wide convolutions (two with
    stride 2), a 3-wide one, global average pooling, a softmax over the digits and "none"."""
    import keras
    from keras import layers

    inputs = keras.Input((POINTS, FEATURES), name="trajectory")
    x = inputs
    for i, (w, k, s) in enumerate(zip(widths, (5, 5, 5, 3), (1, 2, 2, 1), strict=True)):
        x = layers.Conv1D(w, k, strides=s, padding="same", use_bias=False, name=f"conv{i + 1}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
        x = layers.ReLU(name=f"relu{i + 1}")(x)
    x = layers.GlobalAveragePooling1D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="strokenet")


def varied(strokes: list[np.ndarray], label: int, rng: np.random.Generator, cfg: PenVariation) -> list:
    """One training copy of a digit's strokes (see the module docstring)."""
    if rng.random() < VARIED_SHARE:
        strokes = vary(list(strokes), label, rng, cfg)
    theta = np.deg2rad(rng.uniform(-ROTATION_DEG, ROTATION_DEG))
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    slant = np.array([[rng.uniform(*WIDTH_SCALE), rng.uniform(-SHEAR, SHEAR)], [0.0, 1.0]])
    m = turn @ slant
    return [np.asarray(s, dtype=np.float64)[:, :2] @ m.T for s in strokes]


def digit_pieces(records: list[dict], digit_model) -> list[dict]:
    """The strokes of multi-stroke digits that are not digits on their own (see PIECE_CLEAR), as
    records labelled "none"."""
    from digitkiosk.device.strokes import strokes_to_mnist

    pieces = [
        {"strokes": [s], "label": NONE, "source": r["source"]}
        for r in records
        if len(r["strokes"]) > 1
        for s in r["strokes"]
        if len(s) > 1 and np.ptp(s, axis=0).max() > 0
    ]
    if not pieces:
        return []
    probs = digit_model.predict_probs(np.stack([strokes_to_mnist(p["strokes"]) for p in pieces]))
    return [p for p, q in zip(pieces, probs, strict=True) if q[:NONE].max() < PIECE_CLEAR]


def load_sources(paths: list[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """→ (training records, validation records, one card entry per source)."""
    from .pendigits import load_jsonl
    from .sources import file_sha256, source_name, validation_rows

    train: list[dict] = []
    val: list[dict] = []
    entries = []
    for path in paths:
        rows = load_jsonl(path)
        held = validation_rows(rows)
        name = source_name(path)
        for r, h in zip(rows, held, strict=True):
            r["source"] = name
            (val if h else train).append(r)
        entries.append(
            {
                "name": name,
                "path": str(path),
                "sha256": file_sha256(Path(path)),
                "train_digits": int((~held).sum()),
                "validation_digits": int(held.sum()),
            }
        )
    return train, val, entries


def fit(args: argparse.Namespace, train: list[dict], val: list[dict], pieces: list[dict]) -> dict:
    """Train; `pieces` (of training writers' digits) are the "none" class, none: ten classes."""
    import keras

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    cfg = PenVariation()
    x_val = np.stack([trajectory(r["strokes"]) for r in val])
    y_val = np.array([r["label"] for r in val])
    shown = len(train) + int(len(pieces) * PIECE_SHARE)
    model = build_stroke_model(tuple(args.widths), args.dropout, 11 if pieces else 10)
    steps = args.epochs * -(-shown // args.batch_size)
    model.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(args.lr, steps)),
        keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    best = (-1.0, 0, model.get_weights())
    history: dict[str, list[float]] = {"loss": [], "val_accuracy": []}
    t0 = time.time()
    for epoch in range(args.epochs):
        some = [pieces[i] for i in rng.permutation(len(pieces))[: shown - len(train)]]
        epoch_rows = train + some
        x = np.stack([trajectory(varied(r["strokes"], r["label"], rng, cfg)) for r in epoch_rows])
        y = np.array([r["label"] for r in epoch_rows])
        h = model.fit(x, y, batch_size=args.batch_size, epochs=1, verbose=0, shuffle=True)
        acc = float((model.predict(x_val, verbose=0).argmax(axis=1) == y_val).mean())
        history["loss"].append(round(float(h.history["loss"][0]), 5))
        history["val_accuracy"].append(round(acc, 5))
        log.info("epoch %d: loss %.4f, validation accuracy %.4f", epoch + 1, h.history["loss"][0], acc)
        if acc >= best[0]:  # ties go to the later epoch: its learning rate has decayed further
            best = (acc, epoch + 1, model.get_weights())
    model.set_weights(best[2])
    pick = rng.choice(len(train), size=min(REPRESENTATIVE, len(train)), replace=False)
    return {
        "model": model,
        "representative": np.stack([trajectory(train[i]["strokes"]) for i in pick]),
        "best_epoch": best[1],
        "history": history,
        "wall_time_s": round(time.time() - t0, 1),
    }


def validation_figures(runner, val: list[dict], digit_model, pieces: list[dict]) -> dict:
    """Per source and overall: the stroke model alone; with a digit model (the device's loaded
    model, or None), it alone and the pair,
    and the pair's reject threshold (chosen on all validation writers' digits together); and how
    many pieces of the validation writers' digits the stroke model reads as "none"."""
    from .evaluate import choose_reject_threshold

    stroke_probs = runner.predict(np.stack([trajectory(r["strokes"]) for r in val]))
    y = np.array([r["label"] for r in val])
    sources = np.array([r["source"] for r in val])
    probs = {"stroke_model": stroke_probs}
    out: dict = {}
    if digit_model is not None:
        from digitkiosk.device.strokes import strokes_to_mnist

        images = np.stack([strokes_to_mnist(r["strokes"]) for r in val])
        probs["digit_model"] = digit_model.predict_probs(images)
        probs["pair"] = combine(probs["digit_model"], stroke_probs)
        out["pair_reject"] = choose_reject_threshold(y, probs["pair"])
        out["digit_model"] = digit_model.describe()
    for name in [*sorted(set(sources)), "all"]:
        rows = np.ones(len(y), bool) if name == "all" else sources == name
        out[name] = {"digits": int(rows.sum())} | {
            k: round(float((p[rows].argmax(axis=1) == y[rows]).mean()), 5) for k, p in probs.items()
        }
    if pieces and stroke_probs.shape[1] > 10:
        read = runner.predict(np.stack([trajectory(p["strokes"]) for p in pieces])).argmax(axis=1)
        out["pieces"] = {"strokes": len(pieces), "read_as_none": round(float((read == NONE).mean()), 5)}
    return out


def write_model(
    args: argparse.Namespace, result: dict, entries: list[dict], val: list[dict], out: Path, digit_model
) -> Path:
    """Export int8, evaluate it through the device's interpreter, write the card, and load the
    package back through the device's own verified loader (self-test included)."""
    from digitkiosk.device.package import TrustPolicy

    from .card import card_head, tensor_spec
    from .evaluate import tflite_runner
    from .export import convert_samples, strip_softmax
    from .model import multiply_adds

    # Ends at the logits (export.strip_softmax): the device computes the softmax, the same bits on
    # every processor (device/outputs.py).
    data = strip_softmax(convert_samples(result["model"], result["representative"]))
    model_path = atomic_write_bytes(out / f"{args.name}.tflite", data)
    runner = tflite_runner(data, "auto", LOGITS)
    input_spec, output_spec = tensor_spec(runner.input_details), tensor_spec(runner.output_details)
    figures = validation_figures(runner, val, digit_model, result["val_pieces"])
    reject = figures.pop("pair_reject", None)
    card = {
        **card_head(args.name, args.model_version, model_path.name, data),
        "input": input_spec,
        "output": output_spec,
        "labels": [*LABELS, "none"] if output_spec["shape"][-1] > 10 else LABELS,
        "preprocessing": STROKE_PREP_ID,
        "output_kind": LOGITS,
        "kind": "stroke model: logits over the digits (and none: a piece of a digit); read "
        "beside the digit model (pair)",
        # Without a digit model to pair with, a stand-in the loader accepts; the card says so.
        "reject_threshold": reject["threshold"] if reject else 0.5,
        "pair": {"digit_model": figures.pop("digit_model", None), "reject": reject},
        "metrics": {
            "validation_set": "held-out writers of every pen source (train/sources.validation_rows), "
            "int8 through the device interpreter; accuracy = best class",
            "int8": figures,
            "float_best_epoch": result["best_epoch"],
        },
        "architecture": {
            "keras_name": "strokenet",
            "parameters": int(result["model"].count_params()),
            "multiply_adds": multiply_adds(result["model"]),
        },
        "training": {
            "command": " ".join(["python -m digitkiosk.train.stroke_fit", *sys.argv[1:]]),
            "config": {k: v for k, v in vars(args).items() if k != "out"},
            "sources": entries,
            "wall_time_s": result["wall_time_s"],
            "history": result["history"],
            "host": {"python": platform.python_version(), "machine": platform.machine()},
        },
    }
    card_path = atomic_write_text(out / f"{args.name}.json", json.dumps(card, indent=1) + "\n")
    load_stroke_model(card_path, policy=TrustPolicy(out, allow_unsigned=True))
    log.info("validation (int8): %s", json.dumps(figures))
    return card_path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitkiosk.train.stroke_fit", description=__doc__)
    ap.add_argument(
        "--pen", action="append", help="pen digits (JSON lines); repeatable (default: pendigits + UNIPEN)"
    )
    ap.add_argument(
        "--digit-model",
        help="the digit model to pair with (its card): chooses the pair's threshold and which "
        'strokes of digits are taught as pieces ("none")',
    )
    ap.add_argument("--out", default="runs/stroke")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.3)
    ap.add_argument("--widths", type=lambda s: [int(v) for v in s.split(",")], default=[48, 64, 96, 96])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-pieces", action="store_true", help='no "none" class of pieces of digits')
    ap.add_argument("--name", default="strokenet")
    ap.add_argument("--model-version", default="1.0.0")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from .errors import DataError

    if len(args.widths) != 4:
        ap.error("--widths needs four numbers")
    try:
        train, val, entries = load_sources(args.pen or list(DEFAULT_PEN))
    except DataError as e:
        print(f"digitkiosk-train: error: {e}", file=sys.stderr)
        return 2
    if not train or not val:
        print("digitkiosk-train: error: need training and validation writers", file=sys.stderr)
        return 2
    from digitkiosk.device.errors import DigitkioskError

    pieces: list[dict] = []
    val_pieces: list[dict] = []
    digits = None
    if args.digit_model:  # loaded once: it picks the pieces and is paired with for the figures
        from digitkiosk.device.loader import load_model
        from digitkiosk.device.package import TrustPolicy

        try:
            digits = load_model(args.digit_model, policy=TrustPolicy(allow_unsigned=True))
        except DigitkioskError as e:
            print(f"digitkiosk-train: error: --digit-model: {e}", file=sys.stderr)
            return 2
    if digits is not None and not args.no_pieces:
        pieces, val_pieces = digit_pieces(train, digits), digit_pieces(val, digits)
        log.info("pieces of digits (none): %d training, %d validation", len(pieces), len(val_pieces))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = fit(args, train, val, pieces)
    result["val_pieces"] = val_pieces
    result["model"].save(out / f"{args.name}.keras")
    try:
        write_model(args, result, entries, val, out, digits)
    except DigitkioskError as e:  # e.g. too short a run to pass the device's self-test
        print(f"digitkiosk-train: error: the device refuses the trained model: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
