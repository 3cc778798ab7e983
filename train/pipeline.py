"""The commands' work: fit → export → evaluate → model card and report."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import shlex
from pathlib import Path

from .data import load_mnist
from .model import DEFAULT_WIDTHS

log = logging.getLogger(__name__)


def run(args: argparse.Namespace, argv: list[str]) -> int:
    if args.command == "fit":
        return _fit(args, argv)
    if args.command == "export":
        return _export(args)
    if args.command == "finetune":
        return _finetune(args, argv)
    if args.command == "gate":
        from .gate import gate_command

        return gate_command(args)
    return _evaluate(args)


def _fit(args: argparse.Namespace, argv: list[str]) -> int:
    if args.strokes:
        from .collected import check

        check(args.strokes)  # a malformed line fails now, not after TensorFlow has loaded
    from .augment import AugmentConfig  # imports TensorFlow: only for the commands that train
    from .fit import TrainConfig

    data = load_mnist(args.data)
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
        calibrate=args.calibrate,
        camera_digits=args.camera_digits,
        head=args.head,
        widths=args.widths or DEFAULT_WIDTHS,
        label_smoothing=args.label_smoothing,
        augment=AugmentConfig(elastic_px=args.elastic),
        patience=args.patience,
        verbose=2 if args.quiet else "auto",
    )
    return _train_and_card(data, cfg, Path(args.out), argv, args.version)


def _train_and_card(data, cfg, out: Path, argv: list[str], version: str | None) -> int:
    """Train (fit or finetune) → export → evaluate → card; prints the card's headline."""
    import keras

    from .card import TrainingInfo, finish
    from .fit import train

    result = train(data, cfg, out)
    model = keras.models.load_model(result.keras_path)
    info = TrainingInfo(
        config=cfg.to_json(),
        command="digitkiosk-train " + shlex.join(argv[1:] if argv[:1] == ["fit"] else argv),
        wall_time_s=result.wall_time_s,
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        history=result.history,
        data_source=data.source,
        data_checksums=data.checksums,
        version=version or dt.datetime.now(dt.timezone.utc).strftime("%Y.%m.%d.%H%M"),
        calibration=result.calibration,
        validation_parts=result.validation_parts,
    )
    card_path = finish(model, data, result.x_repr, result.x_val, result.y_val, info, out, cfg.name)
    print(json.dumps({"card": str(card_path), **_headline(card_path)}))
    return 0


def _finetune(args: argparse.Namespace, argv: list[str]) -> int:
    """Continue a run for a few epochs with collected samples added: the base run's recipe (its
    card's config: sources, weights, augmentation), its best model as the starting point."""
    from .collected import check
    from .errors import DataError

    check(args.strokes)
    base = Path(args.base_run)
    cards = (
        sorted(p for p in base.glob("*.json") if p.with_suffix(".keras").is_file()) if base.is_dir() else []
    )
    if len(cards) != 1:
        raise DataError(f"{base} is not a training run (one NAME.json card beside NAME.keras)")
    try:
        training = json.loads(cards[0].read_text())["training"]
        config = dict(training["config"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{cards[0]}: not a model card of a training run ({e})") from None
    cfg = config_from_card(config, cards[0].stem)
    cfg.strokes = [*cfg.strokes, *args.strokes]
    cfg.initial = str(cards[0].with_suffix(".keras"))
    cfg.epochs = cfg.patience = args.epochs
    cfg.learning_rate = args.learning_rate
    cfg.verbose = 2 if args.quiet else "auto"
    if args.limit is not None:
        cfg.limit = args.limit
    return _train_and_card(load_mnist(args.data), cfg, Path(args.out), argv, args.version)


def _export(args: argparse.Namespace) -> int:
    """Re-run export → evaluate → card for a saved .keras model (e.g. after an interrupted run).
    Training facts (command, wall time, history) come from the run's existing card if present."""
    import keras

    from .card import TrainingInfo, finish
    from .errors import DataError
    from .fit import split_with_parts

    keras_path = Path(args.keras_model)
    if not keras_path.is_file():
        raise DataError(f"model not found: {keras_path}")
    out = Path(args.out) if args.out else keras_path.parent
    name = keras_path.stem
    old = out / f"{name}.json"
    training = json.loads(old.read_text()).get("training", {}) if old.is_file() else {}
    history_file = keras_path.with_name(f"{name}.history.json")
    history = training.get("history") or (
        json.loads(history_file.read_text()) if history_file.is_file() else {}
    )
    cfg = config_from_card(training.get("config", {}), name)
    data = load_mnist(args.data)
    x_tr, _, x_val, y_val, parts = split_with_parts(data, cfg)
    import numpy as np

    rng = np.random.default_rng(cfg.seed + 1)
    x_repr = x_tr[rng.choice(len(x_tr), size=min(1000, len(x_tr)), replace=False)]
    info = TrainingInfo(
        config=cfg.to_json(),
        command=training.get("command", "unknown (re-exported)"),
        wall_time_s=float(training.get("wall_time_s", 0.0)),
        epochs_run=int(training.get("epochs_run", len(history.get("loss", [])))),
        best_epoch=int(training.get("best_epoch", 0)),
        history=history,
        data_source=data.source,
        data_checksums=data.checksums,
        version=args.version or dt.datetime.now(dt.timezone.utc).strftime("%Y.%m.%d.%H%M"),
        # The saved model already has its temperature folded in: carried over, not fitted again.
        calibration=json.loads(old.read_text()).get("calibration") if old.is_file() else None,
        validation_parts=parts,
    )
    card_path = finish(keras.models.load_model(keras_path), data, x_repr, x_val, y_val, info, out, name)
    print(json.dumps({"card": str(card_path), **_headline(card_path)}))
    return 0


def config_from_card(config: dict, name: str):
    """A card's `training.config` → the TrainConfig it was trained with (so a re-export's or a
    fine-tune's card records how the model was trained, not the defaults)."""
    from .augment import AugmentConfig
    from .fit import TrainConfig

    cfg = TrainConfig(name=name)
    for key, value in config.items():
        if key == "augment":
            known = AugmentConfig.__dataclass_fields__
            cfg.augment = AugmentConfig(**{k: v for k, v in value.items() if k in known})
        elif key in TrainConfig.__dataclass_fields__:
            setattr(cfg, key, value)
    cfg.widths = tuple(cfg.widths)
    return cfg


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate_command

    return evaluate_command(args)


def _headline(card_path: Path) -> dict:
    card = json.loads(card_path.read_text())
    m = card["metrics"]
    return {
        "int8_accuracy": m["int8"]["accuracy"],
        "float_accuracy": m["float"]["accuracy"],
        "size_bytes": card["size_bytes"],
    }


__all__ = ["run"]
