"""Train the field reader (`device/line_reader.py`): a small fully-convolutional network with CTC
over real cheque amounts (ORAND-CAR-A development-train part) and synthetic amounts pasted from
their digits (`line_data.py`), exported as a full-int8 TFLite model with its card.

    python -m digitkiosk.train.line_fit --data ../shared/data/orand_car_a --out runs/line1

The validation part (splits.is_validation_scan) is read every epoch to keep the best weights
(amounts exactly right, then digits right) and never trained on. TensorFlow runs on one thread:
the training machine is shared.
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
from digitkiosk.device.ctc import DECODERS
from digitkiosk.device.fileutil import atomic_write_bytes, atomic_write_text
from digitkiosk.device.line_reader import BLANK_LABEL, LINE_HEIGHT, LINE_PREP_ID, LINE_WIDTH
from digitkiosk.device.outputs import LOGITS

from .amounts import score
from .line_data import StripBank, epoch_lines, load_fields, prepared

log = logging.getLogger(__name__)

LABELS = [*map(str, range(10)), BLANK_LABEL]
BLANK = len(LABELS) - 1
X_STRIDE = 4  # input columns per output step: 40 steps, >= 2 per digit even for a narrow "1"


def build_line_model(widths: tuple[int, ...] = (12, 24, 48, 64, 96), dropout: float = 0.2):
    """(32, 160, 1) → (40, 11) logits: conv stages pooling the height to 1 and the width by 4,
    then a wider 1x5 convolution along the line for context (the receptive field spans ~2 digits)."""
    import keras
    from keras import layers

    def conv(x, w, k, name, padding="same"):
        x = layers.Conv2D(w, k, padding=padding, use_bias=False, name=name)(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    w1, w2, w3, w4, w5 = widths
    inputs = keras.Input((LINE_HEIGHT, LINE_WIDTH, 1), name="line")
    # Stride 2 at once: at full resolution a convolution costs the most and adds the least.
    x = layers.Conv2D(w1, 3, strides=2, padding="same", use_bias=False, name="conv1")(inputs)
    x = layers.ReLU(name="conv1_relu")(layers.BatchNormalization(momentum=0.9, name="conv1_bn")(x))  # 16 x 80
    x = conv(x, w2, 3, "conv2")
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)  # 8 x 40
    x = conv(x, w3, 3, "conv3")
    x = layers.MaxPooling2D((2, 1), name="pool3")(x)  # 4 x 40
    x = conv(x, w4, 3, "conv4")
    x = conv(x, w5, (4, 1), "collapse", padding="valid")  # 1 x 40
    x = conv(x, w5, (1, 5), "context")
    x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(len(LABELS), 1, name="logits")(x)
    logits = layers.Reshape((LINE_WIDTH // X_STRIDE, len(LABELS)), name="steps")(x)
    return keras.Model(inputs, logits, name="linenet")


def _dense_labels(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    n = max(1, max(len(t) for t in texts))
    out = np.zeros((len(texts), n), np.int32)
    for i, t in enumerate(texts):
        out[i, : len(t)] = [int(c) for c in t]
    return out, np.array([len(t) for t in texts], np.int32)


def decode_all(probs: np.ndarray, decoder: str = "vote") -> list[str]:
    """(N, T, C) or, for a line model of several members, (N, K, T, C) → the strings read
    (`ctc.DECODERS`; one member: its best path whichever the decoder)."""
    return ["".join(str(c.digit) for c in DECODERS[decoder](p, BLANK)) for p in probs]


def ctc_loss(y_true, logits):
    """Keras loss over packed targets: column 0 is the label length, the rest the labels (0-padded).
    One loss for every Keras backend (keras.ops), so the same recipe trains on TensorFlow here and
    on PyTorch where a GPU machine has no TensorFlow."""
    import keras
    from keras import ops

    y = ops.cast(y_true, "int32")
    batch = ops.shape(y)[0]
    steps = ops.full((batch,), ops.shape(logits)[1], dtype="int32")
    loss = keras.ops.ctc_loss(y[:, 1:], logits, y[:, 0], steps, mask_index=BLANK)
    return ops.mean(loss)


def _packed_targets(texts: list[str]) -> np.ndarray:
    """(batch, 1 + steps): one width for every batch, so a compiled train step is never retraced."""
    labels, lengths = _dense_labels(texts)
    out = np.zeros((len(texts), 1 + LINE_WIDTH // X_STRIDE), np.float32)
    out[:, 0] = lengths
    out[:, 1 : 1 + labels.shape[1]] = labels
    return out


def fit(args: argparse.Namespace, out: Path) -> dict:
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        # One thread: the training machine is shared (and the runs are reproducible). Once
        # TensorFlow has run in this process (a test suite, a caller) its threads are set for good.
        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError as e:
            log.warning("TensorFlow threads left as they are: %s", e)
    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train, val = load_fields(args.data)
    bank = StripBank.from_fields(train)
    if args.mnist:
        from .data import load_mnist

        mnist = load_mnist(args.mnist_data)
        bank.add_mnist(mnist.x_train[: args.mnist], mnist.y_train[: args.mnist], rng)
    if args.pen:
        from .pendigits import load_jsonl

        records = load_jsonl(args.pen_data)
        bank.add_pen([records[i] for i in rng.permutation(len(records))[: args.pen]], rng)
    x_val = prepared(val).astype(np.float32)[..., None] / 255.0
    t_val = [f.text for f in val]

    model = build_line_model(tuple(args.widths), args.dropout)
    model.summary(print_fn=log.info)
    per_epoch = args.synthetic + args.real_repeat * len(train)
    steps = args.epochs * (per_epoch // args.batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, steps, alpha=0.02)
    model.compile(optimizer=keras.optimizers.Adam(schedule, global_clipnorm=5.0), loss=ctc_loss)

    history: list[dict] = []
    best, best_key, best_weights = None, (-1.0, -1.0), None
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        x, texts = epoch_lines(train, bank, args.synthetic, args.real_repeat, rng, args.tilt)
        losses = []
        for i in range(0, len(x) - args.batch_size + 1, args.batch_size):
            xb = x[i : i + args.batch_size].astype(np.float32)[..., None] / 255.0
            losses.append(float(model.train_on_batch(xb, _packed_targets(texts[i : i + args.batch_size]))))
        logits = model.predict(x_val, batch_size=256, verbose=0)
        probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
        figures = score(decode_all(probs), t_val)
        row = {"epoch": epoch, "loss": round(float(np.mean(losses)), 4), **figures,
               "elapsed_s": round(time.perf_counter() - t0, 1)}  # fmt: skip
        history.append(row)
        log.info("%s", json.dumps(row))
        key = (figures["amounts_exactly_right"], figures["digits_right"])
        if key > best_key:
            best_key, best, best_weights = key, row, model.get_weights()
        if args.budget_s and time.perf_counter() - t0 > args.budget_s:
            log.info("time budget reached after epoch %d", epoch)
            break
    model.set_weights(best_weights)
    x_repr, _ = epoch_lines(train, bank, 200, 1, np.random.default_rng(args.seed + 1))
    return {
        "model": model,
        "history": history,
        "best": best,
        "wall_time_s": round(time.perf_counter() - t0, 1),
        "representative": x_repr[:400],
        "x_val": x_val,
        "t_val": t_val,
        "train_lines": len(train),
    }


def export_int8(model, representative: np.ndarray) -> bytes:
    """Full-integer int8 (input and output), calibrated on training lines, ending at the logits:
    converted with its softmax, which is then stripped (export.strip_softmax, as for the digit
    model: the logits the softmax model computes); the device computes the softmax."""
    import keras

    from .export import convert, strip_softmax

    softmax = keras.Model(model.input, keras.layers.Softmax(name="probs")(model.output))
    return strip_softmax(convert(softmax, representative))


def write_card(args: argparse.Namespace, result: dict, data: bytes, out: Path) -> Path:
    """The .tflite and its card; validation figures measured on the int8 file through the device's
    own loader and decoder (litert)."""
    from digitkiosk.device.line_reader import load_line_model
    from digitkiosk.device.package import TrustPolicy

    from .card import card_head, tensor_spec
    from .model import multiply_adds

    name = args.name
    model_path = atomic_write_bytes(out / f"{name}.tflite", data)
    card = {
        **card_head(name, args.version, model_path.name, data),
        "input": {},
        "output": {},
        "labels": LABELS,
        "preprocessing": LINE_PREP_ID,
        "kind": "line (CTC): one softmax per output step over the labels; greedy decode, blank last",
        "output_kind": LOGITS,
    }
    if getattr(args, "members_by_job", None):  # line_ensemble --job: which members read what
        card["members_by_job"] = args.members_by_job
    decoder = getattr(args, "combine", "vote")  # line_ensemble's members: the device's decoder
    if decoder in DECODERS and decoder != "vote":
        card["decode"] = decoder
    else:
        decoder = "vote"
    from .evaluate import tflite_runner

    runner = tflite_runner(data, "auto", LOGITS)
    card["input"], card["output"] = tensor_spec(runner.input_details), tensor_spec(runner.output_details)
    card_path = out / f"{name}.json"
    atomic_write_text(card_path, json.dumps(card, indent=1) + "\n")
    line = load_line_model(card_path, policy=TrustPolicy(out, allow_unsigned=True))
    probs = line.probs(result["x_val"][..., 0])
    card["metrics"] = {
        "validation_set": "ORAND-CAR-A validation part (splits.is_validation_scan, one image in five): "
        f"{len(result['t_val'])} fields, int8 file through the device interpreter and greedy decode",
        "int8": score(decode_all(probs, decoder), result["t_val"]),
        "float_best_epoch": result["best"],
    }
    card["architecture"] = {
        "keras_name": "linenet",
        "parameters": int(result["model"].count_params()),
        "multiply_adds": multiply_adds(result["model"]),
        "output_steps": LINE_WIDTH // X_STRIDE,
    }
    card["training"] = {
        "command": result["command"],
        "config": run_config(args),
        "train_lines_real": result["train_lines"],
        "wall_time_s": result["wall_time_s"],
        "history": result["history"],
        "host": result.get("host") or host(),
    }
    if result.get("members_training"):  # line_ensemble: how each member was trained
        card["training"]["members"] = result["members_training"]
    atomic_write_text(card_path, json.dumps(card, indent=1) + "\n")
    log.info("int8 validation %s", card["metrics"]["int8"])
    return card_path


def host() -> dict:
    import keras

    return {"python": platform.python_version(), "machine": platform.machine(),
            "keras_backend": keras.backend.backend()}  # fmt: skip


def command_line(module: str, argv: list[str] | None) -> str:
    """How a trainer was run, for its card or record (`argv` None: this process's arguments)."""
    return " ".join([f"python -m {module}", *(argv if argv is not None else sys.argv[1:])])


def run_config(args: argparse.Namespace) -> dict:
    """The arguments a card records (the output folder is where it lies, not how it was made)."""
    return {k: v for k, v in vars(args).items() if k != "out"}


FIT_RECORD = "fit.json"  # beside RUN/NAME.keras: what `--no-export` leaves for `line_ensemble`


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m digitkiosk.train.line_fit", description=__doc__)
    ap.add_argument("--data", default="../shared/data/orand_car_a")
    ap.add_argument("--out", default="runs/line")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--synthetic", type=int, default=8000, help="synthetic lines per epoch")
    ap.add_argument("--real-repeat", type=int, default=3, help="each real training line per epoch")
    ap.add_argument("--mnist", type=int, default=0, help="MNIST training digits pasted into 1 line in 5")
    ap.add_argument("--mnist-data", default="../shared/data/mnist")
    ap.add_argument("--pen", type=int, default=0, help="real pen digits pasted into 3 lines in 20")
    ap.add_argument("--pen-data", default="../shared/data/unipen/train.jsonl",
                    help="their file (not the pendigits writers: the camera bench's digits)")  # fmt: skip
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--widths", type=lambda s: [int(v) for v in s.split(",")], default=[12, 24, 48, 64, 96])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tilt", type=float, default=0.0,
                    help="degrees: lines turned by up to it, slanted by 3x it (0: off)")  # fmt: skip
    ap.add_argument("--budget-s", type=float, default=0, help="stop after the epoch that passes this")
    ap.add_argument("--name", default="linenet")
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--no-export", action="store_true",
                    help="save RUN/NAME.keras and RUN/fit.json only (a machine without TensorFlow's "
                    "converter, e.g. Keras on PyTorch); line_ensemble exports them")  # fmt: skip
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = fit(args, out)
    result["command"] = command_line("digitkiosk.train.line_fit", argv)
    result["model"].save(out / f"{args.name}.keras")
    if args.no_export:
        record = {
            "command": result["command"],
            "config": run_config(args),
            **{k: result[k] for k in ("history", "best", "wall_time_s", "train_lines")},
            "host": host(),
        }
        atomic_write_text(out / FIT_RECORD, json.dumps(record, indent=1) + "\n")
        return 0
    write_card(args, result, export_int8(result["model"], result["representative"]), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
