"""`digitkiosk-train gate NEW BASE`: is the new model at least as good as the one it replaces?

Both `.tflite` models run through the device's interpreter on the same digits:
- MNIST test (10,000 images, `--data`);
- the held-out writers of each `--pen FILE` (the shared pen data: the writers `splits.py` holds
  out of every training run, so neither model trained on them);
- the held-out part of each `--strokes FILE|DIR` (collected samples, held out by kiosk and day:
  the same rule as in training, never single samples shuffled across).

Top-1 accuracy on each; the gate fails if any figure of NEW is more than `--margin` points below
BASE's (default 0.5). The comparison is printed as JSON and written into NEW's card (`gate`, with
the model's sha256), which `digitkiosk-deploy push` requires unless `--force`. So gate before
signing: a signed card is not changed (its signature would no longer match).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging

import numpy as np
from digitkiosk.device.errors import DigitkioskError
from digitkiosk.device.fileutil import atomic_write_text
from digitkiosk.device.package import ModelPackage

from .errors import DataError
from .evaluate import predict_u8, tflite_runner

log = logging.getLogger(__name__)

DEFAULT_MARGIN_POINTS = 0.5


def _package(path: str) -> ModelPackage:
    try:
        return ModelPackage.read(path)
    except DigitkioskError as e:
        raise DataError(str(e)) from None


def _held_out(spec: str, kind: str) -> tuple[str, np.ndarray, np.ndarray]:
    """A pen file's held-out writers, or a collected source's held-out kiosk-days → (name, x, y)."""
    if kind == "pen":
        from .sources import parse_source, pen_validation

        name, x, y = pen_validation(parse_source(spec, 1)[0])  # its training writers not rendered
        return f"pen:{name}", x, y
    from .collected import load_collected

    src = load_collected(spec)
    return f"strokes:{src.name.removeprefix('collected-')}", src.x_val, src.y_val


def compare(new: ModelPackage, base: ModelPackage, sets: dict, margin: float) -> dict:
    """sets: name → (x uint8, y). → the gate's verdict with every figure."""
    runners = {"new": tflite_runner(new.model_bytes), "base": tflite_runner(base.model_bytes)}
    figures, failed = {}, []
    for name, (x, y) in sets.items():
        row: dict = {"digits": len(y)}
        if len(y) == 0:
            row["note"] = "no held-out digits: not judged"
            figures[name] = row
            continue
        for which, runner in runners.items():
            row[which] = round(float((predict_u8(runner, x).argmax(1) == y).mean()), 5)
        row["drop_points"] = round(100 * (row["base"] - row["new"]), 3)
        if row["drop_points"] > margin:
            failed.append(name)
        figures[name] = row
    return {
        "passed": not failed,
        "failed": failed,
        "margin_points": margin,
        "model_sha256": new.sha256,
        "new": {"name": new.card.name, "version": new.card.version, "sha256": new.sha256},
        "base": {"name": base.card.name, "version": base.card.version, "sha256": base.sha256},
        "figures": figures,
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }


def gate_command(args: argparse.Namespace) -> int:
    if args.margin < 0:
        raise DataError("--margin must not be negative")
    new, base = _package(args.new), _package(args.base)
    if new.signature is not None and not args.no_record:
        raise DataError(f"{new.card_path} is already signed: run the gate before signing (or --no-record)")
    from .data import load_mnist

    data = load_mnist(args.data)
    sets = {"mnist-test": (data.x_test, data.y_test)}
    for kind, specs in (("pen", args.pen), ("strokes", args.strokes)):
        for spec in specs:
            name, x, y = _held_out(spec, kind)
            sets[name] = (x, y)
    verdict = compare(new, base, sets, args.margin)
    if not args.no_record:
        card = json.loads(new.card_bytes)
        card["gate"] = verdict
        atomic_write_text(new.card_path, json.dumps(card, indent=1))
    print(json.dumps(verdict, indent=1))
    return 0 if verdict["passed"] else 1


__all__ = ["compare", "gate_command"]
