"""Average several trained line models into one (`device/line_reader.py` reads it as any other).

    python -m digitkiosk.train.line_ensemble RUN1/linenet.keras RUN2/linenet.keras ... \
        [--data ../shared/data/orand_car_a] [--out runs/line_pair] [--version 1.1.0]

The nets (each trained by `line_fit.py` with its own seed) read the same 32x160 field into the
same 40 steps; the ensemble averages their logits step by step, which is the normalised geometric
mean of their softmax outputs, and is exported as one int8 `.tflite` with one card: one file to
sign, pin and load, one interpreter call per field. The card's validation figures are measured on
the int8 file through the device's loader and decoder, as `line_fit.py` does. Measured so far (README,
"The line model for fields"): a gain within the noise of 206 validation fields, so not shipped.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

from .line_data import StripBank, epoch_lines, load_fields, prepared
from .line_fit import export_int8, write_card

log = logging.getLogger(__name__)


def average(paths: list[str]):
    """The members' Keras models → one model whose output is the mean of their logits."""
    import keras

    members = [keras.models.load_model(p, compile=False) for p in paths]
    shapes = {tuple(m.input.shape[1:]) for m in members} | {tuple(m.output.shape[1:]) for m in members}
    if len({tuple(m.input.shape[1:]) for m in members}) != 1 or len(shapes) != 2:
        raise SystemExit("digitkiosk-train: error: the line models read or answer different shapes")
    inputs = keras.Input(members[0].input.shape[1:], name="line")
    for i, m in enumerate(members):
        m.name = f"member{i + 1}"  # unique names inside one model
    logits = keras.layers.Average(name="mean_logits")([m(inputs) for m in members])
    return keras.Model(inputs, logits, name="linenet")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitkiosk.train.line_ensemble", description=__doc__)
    ap.add_argument("members", nargs="+", help="trained line models (RUN/linenet.keras)")
    ap.add_argument("--data", default="../shared/data/orand_car_a")
    ap.add_argument("--out", default="runs/line_ensemble")
    ap.add_argument("--name", default="linenet")
    ap.add_argument("--version", default="1.1.0")
    ap.add_argument("--seed", type=int, default=0, help="for the representative lines of int8")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    missing = [p for p in args.members if not Path(p).is_file()]
    if len(args.members) < 2 or missing:
        print(f"digitkiosk-train: error: need two or more line models ({', '.join(missing) or 'one given'})",
              file=sys.stderr)  # fmt: skip
        return 2
    model = average(args.members)
    train, val = load_fields(args.data)
    bank = StripBank.from_fields(train)
    x_repr, _ = epoch_lines(train, bank, 200, 1, np.random.default_rng(args.seed + 1))
    result = {
        "model": model,
        "history": [],
        "best": {"members": args.members},
        "wall_time_s": 0.0,
        "representative": x_repr[:400],
        "x_val": prepared(val).astype(np.float32)[..., None] / 255.0,
        "t_val": [f.text for f in val],
        "train_lines": len(train),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_card(args, result, export_int8(model, result["representative"]), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
