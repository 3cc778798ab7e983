"""The commands' work: fit → export → evaluate → model card and report.

Plain arguments in, a small result out: the CLI (`cli.py`) turns flags into them and prints
what comes back; nothing here sees the parser or writes to stdout."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .data import load_mnist

if TYPE_CHECKING:  # fit imports TensorFlow: only for the commands that train
    from .distribute import Cluster
    from .fit import TrainConfig

log = logging.getLogger(__name__)


def default_version() -> str:
    """A date-based model version (PEP 440), for a card whose version was not given."""
    return dt.datetime.now(dt.timezone.utc).strftime("%Y.%m.%d.%H%M")


def fit(
    cfg: TrainConfig,
    data_dir: str | Path | None,
    out: Path,
    *,
    version: str | None = None,
    command: str = "",
    cluster: Cluster | None = None,
) -> dict:
    """Train, export, evaluate and write the card into `out` → the card's headline figures
    (`command`: how the run was started, for the card; `cluster`: TF_CONFIG's, for training
    across machines). On a worker that is not the chief: what it did; it writes nothing."""
    from .distribute import place
    from .fit import train

    placement = place(cluster)  # first: a multi-worker strategy must come before any other TF work
    data = load_mnist(data_dir)
    result = train(data, cfg, out, placement)
    if result is None:
        placement.barrier()  # until the chief has written the run folder
        return {"worker": placement.task_index, **placement.card_entry(), "wrote": None}
    import keras

    from .card import TrainingInfo, finish

    model = keras.models.load_model(result.keras_path)
    info = TrainingInfo(
        config=cfg.to_json(),
        command=command,
        wall_time_s=result.wall_time_s,
        epochs_run=result.epochs_run,
        best_epoch=result.best_epoch,
        history=result.history,
        data_source=data.source,
        data_checksums=data.checksums,
        version=version or default_version(),
        calibration=result.calibration,
        validation_parts=result.validation_parts,
        distribution=result.distribution,
    )
    card_path = finish(model, data, result.x_repr, result.x_val, result.y_val, info, out, cfg.name)
    placement.barrier()  # the workers may go now
    return {"card": str(card_path), **_headline(card_path)}


def export(
    keras_path: Path, data_dir: str | Path | None, out: Path | None = None, *, version: str | None = None
) -> dict:
    """Re-run export → evaluate → card for a saved .keras model (e.g. after an interrupted run).
    Training facts (command, wall time, history) come from the run's existing card if present."""
    import keras

    from .card import TrainingInfo, finish
    from .errors import DataError
    from .fit import split_with_parts

    keras_path = Path(keras_path)
    if not keras_path.is_file():
        raise DataError(f"model not found: {keras_path}")
    out = Path(out) if out else keras_path.parent
    name = keras_path.stem
    old = out / f"{name}.json"
    training = json.loads(old.read_text()).get("training", {}) if old.is_file() else {}
    history_file = keras_path.with_name(f"{name}.history.json")
    history = training.get("history") or (
        json.loads(history_file.read_text()) if history_file.is_file() else {}
    )
    cfg = config_from_card(training.get("config", {}), name)
    data = load_mnist(data_dir)
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
        version=version or default_version(),
        # The saved model already has its temperature folded in: carried over, not fitted again.
        calibration=json.loads(old.read_text()).get("calibration") if old.is_file() else None,
        validation_parts=parts,
    )
    card_path = finish(keras.models.load_model(keras_path), data, x_repr, x_val, y_val, info, out, name)
    return {"card": str(card_path), **_headline(card_path)}


def finetune(
    base_run: Path,
    strokes: list[str],
    data_dir: str | Path | None,
    out: Path,
    *,
    epochs: int = 3,
    learning_rate: float = 3e-4,
    limit: int | None = None,
    version: str | None = None,
    command: str = "",
    cluster: Cluster | None = None,
) -> dict:
    """Continue a run for a few epochs with collected samples added: the base run's recipe (its
    card's config: sources, weights, augmentation), its best model as the starting point."""
    from .collected import check
    from .errors import DataError

    check(strokes)
    base = Path(base_run)
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
    cfg.strokes = [*cfg.strokes, *strokes]
    cfg.initial = str(cards[0].with_suffix(".keras"))
    cfg.init_weights = None  # the base run's own starting point is not this run's
    cfg.epochs = cfg.patience = epochs
    cfg.learning_rate = learning_rate
    if limit is not None:
        cfg.limit = limit
    return fit(cfg, data_dir, out, version=version, command=command, cluster=cluster)


def config_from_card(config: dict, name: str) -> TrainConfig:
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


def _headline(card_path: Path) -> dict:
    card = json.loads(card_path.read_text())
    m = card["metrics"]
    return {
        "int8_accuracy": m["int8"]["accuracy"],
        "float_accuracy": m["float"]["accuracy"],
        "size_bytes": card["size_bytes"],
    }


__all__ = ["default_version", "export", "fit"]
