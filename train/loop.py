"""The training loop, under whatever `tf.distribute` strategy `distribute.place` chose.

A loop of its own rather than Keras's `Model.fit`: Keras 3's `fit` fails under
MultiWorkerMirroredStrategy (keras-team/keras#20585), and one loop for every strategy keeps one
way of training (the same figures on one machine as before, measured in the README).

What it does, as `fit` with the trainer's callbacks did:
- Adam on the warm-up + cosine schedule, the recipe's loss (label smoothing) and augmentation;
- `--batch-size` is the *global* batch: each of the R replicas gets 1/R of every batch, so the
  recipe (batch, steps, learning rate) is the same for any worker count;
- after every epoch, accuracy on the validation digits; the best epoch's weights are kept
  (saved by the chief as they improve) and restored at the end; stop after `patience` epochs
  without a better one.

Determinism: the batches are the same shuffled batches for any replica count, each replica's
part augmented with a seed folded from the batch's and its replica number (with one replica, the
batch's own seed: exactly the augmentation of the single-machine trainer). With op determinism on
and a fixed ring all-reduce order, a given replica count gives the same weights run after run.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .distribute import Placement
from .errors import DataError

if TYPE_CHECKING:
    from .fit import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class LoopResult:
    weights: list[np.ndarray]  # the best epoch's
    history: dict[str, list[float]]
    best_epoch: int
    wall_time_s: float


def _global_batches(x: np.ndarray, y: np.ndarray, cfg: TrainConfig, replicas: int, classes: int):
    """→ the function `distribute_datasets_from_function` calls once per input pipeline: the
    shuffled global batches, this pipeline's replicas' parts of each, augmented."""
    import tensorflow as tf

    from .augment import augment_batch

    images = (x.astype(np.float32) / 255.0)[..., None]
    onehot = np.eye(classes, dtype=np.float32)[y]

    def pipeline(ctx: tf.distribute.InputContext) -> tf.data.Dataset:
        per_pipeline = replicas // ctx.num_input_pipelines
        first = ctx.input_pipeline_id * per_pipeline
        batches = (
            tf.data.Dataset.from_tensor_slices((images, onehot))
            .shuffle(len(images), seed=cfg.seed, reshuffle_each_iteration=True)
            .batch(cfg.batch_size)
        )
        seeds = tf.data.Dataset.random(seed=cfg.seed).batch(2)

        def parts(batch, seed):
            bx, by = batch
            n = tf.shape(bx)[0]
            out = []
            for r in range(first, first + per_pipeline):
                # Balanced parts: a short last batch is split evenly, not left to one replica.
                lo, hi = (r * n) // replicas, ((r + 1) * n) // replicas
                s = seed if replicas == 1 else tf.random.experimental.stateless_fold_in(seed, r)
                out.append((augment_batch(bx[lo:hi], s, cfg.augment), by[lo:hi], n))
            return tuple(out)

        def one_per_replica(*per_replica):
            ds = tf.data.Dataset.from_tensors(per_replica[0])
            for part in per_replica[1:]:
                ds = ds.concatenate(tf.data.Dataset.from_tensors(part))
            return ds

        return (
            tf.data.Dataset.zip((batches, seeds))
            # A last batch too short to give every replica a digit is dropped (at most R-1 digits
            # an epoch): a replica with an empty part would normalise over nothing.
            .filter(lambda b, s: tf.shape(b[0])[0] >= replicas)
            .map(parts, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .flat_map(one_per_replica)
            # Endless, epoch after epoch (reshuffled, the seeds from the start), and the loop takes
            # `steps_per_epoch` steps: a dataset that ends makes every worker agree at every step,
            # in Python, whether one has run out (an eager all-reduce and a thread pool per step).
            .repeat()
            .prefetch(tf.data.AUTOTUNE)
        )

    return pipeline


def steps_per_epoch(images: int, batch_size: int, replicas: int) -> int:
    """The global batches of an epoch, less a last one too short to share (see the pipeline)."""
    steps = math.ceil(images / batch_size)
    return steps - 1 if 0 < images - (steps - 1) * batch_size < replicas else steps


def save_atomically(model, path: Path) -> None:
    """Keras writes the .keras zip in place: write it beside, then rename over."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".keras", dir=path.parent)
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_loop(
    placement: Placement,
    build: Callable[[bool], object],
    x_tr: np.ndarray,
    y_tr: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cfg: TrainConfig,
    classes: int,
    best_path: Path | None,
    start: Callable[[object], None] | None = None,
) -> LoopResult:
    """Train under `placement`; the chief saves the best model so far to `best_path` (None:
    this process writes nothing). `build(synchronized)` makes the net."""
    import keras
    import tensorflow as tf

    strategy, replicas = placement.strategy, placement.replicas
    if cfg.batch_size % replicas:
        raise DataError(f"--batch-size {cfg.batch_size} does not split evenly over {replicas} replicas")
    steps = steps_per_epoch(len(x_tr), cfg.batch_size, replicas)
    with strategy.scope():
        model = build(replicas > 1)  # batch norm synchronised across replicas
        if start is not None:
            start(model)
        # Warm up for one epoch, but never more than a tenth of the run (a 1-epoch smoke run must learn).
        warmup = max(1, min(steps, steps * cfg.epochs // 10))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=cfg.learning_rate / 10,
            decay_steps=max(1, steps * cfg.epochs - warmup),
            warmup_target=cfg.learning_rate,
            warmup_steps=warmup,
            alpha=0.01,
        )
        optimizer = keras.optimizers.Adam(schedule)
        optimizer.build(model.trainable_variables)
    # Per digit, summed and divided by the global batch: the replicas' sums add up to the mean
    # over the whole batch, which is what the optimizer's all-reduce (a sum) then applies.
    loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing, reduction=None)
    batches = iter(
        strategy.distribute_datasets_from_function(_global_batches(x_tr, y_tr, cfg, replicas, classes))
    )

    def step(x, y, n):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            loss = tf.reduce_sum(loss_fn(y, probs)) / tf.cast(n, tf.float32)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        right = tf.reduce_sum(tf.cast(tf.argmax(probs, 1) == tf.argmax(y, 1), tf.float32))
        return loss, right, tf.cast(tf.shape(x)[0], tf.float32)

    @tf.function
    def train_step(iterator):
        loss, right, count = strategy.run(step, args=next(iterator))
        total = tf.distribute.ReduceOp.SUM
        return (strategy.reduce(total, loss, axis=None), strategy.reduce(total, right, axis=None),
                strategy.reduce(total, count, axis=None))  # fmt: skip

    # Validation on every worker, on its own (the weights are the same everywhere): each worker
    # then takes the same early-stopping decision and runs the same number of steps.
    val_x = (x_val.astype(np.float32) / 255.0)[..., None]
    val_y = np.eye(classes, dtype=np.float32)[y_val]
    val_loss_fn = keras.losses.CategoricalCrossentropy(label_smoothing=cfg.label_smoothing)

    @tf.function
    def val_probs(x):
        return model(x, training=False)

    def validate() -> tuple[float, float]:
        probs = np.concatenate([val_probs(val_x[i : i + 512]).numpy() for i in range(0, len(val_x), 512)])
        return float(val_loss_fn(val_y, probs)), float(np.mean(probs.argmax(1) == y_val))

    history: dict[str, list[float]] = {"accuracy": [], "loss": [], "val_accuracy": [], "val_loss": []}
    best_acc, best_epoch, best_weights, waited = -1.0, 0, model.get_weights(), 0
    plain = None
    t0 = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        t_epoch, loss_sum, right, seen = time.perf_counter(), 0.0, 0.0, 0.0
        for _ in range(steps):
            loss, r, n = train_step(batches)
            loss_sum, right, seen = loss_sum + float(loss) * float(n), right + float(r), seen + float(n)
        val_loss, val_acc = validate()
        for key, value in (("loss", loss_sum / seen), ("accuracy", right / seen),
                           ("val_loss", val_loss), ("val_accuracy", val_acc)):  # fmt: skip
            history[key].append(value)
        log.info(
            "epoch %d/%d: loss %.4f, accuracy %.4f, val_loss %.4f, val_accuracy %.4f (%.1f s)",
            epoch, cfg.epochs, loss_sum / seen, right / seen, val_loss, val_acc,
            time.perf_counter() - t_epoch,
        )  # fmt: skip
        if val_acc > best_acc:
            best_acc, best_epoch, best_weights, waited = val_acc, epoch, model.get_weights(), 0
            if best_path is not None:
                # Saved from a plain copy: a model of the strategy's scope would distribute the
                # work of anything Keras does with it (predict in calibration) to the cluster.
                if plain is None:
                    plain = build(False)
                plain.set_weights(best_weights)
                save_atomically(plain, best_path)
        else:
            waited += 1
            if waited >= cfg.patience:
                log.info("no better validation accuracy for %d epochs: stopping", waited)
                break
    return LoopResult(best_weights, history, best_epoch, time.perf_counter() - t0)


__all__ = ["LoopResult", "run_loop", "save_atomically"]
