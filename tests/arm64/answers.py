"""The device's answers for the arm64 check's inputs, with what the CLI does not show: the int8
input the model was given, the raw int8 scores it returned, and the int8 logits (the input of
the model's last op, its softmax). Run by `check.py` with the same arguments on x86-64 and, under
emulation, on arm64; `compare.py` compares the two JSON outputs.

Two stages are reported separately, so that a difference is traced to where it arises:
- `inputs`: each reading as the device makes it (input preparation, then the interpreter);
- `stage`: the interpreter alone, built as the backend builds it, given one batch of int8 inputs
  that is the same on both machines: the 50 self-test digits, then every prepared digit of the
  x86-64 run (`--feed`, the file check.py writes from it; without it, this run's own).

Only the installed package is used (no repository paths): on arm64 it is the wheel installed as
a Pi would install it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from importlib import metadata

import numpy as np
from digitkiosk.device.backends import get_backend
from digitkiosk.device.imageio import read_image
from digitkiosk.device.loader import load_model, selftest_digits
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.strokes import parse_strokes

PACKAGES = ("ai-edge-litert", "tflite-runtime", "numpy", "opencv-python-headless", "pillow")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _quantize(x: np.ndarray, details: dict) -> np.ndarray:
    scale, zero = details["quantization"]
    info = np.iinfo(details["dtype"])
    return np.clip(np.round(x / scale + zero), info.min, info.max).astype(int)


def _int8(probs: np.ndarray, details: dict) -> list:
    """Dequantized float32 scores → the integers the interpreter returned (exact inverse)."""
    scale, zero = details["quantization"]
    return np.round(np.asarray(probs, np.float64) / scale + zero).astype(int).tolist()


def interpreter_stage(model_bytes: bytes, backend: str, x: np.ndarray) -> dict:
    """The interpreter alone on int8 inputs x (N, 28, 28): its int8 scores and int8 logits.

    The logits are the input tensor of the last op (SOFTMAX): after `invoke` nothing runs after
    that op, so the tensor still holds what the layers before it computed (for LiteRT's
    default, what XNNPACK computed), which tells the softmax's differences from the rest's."""
    it = get_backend(backend).interpreter(model_bytes, num_threads=1)
    details = it.get_input_details()[0]
    it.resize_tensor_input(details["index"], [len(x), *details["shape"][1:]])
    it.allocate_tensors()
    details = it.get_input_details()[0]
    batch = x.reshape((len(x), *details["shape"][1:])).astype(details["dtype"])
    it.set_tensor(details["index"], batch)
    it.invoke()
    # The op that writes the model's output (delegate nodes are listed after the ops they
    # replace, and name the delegated ops' tensors): the SOFTMAX, run by LiteRT's own kernel.
    output = it.get_output_details()[0]["index"]
    ops = it._get_ops_details()  # type: ignore[attr-defined]  # all three packages have it
    last = next(o for o in ops if output in o["outputs"] and o["op_name"] != "DELEGATE")
    logits = it.get_tensor(int(last["inputs"][0]))
    return {
        "inputs_sha256": hashlib.sha256(batch.tobytes()).hexdigest(),
        "last_op": last["op_name"],
        "scores_int8": it.get_tensor(output).astype(int).tolist(),
        "logits_int8": logits.reshape(len(x), -1).astype(int).tolist(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", required=True)
    ap.add_argument("--single", nargs="*", default=[], help="images holding one digit each")
    ap.add_argument("--pages", nargs="*", default=[], help="images holding a number")
    ap.add_argument("--strokes", help="JSON lines of pen strokes")
    ap.add_argument("--feed", help=".npy of int8 (N, 28, 28): the other machine's prepared digits")
    args = ap.parse_args()

    model = load_model(backend=args.backend, num_threads=1)  # the verified path, self-test included
    runner = model.runner
    if np.dtype(runner.output_details["dtype"]) != np.int8:
        raise SystemExit(f"expected an int8 model, got {runner.output_details['dtype']}")
    backend = get_backend(args.backend)
    recognizer = Recognizer(model)
    images = selftest_digits()[0].astype(np.float32) / 255.0
    selftest = model.predict_probs(images)
    out: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "backend": {"name": backend.name, "op_resolver": backend.op_resolver or "default"},
        "model": model.describe() | {"path": None},
        "selftest": {
            "accuracy": model.selftest_accuracy,
            "digits": [str(int(v)) for v in selftest.argmax(axis=1)],
            "scores_int8": _int8(selftest, runner.output_details),
        },
        "inputs": [],
    }
    readings = []
    for path in args.single:
        readings.append(("single", path, recognizer.read_single(read_image(path))))
    for path in args.pages:
        readings.append(("page", path, recognizer.read_image(read_image(path))))
    if args.strokes:
        with open(args.strokes, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        for row in rows:
            readings.append(("strokes", row["id"], recognizer.read_strokes(parse_strokes(row["strokes"]))))
    for kind, ident, reading in readings:
        digits = [
            {
                "digit": d.label,
                "scores_int8": _int8(d.probs, runner.output_details),
                "input_int8": _quantize(d.image, runner.input_details).ravel().tolist(),
            }
            for d in reading.digits
        ]
        out["inputs"].append({"kind": kind, "id": ident, "text": reading.text, "digits": digits})
    if args.feed:
        prepared = np.load(args.feed).astype(int)
    else:
        prepared = np.array([d["input_int8"] for i in out["inputs"] for d in i["digits"]], int)
    own = _quantize(images, runner.input_details)
    batch = np.concatenate([own.reshape(-1, 784), prepared.reshape(-1, 784)])
    out["stage"] = interpreter_stage(model.path.read_bytes(), args.backend, batch) | {
        "fed": bool(args.feed),
        "selftest_digits": len(own),
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
