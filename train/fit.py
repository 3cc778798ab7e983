"""Training: MNIST (+ real pen digits rendered by the device's stroke path) → best Keras model."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from digitkiosk.device.fileutil import atomic_write_text

from .augment import AugmentConfig
from .data import Mnist
from .model import DEFAULT_WIDTHS

if TYPE_CHECKING:
    from .distribute import Placement

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    name: str = "digitnet"
    epochs: int = 40
    batch_size: int = 128
    learning_rate: float = 3e-3  # peak of the warm-up + cosine schedule
    seed: int = 1
    limit: int | None = None  # use only the first N MNIST training images (quick runs)
    validation: int = 5000  # MNIST training images held out for validation
    pendigits: str | None = None  # train.jsonl of real pen digits to train on as well
    pendigits_repeat: int = 2  # how often each pen digit appears per epoch (default pen weight)
    pen: list[str] = field(default_factory=list)  # more pen files, "PATH" or "PATH:REPEAT"
    scans: list[str] = field(default_factory=list)  # boxed scan folders (COCO), "DIR" or "DIR:REPEAT"
    not_a_digit: float = 0.0  # "none" negatives as a fraction of the training set (negatives.py)
    vary_pen: bool = False  # pen repeat copies rendered from varied strokes (pen_variation.py)
    init_weights: str | None = None  # start from this .keras model's weights (same architecture)
    strokes: list[str] = field(default_factory=list)  # collected kiosk samples, "FILE|DIR[:REPEAT]"
    hold_out: bool = True  # hold out the fixed validation writers / images (splits.py)
    calibrate: bool = True  # fit a softmax temperature on the validation digits before export
    camera_digits: int = 0  # digits photographed on synthetic pages to train on too (camera_digits.py)
    patience: int = 12
    dropout: float = 0.3
    head: str = "flatten"
    widths: tuple[int, ...] = DEFAULT_WIDTHS
    label_smoothing: float = 0.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    initial: str | None = None  # fine-tuning: the .keras model to continue from (else a new net)

    def to_json(self) -> dict:
        d = asdict(self)
        d["augment"] = self.augment.to_json()
        d["widths"] = list(self.widths)
        d["pen"], d["scans"], d["strokes"] = list(self.pen), list(self.scans), list(self.strokes)
        return d


@dataclass
class TrainResult:
    keras_path: Path
    history: dict[str, list[float]]
    wall_time_s: float
    epochs_run: int
    best_epoch: int
    x_val: np.ndarray
    y_val: np.ndarray
    x_repr: np.ndarray  # representative images for int8 calibration (training set, unaugmented)
    calibration: dict | None = None  # the softmax temperature folded in (calibrate.py)
    validation_parts: Parts | None = None  # x_val, y_val by source (split_with_parts)
    distribution: dict | None = None  # strategy, workers, replicas (distribute.Placement)


def load_sources(cfg: TrainConfig) -> list:
    """The configured pen and scan sources, each split by writer / image (sources.py)."""
    from .pen_variation import PenVariation
    from .sources import load_pen, load_scans, parse_source

    pens = ([cfg.pendigits] if cfg.pendigits else []) + list(cfg.pen)
    variation = PenVariation() if cfg.vary_pen else None
    out = [
        load_pen(*parse_source(p, cfg.pendigits_repeat), cfg.hold_out, variation, seed=cfg.seed + i)
        for i, p in enumerate(pens)
    ]
    out += [load_scans(*parse_source(d, 1), hold_out=cfg.hold_out) for d in cfg.scans]
    if cfg.strokes:
        from .collected import load_collected

        taken = {src.name for src in out} | {"mnist"}
        for spec in cfg.strokes:
            out.append(load_collected(spec, hold_out=cfg.hold_out, taken=taken))
            taken.add(out[-1].name)
    return out


Parts = dict[str, tuple[np.ndarray, np.ndarray, dict]]


def split_data(data: Mnist, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """→ x_train, y_train, x_val, y_val as uint8 images and labels."""
    return split_with_parts(data, cfg)[:4]


def split_with_parts(
    data: Mnist, cfg: TrainConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Parts]:
    """split_data, plus the validation digits by source (MNIST's held-out images, each source's
    held-out writers or images) → {name: (x, y, the source's card entry)}, for the card's
    per-source figures; the sources are loaded (rendered, cut) once for both."""
    rng = np.random.default_rng(cfg.seed)
    x, y = data.x_train, data.y_train
    if cfg.limit:
        x, y = x[: cfg.limit], y[: cfg.limit]
    order = rng.permutation(len(x))
    n_val = min(cfg.validation, len(x) // 10) if cfg.limit else cfg.validation
    val, tr = order[:n_val], order[n_val:]
    x_tr, y_tr, x_val, y_val = x[tr], y[tr], x[val], y[val]
    mnist_tr = (x_tr, y_tr)
    mnist_entry = {"name": "mnist", "kind": "mnist", "validation_digits": len(y_val)}
    parts: Parts = {"mnist": (x_val, y_val, mnist_entry)}
    pen_train: list[dict] = []
    for src in load_sources(cfg):
        parts[src.name] = (src.x_val, src.y_val, src.card_entry())
        pen_train += src.records
        x_copies, y_copies = src.training_copies()
        x_tr, y_tr = np.concatenate([x_tr, x_copies]), np.concatenate([y_tr, y_copies])
        x_val = np.concatenate([x_val, src.x_val])
        y_val = np.concatenate([y_val, src.y_val])
    if cfg.camera_digits:
        from .camera_digits import camera_digits

        # From training glyphs only: validation images and held-out pen writers stay unseen.
        cx, cy = camera_digits(mnist_tr, pen_train, cfg.camera_digits, cfg.seed)
        x_tr, y_tr = np.concatenate([x_tr, cx]), np.concatenate([y_tr, cy])
    if cfg.not_a_digit:
        from .negatives import negatives

        # Made of each part's own digits: validation negatives never share a digit with training.
        nx, ny = negatives(x_tr, round(cfg.not_a_digit * len(x_tr)), cfg.seed)
        vx, vy = negatives(x_val, round(cfg.not_a_digit * len(x_val)), cfg.seed + 1)
        entry = {"name": "none", "kind": "negatives", "train_digits": len(ny), "validation_digits": len(vy)}
        parts["none"] = (vx, vy, entry)
        x_tr, y_tr = np.concatenate([x_tr, nx]), np.concatenate([y_tr, ny])
        x_val, y_val = np.concatenate([x_val, vx]), np.concatenate([y_val, vy])
    return x_tr, y_tr, x_val, y_val, parts


def _start_from(model, path: str) -> None:
    """Continue from an earlier run's weights: same architecture, or a clear error."""
    import keras

    from .errors import DataError

    try:
        base = keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable Keras model to start from ({e})") from None
    mine, theirs = model.get_weights(), base.get_weights()
    kernel, bias = mine[-2], mine[-1]
    if len(mine) == len(theirs) and theirs[-1].shape[0] == 10 and bias.shape[0] == 11:
        # A ten-class model grows a "none" class: its digits' weights kept, "none" starts small
        # and slightly unlikely, and is learnt in the first epochs.
        kernel = np.concatenate([theirs[-2], kernel[:, 10:] * 0.1], axis=1)
        bias = np.concatenate([theirs[-1], [float(theirs[-1].min())]]).astype(theirs[-1].dtype)
        theirs = [*theirs[:-2], kernel, bias]
    if [w.shape for w in mine] != [w.shape for w in theirs]:
        raise DataError(f"{path}: a different architecture to start from (check --widths and --head)")
    model.set_weights(theirs)
    log.info("starting from the weights of %s", path)


def train(data: Mnist, cfg: TrainConfig, out: Path, placement: Placement | None = None) -> TrainResult | None:
    """Train under `placement` (default: the strategy `distribute.place` picks for no cluster)
    → the result, written into `out`; None on a worker that is not the chief, which writes
    nothing (the chief's run folder is the run's only output)."""
    import keras
    import tensorflow as tf

    from .distribute import place
    from .loop import run_loop
    from .model import build_model, multiply_adds

    placement = placement or place(None)
    keras.utils.set_random_seed(cfg.seed)
    # Same seed → same model: without this, multi-threaded kernels sum in a varying order and two
    # runs drift apart. On this CPU it costs little.
    tf.config.experimental.enable_op_determinism()
    x_tr, y_tr, x_val, y_val, parts = split_with_parts(data, cfg)
    log.info(
        "training on %d images, validating on %d (%s, %d worker(s), %d replica(s)%s)",
        len(x_tr), len(x_val), placement.name, placement.workers, placement.replicas,
        "" if placement.is_chief else f"; {placement.task_type} {placement.task_index} writes nothing",
    )  # fmt: skip
    classes = 11 if cfg.not_a_digit else 10

    def build(synchronized: bool = False):
        return build_model(
            tuple(cfg.widths), dropout=cfg.dropout, head=cfg.head, classes=classes, synchronized=synchronized
        )

    # `finetune` continues the base run's best model (calibration folded in), `--init-weights`
    # any earlier run's: both by copying its weights into the net the recipe builds.
    start = cfg.initial or cfg.init_weights
    best_path = out / f"{cfg.name}.keras"
    if placement.is_chief:
        out.mkdir(parents=True, exist_ok=True)
    loop = run_loop(
        placement,
        build,
        x_tr,
        y_tr,
        x_val,
        y_val,
        cfg,
        classes,
        best_path if placement.is_chief else None,
        (lambda model: _start_from(model, start)) if start else None,
    )
    if not placement.is_chief:
        return None
    model = build()  # outside the strategy's scope: calibration's predict stays on this machine
    model.set_weights(loop.weights)
    log.info("model: %d parameters, %.2fM multiply-adds", model.count_params(), multiply_adds(model) / 1e6)
    calibration = None
    if cfg.calibrate:
        from .calibrate import calibrate

        # The best epoch's weights; fold the temperature into them.
        calibration = calibrate(model, (x_val.astype(np.float32) / 255.0)[..., None], y_val)
        log.info("calibration: %s", calibration)
    from .loop import save_atomically

    save_atomically(model, best_path)
    history = loop.history
    atomic_write_text(out / f"{cfg.name}.history.json", json.dumps(history, indent=1))
    rng = np.random.default_rng(cfg.seed + 1)
    repr_idx = rng.choice(len(x_tr), size=min(1000, len(x_tr)), replace=False)
    return TrainResult(
        keras_path=best_path,
        history=history,
        wall_time_s=loop.wall_time_s,
        epochs_run=len(history["loss"]),
        best_epoch=loop.best_epoch,
        x_val=x_val,
        y_val=y_val,
        x_repr=x_tr[repr_idx],
        calibration=calibration,
        validation_parts=parts,
        distribution=placement.card_entry(),
    )
