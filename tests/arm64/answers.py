"""The device's answers for the arm64 check's inputs, with what the CLI does not show: the int8
input the model was given, its raw int8 output (the logits, for the bundled models) and the paper
model's (pictures are read by it, `paper_reader.py`), and the probabilities the device computed
from them (device/outputs.py), every bit. Run by `check.py` with the same arguments on x86-64 and,
under emulation, on arm64; `compare.py` compares the two JSON outputs.

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
from digitkiosk.device.outputs import LOGITS, last_op, to_probabilities
from digitkiosk.device.paper_reader import default_paper_model_path, load_paper_model
from digitkiosk.device.recognizer import Recognizer
from digitkiosk.device.stroke_reader import default_stroke_model_path, load_stroke_model
from digitkiosk.device.strokes import parse_strokes
from digitkiosk.device.trajectory import trajectories

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


def _floats(probs: np.ndarray) -> list:
    """Probabilities as JSON floats: float32 → Python float is exact and JSON keeps every bit."""
    return np.asarray(probs, np.float32).astype(float).tolist()


def interpreter_stage(model_bytes: bytes, backend: str, kind: str, x: np.ndarray) -> dict:
    """The interpreter alone on int8 inputs x (N, 28, 28), invoked as the device invokes it (in
    batches of at most the backend's `max_batch`): its int8 logits and the device's
    probabilities from its output (`outputs.to_probabilities`, as the device computes them).

    The logits are the model's output (a card saying "logits"), or for a model ending in its own
    SOFTMAX the input tensor of that last op (nothing runs after it, so the tensor still holds
    what the layers before it computed); then its int8 scores are kept too."""
    chosen = get_backend(backend)
    it = chosen.interpreter(model_bytes, num_threads=1)
    details = it.get_input_details()[0]
    batch = x.reshape((len(x), *details["shape"][1:])).astype(details["dtype"])
    step = chosen.max_batch or len(x)
    raws, logits = [], []
    for start in range(0, len(batch), step):
        chunk = batch[start : start + step]
        it.resize_tensor_input(details["index"], list(chunk.shape))
        it.allocate_tensors()
        it.set_tensor(details["index"], chunk)
        it.invoke()
        out = it.get_output_details()[0]
        raws.append(it.get_tensor(out["index"]).copy())
        if kind != LOGITS:
            # The op that writes the output (delegate nodes are listed after the ops they
            # replace, and name the delegated ops' tensors): the SOFTMAX, the package's kernel.
            ops = it._get_ops_details()  # type: ignore[attr-defined]  # all three packages have it
            last = next(o for o in ops if out["index"] in o["outputs"] and o["op_name"] != "DELEGATE")
            logits.append(it.get_tensor(int(last["inputs"][0])).copy())
    raw = np.concatenate(raws)
    stage = {
        "inputs_sha256": hashlib.sha256(batch.tobytes()).hexdigest(),
        "last_op": last_op(it),
        "invoke_batch": step,
        "probs": _floats(to_probabilities(raw, out, kind)),
    }
    if kind == LOGITS:
        return stage | {"logits_int8": raw.reshape(len(x), -1).astype(int).tolist()}
    return stage | {
        "logits_int8": np.concatenate(logits).reshape(len(x), -1).astype(int).tolist(),
        "scores_int8": raw.reshape(len(x), -1).astype(int).tolist(),
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
    # The pen path as the kiosk and `strokes` run it: the digit model and the stroke model.
    strokes_model = load_stroke_model(default_stroke_model_path(), backend=args.backend, num_threads=1)
    # Pictures as `predict` and the camera read them: the paper model, the digit model its partner.
    paper_model = load_paper_model(default_paper_model_path(), backend=args.backend, num_threads=1)
    recognizer = Recognizer(model, stroke_model=strokes_model, paper_model=paper_model)
    images = selftest_digits()[0].astype(np.float32) / 255.0
    selftest = model.predict_probs(images)
    out: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in PACKAGES},
        "backend": {"name": backend.name, "op_resolver": backend.op_resolver or "default"},
        "model": model.describe() | {"path": None, "output_kind": model.card.output_kind},
        "paper_model": paper_model.describe() | {"path": None},
        "selftest": {
            "accuracy": model.selftest_accuracy,
            "digits": [str(int(v)) for v in selftest.argmax(axis=1)],
            "output_int8": runner.raw(images).reshape(len(images), -1).astype(int).tolist(),
            "probs": _floats(selftest),
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
        out["stroke_model"] = strokes_model.describe()
        out["pen"] = []
        for row in rows:
            strokes = parse_strokes(row["strokes"])
            readings.append(("strokes", row["id"], recognizer.read_strokes(strokes)))
            # The stroke model on the whole row: its prepared trajectory and raw int8 output.
            runner_s = strokes_model.runner
            x = trajectories([strokes])
            out["pen"].append(
                {
                    "id": row["id"],
                    "input_int8": _quantize(x, runner_s.input_details).ravel().tolist(),
                    "output_int8": runner_s.raw(x).ravel().astype(int).tolist(),
                    "probs": _floats(strokes_model.probs([strokes])),
                }
            )
    for kind, ident, reading in readings:
        digits = [
            {
                "digit": d.label,
                "input_int8": _quantize(d.image, runner.input_details).ravel().tolist(),
                # the model's raw output on this input (logits, or a softmax model's scores)
                "output_int8": runner.raw(d.image[None]).ravel().astype(int).tolist(),
                # the paper model's (pictures are read by it first; pen digits never are)
                "paper_output_int8": paper_model.model.runner.raw(d.image[None]).ravel().astype(int).tolist(),
                "probs": _floats(d.probs),  # what the device read: its probabilities
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
    kind = model.card.output_kind
    out["stage"] = interpreter_stage(model.path.read_bytes(), args.backend, kind, batch) | {
        "fed": bool(args.feed),
        "selftest_digits": len(own),
    }
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
