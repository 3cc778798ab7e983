"""`digitkiosk-train`: train, export and evaluate models on a workstation.

    digitkiosk-train [fit] --data DIR [--epochs N] [--out DIR] ...   train → int8 TFLite + card
    digitkiosk-train export RUN_DIR/NAME.keras [--out DIR]            re-export a trained model
    digitkiosk-train evaluate MODEL.tflite [--report DIR]             metrics JSON, plots, HTML
                                                                      (a stroke model: on pen test digits)
    digitkiosk-train finetune BASE_RUN --strokes FILE|DIR [--epochs 3] continue a run with samples
    digitkiosk-train gate NEW BASE --data DIR [--pen F] [--strokes F]  regression gate, JSON

A thin layer over the library: errors become one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
from pathlib import Path

from digitkiosk.device.cli_main import add_common_arguments, run_main

from .cli_types import non_negative, pixels, positive, smoothing, source, widths
from .errors import MissingExtraError

log = logging.getLogger(__name__)

PROG = "digitkiosk-train"
COMMANDS = ("fit", "export", "evaluate", "finetune", "gate")
DEFAULT_PENDIGITS_HINT = "../shared/data/pendigits/train.jsonl"
QUIET_HELP = "kept for older scripts: training logs one line per epoch either way"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="digitkiosk-train",
        description="Train a cheap CNN on MNIST, quantize it to a full-int8 TFLite model, evaluate it "
        "through the device interpreter and write a model card. Needs the [train] extra.",
    )
    add_common_arguments(p)
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
        type=positive,
        default=2,
        help="how often each pen digit is shown per epoch (default: 2)",
    )
    f.add_argument(
        "--pen",
        action="append",
        type=source,
        default=[],
        metavar="FILE[:REPEAT]",
        help="another real pen-digit file (JSON lines, e.g. ../shared/data/unipen/train.jsonl or "
        "collected samples) with its weight; repeatable",
    )
    f.add_argument(
        "--scans",
        action="append",
        type=source,
        default=[],
        metavar="DIR[:REPEAT]",
        help="scans with a box per digit (COCO train.json + train/, e.g. ../shared/data/orand_car_a): "
        "each digit cut out and prepared as `predict --single` does; repeatable",
    )
    f.add_argument(
        "--strokes",
        action="append",
        type=source,
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
        "--not-a-digit",
        type=smoothing,
        default=0.0,
        metavar="FRACTION",
        help="add an eleventh class, none (not a digit), trained on this fraction of extra images: "
        "two training digits squeezed into one box, dots, commas, dashes (e.g. 0.1; default: 0)",
    )
    f.add_argument(
        "--vary-pen",
        action="store_true",
        help="render each pen digit's repeat copies (REPEAT above 1) from varied strokes: strokes "
        "placed independently, ends trimmed or extended, some slashed 0s, crossed 7s, flagged 1s",
    )
    f.add_argument(
        "--init-weights",
        metavar="MODEL.keras",
        help="start from this earlier run's weights (same --widths and --head) instead of random ones",
    )
    f.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="do not fit a softmax temperature on the validation digits",
    )
    f.add_argument(
        "--camera-digits",
        type=non_negative,
        default=0,
        help="also train on this many training digits photographed on synthetic pages and found "
        "by the camera's segmentation, e.g. 12000 (default: 0)",
    )
    f.add_argument("--epochs", type=positive, default=40)
    f.add_argument(
        "--batch-size",
        type=positive,
        default=128,
        help="the global batch, split over the replicas (default: 128)",
    )
    f.add_argument("--learning-rate", type=float, default=3e-3)
    f.add_argument("--limit", type=positive, help="use only the first N training images (quick runs)")
    f.add_argument("--seed", type=int, default=1)
    f.add_argument(
        "--patience",
        type=positive,
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
        type=widths,
        default=None,
        help="channels of the five convolutions, e.g. 16,32,32,64,64 (the default)",
    )
    f.add_argument(
        "--label-smoothing",
        type=smoothing,
        default=0.0,
        help="spread this much of each target over all classes, e.g. 0.1 (default: 0)",
    )
    f.add_argument(
        "--elastic",
        type=pixels,
        default=0.0,
        help="also bend each training digit by a smooth random elastic distortion of up to this "
        "many pixels, e.g. 3 (default: 0, none)",
    )
    f.add_argument("--name", default="digitnet", help="model name (file names and card)")
    _add_model_version(f)
    f.add_argument("--out", default="runs/latest", help="output directory (default: runs/latest)")
    f.add_argument(
        "--quiet",
        action="store_true",
        help="(kept for older scripts) training logs one line per epoch either way",
    )
    e = sub.add_parser("export", help="re-export a trained .keras model to TFLite and evaluate it")
    e.add_argument("keras_model")
    e.add_argument("--data", help="as for fit (representative and test images)")
    e.add_argument("--out", help="output directory (default: beside the model)")
    _add_model_version(e)
    v = sub.add_parser("evaluate", help="metrics JSON, PNG plots and an HTML report for a .tflite model")
    v.add_argument("model", help="a .tflite file (its card beside it, if any, adds training curves)")
    v.add_argument(
        "--data",
        help="as for fit (the test set is used); for a stroke model (its card says so) pen test digits "
        "as JSON lines (default: ../shared/data/pendigits/test.jsonl)",
    )
    v.add_argument("--report", help="report directory (default: <model>.report/ beside the model)")
    v.add_argument("--backend", default="auto", help="interpreter backend (default: auto)")
    f.set_defaults(_run=cmd_fit)
    e.set_defaults(_run=cmd_export)
    v.set_defaults(_run=cmd_evaluate)
    t = sub.add_parser(
        "finetune",
        help="continue a run for a few epochs with collected samples added (its recipe, its best model)",
    )
    t.add_argument("base_run", metavar="BASE_RUN", help="the run folder (NAME.json card beside NAME.keras)")
    t.add_argument(
        "--strokes",
        action="append",
        type=source,
        required=True,
        metavar="FILE|DIR[:REPEAT]",
        help="collected samples to add (as for fit); repeatable",
    )
    t.add_argument("--data", help="as for fit")
    t.add_argument("--epochs", type=positive, default=3, help="epochs to continue for (default: 3)")
    t.add_argument(
        "--learning-rate",
        type=float,
        default=3e-4,
        help="peak learning rate (default: 3e-4)",
    )
    t.add_argument("--limit", type=positive, help="use only the first N MNIST training images (quick runs)")
    _add_model_version(t)
    t.add_argument("--out", default="runs/finetuned", help="output directory (default: runs/finetuned)")
    t.add_argument(
        "--quiet",
        action="store_true",
        help="(kept for older scripts) training logs one line per epoch either way",
    )
    g = sub.add_parser(
        "gate",
        help="compare a new model with the current one (MNIST test, held-out pen writers, held-out "
        "collected samples); exit 1 if a figure drops by more than the margin; recorded in NEW's card",
    )
    g.add_argument("new", metavar="NEW", help="the new model's .tflite or .json card (not yet signed)")
    g.add_argument("base", metavar="BASE", help="the model it would replace")
    g.add_argument("--data", help="MNIST (as for fit): its test set")
    g.add_argument("--pen", action="append", type=source, default=[], metavar="FILE",
                   help="shared pen data: compared on its held-out writers; repeatable")  # fmt: skip
    g.add_argument("--strokes", action="append", type=source, default=[], metavar="FILE|DIR",
                   help="collected samples: compared on their held-out kiosk-days; repeatable")  # fmt: skip
    g.add_argument("--margin", type=float, default=0.5, metavar="POINTS",
                   help="largest drop allowed on any figure, in accuracy points (default 0.5)")  # fmt: skip
    g.add_argument(
        "--no-record", action="store_true", help="print only; do not write the verdict into NEW's card"
    )
    t.set_defaults(_run=cmd_finetune)
    g.set_defaults(_run=cmd_gate)
    return p


def _add_model_version(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model-version", help="model version for the card (default: date-based)")
    # The old name, kept so that scripts keep working; not shown, as `--version` is the
    # program's version in every digitkiosk command.
    p.add_argument("--version", dest="model_version", help=argparse.SUPPRESS)


def _cluster():
    """TF_CONFIG (read here, at the edge, and checked before TensorFlow loads): the machines to
    train across; None trains on this one (README "Training across machines")."""
    from .distribute import cluster_from_environment

    return cluster_from_environment(os.environ)


def cmd_fit(args: argparse.Namespace) -> int:
    cluster = _cluster()
    if args.strokes:
        from .collected import check

        check(args.strokes)  # a malformed line fails now, not after TensorFlow has loaded
    from .augment import AugmentConfig  # imports TensorFlow: only for the commands that train
    from .fit import TrainConfig
    from .model import DEFAULT_WIDTHS
    from .pipeline import fit

    cfg = TrainConfig(
        name=args.name,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        limit=args.limit,
        pendigits=args.pendigits,
        pendigits_repeat=args.pen_repeat,
        pen=args.pen,
        scans=args.scans,
        strokes=args.strokes,
        hold_out=args.hold_out,
        vary_pen=args.vary_pen,
        not_a_digit=args.not_a_digit,
        init_weights=args.init_weights,
        calibrate=args.calibrate,
        camera_digits=args.camera_digits,
        head=args.head,
        widths=args.widths or DEFAULT_WIDTHS,
        label_smoothing=args.label_smoothing,
        augment=AugmentConfig(elastic_px=args.elastic),
        patience=args.patience,
    )
    command = "digitkiosk-train " + shlex.join(args._argv[1:] if args._argv[:1] == ["fit"] else args._argv)
    result = fit(cfg, args.data, Path(args.out), version=args.model_version, command=command, cluster=cluster)
    print(json.dumps(result))
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from .pipeline import finetune

    cluster = _cluster()
    command = "digitkiosk-train " + shlex.join(args._argv)
    result = finetune(
        Path(args.base_run),
        args.strokes,
        args.data,
        Path(args.out),
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        limit=args.limit,
        version=args.model_version,
        command=command,
        cluster=cluster,
    )
    print(json.dumps(result))
    return 0


def cmd_gate(args: argparse.Namespace) -> int:
    from .gate import gate_command

    return gate_command(args)


def cmd_export(args: argparse.Namespace) -> int:
    from .pipeline import export

    out = Path(args.out) if args.out else None
    print(json.dumps(export(Path(args.keras_model), args.data, out, version=args.model_version)))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_model
    from .stroke_report import PEN_TEST, evaluate_stroke_model, is_stroke_model

    report = Path(args.report) if args.report else None
    if is_stroke_model(Path(args.model)):  # its card says it reads strokes: the pen test digits
        data = Path(args.data) if args.data else PEN_TEST
        print(json.dumps(evaluate_stroke_model(Path(args.model), data, report, backend=args.backend)))
        return 0
    print(json.dumps(evaluate_model(Path(args.model), args.data, report, args.backend)))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    lead = []
    while argv and argv[0] in ("-v", "--verbose"):
        lead.append(argv.pop(0))
    # `digitkiosk-train --data ...` means `fit`, so the plain command trains.
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["fit", *argv]
    parser = build_parser()
    parser.set_defaults(_argv=argv)  # how the run was started, for the card

    def setup(args: argparse.Namespace) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        _check_extra(args.command)

    # Training reports its progress: INFO without -v, DEBUG with it.
    return run_main(
        PROG,
        parser,
        [*lead, *argv],
        quiet_level=logging.INFO,
        interrupted="interrupted; no model files were left half-written",
        setup=setup,
    )


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
