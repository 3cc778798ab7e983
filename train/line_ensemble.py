"""Average several trained line models into one (`device/line_reader.py` reads it as any other),
or export one that `line_fit.py --no-export` trained (e.g. with Keras on PyTorch, on a machine
without TensorFlow's converter).

    python -m digitkiosk.train.line_ensemble RUN1/linenet.keras [RUN2/linenet.keras ...] \
        [--data ../shared/data/orand_car_a] [--out runs/line_pair] [--version 1.1.0]

A member may also be an int8 line model (`models/linenet.tflite`): it stands for every member it
holds, read back as float Keras models (`line_unpack.py`), so a shipped ensemble can grow by new
members after the old members' `.keras` files are gone.

The nets (each trained by `line_fit.py` with its own seed) read the same 32x160 field into the
same 40 steps; the ensemble averages their logits step by step, which is the normalised geometric
mean of their softmax outputs, and is exported as one int8 `.tflite` with one card: one file to
sign, pin and load, one interpreter call per field. The card's validation figures are measured on
the int8 file through the device's loader and decoder, as `line_fit.py` does. Measured so far (README,
"The line model for fields"): a gain within the noise of 206 validation fields, so not shipped.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from .line_data import StripBank, epoch_lines, load_fields, prepared
from .line_fit import FIT_RECORD, command_line, export_int8, write_card

log = logging.getLogger(__name__)


def average(paths: list[str], combine: str = "mean"):
    """The members' Keras models → one model whose output is the mean of their logits
    (`combine="mean"`), or all of their logits stacked, (K, T, C), for the device to decode each
    and choose among (`"vote"` or `"posterior"`, the card's `decode`: `device/ctc.py`). One member:
    that model. A `.tflite` path stands for every member it holds (`line_unpack.py`)."""
    import keras

    from .line_unpack import members_from_tflite

    members = []
    for p in paths:
        if Path(p).suffix == ".tflite":
            members.extend(members_from_tflite(p))
        else:
            members.append(keras.models.load_model(p, compile=False))
    if len(members) == 1:
        return members[0]
    shapes = {tuple(m.input.shape[1:]) for m in members} | {tuple(m.output.shape[1:]) for m in members}
    if len({tuple(m.input.shape[1:]) for m in members}) != 1 or len(shapes) != 2:
        raise SystemExit("digitkiosk-train: error: the line models read or answer different shapes")
    inputs = keras.Input(members[0].input.shape[1:], name="line")
    for i, m in enumerate(members):
        m.name = f"member{i + 1}"  # unique names inside one model
    outputs = [m(inputs) for m in members]
    if combine != "mean":
        stacked = keras.layers.Concatenate(axis=1, name="members")(
            [keras.layers.Reshape((1, *m.output.shape[1:]))(o) for m, o in zip(members, outputs, strict=True)]
        )
        return keras.Model(inputs, stacked, name="linenet")
    logits = keras.layers.Average(name="mean_logits")(outputs)
    return keras.Model(inputs, logits, name="linenet")


TRAINING_KEYS = ("command", "host", "wall_time_s", "unpacked_from")


def _fit_records(member: str) -> list[dict]:
    """The training record `line_fit.py --no-export` wrote beside a member ({} when none); for an
    int8 line model, its card's record of each member it holds."""
    if Path(member).suffix == ".tflite":
        try:
            card = json.loads(Path(member).with_suffix(".json").read_text())
            return [dict(r, unpacked_from=member) for r in card["training"]["members"]]
        except (OSError, ValueError, KeyError, TypeError):
            return [{"unpacked_from": member}]
    try:
        return [json.loads(Path(member).with_name(FIT_RECORD).read_text())]
    except (OSError, ValueError):
        return [{}]


def _jobs(specs: list[str]) -> dict[str, list[int]]:
    """["fields=0,1", "pictures=2,3"] → {"fields": [0, 1], "pictures": [2, 3]}; ValueError
    (one line) for a malformed one. The device checks the members against the file."""
    from digitkiosk.device.line_reader import JOBS

    jobs: dict[str, list[int]] = {}
    for spec in specs:
        job, _, members = spec.partition("=")
        try:
            jobs[job] = [int(i) for i in members.split(",")]
        except ValueError:
            raise ValueError(f"--job {spec!r}: expected JOB=I,J,... with member numbers") from None
        if job not in JOBS:
            raise ValueError(f"--job {spec!r}: the jobs are {', '.join(JOBS)}")
    return jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitkiosk.train.line_ensemble", description=__doc__)
    ap.add_argument("members", nargs="+", help="trained line models (RUN/linenet.keras)")
    ap.add_argument("--data", default="../shared/data/orand_car_a")
    ap.add_argument("--out", default="runs/line_ensemble")
    ap.add_argument("--name", default="linenet")
    ap.add_argument("--version", default="1.1.0")
    ap.add_argument("--seed", type=int, default=0, help="for the representative lines of int8")
    ap.add_argument("--combine", choices=("vote", "posterior", "mean"), default="posterior",
                    help="posterior (default): the device decodes each member and takes the members' "
                    "string they give the most probability (device/ctc.py); vote: the string most "
                    "members read; mean: one net answering the mean of the members' logits")  # fmt: skip
    ap.add_argument("--job", action="append", default=[], metavar="JOB=I,J,...",
                    help="the members (0-based, in the order given, a .tflite's all in place) that "
                    "read for JOB (fields, pictures): the card's members_by_job; default every "
                    "member for every job")  # fmt: skip
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    missing = [p for p in args.members if not Path(p).is_file()]
    if missing:
        print(f"digitkiosk-train: error: no such line model: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        args.members_by_job = _jobs(args.job)
        model = average(args.members, args.combine)
    except ValueError as e:  # UnpackError, or a file the interpreter cannot read
        print(f"digitkiosk-train: error: {e}", file=sys.stderr)
        return 2
    records = [r for p in args.members for r in _fit_records(p)]
    train, val = load_fields(args.data)
    bank = StripBank.from_fields(train)
    x_repr, _ = epoch_lines(train, bank, 200, 1, np.random.default_rng(args.seed + 1))
    result = {
        "model": model,
        "command": command_line("digitkiosk.train.line_ensemble", argv),
        "history": records[0].get("history", []) if len(records) == 1 else [],
        "best": {"members": args.members, "member_best_epochs": [r.get("best") for r in records]},
        "members_training": [{k: r[k] for k in TRAINING_KEYS if k in r} for r in records],
        "host": records[0].get("host") if len(records) == 1 else None,
        "wall_time_s": sum(r.get("wall_time_s", 0.0) for r in records),
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
