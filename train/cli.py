"""`digitkiosk-train`: train, export and evaluate models on a workstation.

    digitkiosk-train [fit] --data DIR [--epochs N] [--out DIR] ...   train → int8 TFLite + card
    digitkiosk-train export RUN_DIR/NAME.keras [--out DIR]            re-export a trained model
    digitkiosk-train evaluate MODEL.tflite [--report DIR]             metrics JSON, plots, HTML
    digitkiosk-train finetune BASE_RUN --strokes FILE|DIR [--epochs 3] continue a run with samples
    digitkiosk-train gate NEW BASE --data DIR [--pen F] [--strokes F]  regression gate, JSON

A thin layer over the library: errors become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from digitkiosk.device.errors import DigitkioskError

from .errors import MissingExtraError

log = logging.getLogger(__name__)

COMMANDS = ("fit", "export", "evaluate", "finetune", "gate")
DEFAULT_PENDIGITS_HINT = "../shared/data/pendigits/train.jsonl"


def _integer(v: str, minimum: int) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {v!r}") from None
    if n < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum}: {v}")
    return n


def _positive(v: str) -> int:
    return _integer(v, 1)


def _non_negative(v: str) -> int:
    return _integer(v, 0)


def _widths(v: str) -> tuple[int, ...]:
    from .model import STRIDES

    parts = [_positive(p) for p in v.split(",")]
    if len(parts) != len(STRIDES):
        raise argparse.ArgumentTypeError(f"needs {len(STRIDES)} comma-separated widths: {v!r}")
    return tuple(parts)


def _number(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {v!r}") from None


def _source(v: str) -> str:
    """FILE or FILE:REPEAT (REPEAT ≥ 1): checked here so a typo fails before TensorFlow loads."""
    from .errors import DataError
    from .sources import parse_source

    try:
        parse_source(v, 1)
    except DataError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return v


def _smoothing(v: str) -> float:
    x = _number(v)
    if not 0.0 <= x < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1): {v}")
    return x


def _pixels(v: str) -> float:
    x = _number(v)
    if not 0.0 <= x <= 8.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 8] pixels: {v}")
    return x


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitkiosk-train",
        description="Train a cheap CNN on MNIST, quantize it to a full-int8 TFLite model, evaluate it "
        "through the device interpreter and write a model card. Needs the [train] extra.",
    )
    sub = p.add_subparsers(dest="command", metavar="{fit,export,evaluate,finetune,gate}")
    f = sub.add_parser("fit", help="train, export and evaluate (the default command)")
    f.add_argument(
        "--data",
        help="directory with the four MNIST IDX files (gz or not) or mnist.npz; "
        "default: Keras's cache/download",
    )
    f.add_argument("--pendigits", help=f"real pen digits to train on too (e.g. {DEFAULT_PENDIGITS_HINT})")
    f.add_argument(
        "--pen-repeat",
        type=_positive,
        default=2,
        help="how often each pen digit is shown per epoch (default: 2)",
    )
    f.add_argument(
        "--pen",
        action="append",
        type=_source,
        default=[],
        metavar="FILE[:REPEAT]",
        help="another real pen-digit file (JSON lines, e.g. ../shared/data/unipen/train.jsonl or "
        "collected samples) with its weight; repeatable",
    )
    f.add_argument(
        "--scans",
        action="append",
        type=_source,
        default=[],
        metavar="DIR[:REPEAT]",
        help="scans with a box per digit (COCO train.json + train/, e.g. ../shared/data/orand_car_a): "
        "each digit cut out and prepared as `predict --single` does; repeatable",
    )
    f.add_argument(
        "--strokes",
        action="append",
        type=_source,
        default=[],
        metavar="FILE|DIR[:REPEAT]",
        help="samples collected from kiosks (`digitkiosk samples export`, a `digitkiosk-deploy collect` "
        "folder) with their weight (default 1), held out by kiosk and day; repeatable",
    )
    f.add_argument(
        "--no-hold-out",
        dest="hold_out",
        action="store_false",
        help="train on every writer and image too, instead of holding out the fixed validation "
        "writers and images (train/splits.py); validation is then MNIST only",
    )
    f.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="do not fit a softmax temperature on the validation digits",
    )
    f.add_argument(
        "--camera-digits",
        type=_non_negative,
        default=0,
        help="also train on this many training digits photographed on synthetic pages and found "
        "by the camera's segmentation, e.g. 12000 (default: 0)",
    )
    f.add_argument("--epochs", type=_positive, default=40)
    f.add_argument("--batch-size", type=_positive, default=128)
    f.add_argument("--learning-rate", type=float, default=3e-3)
    f.add_argument("--limit", type=_positive, help="use only the first N training images (quick runs)")
    f.add_argument("--seed", type=int, default=1)
    f.add_argument(
        "--patience",
        type=_positive,
        default=12,
        help="stop after this many epochs without a better validation accuracy (default: 12)",
    )
    f.add_argument(
        "--head",
        choices=("gap", "flatten"),
        default="flatten",
        help="classifier head: global average pooling (smallest) or flatten",
    )
    f.add_argument(
        "--widths",
        type=_widths,
        default=None,
        help="channels of the five convolutions, e.g. 16,32,32,64,64 (the default)",
    )
    f.add_argument(
        "--label-smoothing",
        type=_smoothing,
        default=0.0,
        help="spread this much of each target over all classes, e.g. 0.1 (default: 0)",
    )
    f.add_argument(
        "--elastic",
        type=_pixels,
        default=0.0,
        help="also bend each training digit by a smooth random elastic distortion of up to this "
        "many pixels, e.g. 3 (default: 0, none)",
    )
    f.add_argument("--name", default="digitnet", help="model name (file names and card)")
    f.add_argument("--version", default=None, help="model version for the card (default: date-based)")
    f.add_argument("--out", default="runs/latest", help="output directory (default: runs/latest)")
    f.add_argument("--quiet", action="store_true", help="one line per epoch instead of the progress bar")
    e = sub.add_parser("export", help="re-export a trained .keras model to TFLite and evaluate it")
    e.add_argument("keras_model")
    e.add_argument("--data", help="as for fit (representative and test images)")
    e.add_argument("--out", help="output directory (default: beside the model)")
    e.add_argument("--version", default=None, help="model version for the card (default: date-based)")
    v = sub.add_parser("evaluate", help="metrics JSON, PNG plots and an HTML report for a .tflite model")
    v.add_argument("model", help="a .tflite file (its card beside it, if any, adds training curves)")
    v.add_argument("--data", help="as for fit (the test set is used)")
    v.add_argument("--report", help="report directory (default: <model>.report/ beside the model)")
    v.add_argument("--backend", default="auto", help="interpreter backend (default: auto)")
    t = sub.add_parser(
        "finetune",
        help="continue a run for a few epochs with collected samples added (its recipe, its best model)",
    )
    t.add_argument("base_run", metavar="BASE_RUN", help="the run folder (NAME.json card beside NAME.keras)")
    t.add_argument(
        "--strokes",
        action="append",
        type=_source,
        required=True,
        metavar="FILE|DIR[:REPEAT]",
        help="collected samples to add (as for fit); repeatable",
    )
    t.add_argument("--data", help="as for fit")
    t.add_argument("--epochs", type=_positive, default=3, help="epochs to continue for (default: 3)")
    t.add_argument(
        "--learning-rate",
        type=float,
        default=3e-4,
        help="peak learning rate (default: 3e-4)",
    )
    t.add_argument("--limit", type=_positive, help="use only the first N MNIST training images (quick runs)")
    t.add_argument("--version", default=None, help="model version for the card (default: date-based)")
    t.add_argument("--out", default="runs/finetuned", help="output directory (default: runs/finetuned)")
    t.add_argument("--quiet", action="store_true", help="one line per epoch instead of the progress bar")
    g = sub.add_parser(
        "gate",
        help="compare a new model with the current one (MNIST test, held-out pen writers, held-out "
        "collected samples); exit 1 if a figure drops by more than the margin; recorded in NEW's card",
    )
    g.add_argument("new", metavar="NEW", help="the new model's .tflite or .json card (not yet signed)")
    g.add_argument("base", metavar="BASE", help="the model it would replace")
    g.add_argument("--data", help="MNIST (as for fit): its test set")
    g.add_argument("--pen", action="append", type=_source, default=[], metavar="FILE",
                   help="shared pen data: compared on its held-out writers; repeatable")  # fmt: skip
    g.add_argument("--strokes", action="append", type=_source, default=[], metavar="FILE|DIR",
                   help="collected samples: compared on their held-out kiosk-days; repeatable")  # fmt: skip
    g.add_argument("--margin", type=float, default=0.5, metavar="POINTS",
                   help="largest drop allowed on any figure, in accuracy points (default 0.5)")  # fmt: skip
    g.add_argument(
        "--no-record", action="store_true", help="print only; do not write the verdict into NEW's card"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `digitkiosk-train --data ...` means `fit`, so the plain command trains.
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["fit", *argv]
    elif not argv:
        argv = ["fit"]
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        _check_extra(args.command)
        from . import pipeline

        return pipeline.run(args, argv)
    except DigitkioskError as e:
        print(f"digitkiosk-train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("digitkiosk-train: interrupted; no model files were left half-written", file=sys.stderr)
        return 130


def _check_extra(command: str) -> None:
    needed = {
        "fit": ("tensorflow", "sklearn", "matplotlib"),
        "export": ("tensorflow", "sklearn", "matplotlib"),
        "evaluate": ("sklearn", "matplotlib"),
        "finetune": ("tensorflow", "sklearn", "matplotlib"),
        "gate": (),
    }[command]
    import importlib.util

    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingExtraError(
            f"'{command}' needs the [train] extra ({', '.join(missing)} not installed): "
            "pip install 'digitkiosk[train]'"
        )


if __name__ == "__main__":
    sys.exit(main())
